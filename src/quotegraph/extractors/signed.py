"""Signed quotations: a paragraph that is one quotation, then a dash and who said it.

    “He represents our greatest shame.” ― Sonya Herridge
    "I helped write that bill."
    - Bernie Sanders.

Reader comments, testimonials, epigraphs and debate fact-checks print statements this way:
no reporting verb, the dash is the cue. Neither model learns it (train has eleven), and the
format fixes every boundary exactly, so a rule finds it: content = the quotation with its
marks, cue = the dash, source = the name after it (without the description that may follow
it: ``-President Obama, tweeting after ...``). The name must look like one (capitalised words,
initials, lower-case particles from ``data/name_particles.txt``), so a dash that opens a
parenthetical or a list line is not read as a signature.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from quotegraph.extractors.lexicon import data_lines
from quotegraph.extractors.quotes import DOUBLE_CLOSE, DOUBLE_OPEN, STRAIGHT
from quotegraph.model import Attribution, Kind, Span

if TYPE_CHECKING:
    from collections.abc import Sequence

    from quotegraph.clean import Cleaned

_DOUBLE = DOUBLE_OPEN + DOUBLE_CLOSE + STRAIGHT  # either way round: a scraper's marks often are not
_DASHES = "—―–‒"


@dataclass(frozen=True)
class Signed:
    """One signed quotation, in offsets of the text it was found in."""

    content: tuple[int, int]
    cue: tuple[int, int]
    source: tuple[int, int]


@lru_cache(maxsize=1)
def _name_particles() -> frozenset[str]:
    return frozenset(row[0] for row in data_lines("name_particles.txt"))


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    particles = "|".join(sorted((re.escape(p) for p in _name_particles()), key=len, reverse=True))
    capitalised = r"[A-ZÀ-ÞĀ-Ž][\w'’.\-]*"
    space = r"[^\S\n]"  # spaces and tabs, no-break spaces included
    # a particle counts only before a capitalised word, other particles between ("de la Cruz")
    word = rf"(?:{capitalised}|(?:{particles})(?=(?:{space}+(?:{particles}))*{space}+[A-ZÀ-Þ]))"
    name = rf"{capitalised}(?:{space}+{word}){{0,5}}"
    return re.compile(
        rf"^{space}*(?P<content>[{_DOUBLE}][^\n]*[{_DOUBLE}]){space}*[.,]?{space}*(?:\n{space}*)*"
        rf"(?P<cue>[{_DASHES}]|--?){space}*(?P<source>{name})(?P<rest>[^\n]*)$",
        re.MULTILINE,
    )


def _one_quotation(inner: str) -> bool:
    """Whether the marks inside a quotation only open and close quotes nested in it: a first
    inner mark that closes means two quotations with narration between (``"A," he said, "B."``)."""
    expect_open = True
    for m in re.finditer(f"[{_DOUBLE}]", inner):
        mark, i = m.group(), m.start()
        if mark == STRAIGHT:
            opens = i == 0 or inner[i - 1].isspace() or inner[i - 1] in "([—―–"
        else:
            opens = mark in DOUBLE_OPEN
        if opens != expect_open:
            return False
        expect_open = not expect_open
    return expect_open


def _name_end(source: str) -> int:
    """Length of the name without a trailing full stop (kept after an initial: ``Jr.``)."""
    if source.endswith(".") and not re.search(r"(?:\b[A-Z]|Jr|Sr)\.$", source):
        return len(source) - 1
    return len(source)


def find_signed(text: str) -> list[Signed]:
    """Every signed quotation in ``text``: the quotation fills its paragraph up to the dash, and
    the name ends the line or is followed only by a comma clause, a parenthesis or a full stop."""
    found: list[Signed] = []
    for m in _pattern().finditer(text):
        rest = m.group("rest")
        if rest.strip() and not re.match(r"\s*[,;(]|\s*\.\s*$", rest):
            continue  # the "name" runs on into a sentence: a dash inside prose, not a signature
        if not _one_quotation(m.group("content")[1:-1]):
            continue
        source = m.group("source")
        end = m.start("source") + _name_end(source)
        found.append(Signed(m.span("content"), m.span("cue"), (m.start("source"), end)))
    return found


SIGNED_RULE = "signed-quote"
SIGNED_CONFIDENCE = 0.95  # the format fixes every boundary; 30 of 30 on PolNeAR train + dev


class _Statement(Protocol):
    """What a format rule finds: working-text offsets of content, cue and source."""

    @property
    def content(self) -> tuple[int, int]: ...
    @property
    def cue(self) -> tuple[int, int]: ...
    @property
    def source(self) -> tuple[int, int]: ...


def add_found(cleaned: Cleaned, attributions: list[Attribution], found: Sequence[_Statement],
              rule: str, confidence: float) -> list[Attribution]:
    """``attributions`` plus the statements a format rule ``found`` that none of them covers
    (see ``already_covered``), as direct statements in offsets of the original text."""
    if not found:
        return attributions
    original = cleaned.original

    def span(piece: tuple[int, int]) -> Span:
        return Span.of(original, cleaned.to_original(piece[0]), cleaned.to_original(piece[1]))

    added = list(attributions)
    for statement in found:
        content, cue, source = span(statement.content), span(statement.cue), span(statement.source)
        if any(already_covered(a, content, cue) for a in attributions):
            continue
        added.append(Attribution(content=content, source=source, cue=cue, kind=Kind.DIRECT,
                                 confidence=confidence, rule=rule))
    return added


def add_signed(cleaned: Cleaned, attributions: list[Attribution]) -> list[Attribution]:
    """``attributions`` plus the signed quotations that no attribution already covers."""
    return add_found(cleaned, attributions, find_signed(cleaned.text), SIGNED_RULE, SIGNED_CONFIDENCE)


def already_covered(attribution: Attribution, content: Span, cue: Span) -> bool:
    """Whether ``attribution`` already reports the statement of ``content`` (its cue ``cue``):
    it has the same cue, or a content that overlaps it with its cue outside it (the model
    already gave it a speaker). Statements reported *inside* it (a cue inside the quotation or
    turn) stay as they are."""
    if attribution.cue is not None and attribution.cue.start == cue.start:
        return True
    if attribution.content.end <= content.start or attribution.content.start >= content.end:
        return False
    inside = attribution.cue is not None and content.start <= attribution.cue.start < content.end
    return not inside
