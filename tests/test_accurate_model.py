"""The accurate model: pieces and words <-> character spans, CRF decoding, resumable training, and a gate
that the SHIPPED weights keep their PolNeAR dev scores (all 84 dev articles, whole pipeline)."""

from __future__ import annotations

import functools

import json
import os
from pathlib import Path

import numpy as np
import pytest

from quotegraph.extractors.formats import FORMATTED_RULES
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


def test_words_join_continuation_pieces_and_keep_punctuation_apart() -> None:
    from quotegraph.models.tokens import encode_text, word_units

    tokenizer = accurate.load_tokenizer()
    text = "Tillerson's spokeswoman said,\n\n“Unbelievable.”"
    pieces = encode_text(tokenizer, text)
    words, first = word_units(tokenizer, pieces)
    shown = [text[s:e] for s, e in zip(words.starts, words.ends)]
    assert shown == ["Tillerson", "'", "s", "spokeswoman", "said", ",", "", "“", "Unbelievable", ".", "”"]
    assert len(pieces) > len(words)  # "tillerson" and "unbelievable" are several pieces each
    assert words.is_marker(6) and first[6] == next(i for i in range(len(pieces)) if pieces.is_marker(i))
    # a span inside a word widens to the whole word
    inside = (text.index("Unbel") + 2, text.index("Unbel") + 5)
    assert bio_spans(bio_labels(words, [inside]), words) == [(text.index("Unbel"), text.index(".”"))]


def test_even_windows_cover_the_text_with_the_overlap() -> None:
    from quotegraph.models.tokens import even_windows

    for length in (1, 300, 510, 511, 669, 1000, 5000):
        spans = even_windows(length, 510, 64)
        assert spans[0].start == 0 and spans[-1].end == length
        assert all(w.end - w.start <= 510 for w in spans)
        assert all(a.end - b.start >= 64 for a, b in zip(spans, spans[1:]))  # neighbours share 64+
        widths = {w.end - w.start for w in spans}
        assert max(widths) - min(widths) <= 1 or len(spans) == 1


