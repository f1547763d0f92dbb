"""Scraper damage for evaluation: PolNeAR articles damaged the way scraped news is, gold moved along.

PolNeAR's texts are clean; the text quotegraph reads in the wild is not. ``quotegraph eval
polnear --damage SEED`` scores a model on a reproducibly damaged copy of the split, so the cost
of damage (and of what ``clean.py`` fails to repair) is a number rather than a guess. The damage,
each kind at a fixed rate per article, as seen in scraped text:

* ``glued sentence``: the space after a sentence end is lost (``would reopen.At the same``);
* ``dropped link``: one to three hyperlinked words vanish with the spaces around them, gluing
  their neighbours (``said in a statement thatAt``, ``Secretary"The``);
* ``credit line``: a photo credit glued to the first body line (``Photo: Alex Wong/Getty ImagesThe``);
* ``boilerplate``: a share / advertisement line between paragraphs.

Gold spans move with the text: a piece keeps the characters that survive; a piece whose every
character was dropped disappears, and an attribution that loses its whole content is no longer
gold (nothing is left to find). Same seed, same damage.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from quotegraph.eval.polnear import GoldArticle, GoldAttribution
from quotegraph.model import Span

GLUED_SENTENCE_RATE = 0.08  # of sentence ends followed by a space and a capital, inside a paragraph
DROPPED_LINK_RATE = 0.25  # per paragraph
BOILERPLATE_RATE = 0.15  # per paragraph break
CREDIT_RATE = 0.5  # per article
BOILERPLATE = ("Advertisement", "Share this article", "Continue reading the main story", "Related Coverage",
               "Sign up for our newsletter", "Read more:")
CREDITS = ("Photo: Alex Wong/Getty Images", "(AP Photo/Evan Vucci)", "Image: Reuters/Carlos Barria",
           "Photo by Chip Somodevilla/Getty Images")

_SENTENCE_END = re.compile(r"(?<=[a-z0-9][.!?]) (?=[A-Z])")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


@dataclass(frozen=True)
class Edit:
    """Replace original[start:end] by ``text`` (a deletion when empty, an insertion when start == end)."""

    start: int
    end: int
    text: str


class Damaged:
    """A damaged copy of a text and where each original character went (-1: dropped)."""

    def __init__(self, original: str, edits: list[Edit]) -> None:
        parts: list[str] = []
        self.position = [-1] * len(original)
        position = length = 0

        def keep(until: int) -> None:
            nonlocal position, length
            for i in range(position, until):
                self.position[i] = length + i - position
            parts.append(original[position:until])
            length += until - position

        for edit in _non_overlapping(edits):
            keep(edit.start)
            parts.append(edit.text)
            length += len(edit.text)
            position = edit.end
        keep(len(original))
        self.text = "".join(parts)

    def piece(self, start: int, end: int) -> tuple[int, int] | None:
        """The damaged range of what survives of original[start:end] (None if nothing does).
        Inserted text never sits inside a piece: insertions go between paragraphs."""
        kept = [p for p in self.position[start:end] if p >= 0]
        return (kept[0], kept[-1] + 1) if kept else None


def _non_overlapping(edits: list[Edit]) -> list[Edit]:
    """Edits sorted by position, dropping any that touch or overlap an earlier one."""
    kept: list[Edit] = []
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if kept and edit.start <= kept[-1].end:
            continue
        kept.append(edit)
    return kept


def scraper_edits(text: str, rng: random.Random) -> list[Edit]:
    """The damage for one text, drawn from ``rng`` at the module's rates."""
    edits: list[Edit] = []
    paragraphs = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]
    for start, end in paragraphs:
        line = text[start:end]
        for m in _SENTENCE_END.finditer(line):
            if rng.random() < GLUED_SENTENCE_RATE:
                edits.append(Edit(start + m.start(), start + m.end(), ""))
        words = list(_WORD.finditer(line))
        if len(words) >= 8 and rng.random() < DROPPED_LINK_RATE:
            first = rng.randrange(1, len(words) - 4)
            count = rng.randint(1, 3)
            a, b = words[first].start(), words[first + count - 1].end()
            # the link's words go with the spaces on both sides: the neighbours are glued
            while a > 0 and line[a - 1] == " ":
                a -= 1
            while b < len(line) and line[b] == " ":
                b += 1
            edits.append(Edit(start + a, start + b, ""))
    for after in paragraphs[1:]:
        if rng.random() < BOILERPLATE_RATE:
            edits.append(Edit(after[0], after[0], rng.choice(BOILERPLATE) + "\n\n"))
    if len(paragraphs) > 1 and rng.random() < CREDIT_RATE:
        edits.append(Edit(paragraphs[1][0], paragraphs[1][0], rng.choice(CREDITS)))
    return edits


def damage_article(article: GoldArticle, seed: int) -> GoldArticle:
    """``article`` with scraper damage (the same for the same seed and article) and its gold moved."""
    rng = random.Random(f"{seed}:{article.name}")
    damaged = Damaged(article.text, scraper_edits(article.text, rng))
    moved = []
    for gold in article.attributions:
        content = _move(damaged, gold.content)
        if content is None:
            continue
        moved.append(GoldAttribution(content=content, source=_move(damaged, gold.source), cue=_move(damaged, gold.cue)))
    return GoldArticle(article.name, damaged.text, article.annotator, tuple(moved))


def with_damage(articles: list[GoldArticle], fraction: float, seed: int) -> list[GoldArticle]:
    """Training data that has seen scraped text: a reproducible ``fraction`` of ``articles``
    replaced by their damaged copies (``damage_article`` with ``seed``), the rest left clean, so a
    model learns both and does not unlearn clean text. ``fraction`` 0 returns ``articles``."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"damaged fraction must be between 0 and 1 (got {fraction})")
    if fraction == 0.0:
        return list(articles)
    pick = random.Random(f"train-damage:{seed}")
    return [damage_article(article, seed) if pick.random() < fraction else article for article in articles]


def _move(damaged: Damaged, span: Span | None) -> Span | None:
    if span is None:
        return None
    pieces = []
    for start, end in span.pieces or ((span.start, span.end),):
        moved = damaged.piece(start, end)
        if moved is None:
            continue
        s, e = moved
        while s < e and damaged.text[s].isspace():
            s += 1
        while e > s and damaged.text[e - 1].isspace():
            e -= 1
        if e > s:
            pieces.append((s, e))
    return Span.join(damaged.text, pieces) if pieces else None
