"""Properties of the text pipeline that must hold for *any* Unicode input (hypothesis).

Whatever text arrives — random code points or news-like text full of quotation marks of every
kind, glued words, odd line breaks, combining marks and characters whose case mapping changes
their length (İ, ß, ﬁ) — cleaning, annotation and extraction return without error, and every
span they report lies inside the text and slices exactly the text it records.

test_pipeline.py and test_clean.py hold the first properties (random fragments through
``extract``, random text through ``clean``); this file widens the input and checks every span
the pipeline reports, for each model.
"""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quotegraph.annotate import annotate
from quotegraph.clean import clean
from quotegraph.errors import InputError
from quotegraph.ingest.base import ReadOptions
from quotegraph.ingest.jsonl import jsonl_records
from quotegraph.ingest.text import article_from_text, decode_text
from quotegraph.model import Extraction, Span
from quotegraph.pipeline import Pipeline
from test_clean import assert_consistent

# --- inputs ----------------------------------------------------------------------------------

QUOTE_MARKS = ['"', "'", "“", "”", "‘", "’", "„", "‚", "«", "»", "‹", "›", "「", "」", "『", "』", "``", "''", "″", "′"]
WORDS = [
    "said", " said ", " told reporters", " according to ", " says", " added that ", " denied ", " warned ",
    "He", "She", "they", "Smith", "Jane Smith", "the minister", "Foreign Minister Sergey Lavrov", "a spokesperson",
    "We will win", "the talks failed", "it is over", "Moscow", "(Reuters) - ", "By Jane Doe", "date 2017-04-13 © AP",
]
GLUE = ["thatAt", 'Secretary"The', "saidThe", "Minister”We", "ofthe", "..."]
BREAKS = ["\n", "\n\n", "\r\n", "\r", "\t", " ", "  ", "\u00a0", "\u2028", "\u2029", "\x0b", "\x0c", "\x85"]
ODD = [
    "e\u0301", "\u0301", "\u0308\u0308", "İ", "ß", "ﬁ", "ǅ", "ς", "ﬀ", "Σ", "\u200b", "\u200d", "\ufeff", "\u202e",
    "😀", "👩\u200d👩\u200d👧", "🇺🇦", "中文", "ال", "שלום", "\x00", "\x1f", "\x7f", "\ud7ff", "\U0010ffff", "½", "²",
    "—", "–", "…", ":", ";", ",", ".", "?!", "(", ")", "[", "]", "-", "@x", "#tag", "http://x.example/a?b=c",
]
FRAGMENTS = st.sampled_from(QUOTE_MARKS + WORDS + GLUE + BREAKS + ODD)

news_like = st.lists(st.one_of(FRAGMENTS, FRAGMENTS, st.text(max_size=8)), max_size=60).map("".join)
any_text = st.text(max_size=400)

# sentences shaped like reporting (so extraction really runs), then damaged at random places
_open = st.sampled_from(["\"", "“", "‘", "'", "«", "„", "``", ""])
_close = st.sampled_from(["\"", "”", "’", "'", "»", "“", "''", ""])
_speaker = st.sampled_from(["Jane Smith", "Smith", "he", "She", "the minister", "A senior official", "Mr. İnce",
                            "Zoë Ñúñez", "Øyvind Ås", "O'Brien", "the U.S. State Department", "they"])
_cue = st.sampled_from(["said", "told reporters", "added", "warned", "says", "stated", "claimed", "denied",
                        "vowed", "noted", "explained", "called for"])
_words = st.one_of(
    st.sampled_from(["we will win", "the talks failed", "ﬁnal offer", "STRASSE is closed", "e\u0301tude",
                     "Moscow is ready", "this is over", "no evidence was presented", "100% sure", "it's 5\u2032 tall"]),
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20),
)
_sentence = st.one_of(
    st.builds("{}{},{} {} {}.".format, _open, _words, _close, _speaker, _cue),
    st.builds("{} {} that {}.".format, _speaker, _cue, _words),
    st.builds("{} {}: {}{}{}".format, _speaker, _cue, _open, _words, _close),
    st.builds("{}{},{} {} {}, {}{}.{}".format, _open, _words, _close, _speaker, _cue, _open, _words, _close),
    st.builds("According to {}, {}.".format, _speaker, _words),
    st.builds("{}: {}{}{}".format, _speaker, _open, _words, _close),
)
_joint = st.sampled_from([" ", " ", "\n\n", "\n", "", "\r\n", "\u00a0", " — "])


@st.composite
def reporting(draw: st.DrawFn) -> str:
    """Reported speech, glued or split at random, with odd fragments dropped in anywhere."""
    parts = draw(st.lists(st.tuples(_sentence, _joint), min_size=1, max_size=8))
    text = "".join(sentence + joint for sentence, joint in parts)
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(FRAGMENTS) + text[at:]
    return text


texts = st.one_of(any_text, news_like, reporting(), reporting())

# spaCy parses every example: a few hundred of each keep this file to seconds per model
PIPELINE_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- checks ----------------------------------------------------------------------------------

