"""The command line: a thin layer over the library. Validate, call, print.

Every expected failure (bad input, missing model, missing data) ends with one line on stderr
and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from quotegraph.errors import QuotegraphError
from quotegraph.model import Attribution, Extraction

EXIT_ERROR = 2
DEFAULT_POLNEAR = "../shared/data/polnear"


def attribution_record(extraction: Extraction, attribution: Attribution) -> dict[str, Any]:
    """One JSON line of ``quotegraph extract``: the attribution, its speaker and damage flags."""
    record = attribution.to_json()
    speaker = extraction.speaker(attribution.speaker_id)
    record["speaker"] = (
        {"id": speaker.id, "name": speaker.name, "title": speaker.title, "named": speaker.named} if speaker else None
    )
    record["article"] = extraction.article.id or None
    spans = attribution.spans()
    record["damage"] = sorted(
        {d.kind for d in extraction.damage for s in spans if d.start < s.end and s.start < d.end}
    )
    return record


def format_table(extraction: Extraction, width: int = 100) -> str:
    """A readable table: speaker, kind, confidence, cue and content, one statement per row."""
    rows = [("speaker", "kind", "conf", "cue", "content")]
    for a in extraction.attributions:
        speaker = extraction.speaker(a.speaker_id)
        name = speaker.name if speaker else (a.source.text if a.source else "?")
        content = " ".join(a.content.text.split())
        rows.append((name[:30], a.kind.value, f"{a.confidence:.2f}", (a.cue.text if a.cue else "-")[:20], content))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for r in rows:
        head = "  ".join(r[i].ljust(widths[i]) for i in range(4))
        room = max(20, width - len(head) - 2)
        tail = r[4] if len(r[4]) <= room else r[4][: room - 1] + "…"
        lines.append(f"{head}  {tail}")
    meta = extraction.article
    title = f"{len(extraction.attributions)} statements, {len(extraction.speakers)} speakers"
    if meta.date or meta.credit:
        title += f" (date {meta.date or '?'}, credit {meta.credit or '?'})"
    if extraction.damage:
        kinds = sorted({d.kind for d in extraction.damage})
        title += f"; damaged text: {', '.join(kinds)}"
    return "\n".join([title, *lines])


def _read_article(path: str):  # type: ignore[no-untyped-def]
    from quotegraph.ingest.text import read_text_file, read_text_stream

    if path == "-":
        return read_text_stream(sys.stdin.buffer, "<stdin>")
    return read_text_file(Path(path))


def cmd_extract(args: argparse.Namespace, out: TextIO) -> int:
    from quotegraph.pipeline import Pipeline

    pipeline = Pipeline(model=args.model, min_confidence=args.min_confidence)
    for path in args.files:
        extraction = pipeline(_read_article(path))
        if args.format == "table":
            out.write(format_table(extraction) + "\n")
        elif args.format == "json":
            out.write(json.dumps(extraction.to_json(), ensure_ascii=False, indent=2) + "\n")
        else:
            for attribution in extraction.attributions:
                out.write(json.dumps(attribution_record(extraction, attribution), ensure_ascii=False) + "\n")
    return 0


def _polnear_dir(value: str | None) -> Path:
    return Path(value or os.environ.get("QUOTEGRAPH_POLNEAR", DEFAULT_POLNEAR))


def cmd_eval_polnear(args: argparse.Namespace, out: TextIO) -> int:
    from quotegraph.eval.run import evaluate_polnear, score_predictions_file

    data = _polnear_dir(args.data)
    if args.score:
        report = score_predictions_file(data, args.split, Path(args.score))
    else:
        predictions = Path(args.predictions) if args.predictions else None
        report = evaluate_polnear(data, args.split, predictions=predictions, progress=not args.quiet)
    out.write((report.dumps() if args.json else report.format_table()) + "\n")
    return 0


def cmd_eval_speakers(args: argparse.Namespace, out: TextIO) -> int:
    from quotegraph.eval.speakers import evaluate_speakers, format_speaker_report

    report = evaluate_speakers(_polnear_dir(args.data), Path(args.gold))
    out.write((json.dumps(report, indent=2) if args.json else format_speaker_report(report)) + "\n")
    return 0


def cmd_bench(args: argparse.Namespace, out: TextIO) -> int:
    from quotegraph.bench import run_bench

    folder = Path(args.texts) if args.texts else _polnear_dir(args.data) / args.split / "text"
    for model in args.model:
        result = run_bench(folder, model=model, limit=args.limit, repeat=args.repeat)
        out.write((json.dumps(result.to_json()) if args.json else result.format()) + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quotegraph", description="Who said what, about what, when: attributions in news text.")
    commands = parser.add_subparsers(dest="command", required=True)

    extract = commands.add_parser("extract", help="find attributions in articles (plain text files, or - for stdin)")
    extract.add_argument("files", nargs="+", metavar="FILE", help="article text file(s); - reads stdin")
    extract.add_argument("--format", choices=("jsonl", "table", "json"), default="jsonl",
                         help="jsonl: one attribution per line (default); table: for people; json: one document per article")
    extract.add_argument("--min-confidence", type=float, default=0.0, help="drop attributions below this confidence")
    extract.add_argument("--model", default="rules", help="extraction model (default rules)")
    extract.set_defaults(run=cmd_extract)

    evaluate = commands.add_parser("eval", help="measure accuracy on an annotated corpus")
    corpora = evaluate.add_subparsers(dest="corpus", required=True)
    polnear = corpora.add_parser("polnear", help="PolNeAR (brat standoff): exact and overlap P/R/F1")
    polnear.add_argument("--split", default="dev", help="split folder name (default dev)")
    polnear.add_argument("--data", help=f"PolNeAR folder (default $QUOTEGRAPH_POLNEAR or {DEFAULT_POLNEAR})")
    polnear.add_argument("--predictions", metavar="FILE", help="also write what the system predicted, one JSON line per article")
    polnear.add_argument("--score", metavar="FILE", help="score an existing predictions file instead of running the extractor")
    polnear.add_argument("--json", action="store_true", help="print the report as JSON")
    polnear.add_argument("--quiet", action="store_true", help="no progress lines")
    polnear.set_defaults(run=cmd_eval_polnear)
    speakers = corpora.add_parser("speakers", help="speaker resolution on the hand-checked PolNeAR dev set")
    speakers.add_argument("--data", help=f"PolNeAR folder (default $QUOTEGRAPH_POLNEAR or {DEFAULT_POLNEAR})")
    speakers.add_argument("--gold", default="eval/speakers_dev.jsonl", help="hand-checked speaker file")
    speakers.add_argument("--json", action="store_true", help="print the report as JSON")
    speakers.set_defaults(run=cmd_eval_speakers)

    bench = commands.add_parser("bench", help="throughput (articles/s per core) and peak memory of a model")
    bench.add_argument("--model", nargs="+", default=["rules"], help="model(s) to measure (default rules)")
    bench.add_argument("--texts", help="a folder of .txt articles (default: the PolNeAR split's texts)")
    bench.add_argument("--data", help=f"PolNeAR folder (default $QUOTEGRAPH_POLNEAR or {DEFAULT_POLNEAR})")
    bench.add_argument("--split", default="dev", help="PolNeAR split whose texts to use (default dev)")
    bench.add_argument("--limit", type=int, help="use only the first N texts")
    bench.add_argument("--repeat", type=int, default=1, help="run over the texts N times")
    bench.add_argument("--json", action="store_true", help="one JSON line per model")
    bench.set_defaults(run=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args, sys.stdout))
    except QuotegraphError as exc:
        print(f"quotegraph: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"quotegraph: error: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("quotegraph: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (| head): not an error worth a message
        return 0


if __name__ == "__main__":
    sys.exit(main())
