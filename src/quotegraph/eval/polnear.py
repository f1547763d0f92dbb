"""Read PolNeAR gold attributions (brat standoff) into quotegraph spans.

Layout (PolNeAR v1.0.0): ``<data_dir>/<split>/text/<name>.txt`` and
``<data_dir>/<split>/attributions/<name>_<annotator>.ann``. Offsets in the ``.ann`` files are
character offsets into the text *as stored* (no newline translation), the same convention as
quotegraph's own offsets, so gold and predicted spans compare directly.

Brat details this reader handles, all seen in the real files:

* ``T`` lines whose text spans newlines continue on the following physical lines;
* discontinuous spans (``s e;s e``), whose brat text is the pieces joined by one space;
* ``E`` lines with repeated roles (``Content2:T9``): the pieces are merged into one span;
* ``E`` lines of type ``Attribution-no-source`` (no ``Source`` role);
* ``#`` annotator notes and ``Discuss``/``Discard`` spans, which are ignored;
* ``E`` lines without a ``Content`` role (36 empty stubs and 2 slips in train+dev), which are
  skipped: an attribution without content cannot be scored. One attribution lacks a ``Cue``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from quotegraph.errors import InputError
from quotegraph.model import Span

ATTRIBUTION_EVENTS = ("Attribution", "Attribution-no-source")
ROLES = ("Source", "Cue", "Content")

_T_HEAD = re.compile(r"^(T\d+)\t(\S+) (\d+ \d+(?:;\d+ \d+)*)(?:\t(.*))?$", re.DOTALL)
_E_LINE = re.compile(r"^(E\d+)\t(\S+):(T\d+)((?: \S+:T\d+)*) *$")
_ROLE = re.compile(r"^(Source|Cue|Content)\d*$")
# brat annotation kinds this reader has no use for (relations, attributes, notes, ...)
_IGNORED_PREFIXES = ("#", "R", "A", "M", "N", "*")


@dataclass(frozen=True)
class GoldAttribution:
    """One annotated attribution; ``source`` is None for PolNeAR's ``Attribution-no-source``."""

    content: Span
    source: Span | None
    cue: Span | None


@dataclass(frozen=True)
class GoldArticle:
    """An article's text and the attributions of the one annotator chosen for it."""

    name: str
    text: str
    annotator: str
    attributions: tuple[GoldAttribution, ...]


@dataclass(frozen=True)
class _TextBound:
    label: str
    pieces: tuple[tuple[int, int], ...]
    line: int


def read_text(path: Path) -> str:
    """The article text exactly as stored: brat offsets count ``\\r`` characters too."""
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def parse_ann(ann: str, text: str, where: str = "<ann>") -> tuple[GoldAttribution, ...]:
    """Parse one brat ``.ann`` document against its article text.

    Every span's stored text is checked against ``text`` so that an offset or newline mismatch
    fails loudly here instead of silently skewing scores. ``where`` names the file in errors.
    """
    lines = ann.split("\n")
    bounds: dict[str, _TextBound] = {}
    events: list[tuple[int, str, list[tuple[str, str]]]] = []
    index = 0
    while index < len(lines):
        number = index + 1
        raw = lines[index]
        line = raw.rstrip("\r")
        index += 1
        if not line.strip():
            continue
        if line.startswith("T"):
            head = _T_HEAD.match(raw)
            if head is None:
                raise InputError(f"{where}:{number}: malformed span line: {line[:80]!r}")
            tid, label, offsets, stored = head.group(1), head.group(2), head.group(3), head.group(4) or ""
            pieces = tuple(_pieces(offsets, len(text), where, number))
            expected = " ".join(text[s:e] for s, e in pieces)
            # a span text containing newlines continues on the next physical lines
            while len(stored) < len(expected) and index < len(lines):
                stored += "\n" + lines[index]
                index += 1
            if stored.rstrip("\r") != expected and stored != expected:
                raise InputError(
                    f"{where}:{number}: {tid} text {stored[:40]!r} does not match the article "
                    f"text at {offsets} ({expected[:40]!r})"
                )
            if tid in bounds:
                raise InputError(f"{where}:{number}: {tid} is defined twice")
            bounds[tid] = _TextBound(label, pieces, number)
        elif line.startswith("E"):
            match = _E_LINE.match(line)
            if match is None:
                raise InputError(f"{where}:{number}: malformed event line: {line[:80]!r}")
            eid, etype, _trigger, rest = match.groups()
            if etype not in ATTRIBUTION_EVENTS:
                continue
            args = [tuple(arg.split(":", 1)) for arg in rest.split()]
            events.append((number, eid, args))  # type: ignore[arg-type]
        elif line.startswith(_IGNORED_PREFIXES):
            continue
        else:
            raise InputError(f"{where}:{number}: unrecognised brat line: {line[:80]!r}")

    attributions: list[GoldAttribution] = []
    for number, eid, args in events:
        parts: dict[str, list[tuple[int, int]]] = {role: [] for role in ROLES}
        for role_name, tid in args:
            role = _ROLE.match(role_name)
            if role is None:
                raise InputError(f"{where}:{number}: {eid} has an unknown role {role_name!r}")
            bound = bounds.get(tid)
            if bound is None:
                raise InputError(f"{where}:{number}: {eid} refers to {tid}, which is not defined")
            parts[role.group(1)].extend(bound.pieces)
        if not parts["Content"]:
            continue  # an empty stub or a content-less slip: nothing a system could match
        attributions.append(
            GoldAttribution(
                content=Span.join(text, parts["Content"]),
                source=Span.join(text, parts["Source"]) if parts["Source"] else None,
                cue=Span.join(text, parts["Cue"]) if parts["Cue"] else None,
            )
        )
    return tuple(attributions)


