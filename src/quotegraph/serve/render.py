"""What the pages show, computed as plain data: highlighted segments of an article, search
terms marked in a quote, how a speaker was resolved, safe links.

Nothing here builds HTML. The templates print every piece of text through Jinja's autoescape,
so an article's own markup (``<script>``, ``<b>``) is always shown as text.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import pairwise
from urllib.parse import urlencode, urlsplit

from quotegraph.model import Attribution, Damage, Extraction, Span

# A segment covered by several spans shows the most specific one: a speaker mention or a cue
# inside someone else's quotation is still shown as source / cue.
ROLE_PRIORITY = {"source": 3, "cue": 2, "content": 1}


@dataclass
class Segment:
    """A run of text with one look: plain, or part of an attribution's source, cue or content."""

    text: str
    start: int
    role: str | None = None  # source, cue, content
    att: int | None = None  # 1-based attribution number
    damage: list[str] = field(default_factory=list)  # damage kinds covering this run
    before: list[int] = field(default_factory=list)  # attribution numbers whose content starts here
    after: list[str] = field(default_factory=list)  # "source"/"cue" labels of spans ending here


def highlight(text: str, attributions: tuple[Attribution, ...] | list[Attribution],
              damage: tuple[Damage, ...] | list[Damage] = ()) -> list[Segment]:
    """Cut ``text`` into runs at every span edge; each run gets the role of its most specific span."""
    marks: list[tuple[int, int, str, int]] = []  # start, end, role, number
    for n, a in enumerate(attributions, start=1):
        for role, span in (("source", a.source), ("cue", a.cue), ("content", a.content)):
            if span is None:
                continue
            for start, end in span.offsets():
                start, end = max(0, start), min(len(text), end)
                if start < end:
                    marks.append((start, end, role, n))
    hurts = [(max(0, d.start), min(len(text), d.end), d.kind) for d in damage if d.start < d.end]
    edges = sorted({0, len(text), *(m[0] for m in marks), *(m[1] for m in marks),
                    *(h[0] for h in hurts), *(h[1] for h in hurts)})
    segments: list[Segment] = []
    for a, b in pairwise(edges):
        if a >= b:
            continue
        covering = [m for m in marks if m[0] <= a and m[1] >= b]
        seg = Segment(text[a:b], a)
        if covering:
            best = max(covering, key=lambda m: (ROLE_PRIORITY[m[2]], -(m[1] - m[0]), -m[3]))
            seg.role, seg.att = best[2], best[3]
        seg.damage = sorted({h[2] for h in hurts if h[0] <= a and h[1] >= b})
        seg.before = sorted({m[3] for m in marks if m[2] == "content" and m[0] == a})
        seg.after = [m[2] for m in sorted(marks, key=lambda m: m[3]) if m[2] != "content" and m[1] == b]
        segments.append(seg)
    return segments


# --- search terms ----------------------------------------------------------------------------

_SUFFIXES = ("ing", "ed", "es", "s")


def _stem(word: str) -> str:
    """A rough stem, so 'weapons' in a query marks 'weapon' (the index stems with Porter)."""
    word = word.lower().removesuffix("'s").removesuffix("’s")
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def mark_terms(text: str, terms: list[list[str]]) -> list[tuple[str, bool]]:
    """``text`` as (run, is a search term) pairs."""
    stems = {_stem(w) for phrase in terms for w in phrase}
    if not stems:
        return [(text, False)] if text else []
    out: list[tuple[str, bool]] = []
    last = 0
    for m in re.finditer(r"\w+(?:['’]\w+)?", text):
        if _stem(m.group()) in stems:
            if m.start() > last:
                out.append((text[last : m.start()], False))
            out.append((m.group(), True))
            last = m.end()
    if last < len(text):
        out.append((text[last:], False))
    return out


def mark_quote(context: str, quote: str) -> list[tuple[str, bool]]:
    """``context`` as runs, the quote marked where it appears (whitespace-insensitive)."""
    first = quote.split(" … ")[0]
    words = first.split()
    if not words:
        return [(context, False)]
    pattern = r"\s+".join(re.escape(w) for w in words)
    m = re.search(pattern, context)
    if not m:
        return [(context, False)]
    return [(run, marked) for run, marked in
            ((context[: m.start()], False), (m.group(), True), (context[m.end():], False)) if run]


# --- speakers --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    mention: str
    antecedent: str
    paragraph: int
    rule: str


@dataclass(frozen=True)
class Explanation:
    """How one attribution's speaker was found, for people."""

    source: str | None
    speaker: str | None
    named: bool
    title: str | None
    method: str
    steps: list[Step]
    damage: list[str]


def paragraph_starts(text: str) -> list[int]:
    """Offsets where paragraphs begin: blocks between blank lines, or lines when there are none."""
    breaks = [m.end() for m in re.finditer(r"\n[ \t]*\n\s*", text)]
    if not breaks:
        breaks = [m.end() for m in re.finditer(r"\n\s*", text)]
    return [0, *breaks]


def paragraph_of(starts: list[int], offset: int) -> int:
    """1-based paragraph number of an offset."""
    return bisect_right(starts, offset)


def explain(extraction: Extraction, attribution: Attribution, starts: list[int] | None = None) -> Explanation:
    starts = starts if starts is not None else paragraph_starts(extraction.article.text)
    speaker = extraction.speaker(attribution.speaker_id)
    steps = [Step(link.mention.text, link.antecedent.text, paragraph_of(starts, link.antecedent.start), link.rule)
             for link in attribution.resolution.chain]
    return Explanation(attribution.source.text if attribution.source else None, speaker.name if speaker else None,
                       speaker.named if speaker else False, speaker.title if speaker else None,
                       attribution.resolution.method.value, steps, damage_kinds(extraction, attribution))


def damage_kinds(extraction: Extraction, attribution: Attribution) -> list[str]:
    """Kinds of scraper damage touching any of the attribution's spans."""
    spans: list[Span] = attribution.spans()
    return sorted({d.kind for d in extraction.damage for s in spans if d.start < s.end and s.start < d.end})


# --- links -----------------------------------------------------------------------------------

def safe_url(url: str | None) -> str | None:
    """An article's URL when it is an http(s) link; anything else (javascript:, data:) is not linked."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def query_string(params: dict[str, object], **changes: object) -> str:
    """``?a=1&b=2`` from the current parameters with some changed; empty values are left out."""
    merged = {**params, **changes}
    pairs = [(k, str(v)) for k, v in merged.items() if v is not None and v != "" and v != 0]
    return "?" + urlencode(pairs) if pairs else "?"


__all__ = ["Explanation", "Segment", "Step", "explain", "highlight", "mark_quote", "mark_terms", "paragraph_of",
           "paragraph_starts", "query_string", "safe_url"]
