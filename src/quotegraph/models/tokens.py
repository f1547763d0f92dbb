"""Word pieces with character offsets, BIO labels over them, and sliding windows.

The accurate model tags word pieces; everything it learns from and everything it returns is in
character offsets, so this module is the one place where spans become piece labels and back.
Kept free of torch so it can be tested (and reused) without the model.

Conventions:

* A piece belongs to a span when their character ranges overlap. A span piece that starts or
  ends inside a word piece therefore widens to the whole piece; :func:`round_trip` shows the
  effect (on PolNeAR dev it keeps 99.5% of attributions exact: the ceiling of a piece tagger).
* Paragraph breaks are invisible to the word-piece tokenizer, yet they matter for quotations
  (a quote running over paragraphs reopens its mark): a marker piece (``[unused0]``) is
  inserted wherever the text between two pieces holds a newline. Markers have an empty
  character range and are never labelled.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

O, B, I = 0, 1, 2  # single-type BIO (cues)
PARAGRAPH_TOKEN = "[unused0]"


@dataclass(frozen=True)
class Pieces:
    """An article as word pieces: ids and [start, end) character offsets (empty for markers)."""

    ids: tuple[int, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.ids)

    def is_marker(self, i: int) -> bool:
        return self.starts[i] == self.ends[i]


def encode_text(tokenizer: Any, text: str) -> Pieces:
    """Word pieces of ``text`` (no [CLS]/[SEP]) with a paragraph marker at each newline run."""
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    marker = tokenizer.convert_tokens_to_ids(PARAGRAPH_TOKEN)
    ids: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    previous_end = 0
    for piece_id, (start, end) in zip(encoded["input_ids"], encoded["offset_mapping"]):
        if ids and "\n" in text[previous_end:start]:
            newline = text.index("\n", previous_end, start)
            ids.append(marker)
            starts.append(newline)
            ends.append(newline)
        ids.append(piece_id)
        starts.append(start)
        ends.append(end)
        previous_end = end
    return Pieces(tuple(ids), tuple(starts), tuple(ends))


def covered(pieces: Pieces, spans: Sequence[tuple[int, int]]) -> list[int]:
    """For each word piece, the index of the first span (character range) it overlaps, or -1."""
    owner = [-1] * len(pieces)
    for k, (s, e) in enumerate(spans):
        i = bisect.bisect_right(pieces.ends, s)  # first piece ending after s
        while i < len(pieces) and pieces.starts[i] < e:
            if not pieces.is_marker(i) and owner[i] == -1:
                owner[i] = k
            i += 1
    return owner


def bio_labels(pieces: Pieces, spans: Sequence[tuple[int, int]], offset: int = 0) -> list[int]:
    """BIO labels (O=0, B=1, I=2, each shifted by ``offset`` for B and I) for character spans.

    Each span (one piece of a possibly discontinuous element) starts with B; a run of pieces
    from two touching spans keeps them apart by restarting with B. Markers are O.
    """
    owner = covered(pieces, spans)
    labels = [O] * len(pieces)
    previous = -1
    for i, k in enumerate(owner):
        if k == -1:
            if not pieces.is_marker(i):
                previous = -1
            continue
        labels[i] = (B + offset) if k != previous else (I + offset)
        previous = k
    return labels


def bio_spans(labels: Sequence[int], pieces: Pieces, offset: int = 0) -> list[tuple[int, int]]:
    """Character spans from BIO labels: runs of B/I (an I after O starts a run too).

    A marker piece inside a run neither breaks nor extends it, so a quotation that runs over a
    paragraph break stays one span. Returns [start, end) character ranges, in order.
    """
    spans: list[tuple[int, int]] = []
    run: list[int] | None = None  # [first piece, last piece]
    b, i_label = B + offset, I + offset
    for i, label in enumerate(labels):
        if pieces.is_marker(i):
            continue
        if label == b or (label == i_label and run is None):
            if run is not None:
                spans.append((pieces.starts[run[0]], pieces.ends[run[1]]))
            run = [i, i]
        elif label == i_label and run is not None:
            run[1] = i
        else:
            if run is not None:
                spans.append((pieces.starts[run[0]], pieces.ends[run[1]]))
            run = None
    if run is not None:
        spans.append((pieces.starts[run[0]], pieces.ends[run[1]]))
    return spans


def round_trip(pieces: Pieces, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Character spans after encoding ``spans`` as BIO labels and decoding them again."""
    return bio_spans(bio_labels(pieces, spans), pieces)


@dataclass(frozen=True)
class Window:
    """Pieces [start, end) of an article fed to the encoder as one sequence."""

    start: int
    end: int


def windows(length: int, size: int, stride: int) -> list[Window]:
    """Windows of at most ``size`` pieces every ``stride`` pieces; the last one ends the text."""
    if length <= size:
        return [Window(0, length)]
    found = []
    start = 0
    while start + size < length:
        found.append(Window(start, start + size))
        start += stride
    found.append(Window(length - size, length))
    return found


def home_windows(length: int, spans: Sequence[Window]) -> list[int]:
    """For each piece, the window in which it sits farthest from an edge (most context)."""
    home = [0] * length
    best = [-1] * length
    for w, window in enumerate(spans):
        for i in range(window.start, window.end):
            margin = min(i - window.start, window.end - 1 - i)
            if margin > best[i]:
                best[i], home[i] = margin, w
    return home


def word_units(tokenizer: Any, pieces: Pieces) -> tuple[Pieces, list[int]]:
    """Whole words as units (character ranges over their pieces) and each word's first piece.

    The accurate model labels words, not pieces: a boundary can then never fall inside a word.
    A word is a piece plus the ``##`` continuation pieces after it (the tokenizer already splits
    punctuation off); a paragraph marker is a unit of its own. The returned units reuse
    :class:`Pieces` (ids are the first pieces' ids), so :func:`bio_labels` and
    :func:`bio_spans` work on words unchanged.
    """
    tokens = tokenizer.convert_ids_to_tokens(list(pieces.ids))
    first: list[int] = []
    ends: list[int] = []
    for i, token in enumerate(tokens):
        joins = bool(first) and token.startswith("##") and not pieces.is_marker(i) and not pieces.is_marker(first[-1])
        if joins:
            ends[-1] = pieces.ends[i]
        else:
            first.append(i)
            ends.append(pieces.ends[i])
    units = Pieces(tuple(pieces.ids[i] for i in first), tuple(pieces.starts[i] for i in first), tuple(ends))
    return units, first


def even_windows(length: int, size: int, overlap: int) -> list[Window]:
    """As few windows of at most ``size`` pieces as cover the text with ``overlap`` pieces shared
    between neighbours, all of about the same length (no mostly-repeated last window)."""
    if length <= size:
        return [Window(0, length)]
    count = math.ceil((length - overlap) / (size - overlap))
    width = math.ceil((length + (count - 1) * overlap) / count)
    step = width - overlap
    found = [Window(k * step, min(length, k * step + width)) for k in range(count - 1)]
    found.append(Window(length - width, length))
    return found
