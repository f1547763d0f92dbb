"""Each construction the rule extractor handles, on small hand-written texts (real spaCy parse)."""

from __future__ import annotations

import pytest

from quotegraph.annotate import annotate
from quotegraph.clean import clean
from quotegraph.extractors import RuleExtractor
from quotegraph.extractors.quotes import find_quotes
from quotegraph.model import Attribution, Kind


def run(text: str) -> list[Attribution]:
    return RuleExtractor()(annotate(clean(text)))


def only(text: str) -> Attribution:
    found = run(text)
    assert len(found) == 1, [(a.source, a.cue, a.content.text) for a in found]
    return found[0]


def assert_slices(text: str, attribution: Attribution) -> None:
    for span in attribution.spans():
        for (start, end), piece in zip(span.offsets(), span.text.split(" … ")):
            assert text[start:end] == piece


def test_direct_quote_cue_after() -> None:
    text = '"We will win this election," Smith said on Monday.'
    a = only(text)
    assert a.content.text == '"We will win this election,"'
    assert a.source and a.source.text == "Smith"
    assert a.cue and a.cue.text == "said"
    assert a.kind is Kind.DIRECT
    assert_slices(text, a)


def test_direct_quote_cue_before_with_colon_and_curly_marks() -> None:
    text = "The senator said: “We will never accept this deal.”"
    a = only(text)
    assert a.content.text == "“We will never accept this deal.”"
    assert a.source and a.source.text == "The senator"
    assert a.kind is Kind.DIRECT


def test_cue_in_the_middle_gives_one_discontinuous_content() -> None:
    text = "“We are sure this will work,” the minister said, “and we will prove it soon.”"
    a = only(text)
    assert [text[s:e] for s, e in a.content.offsets()] == ["“We are sure this will work,”", "“and we will prove it soon.”"]
    assert a.kind is Kind.DIRECT
    assert_slices(text, a)


def test_quote_over_several_paragraphs() -> None:
    text = 'Smith said: "The first paragraph of the speech goes on here.\n\n"And the second one ends it."'
    a = only(text)
    assert a.content.text.startswith('"The first paragraph')
    assert a.content.text.endswith('ends it."')


@pytest.mark.parametrize("verb", ["said", "noted", "stressed", "emphasized", "told RT", "argued", "warned"])
def test_indirect_speech_verbs(verb: str) -> None:
    text = f"Foreign Minister Ivan Petrov {verb} that Moscow is ready to resume the talks."
    a = only(text)
    assert a.source and a.source.text == "Foreign Minister Ivan Petrov"
    assert a.cue and a.cue.text == verb.split()[0]
    assert a.content.text == "that Moscow is ready to resume the talks"
    assert a.kind is Kind.INDIRECT


def test_went_on_to_say() -> None:
    a = only("Petrov went on to say that Moscow is ready to resume the talks.")
    assert a.source and a.source.text == "Petrov"
    assert a.content.text.endswith("ready to resume the talks")


def test_mixed_quote() -> None:
    a = only('The governor said the plan was "a disaster for the farmers of this state".')
    assert a.kind is Kind.MIXED
    assert a.content.text.startswith("the plan was")


def test_according_to_after_and_before() -> None:
    text = "Taxes will rise next year, according to the Treasury."
    a = only(text)
    assert a.cue and a.cue.text == "according to"
    assert a.source and a.source.text == "the Treasury"
    assert a.content.text == "Taxes will rise next year"
    b = only("According to the Treasury, taxes will rise next year.")
    assert b.content.text == "taxes will rise next year"


def test_lost_opening_mark() -> None:
    text = 'Talks went well. We are sure this will work," the minister said.'
    a = only(text)
    assert a.content.text == 'We are sure this will work,"'
    assert a.confidence < 0.95  # an incomplete quotation is less certain


def test_single_quotation_marks() -> None:
    a = only("‘We will not give up on this plan,’ the mayor said.")
    assert a.content.text == "‘We will not give up on this plan,’"
    assert a.kind is Kind.DIRECT


def test_floating_quote_follows_previous_speaker() -> None:
    text = 'Smith said the plan would fail. "It is a disaster for everyone who lives here."'
    found = run(text)
    assert len(found) == 2
    floating = found[1]
    assert floating.rule == "adjacent" and floating.source is None and floating.cue is None
    assert floating.content.text == '"It is a disaster for everyone who lives here."'


def test_no_attribution_in_plain_narrative() -> None:
    assert run("The bridge was closed on Monday after a storm damaged its supports.") == []


def test_quotes_apostrophes_are_not_quotation_marks() -> None:
    text = "Don’t go to the voters’ meeting, it’s over. He’s 6'2\" tall."
    assert find_quotes(text) == []


def test_unbalanced_quotes_do_not_crash_and_stay_in_text() -> None:
    text = '"This never closes, he said.\n\nAnother "paragraph" with "marks.'
    for a in run(text):
        assert_slices(text, a)
    for q in find_quotes(text):
        assert 0 <= q.start < q.end <= len(text)
