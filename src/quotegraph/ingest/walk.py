"""Paths to records: walk folders, pick each file's reader by its name or first bytes.

The reader is chosen by suffix (``.txt``, ``.html``/``.htm``, ``.warc``/``.warc.gz``,
``.rss``/``.atom``/``.xml``, ``.jsonl``/``.ndjson``, any of them ``.gz``-compressed), and by
sniffing the first bytes when the suffix says nothing. Folders are walked recursively in sorted
order (so positions, and the resume ledger, are stable between runs); hidden files are left
alone, and files of no known format inside a folder are counted and passed over. The walk is
lazy: memory does not grow with the number of files.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from quotegraph.errors import InputError
from quotegraph.ingest.base import Reader, Record, ReadOptions
from quotegraph.ingest.feeds import feed_records
from quotegraph.ingest.html import html_records
from quotegraph.ingest.jsonl import jsonl_records
from quotegraph.ingest.text import text_records
from quotegraph.ingest.warc import warc_records

READERS: dict[str, Reader] = {
    "txt": text_records,
    "html": html_records,
    "warc": warc_records,
    "feed": feed_records,
    "jsonl": jsonl_records,
}
SUFFIXES = {
    ".txt": "txt", ".text": "txt",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".warc": "warc",
    ".rss": "feed", ".atom": "feed", ".xml": "feed",
    ".jsonl": "jsonl", ".ndjson": "jsonl",
}
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Format:
    """How to read one file: which reader, and whether to decompress it first."""

    kind: str
    gzipped: bool


def sniff(head: bytes) -> str | None:
    """The format that a file's first bytes (already decompressed) show, if any."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith(b"warc/"):
        return "warc"
    if start.startswith(b"{"):
        return "jsonl"
    if start.startswith((b"<!doctype html", b"<html")):
        return "html"
    if start.startswith(b"<"):
        if b"<rss" in start or b"<feed" in start or b"<rdf:rdf" in start:
            return "feed"
        if b"<html" in start:
            return "html"
    return None


def detect(path: Path) -> Format | None:
    """The format of ``path`` from its suffixes, else from its first bytes; None when unknown."""

    def head() -> bytes:
        with path.open("rb") as stream:
            return stream.read(4096)

    return detect_head(path.name, head)


def detect_head(name: str, head: bytes | Callable[[], bytes]) -> Format | None:
    """The format of a file called ``name`` (any path or URI) whose first raw bytes are ``head``.

    ``head`` may be a callable, read only when the suffix does not settle it; a gzipped head is
    decompressed as far as it goes. Shared by the folder walk and the Spark job, which holds the
    file's bytes rather than a local path.
    """
    suffixes = [s.lower() for s in PurePosixPath(name).suffixes]
    gzipped = bool(suffixes) and suffixes[-1] == ".gz"
    inner = suffixes[-2] if gzipped and len(suffixes) > 1 else (suffixes[-1] if suffixes and not gzipped else "")
    kind = SUFFIXES.get(inner)
    if kind is None or (kind == "feed" and inner == ".xml"):  # .xml may be anything: look inside
        data = head() if callable(head) else head
        data = data[:4096]
        if data.startswith(_GZIP_MAGIC):
            gzipped = True
            try:  # a truncated stream: decompress what there is
                data = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, 4096)
            except zlib.error:
                data = b""
        sniffed = sniff(data)
        if kind == "feed" and sniffed != "feed":  # an .xml file that is not a feed
            return None
        kind = sniffed
    if kind == "warc":
        gzipped = False  # warcio reads gzipped archives record by record itself
    return Format(kind, gzipped) if kind else None


def stream_records(raw: BinaryIO, source: str, form: Format, options: ReadOptions) -> Iterator[Record]:
    """The records of one opened file of a known format; a file that breaks part way ends in an error record.

    OSError from opening or reading is the caller's to turn into an error record.
    """
    stream: BinaryIO = gzip.open(raw, "rb") if form.gzipped else raw  # type: ignore[assignment]
    yield from _guarded(READERS[form.kind](stream, source, options), source)


@dataclass
class Walk:
    """The records under some paths, read lazily, with how far through the input bytes it is."""

    paths: Sequence[str | Path]
    options: ReadOptions = field(default_factory=ReadOptions)
    exclude: Iterable[Path] = ()
    total_bytes: int = 0  # size of every input file, known before reading starts
    bytes_read: int = 0  # updated as records are read: progress and ETA come from this
    files: int = 0
    ignored_files: int = 0  # files in a folder that no reader knows

    def __post_init__(self) -> None:
        self._exclude = {Path(p).resolve() for p in self.exclude}
        for raw in self.paths:
            path = Path(raw)
            if not path.exists():
                raise InputError(f"{path}: no such file or folder")
            if path.is_file() and detect(path) is None:
                raise InputError(f"{path}: not a format quotegraph reads (txt, html, warc, rss/atom, jsonl)")
        self.total_bytes = sum(p.stat().st_size for p in self._files())

    def _files(self) -> Iterator[Path]:
        for raw in self.paths:
            path = Path(raw)
            if path.is_file():
                if path.resolve() not in self._exclude:
                    yield path
                continue
            for folder, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    candidate = Path(folder) / name
                    if not name.startswith(".") and candidate.is_file() and candidate.resolve() not in self._exclude:
                        yield candidate

    def records(self) -> Iterator[Record]:
        """Every record of every file, in a stable order; a file that cannot be read is one error record."""
        done = 0
        for path in self._files():
            size = path.stat().st_size
            source = source_name(path)
            try:
                form = detect(path)
            except OSError as exc:
                yield Record(source, 0, "file", error=f"cannot read: {exc}")
                done += size
                continue
            if form is None:
                self.ignored_files += 1
                done += size
                self.bytes_read = done
                continue
            self.files += 1
            try:
                with path.open("rb") as raw:
                    for record in stream_records(raw, source, form, self.options):
                        self.bytes_read = done + _tell(raw)
                        yield record
            except OSError as exc:
                yield Record(source, 0, "file", error=f"cannot read: {exc}")
            done += size
            self.bytes_read = done


def source_name(path: Path) -> str:
    """The absolute path as text for keys, the ledger and output: a file name that is not valid
    UTF-8 (Latin-1 names on Linux) shows its bad bytes as ``\\xe9`` instead of breaking every
    write of the key."""
    return os.fsencode(path.resolve()).decode("utf-8", "backslashreplace")


def _tell(raw: BinaryIO) -> int:
    try:
        return raw.tell()
    except (OSError, ValueError):
        return 0


def _guarded(records: Iterator[Record], source: str) -> Iterator[Record]:
    """A reader's records; if the file breaks part way (a truncated gzip), one error record ends it."""
    last: Record | None = None
    try:
        for last in records:
            yield last
    except (OSError, EOFError, ValueError, zlib.error) as exc:  # zlib.error: a corrupt deflate stream in a .gz
        unit = last.unit if last else "file"
        position = (last.position + 1) if last else 0
        yield Record(source, position, unit, error=f"file unreadable past this point: {type(exc).__name__}: {exc}")


def read_paths(paths: Sequence[str | Path], options: ReadOptions | None = None) -> Iterator[Record]:
    """Every record under ``paths`` (files and folders), for callers that need no progress."""
    yield from Walk(paths, options or ReadOptions()).records()
