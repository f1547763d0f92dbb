"""Read plain-text articles (files or stdin) into :class:`~quotegraph.model.Article` records.

Bytes are checked before anything else runs, so a bad file fails fast with a one-line
message (:class:`~quotegraph.errors.InputError`) instead of a traceback deep in the parser.
The text is kept exactly as read (apart from a leading byte-order mark): every offset that
quotegraph reports points into it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from quotegraph.clean import parse_header
from quotegraph.errors import InputError
from quotegraph.ingest.base import MAX_ARTICLE_CHARS, Record, ReadOptions
from quotegraph.model import Article

MAX_ARTICLE_BYTES = 10_000_000  # a news article is a few kB; anything this big is not one
_BOM = b"\xef\xbb\xbf"
_SAMPLE = 65_536  # bytes inspected for control characters
_MAX_CONTROL_SHARE = 0.05  # text has tabs and newlines, hardly any other control bytes
# control bytes that plain text does contain: tab, newline, vertical tab, form feed, return
_TEXT_CONTROLS = b"\t\n\x0b\x0c\r"
_OTHER_CONTROLS = bytes(c for c in range(32) if c not in _TEXT_CONTROLS) + b"\x7f"


def decode_text(
    data: bytes, name: str = "<input>", *, max_bytes: int = MAX_ARTICLE_BYTES, max_chars: int = MAX_ARTICLE_CHARS
) -> str:
    """Decode UTF-8 article bytes (a leading BOM is dropped), or raise InputError saying why not.

    ``max_bytes`` caps what is read at all; ``max_chars`` is the article limit every reader
    shares (the parser needs memory and time in proportion to it)."""
    if len(data) > max_bytes:
        raise InputError(f"{name}: {len(data):,} bytes is over the limit of {max_bytes:,} bytes for one article")
    if not data.strip():
        raise InputError(f"{name}: the input is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{name}: looks like UTF-16 text; quotegraph reads UTF-8 (convert it first)")
    if b"\x00" in data:
        raise InputError(f"{name}: binary data (NUL bytes), not a text file")
    sample = data[:_SAMPLE]
    controls = len(sample) - len(sample.translate(None, _OTHER_CONTROLS))
    if controls > _MAX_CONTROL_SHARE * len(sample):
        raise InputError(f"{name}: binary data ({controls} control bytes in the first {len(sample):,}), not a text file")
    skip = len(_BOM) if data.startswith(_BOM) else 0
    try:
        text = data[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not valid UTF-8 at byte {exc.start + skip}") from None
    if not text.strip():
        raise InputError(f"{name}: the input is empty (only whitespace)")
    if len(text) > max_chars:
        raise InputError(f"{name}: {len(text):,} characters is over the limit of {max_chars:,} characters for one article")
    return text


def article_from_text(text: str, *, id: str = "", path: str | None = None) -> Article:
    """An Article holding ``text`` unchanged, with date/credit/author from its header lines."""
    header, _, _ = parse_header(text)
    return Article(
        text=text,
        id=id,
        path=path,
        date=header.get("date"),
        credit=header.get("credit"),
        author=header.get("author"),
    )


def read_text_file(path: str | Path, *, max_bytes: int = MAX_ARTICLE_BYTES) -> Article:
    """Read one UTF-8 text file as an article; its id is the file name without extension."""
    path = Path(path)
    try:
        with path.open("rb") as stream:
            data = stream.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        size = _size(path, len(data))
        raise InputError(f"{path}: {size} bytes is over the limit of {max_bytes:,} bytes for one article")
    return article_from_text(decode_text(data, str(path), max_bytes=max_bytes), id=path.stem, path=str(path))


def read_text_stream(
    stream: BinaryIO, name: str = "-", *, max_bytes: int = MAX_ARTICLE_BYTES
) -> Article:
    """Read one article from a binary stream (stdin when ``name`` is ``-`` or ``<stdin>``)."""
    stdin = name in ("-", "<stdin>")
    shown = "<stdin>" if stdin else name
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputError(f"{shown}: more than {max_bytes:,} bytes, over the limit for one article")
    article_id = "stdin" if stdin else Path(name).stem
    return article_from_text(decode_text(data, shown, max_bytes=max_bytes), id=article_id)


def _size(path: Path, at_least: int) -> str:
    try:
        return f"{path.stat().st_size:,}"
    except OSError:
        return f"more than {at_least - 1:,}"


def text_records(stream: BinaryIO, source: str, options: ReadOptions | None = None) -> Iterator[Record]:
    """The batch reader for a ``.txt`` file: one record, the whole file as one article.

    Same checks as :func:`read_text_file`, but a bad file becomes an error record so a batch
    goes on past it.
    """
    data = stream.read(MAX_ARTICLE_BYTES + 1)
    if len(data) > MAX_ARTICLE_BYTES:  # only the start was read: say "more than", not a size it is not
        yield Record(source, 0, "file", error=f"{source}: more than {MAX_ARTICLE_BYTES:,} bytes, over the limit for one article")
        return
    try:
        text = decode_text(data, source, max_chars=(options or ReadOptions()).max_chars)
    except InputError as exc:
        yield Record(source, 0, "file", error=str(exc))
        return
    yield Record(source, 0, "file", article=article_from_text(text, id=Path(source).stem, path=source))
