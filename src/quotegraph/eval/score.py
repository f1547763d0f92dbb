"""Score predicted attributions against gold ones, element by element and as whole attributions.

Two match criteria, each one-to-one:

* EXACT: the two spans have the same set of character pieces once surrounding whitespace is
  trimmed from every piece (annotators and systems disagree about stray spaces, not content).
* OVERLAP: the spans share at least one word, a word being a maximal run of ``\\w`` characters
  inside a piece, identified by its character positions. Several candidates are resolved
  greedily by largest character overlap, so one prediction never earns credit for many golds.

Duplicate elements (the same offsets, e.g. one source for two statements) count once, on both
sides. An attribution matches when content AND cue match AND (sources match OR neither side
has a source); a missing cue is treated the same way as a missing source.

Counts are summed over articles (micro average).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from quotegraph.model import Span

ELEMENTS = ("source", "cue", "content")
LEVELS = (*ELEMENTS, "attribution")
MODES = ("exact", "overlap")

_WORD = re.compile(r"\w+")

Pieces = tuple[tuple[int, int], ...]


class HasElements(Protocol):
    """Anything with source/cue/content spans: gold attributions and model.Attribution alike."""

    @property
    def source(self) -> Span | None: ...

    @property
    def cue(self) -> Span | None: ...

    @property
    def content(self) -> Span: ...


@dataclass(frozen=True)
class Score:
    """True positives, false positives and false negatives, with the ratios derived from them."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Score) -> Score:
        return Score(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


def _empty_scores() -> dict[str, dict[str, Score]]:
    return {level: {mode: Score() for mode in MODES} for level in LEVELS}


@dataclass
class Report:
    """Scores for one split, plus how much was scored and how fast it ran."""

    split: str = ""
    articles: int = 0
    gold_attributions: int = 0
    predicted_attributions: int = 0
    scores: dict[str, dict[str, Score]] = field(default_factory=_empty_scores)
    seconds: float = 0.0  # wall time of extraction + scoring (0 when scoring a file)
    missing_predictions: int = 0  # gold articles a predictions file had no line for

    @property
    def articles_per_second(self) -> float:
        return self.articles / self.seconds if self.seconds > 0 else 0.0

    def score(self, level: str, mode: str) -> Score:
        """The counts for one level (source, cue, content, attribution) and mode (exact, overlap)."""
        return self.scores[level][mode]

    def add(self, article_scores: dict[str, dict[str, Score]]) -> None:
        """Fold one article's counts (from :func:`score_article`) into the totals."""
        for level, by_mode in article_scores.items():
            for mode, score in by_mode.items():
                self.scores[level][mode] = self.scores[level][mode] + score

    def to_json(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "articles": self.articles,
            "gold_attributions": self.gold_attributions,
            "predicted_attributions": self.predicted_attributions,
            "missing_predictions": self.missing_predictions,
            "seconds": round(self.seconds, 3),
            "articles_per_second": round(self.articles_per_second, 3),
            "scores": {
                level: {mode: s.to_json() for mode, s in by_mode.items()} for level, by_mode in self.scores.items()
            },
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)

    def format_table(self) -> str:
        """A plain aligned table, one row per level and mode, for terminals and logs."""
        title = f"PolNeAR {self.split}".rstrip() + (
            f": {self.articles} articles, {self.gold_attributions} gold / "
            f"{self.predicted_attributions} predicted attributions"
        )
        if self.seconds > 0:
            title += f", {self.seconds:.1f} s ({self.articles_per_second:.2f} articles/s)"
        header = ("level", "match", "tp", "fp", "fn", "precision", "recall", "f1")
        rows = [header]
        for level in LEVELS:
            for mode in MODES:
                s = self.scores[level][mode]
                rows.append(
                    (level, mode, str(s.tp), str(s.fp), str(s.fn),
                     f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}")
                )
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = [title]
        for row in rows:
            cells = [row[i].ljust(widths[i]) if i < 2 else row[i].rjust(widths[i]) for i in range(len(row))]
            lines.append("  ".join(cells).rstrip())
        if self.missing_predictions:
            lines.append(f"({self.missing_predictions} articles had no predictions line and were scored as empty)")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Element:
    """A trimmed span reduced to what matching needs."""

    pieces: Pieces
    words: frozenset[tuple[int, int]]


def trim(text: str, span: Span | None) -> _Element | None:
    """The span's pieces with surrounding whitespace removed; None when nothing is left."""
    if span is None:
        return None
    pieces = []
    for start, end in span.offsets():
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            pieces.append((start, end))
    if not pieces:
        return None
    words = frozenset((m.start(), m.end()) for s, e in pieces for m in _WORD.finditer(text, s, e))
    return _Element(tuple(pieces), words)


def _char_overlap(a: _Element, b: _Element) -> int:
    return sum(max(0, min(e1, e2) - max(s1, s2)) for s1, e1 in a.pieces for s2, e2 in b.pieces)


def _overlaps(a: _Element, b: _Element) -> bool:
    return a.pieces == b.pieces or not a.words.isdisjoint(b.words)


def greedy_matched(candidates: list[tuple[int, int, int]]) -> set[int]:
    """The predictions of a one-to-one matching over (weight, pred, gold) pairs, heaviest pairs first."""
    used_pred: set[int] = set()
    used_gold: set[int] = set()
    for _weight, p, g in sorted(candidates, key=lambda c: (-c[0], c[1], c[2])):
        if p not in used_pred and g not in used_gold:
            used_pred.add(p)
            used_gold.add(g)
    return used_pred


def _greedy(candidates: list[tuple[int, int, int]]) -> int:
    return len(greedy_matched(candidates))


def _score(matched: int, predicted: int, gold: int) -> Score:
    return Score(tp=matched, fp=predicted - matched, fn=gold - matched)


def _score_elements(pred: Sequence[_Element], gold: Sequence[_Element]) -> dict[str, Score]:
    exact = len({e.pieces for e in pred} & {e.pieces for e in gold})
    candidates = [
        (_char_overlap(p, g), i, j)
        for i, p in enumerate(pred)
        for j, g in enumerate(gold)
        if _overlaps(p, g)
    ]
    return {
        "exact": _score(exact, len(pred), len(gold)),
        "overlap": _score(_greedy(candidates), len(pred), len(gold)),
    }


Triple = tuple[_Element | None, _Element | None, _Element]  # source, cue, content


def _optional_match(a: _Element | None, b: _Element | None, exact: bool) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.pieces == b.pieces if exact else _overlaps(a, b)


def triple(text: str, attribution: HasElements) -> Triple | None:
    """The trimmed (source, cue, content); None when the content is whitespace only."""
    content = trim(text, attribution.content)
    if content is None:
        return None
    return (trim(text, attribution.source), trim(text, attribution.cue), content)


def triple_key(found: Triple) -> tuple[Pieces | None, ...]:
    return tuple(e.pieces if e is not None else None for e in found)


def _triples(text: str, attributions: Iterable[HasElements]) -> list[Triple]:
    seen: dict[tuple[Pieces | None, ...], Triple] = {}
    for attribution in attributions:
        found = triple(text, attribution)
        if found is not None:  # whitespace-only content: nothing to score
            seen.setdefault(triple_key(found), found)
    return list(seen.values())


def attribution_candidates(pred: Sequence[Triple], gold: Sequence[Triple]) -> tuple[list[tuple[int, int, int]], ...]:
    """(weight, pred, gold) pairs of attributions that match, by exact and by overlap criteria."""
    exact_candidates = []
    overlap_candidates = []
    for i, p in enumerate(pred):
        for j, g in enumerate(gold):
            if not all(_optional_match(a, b, exact=False) for a, b in zip(p, g)):
                continue
            weight = sum(_char_overlap(a, b) for a, b in zip(p, g) if a is not None and b is not None)
            overlap_candidates.append((weight, i, j))
            if all(_optional_match(a, b, exact=True) for a, b in zip(p, g)):
                exact_candidates.append((weight, i, j))
    return exact_candidates, overlap_candidates


def _score_attributions(pred: Sequence[Triple], gold: Sequence[Triple]) -> dict[str, Score]:
    exact_candidates, overlap_candidates = attribution_candidates(pred, gold)
    return {
        "exact": _score(_greedy(exact_candidates), len(pred), len(gold)),
        "overlap": _score(_greedy(overlap_candidates), len(pred), len(gold)),
    }


def score_article(
    text: str, gold: Iterable[HasElements], predicted: Iterable[HasElements]
) -> dict[str, dict[str, Score]]:
    """Counts for one article: ``{level: {mode: Score}}`` for every level and mode."""
    gold_triples = _triples(text, gold)
    pred_triples = _triples(text, predicted)
    scores: dict[str, dict[str, Score]] = {}
    for index, element in enumerate(ELEMENTS):
        pred_elements = _unique(t[index] for t in pred_triples)
        gold_elements = _unique(t[index] for t in gold_triples)
        scores[element] = _score_elements(pred_elements, gold_elements)
    scores["attribution"] = _score_attributions(pred_triples, gold_triples)
    return scores


def _unique(elements: Iterable[_Element | None]) -> list[_Element]:
    by_pieces: dict[Pieces, _Element] = {}
    for element in elements:
        if element is not None:
            by_pieces.setdefault(element.pieces, element)
    return list(by_pieces.values())