def _pieces(offsets: str, limit: int, where: str, number: int) -> list[tuple[int, int]]:
    pieces = []
    for chunk in offsets.split(";"):
        start, end = (int(x) for x in chunk.split())
        if not 0 <= start < end <= limit:
            raise InputError(f"{where}:{number}: span {start}-{end} lies outside the article (length {limit})")
        pieces.append((start, end))
    return pieces


def annotation_files(ann_dir: Path, names: set[str]) -> dict[str, dict[str, Path]]:
    """Map article name -> {annotator: .ann path}; annotator ids are the part after the last ``_``."""
    found: dict[str, dict[str, Path]] = {}
    for path in sorted(ann_dir.glob("*.ann")):
        name, sep, annotator = path.stem.rpartition("_")
        if not sep or not annotator:
            raise InputError(f"{path}: annotation file name is not <article>_<annotator>.ann")
        if name not in names:
            raise InputError(f"{path}: no article text {name}.txt for this annotation file")
        found.setdefault(name, {})[annotator] = path
    return found


def load_split(data_dir: Path | str, split: str) -> list[GoldArticle]:
    """All articles of one split with their gold attributions, sorted by name.

    When several annotators labelled an article, the one whose id sorts first is used, so that
    every run scores against the same gold.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise InputError(f"PolNeAR data folder not found: {root}")
    split_dir = root / split
    if not split_dir.is_dir():
        have = sorted(p.name for p in root.iterdir() if (p / "text").is_dir())
        raise InputError(f"split {split!r} not found in {root} (available: {', '.join(have) or 'none'})")
    text_dir, ann_dir = split_dir / "text", split_dir / "attributions"
    for folder in (text_dir, ann_dir):
        if not folder.is_dir():
            raise InputError(f"missing folder {folder} (expected <split>/text and <split>/attributions)")
    texts = {p.stem: p for p in text_dir.glob("*.txt")}
    if not texts:
        raise InputError(f"no .txt articles in {text_dir}")
    annotations = annotation_files(ann_dir, set(texts))
    articles = []
    for name in sorted(texts):
        by_annotator = annotations.get(name)
        if not by_annotator:
            raise InputError(f"article {name} has no annotation file {name}_<annotator>.ann in {ann_dir}")
        annotator = min(by_annotator)
        ann_path = by_annotator[annotator]
        text = read_text(texts[name])
        with open(ann_path, encoding="utf-8", newline="") as handle:
            ann = handle.read()
        articles.append(GoldArticle(name, text, annotator, parse_ann(ann, text, str(ann_path))))
    return articles
