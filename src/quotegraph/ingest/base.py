"""What every reader yields, and the one interface readers share.

A reader turns one opened file into a stream of :class:`Record`s. A record is one *position*
in the file (a JSONL line, a WARC record, a feed entry, or the whole file for one-article
formats) holding either an :class:`~quotegraph.model.Article` or the reason it could not be
read. Bad items become records rather than exceptions so that one broken line never stops a
batch, and every record has a stable key (source + position) so that a resumed run can tell
what it already did.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from quotegraph.clean import parse_header
from quotegraph.model import Article

MAX_ARTICLE_CHARS = 1_000_000  # a news article is a few thousand characters; spaCy's own limit
MAX_LINE_BYTES = 16_000_000  # one JSONL line: an article at the limit, JSON-escaped, with its metadata


@dataclass(frozen=True)
class Record:
    """One item of a source file: an article, or why there is none."""

    source: str  # the file it came from (absolute path)
    position: int  # where in that file: see ``unit``
    unit: str  # "file" (0), "line" (1-based), "offset" (byte offset of a WARC record), "entry" (0-based)
    article: Article | None = None
    error: str | None = None  # the item is there but broken (bad JSON, undecodable text)
    skip: str | None = None  # the item is not an article at all (a WARC response that is not HTML)

    @property
    def key(self) -> str:
        """Stable across runs over the same files: what the resume ledger records."""
        return f"{self.source}#{self.unit}:{self.position}"


@dataclass(frozen=True)
class JsonlFields:
    """Which JSON fields of a JSONL line hold the text and each piece of metadata.

    A dotted name (``meta.url``) looks inside nested objects. A field that is missing or null
    simply leaves that metadata unknown; only the text is required.
    """

    text: str = "text"
    id: str = "id"
    url: str = "url"
    title: str = "title"
    date: str = "date"
    author: str = "author"
    publisher: str = "publisher"
    language: str = "language"
    credit: str = "credit"


@dataclass(frozen=True)
class ReadOptions:
    """Settings that change how files are read."""

    jsonl: JsonlFields = field(default_factory=JsonlFields)
    max_chars: int = MAX_ARTICLE_CHARS  # the longest article text any reader passes on
    max_line_bytes: int = MAX_LINE_BYTES  # the longest JSONL line read into memory


class Reader(Protocol):
    """Reads one opened file (binary, positioned at its start) into records, lazily."""

    def __call__(self, stream: BinaryIO, source: str, options: ReadOptions) -> Iterator[Record]: ...


_BLANK_LINES = re.compile(r"[ \t]*\n[ \t\n]*")


def paragraphs(text: str) -> str:
    """One blank line between paragraphs, as the extractor's quote rules expect.

    HTML and feed text comes out with one paragraph per line; quotes are closed at paragraph
    ends, which the extractor finds at blank lines.
    """
    return _BLANK_LINES.sub("\n\n", text.strip())


_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(value: str) -> str:
    """``value`` with every lone surrogate replaced by U+FFFD, same length, so offsets hold.

    JSON escapes (``"\\ud800"``) and numeric character references decode to lone surrogates,
    which no UTF-8 writer (output file, ledger, database) accepts.
    """
    return _SURROGATE.sub("\ufffd", value)


def make_article(text: str, *, id: str, path: str, **metadata: str | None) -> Article:
    """An Article whose missing date/credit/author fall back to the text's own header lines."""
    text, id, path = valid_text(text), valid_text(id), valid_text(path)
    header, _, _ = parse_header(text)
    clean = {k: (valid_text(v.strip()) if isinstance(v, str) and v.strip() else None) for k, v in metadata.items()}
    for name in ("date", "credit", "author"):
        if not clean.get(name):
            clean[name] = header.get(name)
    return Article(text=text, id=id, path=path, **clean)