def check_span(text: str, span: Span, what: str) -> None:
    assert 0 <= span.start <= span.end <= len(text), (what, span)
    if not span.pieces:
        assert text[span.start : span.end] == span.text, (what, span)
        return
    pieces = list(span.pieces)
    assert len(pieces) >= 2, (what, span)
    assert pieces[0][0] == span.start and pieces[-1][1] == span.end, (what, span)
    for (s, e), following in zip(pieces, pieces[1:] + [None]):
        assert span.start <= s < e <= span.end, (what, span)
        if following is not None:
            assert e < following[0], (what, span)  # sorted, apart
    assert " … ".join(text[s:e] for s, e in pieces) == span.text, (what, span)


def check_extraction(text: str, result: Extraction) -> None:
    """Every span an Extraction reports: statements, speakers' mentions, evidence chains, damage."""
    assert result.article.text == text
    for a in result.attributions:
        check_span(text, a.content, "content")
        if a.source is not None:
            check_span(text, a.source, "source")
        if a.cue is not None:
            check_span(text, a.cue, "cue")
        for link in a.resolution.chain:
            check_span(text, link.mention, "chain mention")
            check_span(text, link.antecedent, "chain antecedent")
        assert 0.0 <= a.confidence <= 1.0
        assert a.speaker_id is None or result.speaker(a.speaker_id) is not None
    for speaker in result.speakers:
        for mention in speaker.mentions:
            check_span(text, mention, "speaker mention")
    for damage in result.damage:
        assert 0 <= damage.start <= damage.end <= len(text), damage
    written = json.loads(result.dumps())  # what the sinks write (confidence rounded to 4 places)
    assert Extraction.from_json(written).to_json() == written


# --- the pipeline, for each model -------------------------------------------------------------

_pipelines: dict[str, Pipeline] = {}


def pipeline(model: str) -> Pipeline:
    if model not in _pipelines:
        _pipelines[model] = Pipeline(model=model)
    return _pipelines[model]


def run(model: str, text: str) -> None:
    try:
        result = pipeline(model)(article_from_text(text))
    except InputError:  # documented refusal (an oversized article); never for these small texts
        pytest.fail(f"InputError for {len(text)} characters")
    check_extraction(text, result)


@PIPELINE_SETTINGS
@given(texts)
def test_rules_model_spans_slice_any_text(text: str) -> None:
    run("rules", text)


@PIPELINE_SETTINGS
@given(texts)
def test_fast_model_spans_slice_any_text(text: str) -> None:
    run("fast", text)


QUOTE_STORMS = st.lists(st.sampled_from(QUOTE_MARKS + ["He said", " Jane Smith said ", "“We will win,”", "\n\n"]),
                        max_size=40).map("".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(QUOTE_STORMS)
def test_quote_storms(text: str) -> None:
    """Unbalanced, nested and doubled quotation marks are where quote pairing goes wrong."""
    run("rules", text)
    run("fast", text)


def test_extract_of_empty_text_is_empty_not_an_error() -> None:
    for model in ("rules", "fast"):
        for text in ("", " ", "\n\n", "\u00a0"):
            assert pipeline(model)(article_from_text(text)).attributions == ()


# --- clean and annotate ---------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(news_like)
def test_news_like_text_cleans_consistently(text: str) -> None:
    assert_consistent(clean(text))


@pytest.mark.parametrize("model", ["rules", "fast"])  # the full spaCy parse, and the fast model's light one
@PIPELINE_SETTINGS
@given(text=texts)
def test_annotated_spans_slice_the_original(model: str, text: str) -> None:
    annotated = annotate(clean(text), pipeline(model).nlp)
    assert annotated.doc.text == annotated.cleaned.text
    for span in annotated.sentences() + annotated.persons():
        check_span(text, span, "sentence/person")
    for token in annotated.doc:
        check_span(text, annotated.token_span(token, token), f"token {token.text!r}")


# --- reading: text kept exactly as given -------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1))
def test_text_decoding_keeps_any_text_or_refuses_it_in_one_line(text: str) -> None:
    try:
        decoded = decode_text(text.encode("utf-8"), "x.txt")
    except InputError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("x.txt: ")
        return
    assert decoded == text.removeprefix("\ufeff")


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1), st.dictionaries(st.sampled_from(["url", "title", "date", "author", "id"]), st.one_of(st.none(), st.text(), st.integers(), st.lists(st.text(), max_size=3))))
def test_jsonl_keeps_any_text_exactly(text: str, meta: dict[str, object]) -> None:
    line = json.dumps({"text": text, **meta}).encode("utf-8") + b"\n"
    records = list(jsonl_records(io.BytesIO(b"\n" + line), "/x/dump.jsonl", ReadOptions()))
    assert len(records) == 1 and records[0].position == 2
    record = records[0]
    if text.strip():
        assert record.error is None and record.article is not None and record.article.text == text
    else:
        assert record.article is None and record.error and "\n" not in record.error