def _brute_force(chain: accurate.Chain, emissions: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Best path and marginals by enumerating every label sequence."""
    from itertools import product

    n, k = emissions.shape
    scores = {}
    for path in product(range(k), repeat=n):
        score = chain.start[path[0]] + chain.end[path[-1]] + sum(emissions[t, path[t]] for t in range(n))
        score += sum(chain.transitions[a, b] for a, b in zip(path, path[1:]))
        scores[path] = score
    best = max(scores, key=scores.get)
    weights = np.exp(np.array(list(scores.values())) - max(scores.values()))
    marginals = np.zeros((n, k))
    for (path, _), w in zip(scores.items(), weights):
        for t, label in enumerate(path):
            marginals[t, label] += w
    return list(best), marginals / weights.sum()


def test_crf_decoding_matches_enumeration_and_keeps_bio_rules() -> None:
    rng = np.random.default_rng(0)
    for allowed in (accurate.CUE_ALLOWED, accurate.RELATION_ALLOWED):
        k = allowed.shape[1]
        chain = accurate.Chain.of(rng.normal(size=(k, k)), rng.normal(size=k), rng.normal(size=k), allowed)
        emissions = rng.normal(size=(4, k)) * 2
        best, marginals = _brute_force(chain, emissions)
        assert chain.viterbi(emissions) == best
        assert np.allclose(chain.marginals(emissions), marginals, atol=1e-9)
        # several sequences of different lengths at once give each one's own answer
        batch = rng.normal(size=(3, 6, k)) * 2
        batch[0, :4] = emissions
        lengths = np.array([4, 6, 1])
        paths = chain.viterbi_many(batch, lengths)
        many = chain.marginals_many(batch, lengths)
        for i, n in enumerate(lengths):
            assert paths[i] == chain.viterbi(batch[i, :n])
            assert np.allclose(many[i, :n], chain.marginals(batch[i, :n]), atol=1e-9)
    # argmax alone would give O, I, I: an I cannot follow O nor open an article
    cue = accurate.Chain.of(np.zeros((3, 3)), np.zeros(3), np.zeros(3), accurate.CUE_ALLOWED)
    probs = np.log(np.array([[0.9, 0.05, 0.05], [0.2, 0.35, 0.45], [0.1, 0.1, 0.8]]))
    assert cue.viterbi(probs) == [0, 1, 2]
    assert cue.viterbi(np.log(np.array([[0.1, 0.2, 0.7]])))[0] != 2
    # a relation crop may open inside a content (the crop cut it), never inside after a source
    relation = accurate.Chain.of(np.zeros((5, 5)), np.zeros(5), np.zeros(5), accurate.RELATION_ALLOWED)
    em = np.log(np.array([[0.1, 0.1, 0.1, 0.1, 0.6], [0.02, 0.9, 0.02, 0.02, 0.04], [0.1, 0.1, 0.1, 0.1, 0.6]]))
    path = relation.viterbi(em)
    assert path[:2] == [4, 1] and path[2] != 4


def test_label_runs() -> None:
    assert accurate.label_runs([0, 1, 2, 0, 2, 2, 1]) == [(1, 2), (4, 5), (6, 6)]
    path = [1, 2, 0, 3, 4, 4, 0, 3]
    assert accurate.label_runs(path, accurate.SOURCE_OFFSET) == [(0, 1)]
    assert accurate.label_runs(path, accurate.CONTENT_OFFSET) == [(3, 5), (7, 7)]


def test_relation_labels_restart_a_source_cut_by_content() -> None:
    words = _pieces("a b c d e", ["a", "b", "c", "d", "e"])
    source = [(0, 5)]  # a b c
    content = [(2, 3), (6, 9)]  # b ... d e
    labels = accurate.relation_labels(words, source, content)
    assert labels == [1, 3, 1, 3, 4]


def test_gold_labels_decode_back_to_the_gold_spans(tmp_path: Path) -> None:
    """The labels the model learns from, decoded as the model's output would be, give back the
    annotation: nothing is lost between character spans, words and relation crops."""
    import random

    from quotegraph.clean import clean
    from quotegraph.eval.polnear import load_split
    from quotegraph.eval.score import Report, score_article
    from quotegraph.extractors.quotes import find_quotes

    split = _write_split(tmp_path / "data", "train")
    articles = load_split(split.parent, "train")
    settings = accurate.Settings()
    tokenizer = accurate.load_tokenizer()
    forms = accurate.cue_word_forms(articles)
    assert {"said", "warned", "argued"} <= forms
    sure = accurate.Chain.of(np.zeros((3, 3)), np.zeros(3), np.zeros(3), accurate.CUE_ALLOWED)
    relation = accurate.Chain.of(np.zeros((5, 5)), np.zeros(5), np.zeros(5), accurate.RELATION_ALLOWED)
    report = Report()
    for gold in articles:
        example = accurate.article_example(tokenizer, gold, settings, forms, random.Random(0))
        words = example.encoded.words
        cue_em = np.eye(3)[example.cue_labels] * 10
        path = sure.viterbi(cue_em)
        found = []
        for cue in example.cues:
            index = np.arange(max(0, cue.first - settings.before), min(len(words), cue.last + 1 + settings.after))
            emissions = np.eye(5)[cue.labels[index]] * 10
            one = accurate.relation_found(
                clean(gold.text).text, words, relation.viterbi(emissions), relation.marginals(emissions), index, (cue.first, cue.last),
                accurate.cue_confidence(sure.marginals(cue_em), path, cue.first, cue.last),
            )
            if one is not None:
                found.append(one)
        cleaned = clean(gold.text)
        predicted = [accurate._attribution(cleaned, f, find_quotes(cleaned.text)) for f in found]
        assert all(0.99 < a.confidence <= 1.0 for a in predicted)
        report.add(score_article(gold.text, gold.attributions, predicted))
    assert report.score("attribution", "exact").f1 == 1.0


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


@pytest.mark.parametrize("average_every", [None, 1])
def test_training_resumes_to_the_same_weights(tmp_path: Path, average_every: int | None) -> None:
    from safetensors.torch import load_file

    train = _write_split(tmp_path / "data", "train")
    dev = train  # scoring only picks the epoch here
    settings = accurate.Settings(articles_per_step=1, checkpoint_every=1, negatives=1)
    train_accurate = functools.partial(accurate.train_accurate, average_every=average_every)  # with the running mean too
    whole = train_accurate(train, dev, tmp_path / "whole", epochs=2, settings=settings, progress=lambda _m: None)
    assert whole["steps"] == 6 and not (tmp_path / "whole" / "checkpoint.pt").exists()

    def stop_at_first_dev(message: str) -> None:
        if "epoch 1 dev" in message:
            raise _Stop  # after steps 1-3, with a checkpoint written at step 2

    with pytest.raises(_Stop):
        train_accurate(train, dev, tmp_path / "split", epochs=2, settings=settings, progress=stop_at_first_dev)
    assert (tmp_path / "split" / "checkpoint.pt").exists()
    lines: list[str] = []
    boxed = train_accurate(
        train, dev, tmp_path / "split", epochs=2, settings=settings, progress=lines.append, stop_after=1
    )
    assert any("resumed" in line and "step 2/6" in line for line in lines)
    assert not boxed["complete"] and boxed["epochs_run"] == 1 and (tmp_path / "split" / "checkpoint.pt").exists()
    lines.clear()
    done = train_accurate(train, dev, tmp_path / "split", epochs=2, settings=settings, progress=lines.append)
    assert any("resumed" in line and "step 3/6" in line for line in lines)
    assert done["complete"] and not (tmp_path / "split" / "checkpoint.pt").exists()
    a = load_file(str(tmp_path / "whole" / "model.safetensors"))
    b = load_file(str(tmp_path / "split" / "model.safetensors"))
    assert a.keys() == b.keys()
    assert all(bool((a[k] == b[k]).all()) for k in a)
    config = json.loads((tmp_path / "split" / "config.json").read_text())
    assert config["settings"]["frozen_layers"] == settings.frozen_layers


def _first_model(tmp_path: Path) -> tuple[Path, accurate.Settings, Path]:
    """A tiny split and a model trained on it for one epoch: the start of a second schedule."""
    train = _write_split(tmp_path / "data", "train")
    settings = accurate.Settings(articles_per_step=1, checkpoint_every=1, negatives=1)
    first = tmp_path / "first"
    accurate.train_accurate(train, train, first, epochs=1, settings=settings, progress=lambda _m: None)
    return train, settings, first


def test_a_second_schedule_starts_from_the_trained_weights(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    train, settings, first = _first_model(tmp_path)
    lines: list[str] = []
    # a learning rate too small to move anything: the result must be the first model, not a fresh one
    second = accurate.train_accurate(
        train, train, tmp_path / "second", epochs=1, seed=1, progress=lines.append, init_from=first, lr_scale=1e-9
    )
    assert any("starting from" in line for line in lines)
    a = load_file(str(first / "model.safetensors"))
    b = load_file(str(tmp_path / "second" / "model.safetensors"))
    assert a.keys() == b.keys()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-3) for k in a)
    config = json.loads((tmp_path / "second" / "config.json").read_text())
    assert config["settings"]["encoder_lr"] == pytest.approx(settings.encoder_lr * 1e-9)
    assert config["settings"]["negatives"] == 1  # the first model's settings, not the defaults
    assert config["continues"]["epoch"] == 1 and second["continues"]["seed"] == 0


def test_weight_averaging_keeps_the_mean_of_its_snapshots(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    train, settings, first = _first_model(tmp_path)
    lines: list[str] = []
    summary = accurate.train_accurate(
        train, train, tmp_path / "mean", epochs=1, seed=1, progress=lines.append, init_from=first, average_every=1
    )
    epoch = summary["history"][0]
    assert epoch["averaged_snapshots"] >= 1
    assert any("mean of" in line for line in lines)
    config = json.loads((tmp_path / "mean" / "config.json").read_text())
    kept = load_file(str(tmp_path / "mean" / "model.safetensors"))
    # the kept weights are the better of the two on dev; the config and the summary say which
    if summary["best_is_average_of"] is not None:
        assert config["averaged"] == {"snapshots": epoch["averaged_snapshots"], "every_steps": 1}
        assert epoch["averaged_dev"] == config["dev"]
    else:
        assert "averaged" not in config and epoch["dev"] == config["dev"]
    assert kept.keys() == load_file(str(first / "model.safetensors")).keys()


def test_weight_average_is_the_running_mean() -> None:
    import torch

    settings = accurate.Settings()
    net = torch.nn.Linear(3, 2)
    average = accurate.WeightAverage(settings)
    seen = []
    for value in (1.0, 2.0, 6.0):
        with torch.no_grad():
            net.weight.fill_(value)
        seen.append(value)
        average.add(net)
    mean_net = average.net(net)
    assert torch.allclose(mean_net.weight, torch.full((2, 3), sum(seen) / len(seen)))
    assert torch.equal(net.weight, torch.full((2, 3), 6.0))  # the training net is untouched
    restored = accurate.WeightAverage(settings)
    restored.load(average.state())
    assert restored.count == 3 and torch.equal(restored.mean["weight"], average.mean["weight"])

# --- the shipped model on PolNeAR dev ------------------------------------------------------------

# measured on all 84 dev articles with the whole pipeline (clean + light annotation + extractor +
# resolve), shipped weights (stage 5, weight-averaged), 2026-12-07: exact 0.800 / 0.742 / 0.640,
# attribution 0.566; overlap 0.838 / 0.829 / 0.843, attribution 0.800 (models/accurate/README.md);
# floors a little under
FLOORS: dict[tuple[str, str], float] = {
    ("source", "exact"): 0.78,
    ("cue", "exact"): 0.71,
    ("content", "exact"): 0.62,
    ("attribution", "exact"): 0.54,
    ("source", "overlap"): 0.81,
    ("cue", "overlap"): 0.80,
    ("content", "overlap"): 0.82,
    ("attribution", "overlap"): 0.78,
}


def test_shipped_model_keeps_its_dev_scores() -> None:
    from quotegraph.annotate import annotate
    from quotegraph.clean import clean
    from quotegraph.eval.polnear import load_split
    from quotegraph.eval.score import Report, score_article
    from quotegraph.pipeline import nlp_for
    from quotegraph.resolve import resolve

    extractor = accurate.AccurateExtractor(SHIPPED)
    nlp = nlp_for("accurate")
    report = Report()
    for article in load_split(POLNEAR, "dev"):
        annotated = annotate(clean(article.text), nlp)
        found, _speakers = resolve(annotated, extractor(annotated))
        assert all(a.rule in ("accurate", *FORMATTED_RULES) and 0.0 <= a.confidence <= 1.0 for a in found)
        report.add(score_article(article.text, article.attributions, found))
    missed = {
        f"{level}/{mode}": round(report.score(level, mode).f1, 3)
        for (level, mode), floor in FLOORS.items()
        if report.score(level, mode).f1 < floor
    }
    assert FLOORS and not missed, f"below the floor: {missed}"
