"""The accurate model: piece labels <-> character spans, decoding, resumable training, and a gate
that the SHIPPED weights keep their PolNeAR dev scores (first 20 dev articles, full pipeline)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from quotegraph.model import Kind
from quotegraph.models import accurate
from quotegraph.models.tokens import (
    Pieces,
    bio_labels,
    bio_spans,
    covered,
    home_windows,
    round_trip,
    windows,
)

REPO = Path(__file__).resolve().parents[1]
POLNEAR = Path(os.environ.get("QUOTEGRAPH_POLNEAR", REPO.parent / "shared" / "data" / "polnear"))
SHIPPED = REPO / "models" / "accurate"


def _pieces(text: str, words: list[str], markers: tuple[int, ...] = ()) -> Pieces:
    """Hand-built word pieces: each string in ``words`` found left to right in ``text``.

    ``markers`` lists positions in ``words`` before which a paragraph marker is inserted.
    """
    ids, starts, ends = [], [], []
    at = 0
    for k, word in enumerate(words):
        start = text.index(word, at)
        if k in markers:
            newline = text.index("\n", at)
            ids.append(1)
            starts.append(newline)
            ends.append(newline)
        ids.append(100 + k)
        starts.append(start)
        ends.append(start + len(word))
        at = start + len(word)
    return Pieces(tuple(ids), tuple(starts), tuple(ends))


TEXT = 'Mr. Smith said, “It’s fine.”\n\n“We will win,” she added, “next year.”'
WORDS = ["mr", ".", "smith", "said", ",", "“", "it", "’", "s", "fine", ".", "”",
         "“", "we", "will", "win", ",", "”", "she", "added", ",", "“", "next", "year", ".", "”"]


def _lower_pieces() -> Pieces:
    return _pieces(TEXT.lower(), WORDS, markers=(12,))


def test_labels_mark_span_starts_and_skip_markers() -> None:
    pieces = _lower_pieces()
    source = (TEXT.index("Mr."), TEXT.index(" said"))
    labels = bio_labels(pieces, [source])
    assert labels[:4] == [1, 2, 2, 0]  # "mr . smith" is one source, "said" is not
    marker = pieces.ids.index(1)
    assert pieces.is_marker(marker) and labels[marker] == 0


def test_discontinuous_content_round_trips_to_exact_offsets() -> None:
    pieces = _lower_pieces()
    first = (TEXT.index("“We"), TEXT.index(" she"))  # “We will win,”
    second = (TEXT.index("“next"), len(TEXT))  # “next year.”
    labels = bio_labels(pieces, [first, second], offset=2)
    assert sorted(set(labels)) == [0, 3, 4]
    spans = bio_spans(labels, pieces, offset=2)
    assert spans == [first, second]
    assert [TEXT[s:e] for s, e in spans] == ["“We will win,”", "“next year.”"]


def test_touching_spans_stay_apart_and_marker_does_not_break_a_run() -> None:
    pieces = _lower_pieces()
    a = (TEXT.index("“It"), TEXT.index(" fine"))
    b = (TEXT.index("fine"), TEXT.index("\n"))
    assert round_trip(pieces, [a, b]) == [a, b]
    # one span running over the paragraph break stays one span
    over = (TEXT.index("fine"), TEXT.index(" will"))
    assert round_trip(pieces, [over]) == [over]


def test_span_inside_a_piece_widens_to_the_piece() -> None:
    pieces = _lower_pieces()
    inside_word = (TEXT.index("Smith") + 1, TEXT.index("Smith") + 3)
    smith = TEXT.index("Smith")
    assert round_trip(pieces, [inside_word]) == [(smith, smith + 5)]
    assert covered(pieces, [inside_word]).count(0) == 1


def test_windows_cover_the_text_and_pieces_go_home_to_the_middle() -> None:
    spans = windows(10, 4, 3)
    assert [(w.start, w.end) for w in spans] == [(0, 4), (3, 7), (6, 10)]
    home = home_windows(10, spans)
    assert home[0] == 0 and home[4] == 1 and home[9] == 2
    assert [(w.start, w.end) for w in windows(3, 4, 3)] == [(0, 3)]


# --- decoding (numpy only) and, where marked, the model's dependencies --------------------------



def test_real_tokenizer_round_trip_with_paragraph_marker() -> None:
    from quotegraph.models.tokens import encode_text

    pieces = encode_text(accurate.load_tokenizer(), TEXT)
    assert sum(pieces.is_marker(i) for i in range(len(pieces))) == 1
    spans = [(0, 9), (TEXT.index("“We"), TEXT.index(" she")), (TEXT.index("“next"), len(TEXT))]
    assert round_trip(pieces, spans) == spans


def test_viterbi_repairs_an_inside_label_after_outside() -> None:
    # argmax alone would give O, I, I: an I cannot follow O, so the best valid path starts with B
    probs = np.log(np.array([[0.9, 0.05, 0.05], [0.2, 0.35, 0.45], [0.1, 0.1, 0.8]]))
    assert accurate.viterbi(probs, accurate.CUE_ALLOWED) == [0, 1, 2]
    relation = np.log(np.full((3, 5), 0.01))
    relation[0, 4] = relation[1, 4] = relation[2, 0] = 0.9  # I-CON, I-CON, O
    assert accurate.viterbi(relation, accurate.RELATION_ALLOWED)[:2] == [3, 4]


def test_kind_follows_quotation_marks() -> None:
    text = 'He said “we will win” and that taxes would fall, “soon.”'
    direct = (text.index("“we"), text.index(" and"))
    assert accurate.kind_of(text, [direct]) == Kind.DIRECT
    assert accurate.kind_of(text, [(text.index("taxes"), len(text))]) == Kind.MIXED
    assert accurate.kind_of(text, [(text.index("taxes"), text.index(","))]) == Kind.INDIRECT


ARTICLES = {
    "a": ('Senator Jane Roe said the bill would pass. "It is a good day," she told reporters.\n',
          [("Senator Jane Roe", "said", "the bill would pass"), ("she", "told reporters", '"It is a good day,"')]),
    "b": ("Officials warned that prices could rise, according to the report.\n",
          [("Officials", "warned", "that prices could rise")]),
    "c": ("The mayor argued that the plan was too costly.\n",
          [("The mayor", "argued", "that the plan was too costly")]),
}


def _write_split(root: Path, split: str) -> Path:
    """A tiny PolNeAR-layout split written by hand."""
    (root / split / "text").mkdir(parents=True)
    (root / split / "attributions").mkdir(parents=True)
    for name, (text, triples) in ARTICLES.items():
        (root / split / "text" / f"{name}.txt").write_text(text, encoding="utf-8")
        lines, t = [], 0
        for e, roles in enumerate(triples, start=1):
            ids = []
            for label, phrase in zip(("Source", "Cue", "Content"), roles):
                t += 1
                start = text.index(phrase)
                lines.append(f"T{t}\t{label} {start} {start + len(phrase)}\t{phrase}")
                ids.append(f"{label}:T{t}")
            t += 1
            cue_start = text.index(roles[1])
            lines.append(f"T{t}\tAttribution {cue_start} {cue_start + len(roles[1])}\t{roles[1]}")
            lines.append(f"E{e}\tAttribution:T{t} " + " ".join(ids))
        (root / split / "attributions" / f"{name}_x.ann").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root / split


class _Stop(Exception):
    pass


def test_training_resumes_to_the_same_weights(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    train = _write_split(tmp_path / "data", "train")
    dev = train  # scoring only picks the epoch here
    settings = accurate.Settings(batch_size=1, checkpoint_every=1)
    whole = accurate.train_accurate(train, dev, tmp_path / "whole", epochs=2, settings=settings, progress=lambda _m: None)
    assert whole["steps"] == 6 and not (tmp_path / "whole" / "checkpoint.pt").exists()

    def stop_at_first_dev(message: str) -> None:
        if "epoch 1 dev" in message:
            raise _Stop  # after steps 1-3, with a checkpoint written at step 2

    with pytest.raises(_Stop):
        accurate.train_accurate(train, dev, tmp_path / "split", epochs=2, settings=settings, progress=stop_at_first_dev)
    assert (tmp_path / "split" / "checkpoint.pt").exists()
    lines: list[str] = []
    boxed = accurate.train_accurate(
        train, dev, tmp_path / "split", epochs=2, settings=settings, progress=lines.append, stop_after=1
    )
    assert any("resumed" in line and "step 2/6" in line for line in lines)
    assert not boxed["complete"] and boxed["epochs_run"] == 1 and (tmp_path / "split" / "checkpoint.pt").exists()
    lines.clear()
    done = accurate.train_accurate(train, dev, tmp_path / "split", epochs=2, settings=settings, progress=lines.append)
    assert any("resumed" in line and "step 3/6" in line for line in lines)
    assert done["complete"] and not (tmp_path / "split" / "checkpoint.pt").exists()
    a = load_file(str(tmp_path / "whole" / "model.safetensors"))
    b = load_file(str(tmp_path / "split" / "model.safetensors"))
    assert a.keys() == b.keys()
    assert all(bool((a[k] == b[k]).all()) for k in a)
    config = json.loads((tmp_path / "split" / "config.json").read_text())
    assert config["settings"]["frozen_layers"] == settings.frozen_layers


# --- the shipped model on the first 20 PolNeAR dev articles -------------------------------------

# measured on dev[:20] with the full pipeline (clean + annotate + extractor + resolve): see
# models/accurate/README.md; floors sit a little under those numbers
GATE_ARTICLES = 20
# measured (shipped weights, 2026-11-29): exact 0.717 / 0.658 / 0.457, attribution 0.355;
# overlap 0.783 / 0.788 / 0.808, attribution 0.704
FLOORS: dict[tuple[str, str], float] = {
    ("source", "exact"): 0.69,
    ("cue", "exact"): 0.63,
    ("content", "exact"): 0.43,
    ("attribution", "exact"): 0.33,
    ("source", "overlap"): 0.76,
    ("cue", "overlap"): 0.76,
    ("content", "overlap"): 0.78,
    ("attribution", "overlap"): 0.68,
}


def test_shipped_model_keeps_its_dev_scores() -> None:
    from quotegraph.annotate import annotate, load_nlp
    from quotegraph.clean import clean
    from quotegraph.eval.polnear import load_split
    from quotegraph.eval.score import Report, score_article
    from quotegraph.resolve import resolve

    extractor = accurate.AccurateExtractor(SHIPPED)
    nlp = load_nlp()
    report = Report()
    for article in load_split(POLNEAR, "dev")[:GATE_ARTICLES]:
        annotated = annotate(clean(article.text), nlp)
        found, _speakers = resolve(annotated, extractor(annotated))
        assert all(a.rule == "accurate" and 0.0 <= a.confidence <= 1.0 for a in found)
        report.add(score_article(article.text, article.attributions, found))
    missed = {
        f"{level}/{mode}": round(report.score(level, mode).f1, 3)
        for (level, mode), floor in FLOORS.items()
        if report.score(level, mode).f1 < floor
    }
    assert FLOORS and not missed, f"below the floor: {missed}"
