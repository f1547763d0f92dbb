"""Score in-article speaker resolution against the hand-checked set in ``eval/speakers_dev.jsonl``.

For every listed article the gold PolNeAR attributions (source spans from the gold file, content
and cue from the article's ``.ann``) are handed to :func:`quotegraph.resolve.resolve`, so the
score measures resolution alone, not extraction. A mention counts as correct when the resolved
speaker's canonical name equals the gold name (case-insensitive, honorifics and a leading "the"
ignored), or when the gold says the article never names the speaker and the system gave no name
either. Giving a *wrong name* is counted separately: it is worse than giving none.

Run: ``python -m quotegraph.eval.speakers [polnear_dir] [gold_file] [--split dev]``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from quotegraph.annotate import annotate
from quotegraph.clean import clean
from quotegraph.errors import InputError
from quotegraph.eval.polnear import parse_ann, read_text
from quotegraph.model import Attribution, Span, Speaker
from quotegraph.resolve import lexicon, resolve
from quotegraph.models import DEFAULT_MODEL

REPORTED_TYPES = ("pronoun", "title", "surname", "name", "description", "other")


def normalise_name(name: str) -> str:
    """Lower case, straight apostrophes, no quotes or periods, no leading "the", no honorifics,
    no trailing possessive: the form two canonical names are compared in."""
    text = name.lower().replace("’", "'").replace("“", "").replace("”", "").replace('"', "")
    text = re.sub(r"'s\b", "", text)
    words = text.replace(",", " ").split()
    honorifics = {" ".join(w) for w, role in lexicon().roles.items() if not role.classes}
    honorifics |= {"sen.", "sen", "rep.", "rep", "gov.", "gov", "president", "senator", "gen.", "lt.", "dr."}
    while words and (words[0] == "the" or words[0] in honorifics):
        words.pop(0)
    return " ".join(w.strip(".") for w in words if w.strip("."))


def read_gold(gold_file: Path | str) -> dict[str, list[dict[str, Any]]]:
    """Gold speaker lines grouped by article, in file order."""
    path = Path(gold_file)
    if not path.is_file():
        raise InputError(f"speaker gold file not found: {path}")
    by_doc: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                row["source"] = [tuple(int(x) for x in piece) for piece in row["source"]]
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(f"{path}:{number}: not a speaker gold line ({exc})") from exc
            by_doc[row["doc"]].append(row)
    return dict(by_doc)


def _article_attributions(split_dir: Path, doc: str, annotator: str | None,
                          rows: list[dict[str, Any]], text: str) -> tuple[list[Attribution], list[int | None]]:
    """Attributions built from the gold: each gold source with its gold content (the source
    itself when it belongs to no attribution), plus the source-less gold attributions so that
    reported content is known. Returns them with, per gold row, the index of its attribution."""
    ann_dir = split_dir / "attributions"
    candidates = sorted(ann_dir.glob(f"{doc}_*.ann"))
    if annotator:
        candidates = [p for p in candidates if p.stem == f"{doc}_{annotator}"] or candidates
    gold_attributions = ()
    if candidates:
        with open(candidates[0], encoding="utf-8", newline="") as handle:
            gold_attributions = parse_ann(handle.read(), text, str(candidates[0]))
    attributions: list[Attribution] = []
    by_source: dict[tuple[tuple[int, int], ...], int] = {}
    for gold in gold_attributions:
        if gold.source is None:
            attributions.append(Attribution(content=gold.content, cue=gold.cue))
            continue
        key = tuple(gold.source.offsets())
        if key not in by_source:
            by_source[key] = len(attributions)
            attributions.append(Attribution(content=gold.content, source=gold.source, cue=gold.cue))
    index: list[int | None] = []
    for row in rows:
        key = tuple(row["source"])
        if key not in by_source:
            source = Span.join(text, list(key))
            by_source[key] = len(attributions)
            attributions.append(Attribution(content=source, source=source))
        index.append(by_source[key])
    return attributions, index


def evaluate_speakers(data_dir: Path | str, gold_file: Path | str, split: str = "dev",
                      model: str = DEFAULT_MODEL) -> dict[str, Any]:
    """Resolve the gold sources of every article in ``gold_file`` and score the speakers.

    ``model`` picks the annotation the resolver reads: the trained models (fast, accurate) run
    behind a light tokenizer with word-list tags and no statistical tagger or NER, which the
    resolver must survive without naming wrongly; the rules behind spaCy's small pipeline."""
    from quotegraph.pipeline import nlp_for

    nlp = nlp_for(model)
    split_dir = Path(data_dir) / split
    if not (split_dir / "text").is_dir():
        raise InputError(f"PolNeAR split folder not found: {split_dir / 'text'}")
    gold = read_gold(gold_file)
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    mistakes: list[dict[str, Any]] = []
    for doc, rows in sorted(gold.items()):
        text_path = split_dir / "text" / f"{doc}.txt"
        if not text_path.is_file():
            raise InputError(f"article {doc} listed in {gold_file} not found in {split_dir / 'text'}")
        text = read_text(text_path)
        attributions, index = _article_attributions(split_dir, doc, rows[0].get("annotator"), rows, text)
        resolved, speakers = resolve(annotate(clean(text), nlp), attributions)
        by_id: dict[str, Speaker] = {s.id: s for s in speakers}
        for row, i in zip(rows, index):
            attribution = resolved[i] if i is not None else None
            speaker = by_id.get(attribution.speaker_id) if attribution and attribution.speaker_id else None
            outcome = judge(row.get("speaker"), speaker)
            for bucket in ("all", row.get("type", "other")):
                totals[bucket]["mentions"] += 1
                totals[bucket][outcome] += 1
            if outcome != "correct":
                mistakes.append({
                    "doc": doc, "mention": row["mention"], "source": row["source"], "type": row.get("type"),
                    "gold": row.get("speaker"), "system": speaker.name if speaker else None,
                    "named": speaker.named if speaker else None, "outcome": outcome,
                    "method": attribution.resolution.method.value if attribution else None,
                })
    result: dict[str, Any] = {"articles": len(gold), "by_type": {}, "mistakes": mistakes}
    for bucket, counts in totals.items():
        n = counts["mentions"]
        entry = {
            "mentions": n,
            "correct": counts["correct"],
            "accuracy": counts["correct"] / n if n else 0.0,
            "wrong_name": counts["wrong_name"],
            "missing": counts["missing"],
        }
        if bucket == "all":
            result.update(entry)
        else:
            result["by_type"][bucket] = entry
    return result


