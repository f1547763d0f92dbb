"""Transcript turns ("PENCE: ..."): found by format when the article vouches for the name, the
content running over the paragraphs of one turn, added behind the models without duplicates."""

from __future__ import annotations

from quotegraph.clean import clean
from quotegraph.extractors.transcript import TRANSCRIPT_RULE, add_transcript, find_turns
from quotegraph.model import Attribution, Kind, Span
from quotegraph.models.fast import FastExtractor

INTERVIEW = (
    "Governor Pence spoke to Fox News on Sunday. Partial transcript as follows:\n\n"
    '"WALLACE: Let us start with the debate. Will she be there?\n\n'
    '"PENCE: Well, look, this is a distraction.\n\n'
    '"It is not what the campaign is about.\n\n'
    '"(CROSSTALK.)\n\n'
    '"WALLACE: Governor, I want to ask you about taxes.\n\n'
    "The interview ran for ten minutes.\n"
)


def _parts(text: str) -> list[tuple[str, str, str]]:
    return [(text[slice(*t.source)], text[slice(*t.cue)], text[slice(*t.content)]) for t in find_turns(text)]


def test_turns_of_a_transcript() -> None:
    """A name that opens two turns needs no other evidence (WALLACE); a turn of several quoted
    paragraphs runs to the stage direction; narration after the last turn is not its content."""
    assert _parts(INTERVIEW) == [
        ("WALLACE", ":", "Let us start with the debate. Will she be there?"),
        ("PENCE", ":", 'Well, look, this is a distraction.\n\n"It is not what the campaign is about.'),
        ("WALLACE", ":", "Governor, I want to ask you about taxes."),
    ]


def test_labels_and_unvouched_names_are_not_turns() -> None:
    assert find_turns("CORRECTION: An earlier version misspelled a name.\n\nUPDATE: The vote was delayed.\n") == []
    assert find_turns("Officials met.\n\nFIX IS IN: The vote was delayed again.\n") == []  # no "Fix" in the text
    assert find_turns("Q: Will you run?\n\nA: No, I will not.\n") == []  # one letter: no name
    assert find_turns("SMITH: Yes.\n\nThe senator, Jane Smith, left.\n") == []  # one word: left to the models
    # one turn, but the article writes the name inside a sentence
    assert _parts("SMITH: We will not back down.\n\nThe senator, Jane Smith, left.\n") == [
        ("SMITH", ":", "We will not back down.")]


def test_turns_are_added_behind_the_model_once() -> None:
    cleaned = clean(INTERVIEW)
    attributions = add_transcript(cleaned, [])
    assert [(a.source.text, a.rule, a.kind) for a in attributions] == [
        ("WALLACE", TRANSCRIPT_RULE, Kind.DIRECT), ("PENCE", TRANSCRIPT_RULE, Kind.DIRECT),
        ("WALLACE", TRANSCRIPT_RULE, Kind.DIRECT)]
    # a model that already reported a turn (same cue) keeps it, and it is not added twice
    cue = INTERVIEW.index(":", INTERVIEW.index("PENCE"))
    content_start = cue + 2
    own = Attribution(content=Span.of(INTERVIEW, content_start, content_start + 10), cue=Span.of(INTERVIEW, cue, cue + 1))
    again = add_transcript(cleaned, [own])
    assert len(again) == 3 and again[0] is own
    found = FastExtractor().extract_cleaned(cleaned)
    assert sum(a.cue is not None and a.cue.start == cue for a in found) == 1
