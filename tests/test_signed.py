"""Signed quotations ("“...” ― Name"): found by format, exact boundaries, added behind both
models without duplicating what a model already attributed."""

from __future__ import annotations

import pytest

from quotegraph.clean import clean
from quotegraph.extractors.signed import SIGNED_RULE, add_signed, find_signed
from quotegraph.model import Attribution, Kind, Span
from quotegraph.models.fast import FastExtractor


def _parts(text: str) -> list[tuple[str, str, str]]:
    return [(text[slice(*s.content)], text[slice(*s.cue)], text[slice(*s.source)]) for s in find_signed(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Intro.\n\n“He represents our greatest shame.” ― Sonya Herridge\n",
         [("“He represents our greatest shame.”", "―", "Sonya Herridge")]),
        # a scraper's reversed opening mark, no-break spaces, a full stop after the name
        ("”Fear of him is real.”\xa0―\xa0Julie A. Diaz Martinez.",
         [("”Fear of him is real.”", "―", "Julie A. Diaz Martinez")]),
        # the signature on its own paragraph, a description after the name
        ('"I will look into it."\n\n-President Obama, tweeting after the debate.',
         [('"I will look into it."', "-", "President Obama")]),
        # a quotation nested inside the statement
        ("“I would rather live in what he calls “hell” than that.” — Ana de la Cruz",
         [("“I would rather live in what he calls “hell” than that.”", "—", "Ana de la Cruz")]),
        ('"It is over." -- Mark Smith Jr.', [('"It is over."', "--", "Mark Smith Jr.")]),
    ],
)
def test_signed_quotations_are_found_with_exact_boundaries(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert _parts(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "WASHINGTON ― Donald Trump’s obsession with the birther lie ended on Friday.",
        # two quotations with narration between are not one signed statement
        '"We won," he said, "and we will win again." — Reuters',
        # after the dash comes prose, not a name
        "“It was a long night.” — Trump has vowed to fight on.",
        # the quotation does not fill its paragraph
        "He said “no” — Mark Smith",
        "“Let us begin.” — the end of the transcript",
    ],
)
def test_dashes_that_are_not_signatures_are_left_alone(text: str) -> None:
    assert find_signed(text) == []


def test_signed_quotation_becomes_a_direct_attribution_in_original_offsets() -> None:
    original = 'Readers wrote in.\n\n"He scaresthe children." ― Esther Tapia\n'
    cleaned = clean(original)
    [added] = add_signed(cleaned, [])
    assert added.rule == SIGNED_RULE and added.kind is Kind.DIRECT
    assert added.content.text == original[original.index('"') : original.rindex('"') + 1]
    assert added.source is not None and added.source.text == "Esther Tapia"
    assert added.cue is not None and added.cue.text == "―"


def test_a_quotation_the_model_attributed_is_not_added_twice() -> None:
    original = "“We will win.” ― Ann Lee\n"
    cleaned = clean(original)
    quote = Span.of(original, 0, original.index("―") - 1)
    # the model's own reading: same quotation, another cue outside it
    model = [Attribution(content=quote, source=Span.of(original, 17, 24), cue=Span.of(original, 15, 16))]
    assert add_signed(cleaned, model) == model
    # a statement reported inside the quotation does not cover it
    inner = [Attribution(content=Span.of(original, 1, 9), cue=Span.of(original, 4, 8))]
    assert [a.rule for a in add_signed(cleaned, inner)] == ["", SIGNED_RULE]


def test_the_fast_model_returns_signed_quotations() -> None:
    original = ("Voters told us what they think.\n\n"
                "“Mostly he promotes ignorance and hate.” ― Azucena Gonzàlez\n\n"
                "“He is obsessed with Mexico.” ― Esther Tapia\n")
    found = [a for a in FastExtractor().extract_cleaned(clean(original)) if a.rule == SIGNED_RULE]
    assert [(a.source.text if a.source else None) for a in found] == ["Azucena Gonzàlez", "Esther Tapia"]