def judge(gold_name: str | None, speaker: Speaker | None) -> str:
    """correct / wrong_name (the system gave a name that is not the gold one) / missing."""
    system_name = speaker.name if speaker is not None and speaker.named else None
    if gold_name is None:
        return "correct" if system_name is None else "wrong_name"
    if system_name is None:
        return "missing"
    return "correct" if normalise_name(system_name) == normalise_name(gold_name) else "wrong_name"


def format_speaker_report(result: dict[str, Any], mistakes: int = 0) -> str:
    """A plain-text summary: overall and per-type accuracy, wrong names, and a few mistakes."""
    lines = [
        f"speaker resolution on {result['articles']} articles, {result.get('mentions', 0)} gold source mentions",
        f"{'type':<12} {'n':>5} {'correct':>8} {'acc':>7} {'wrong name':>11} {'missing':>8}",
    ]
    rows = [("all", result)] + [(t, result["by_type"][t]) for t in REPORTED_TYPES if t in result["by_type"]]
    for name, entry in rows:
        lines.append(
            f"{name:<12} {entry.get('mentions', 0):>5} {entry.get('correct', 0):>8} {entry.get('accuracy', 0.0):>7.1%} "
            f"{entry.get('wrong_name', 0):>11} {entry.get('missing', 0):>8}"
        )
    for mistake in result["mistakes"][:mistakes]:
        lines.append(
            f"  {mistake['outcome']:<10} {mistake['type']:<11} {mistake['mention']!r:<30} gold={mistake['gold']!r} "
            f"system={mistake['system']!r} ({mistake['method']}) [{mistake['doc']}]"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Score speaker resolution on the hand-checked speaker set.")
    parser.add_argument("data_dir", nargs="?", default="/work/shared/data/polnear")
    parser.add_argument("gold_file", nargs="?", default="eval/speakers_dev.jsonl")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--mistakes", type=int, default=0, help="list this many mistakes")
    args = parser.parse_args(argv)
    try:
        result = evaluate_speakers(args.data_dir, args.gold_file, args.split)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_speaker_report(result, args.mistakes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
