"""Transcript turns: a paragraph that opens with a speaker's name in capitals and a colon.

    "PENCE: Well, look, Hillary Clinton apparently thinks this is an episode ...
    "WALLACE: Do you really see those two as equivalent?

Interview and debate transcripts print statements this way: no reporting verb, the colon is
the cue. The models rarely learn it (PolNeAR train has 13 such turns), and the format fixes every
boundary, so a rule finds it: source = the name, cue = the colon, content = the rest of the
paragraph, and of the paragraphs after it while they continue the same quotation (each opens
with a quotation mark, as a quotation of several paragraphs does) and are no new turn or stage
direction ("(CROSSTALK.)"). Capitals and a colon also open labels ("CORRECTION:", "UPDATE:"), so
a name must not be one of ``data/transcript_labels.txt`` and the article must vouch for it:
it opens two turns or more, or its last word occurs capitalised inside a sentence ("Governor
Pence").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from quotegraph.extractors.lexicon import data_lines
from quotegraph.extractors.signed import add_found

if TYPE_CHECKING:
    from quotegraph.clean import Cleaned
    from quotegraph.model import Attribution

_SPACE = r"[^\S\n]"  # spaces and tabs, no-break spaces included
# one to three words in capitals ("PENCE", "SEN. SANDERS", "CHRIS WALLACE"), each of two letters
# or more, then a colon and the turn's text on the same line
_TURN = re.compile(
    rf"^{_SPACE}*[\"“]?(?P<source>(?:[A-Z][A-Z.'’\-]+{_SPACE}+){{0,2}}[A-Z][A-Z'’\-]+)(?P<cue>:){_SPACE}+"
    rf"(?P<content>\S[^\n]*?){_SPACE}*$",
    re.MULTILINE,
)
_MIN_WORDS = 2  # a turn of one word ("Yes.") is left to the models
_OPENING_MARKS = "\"“"

TRANSCRIPT_RULE = "transcript-turn"
TRANSCRIPT_CONFIDENCE = 0.9  # the format fixes every boundary; the name is the article's


@dataclass(frozen=True)
class Turn:
    """One transcript turn, in offsets of the text it was found in (the content runs over the
    paragraph breaks of a turn of several paragraphs, as PolNeAR marks it)."""

    content: tuple[int, int]
    cue: tuple[int, int]
    source: tuple[int, int]


@lru_cache(maxsize=1)
def _labels() -> frozenset[str]:
    return frozenset(row[0].upper() for row in data_lines("transcript_labels.txt"))


def _vouched(text: str, name: str, turns: int) -> bool:
    """Whether the article vouches for a name: two turns or more, or its last word written
    capitalised inside a sentence."""
    if turns >= 2:
        return True
    last = re.split(r"[\s.]+", name.strip("."))[-1]
    word = last[:1] + last[1:].lower()
    return re.search(rf"(?<=[\w,;)] ){re.escape(word)}\b", text) is not None


def _paragraphs(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"[^\n]*\S[^\n]*", text)]


def find_turns(text: str) -> list[Turn]:
    """Every transcript turn in ``text`` whose speaker the article vouches for."""
    matches = [m for m in _TURN.finditer(text)
               if m.group("source").upper() not in _labels() and len(m.group("content").split()) >= _MIN_WORDS]
    if not matches:
        return []
    counts: dict[str, int] = {}
    for m in matches:
        counts[m.group("source")] = counts.get(m.group("source"), 0) + 1
    starts = {text.rfind("\n", 0, m.start()) + 1 for m in matches}  # paragraphs that open a turn
    paragraphs = _paragraphs(text)
    first_of = {start: k for k, (start, _) in enumerate(paragraphs)}
    found: list[Turn] = []
    for m in matches:
        name = m.group("source")
        if not _vouched(text, name, counts[name]):
            continue
        end = m.end("content")
        line = text.rfind("\n", 0, m.start()) + 1
        quoted = text[line:m.start("source")].strip()[:1] in tuple(_OPENING_MARKS)
        k = first_of.get(line, -1) + 1
        while quoted and 0 < k < len(paragraphs):
            start, stop = paragraphs[k]
            body = text[start:stop].lstrip()
            if start in starts or body[:1] not in _OPENING_MARKS or body[1:2] in "([":
                break  # a new turn, narration, or a stage direction ("(CROSSTALK.)")
            end = start + len(text[start:stop].rstrip())
            k += 1
        found.append(Turn((m.start("content"), end), m.span("cue"), m.span("source")))
    return found


def add_transcript(cleaned: Cleaned, attributions: list[Attribution]) -> list[Attribution]:
    """``attributions`` plus the transcript turns that no attribution already covers (as for
    signed quotations: a statement reported inside the turn stays as it is)."""
    return add_found(cleaned, attributions, find_turns(cleaned.text), TRANSCRIPT_RULE, TRANSCRIPT_CONFIDENCE)
