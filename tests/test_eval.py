"""Tests for the PolNeAR reader, the scorer and the evaluation runner."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from quotegraph.errors import InputError
from quotegraph.eval.polnear import GoldAttribution, load_split
from quotegraph.eval.run import evaluate_polnear, score_predictions_file
from quotegraph.eval.score import Report, Score, score_article
from quotegraph.model import Article, Attribution, Extraction, Span, Speaker

POLNEAR = Path("/work/shared/data/polnear")

# Article names contain underscores, like PolNeAR's: the annotator id is after the LAST one.
ALPHA = "news_2016_alpha"
BETA = "news_2016_beta"
ALPHA_TEXT = (
    'Mayor Jane Smith said the budget is balanced. "The plan," she said, "is sound." '
    "Taxes will\nrise, it was reported.\n"
)
BETA_TEXT = "Officials said on Monday\r\nthat the road would close.\r\n"


def at(text: str, needle: str, nth: int = 1) -> tuple[int, int]:
    """Offsets of the nth occurrence of needle in text."""
    start = -1
    for _ in range(nth):
        start = text.index(needle, start + 1)
    return start, start + len(needle)


def t_line(tid: str, label: str, text: str, pieces: list[tuple[int, int]]) -> str:
    """A brat T line; its text is the pieces joined by one space, newlines kept as brat does."""
    offsets = ";".join(f"{s} {e}" for s, e in pieces)
    return f"{tid}\t{label} {offsets}\t" + " ".join(text[s:e] for s, e in pieces)


def alpha_ann() -> str:
    t = ALPHA_TEXT
    plan_open = at(t, '"The plan,"')
    plan_close = at(t, '"is sound."')
    lines = [
        t_line("T1", "Source", t, [at(t, "Mayor Jane Smith")]),
        t_line("T2", "Cue", t, [at(t, "said")]),
        t_line("T3", "Content", t, [at(t, "the budget is balanced")]),
        t_line("T4", "Attribution", t, [at(t, "said")]),
        "E1\tAttribution:T4 Content:T3 Cue:T2 Source:T1",
        t_line("T5", "Source", t, [at(t, "she")]),
        t_line("T6", "Cue", t, [at(t, "said", 2)]),
        t_line("T7", "Content", t, [plan_open, plan_close]),  # discontinuous
        t_line("T8", "Attribution", t, [at(t, "said", 2)]),
        "E2\tAttribution:T8 Source:T5 Cue:T6 Content:T7",
        t_line("T9", "Content", t, [at(t, "Taxes will\nrise")]),  # text runs over two lines
        t_line("T10", "Cue", t, [at(t, "was reported")]),
        t_line("T11", "Attribution-no-source", t, [at(t, "was reported")]),
        "E3\tAttribution-no-source:T11 Cue:T10 Content:T9",
        t_line("T12", "Discuss", t, [at(t, "budget")]),
        "#1\tAnnotatorNotes T12\tIs a budget a statement?",
        "E4\tAttribution-no-source:T11 ",  # an empty stub, as in the real data
    ]
    return "\n".join(lines) + "\n"


def build_corpus(root: Path) -> Path:
    """A two-article PolNeAR-layout folder: alpha has two annotators, beta has CRLF text."""
    text_dir = root / "dev" / "text"
    ann_dir = root / "dev" / "attributions"
    text_dir.mkdir(parents=True)
    ann_dir.mkdir(parents=True)
    (text_dir / f"{ALPHA}.txt").write_bytes(ALPHA_TEXT.encode("utf-8"))
    (text_dir / f"{BETA}.txt").write_bytes(BETA_TEXT.encode("utf-8"))
    (ann_dir / f"{ALPHA}_a1.ann").write_bytes(alpha_ann().encode("utf-8"))
    # the second annotator of alpha: must NOT be chosen ("a1" sorts first)
    only = "\n".join(
        [
            t_line("T1", "Cue", ALPHA_TEXT, [at(ALPHA_TEXT, "said")]),
            t_line("T2", "Content", ALPHA_TEXT, [at(ALPHA_TEXT, "the budget")]),
            "E1\tAttribution-no-source:T1 Cue:T1 Content:T2",
        ]
    )
    (ann_dir / f"{ALPHA}_b2.ann").write_bytes(only.encode("utf-8"))
    b = BETA_TEXT
    beta = "\n".join(
        [
            t_line("T1", "Source", b, [at(b, "Officials")]),
            t_line("T2", "Cue", b, [at(b, "said")]),
            t_line("T3", "Content", b, [at(b, "that the road would close")]),
            "E1\tAttribution:T2 Source:T1 Cue:T2 Content:T3",
        ]
    )
    (ann_dir / f"{BETA}_c3.ann").write_bytes(beta.encode("utf-8"))
    return root


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return build_corpus(tmp_path / "polnear")


# ---------------------------------------------------------------- reader


def test_reader_chooses_first_annotator_and_reads_every_kind_of_span(corpus: Path) -> None:
    articles = load_split(corpus, "dev")
    assert [a.name for a in articles] == [ALPHA, BETA]
    alpha, beta = articles
    assert alpha.annotator == "a1"
    assert alpha.text == ALPHA_TEXT
    assert len(alpha.attributions) == 3  # the empty E4 stub and the Discuss span are ignored

    first, second, third = alpha.attributions
    assert (first.source.text, first.cue.text, first.content.text) == (
        "Mayor Jane Smith",
        "said",
        "the budget is balanced",
    )
    assert second.content.offsets() == [at(ALPHA_TEXT, '"The plan,"'), at(ALPHA_TEXT, '"is sound."')]
    assert second.content.text == '"The plan," … "is sound."'
    assert second.cue.offsets() == [at(ALPHA_TEXT, "said", 2)]
    assert third.source is None
    assert third.content.text == "Taxes will\nrise"
    assert third.cue.text == "was reported"


def test_reader_keeps_carriage_returns_so_offsets_stay_true(corpus: Path) -> None:
    beta = load_split(corpus, "dev")[1]
    assert beta.annotator == "c3"
    assert "\r\n" in beta.text
    (gold,) = beta.attributions
    assert gold.content.start == BETA_TEXT.index("that the road")
    assert beta.text[gold.content.start : gold.content.end] == "that the road would close"


def test_missing_split_names_the_available_ones(corpus: Path) -> None:
    with pytest.raises(InputError, match=r"split 'test' not found in .*polnear \(available: dev\)"):
        load_split(corpus, "test")


def test_missing_data_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="PolNeAR data folder not found"):
        load_split(tmp_path / "nowhere", "dev")


def test_missing_attributions_folder(tmp_path: Path) -> None:
    (tmp_path / "dev" / "text").mkdir(parents=True)
    with pytest.raises(InputError, match=r"missing folder .*dev/attributions"):
        load_split(tmp_path, "dev")


def test_malformed_line_reports_file_and_line(corpus: Path) -> None:
    path = corpus / "dev" / "attributions" / f"{BETA}_c3.ann"
    path.write_text(path.read_text() + "\nT9\tCue twelve 14\tsaid\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"{BETA}_c3.ann:5: malformed span line"):
        load_split(corpus, "dev")


def test_span_text_that_does_not_match_the_article_is_rejected(corpus: Path) -> None:
    path = corpus / "dev" / "attributions" / f"{BETA}_c3.ann"
    path.write_text("T1\tCue 0 4\tSaid\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"_c3.ann:1: T1 text 'Said' does not match"):
        load_split(corpus, "dev")


def test_event_pointing_at_an_undefined_span(corpus: Path) -> None:
    path = corpus / "dev" / "attributions" / f"{BETA}_c3.ann"
    path.write_text("E1\tAttribution:T1 Cue:T7 Content:T8\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"_c3.ann:1: E1 refers to T7, which is not defined"):
        load_split(corpus, "dev")


# ---------------------------------------------------------------- scorer


def span(text: str, needle: str, nth: int = 1) -> Span:
    return Span.of(text, *at(text, needle, nth))


def alpha_predictions() -> list[Attribution]:
    t = ALPHA_TEXT
    plan_open, plan_close = at(t, '"The plan,"'), at(t, '"is sound."')
    return [
        # source overlaps only, cue exact, content overlaps only (extra full stop)
        Attribution(
            content=span(t, "the budget is balanced."),
            source=span(t, "Jane Smith"),
            cue=span(t, "said"),
            speaker_id="s1",
        ),
        # all exact once the leading space of the first content piece is trimmed
        Attribution(
            content=Span.join(t, [(plan_open[0] - 1, plan_open[1]), plan_close]),
            source=span(t, "she"),
            cue=span(t, "said", 2),
        ),
        # the same statement again: duplicates count once
        Attribution(content=Span.join(t, [plan_open, plan_close]), source=span(t, "she"), cue=span(t, "said", 2)),
        # content overlaps gold E3 but the cue shares no word with "was reported"
        Attribution(content=span(t, "Taxes"), source=span(t, "Mayor Jane Smith"), cue=span(t, "will")),
    ]


def test_score_article_by_hand() -> None:
    gold = load_gold_alpha()
    scores = score_article(ALPHA_TEXT, gold, alpha_predictions())
    # sources: predicted {Jane Smith, she, Mayor Jane Smith}, gold {Mayor Jane Smith, she}.
    # Overlap is one-to-one: "Jane Smith" cannot also take "Mayor Jane Smith".
    assert scores["source"]["exact"] == Score(tp=2, fp=1, fn=0)
    assert scores["source"]["overlap"] == Score(tp=2, fp=1, fn=0)
    # cues: predicted {said, said#2, will}, gold {said, said#2, was reported}
    assert scores["cue"]["exact"] == Score(tp=2, fp=1, fn=1)
    assert scores["cue"]["overlap"] == Score(tp=2, fp=1, fn=1)
    # contents: only the discontinuous one is exact; all three overlap
    assert scores["content"]["exact"] == Score(tp=1, fp=2, fn=2)
    assert scores["content"]["overlap"] == Score(tp=3, fp=0, fn=0)
    # attributions: first and second overlap everywhere, only the second is exact
    assert scores["attribution"]["overlap"] == Score(tp=2, fp=1, fn=1)
    assert scores["attribution"]["exact"] == Score(tp=1, fp=2, fn=2)


def load_gold_alpha() -> tuple[GoldAttribution, ...]:
    t = ALPHA_TEXT
    return (
        GoldAttribution(span(t, "the budget is balanced"), span(t, "Mayor Jane Smith"), span(t, "said")),
        GoldAttribution(
            Span.join(t, [at(t, '"The plan,"'), at(t, '"is sound."')]), span(t, "she"), span(t, "said", 2)
        ),
        GoldAttribution(span(t, "Taxes will\nrise"), None, span(t, "was reported")),
    )


def test_one_prediction_cannot_match_two_golds() -> None:
    text = "alpha beta, gamma delta, he said."
    gold = [
        GoldAttribution(span(text, "alpha beta"), span(text, "he"), span(text, "said")),
        GoldAttribution(span(text, "gamma delta"), span(text, "he"), span(text, "said")),
    ]
    pred = [Attribution(content=span(text, "alpha beta, gamma delta"), source=span(text, "he"), cue=span(text, "said"))]
    scores = score_article(text, gold, pred)
    assert scores["content"]["overlap"] == Score(tp=1, fp=0, fn=1)
    assert scores["attribution"]["overlap"] == Score(tp=1, fp=0, fn=1)
    # the single shared source and cue count once on each side
    assert scores["source"]["exact"] == Score(tp=1, fp=0, fn=0)


def test_greedy_prefers_the_largest_character_overlap() -> None:
    text = "one two three four five"
    gold = [
        GoldAttribution(span(text, "one two"), None, span(text, "five")),
        GoldAttribution(span(text, "two three four"), None, span(text, "five")),
    ]
    # shares "two" with the first gold (3 chars) and "two three four" with the second (14 chars)
    pred = [Attribution(content=span(text, "two three four"), cue=span(text, "five"))]
    assert score_article(text, gold, pred)["content"]["exact"] == Score(tp=1, fp=0, fn=1)
    other = [Attribution(content=span(text, "one two three"), cue=span(text, "five"))]
    # "two three four" takes its identical gold (14 chars) first, leaving "one two" for
    # "one two three", although that prediction overlaps the taken gold more (9 > 7 chars)
    scores = score_article(text, gold, [*other, *pred])
    assert scores["content"]["overlap"] == Score(tp=2, fp=0, fn=0)


def test_source_missing_on_one_side_only_is_no_match() -> None:
    text = "Taxes rise, he said."
    gold = [GoldAttribution(span(text, "Taxes rise"), span(text, "he"), span(text, "said"))]
    pred = [Attribution(content=span(text, "Taxes rise"), cue=span(text, "said"))]
    scores = score_article(text, gold, pred)
    assert scores["attribution"]["overlap"] == Score(tp=0, fp=1, fn=1)
    assert scores["source"]["overlap"] == Score(tp=0, fp=0, fn=1)


def test_score_ratios_and_report_table() -> None:
    score = Score(tp=3, fp=0, fn=1)
    assert score.precision == 1.0
    assert score.recall == 0.75
    assert score.f1 == pytest.approx(6 / 7)
    assert Score().f1 == 0.0
    report = Report(split="dev", articles=2)
    report.add({"content": {"overlap": score}})
    table = report.format_table()
    lines = table.splitlines()
    assert lines[0].startswith("PolNeAR dev: 2 articles")
    assert len(lines) == 1 + 1 + 8  # title, header, 4 levels x 2 modes
    row = next(line for line in lines if line.startswith("content") and "overlap" in line)
    assert row.split() == ["content", "overlap", "3", "0", "1", "1.000", "0.750", "0.857"]
    # columns are aligned: every row is as long as the header
    assert len({len(line) for line in lines[1:]}) == 1
    data = report.to_json()
    assert data["scores"]["content"]["overlap"] == {
        "tp": 3, "fp": 0, "fn": 1, "precision": 1.0, "recall": 0.75, "f1": 0.8571
    }
    assert data["scores"]["cue"]["exact"]["tp"] == 0


# ---------------------------------------------------------------- runner and predictions file


def hand_extractor(text: str) -> Extraction:
    """A real extractor with hand-written answers: alpha gets the predictions above, beta none."""
    if text == ALPHA_TEXT:
        return Extraction(
            article=Article(text=text),
            attributions=tuple(alpha_predictions()),
            speakers=(Speaker(id="s1", name="Jane Smith"),),
        )
    return Extraction(article=Article(text=text))


def test_evaluate_writes_predictions_that_score_the_same(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "pred.jsonl"
    report = evaluate_polnear(corpus, "dev", extractor=hand_extractor, predictions=out, progress=False)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert list(first) == ["doc", "attributions"]
    assert first["doc"] == ALPHA
    assert first["attributions"][0] == {
        "source": [list(at(ALPHA_TEXT, "Jane Smith"))],
        "cue": [list(at(ALPHA_TEXT, "said"))],
        "content": [list(at(ALPHA_TEXT, "the budget is balanced."))],
        "speaker": "Jane Smith",
        "rule": alpha_predictions()[0].rule,
        "confidence": round(alpha_predictions()[0].confidence, 4),
    }
    assert list(first["attributions"][0]) == ["source", "cue", "content", "speaker", "rule", "confidence"]
    assert first["attributions"][1]["speaker"] is None
    assert len(first["attributions"][1]["content"]) == 2
    assert json.loads(lines[1]) == {"doc": BETA, "attributions": []}

    # beta's gold attribution is missed entirely: one more fn everywhere than alpha alone
    assert report.articles == 2
    assert report.gold_attributions == 4
    assert report.predicted_attributions == 4
    assert report.score("content", "exact") == Score(tp=1, fp=2, fn=3)
    assert report.score("content", "overlap") == Score(tp=3, fp=0, fn=1)
    assert report.score("content", "overlap").f1 == pytest.approx(6 / 7)
    assert report.score("content", "exact").f1 == pytest.approx(2 / 7)
    assert report.score("attribution", "overlap") == Score(tp=2, fp=1, fn=2)
    assert report.score("attribution", "exact") == Score(tp=1, fp=2, fn=3)
    assert report.seconds > 0
    assert report.articles_per_second > 0

    rescored = score_predictions_file(corpus, "dev", out)
    assert rescored.scores == report.scores
    assert rescored.missing_predictions == 0


def test_predictions_file_may_omit_articles(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "pred.jsonl"
    out.write_text(
        json.dumps({"doc": BETA, "attributions": [{
            "source": [list(at(BETA_TEXT, "Officials"))],
            "cue": [list(at(BETA_TEXT, "said"))],
            "content": [list(at(BETA_TEXT, "that the road would close."))],
            "speaker": None,
        }]}) + "\n",
        encoding="utf-8",
    )
    report = score_predictions_file(corpus, "dev", out)
    assert report.missing_predictions == 1
    assert report.score("attribution", "overlap") == Score(tp=1, fp=0, fn=3)
    assert report.score("cue", "exact") == Score(tp=1, fp=0, fn=3)
    assert "1 articles had no predictions line" in report.format_table()


def test_predictions_file_errors_name_the_line(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "pred.jsonl"
    out.write_text(json.dumps({"doc": BETA, "attributions": []}) + "\n" + '{"doc": "nope", "attributions": []}\n')
    with pytest.raises(InputError, match=r"pred.jsonl:2: doc 'nope' is not an article of this split"):
        score_predictions_file(corpus, "dev", out)
    out.write_text(json.dumps({"doc": BETA, "attributions": [{"content": [[5, 999]]}]}) + "\n")
    with pytest.raises(InputError, match=r"pred.jsonl:1: content span 5-999 lies outside"):
        score_predictions_file(corpus, "dev", out)
    with pytest.raises(InputError, match="predictions file not found"):
        score_predictions_file(corpus, "dev", tmp_path / "absent.jsonl")


def test_crash_leaves_no_predictions_file(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "pred.jsonl"

    def breaks_on_beta(text: str) -> Extraction:
        if text == BETA_TEXT:
            raise RuntimeError("extractor crashed")
        return hand_extractor(text)

    with pytest.raises(RuntimeError, match="extractor crashed"):
        evaluate_polnear(corpus, "dev", extractor=breaks_on_beta, predictions=out, progress=False)
    assert list(tmp_path.iterdir()) == [corpus]


def test_progress_goes_to_stderr(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    evaluate_polnear(corpus, "dev", extractor=hand_extractor, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert re.search(r"polnear dev: 2/2 articles, [\d.]+ articles/s", captured.err)


# ---------------------------------------------------------------- the real dev split


def test_real_dev_split_offsets_slice_the_text() -> None:
    articles = load_split(POLNEAR, "dev")
    assert len(articles) == 84
    ann_dir = POLNEAR / "dev" / "attributions"
    one_line_t = re.compile(r"^T\d+\t\S+ (\d+ \d+(?:;\d+ \d+)*)\t(.*)$")
    for article in articles:
        ann = (ann_dir / f"{article.name}_{article.annotator}.ann").read_text(encoding="utf-8")
        # independently of the reader: every single-line T span's text is the slice(s) it names
        for line in ann.split("\n"):
            match = one_line_t.match(line)
            if match:
                pieces = [tuple(map(int, p.split())) for p in match.group(1).split(";")]
                assert " ".join(article.text[s:e] for s, e in pieces) == match.group(2), line
        # and every attribution the reader built slices the text
        for gold in article.attributions:
            for part in (gold.source, gold.cue, gold.content):
                if part is None:
                    continue
                slices = [article.text[s:e] for s, e in part.offsets()]
                assert all(slices)
                assert part.text == " … ".join(slices)
        events_with_content = sum(1 for line in ann.split("\n") if line.startswith("E") and "Content" in line)
        assert len(article.attributions) == events_with_content


def test_real_dev_split_scores_perfectly_against_itself() -> None:
    gold = {a.text: a for a in load_split(POLNEAR, "dev")}

    def oracle(text: str) -> Extraction:
        attributions = tuple(
            Attribution(content=g.content, source=g.source, cue=g.cue) for g in gold[text].attributions
        )
        return Extraction(article=Article(text=text), attributions=attributions)

    report = evaluate_polnear(POLNEAR, "dev", extractor=oracle, progress=False)
    assert report.articles == 84
    for level in ("source", "cue", "content", "attribution"):
        for mode in ("exact", "overlap"):
            score = report.score(level, mode)
            assert score.fp == 0 and score.fn == 0 and score.tp > 0, (level, mode)


def test_calibration_judges_each_prediction_and_sweeps_thresholds() -> None:
    from quotegraph.eval.calibration import Calibration

    text = 'Mayor Jane Smith said the budget is balanced. Critics said taxes will rise.'

    def attribution(source: str, cue: str, content: str, confidence: float) -> Attribution:
        spans = [Span(*at(text, needle), needle) for needle in (source, cue, content)]
        return Attribution(content=spans[2], source=spans[0], cue=spans[1], confidence=confidence)

    gold = [attribution("Mayor Jane Smith", "said", "the budget is balanced", 1.0)]
    gold.append(Attribution(content=Span(*at(text, "taxes will rise"), "taxes will rise"),
                          source=Span(*at(text, "Critics"), "Critics"),
                          cue=Span(*at(text, "said", 2), "said")))
    predicted = [
        attribution("Mayor Jane Smith", "said", "the budget is balanced", 0.95),  # exactly right
        attribution("Mayor Jane Smith", "said", "budget is balanced", 0.65),  # duplicate-ish: gold already taken
        Attribution(content=Span(*at(text, "will rise."), "will rise."), source=Span(*at(text, "Critics"), "Critics"),
                    cue=Span(*at(text, "said", 2), "said"), confidence=0.72),  # overlap only
    ]
    calibration = Calibration()
    calibration.add(text, gold, predicted)
    assert calibration.gold == 2
    bands = {row["band"]: row for row in calibration.bands()}
    assert bands["0.9-1.0"]["predictions"] == 1 and bands["0.9-1.0"]["precision_exact"] == 1.0
    assert bands["0.6-0.7"]["predictions"] == 1 and bands["0.6-0.7"]["precision_overlap"] == 0.0
    assert bands["0.7-0.8"]["precision_overlap"] == 1.0 and bands["0.7-0.8"]["precision_exact"] == 0.0
    sweep = {row["min_confidence"]: row for row in calibration.sweep()}
    assert sweep[0.0]["overlap"] == {"precision": 0.667, "recall": 1.0, "f1": 0.8}
    assert sweep[0.7]["overlap"]["precision"] == 1.0 and sweep[0.7]["predictions"] == 2
    assert sweep[0.9]["exact"] == {"precision": 1.0, "recall": 0.5, "f1": 0.667}
    assert "P overlap" in calibration.format_table()
