"""JSON-lines dumps (``.jsonl``, ``.jsonl.gz``, ``.ndjson``): one article per line.

Field names differ between dumps, so they are configurable (:class:`JsonlFields`); a dotted name
reads a nested field. A line that is not JSON, not an object, or has no text is an error record
for that line, and the rest of the file is still read. Blank lines are passed over.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from quotegraph.ingest.base import JsonlFields, Record, ReadOptions, make_article
from quotegraph.model import Article


def _field(obj: dict[str, Any], name: str) -> Any:
    value: Any = obj
    for part in name.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _text_value(value: Any) -> str | None:
    """Metadata as a string: a list (several authors) is joined, anything else is str()."""
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value if v is not None) or None
    return str(value)


def jsonl_article(obj: Any, fields: JsonlFields, *, default_id: str, path: str, max_chars: int) -> Article:
    """The Article in one decoded JSON line; raises ValueError saying what is wrong with it."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    text = _field(obj, fields.text)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"no text in field '{fields.text}'")
    if len(text) > max_chars:
        raise ValueError(f"text of {len(text):,} characters is over the limit of {max_chars:,}")
    meta = {name: _text_value(_field(obj, getattr(fields, name)))
            for name in ("url", "title", "date", "author", "publisher", "language", "credit")}
    return make_article(text, id=_text_value(_field(obj, fields.id)) or default_id, path=path, **meta)


def _lines(stream: BinaryIO, limit: int) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, line, its size in bytes); a line over ``limit`` bytes comes as None, read
    past in pieces and never held whole: one endless line must not exhaust memory."""
    number = 0
    while raw := stream.readline(limit + 1):
        number += 1
        if len(raw) <= limit or raw.endswith(b"\n"):
            yield number, raw, len(raw)
            continue
        size = len(raw)
        while (piece := stream.readline(1 << 20)) and not piece.endswith(b"\n"):
            size += len(piece)
        yield number, None, size + len(piece)


def jsonl_records(stream: BinaryIO, source: str, options: ReadOptions) -> Iterator[Record]:
    """One record per non-blank line, positioned by line number (from 1)."""
    stem = source.rsplit("/", 1)[-1].split(".")[0]
    limit = options.max_line_bytes
    for number, raw, size in _lines(stream, limit):
        if raw is None:
            yield Record(source, number, "line", error=f"line of {size:,} bytes is over the limit of {limit:,} bytes")
            continue
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
            article = jsonl_article(obj, options.jsonl, default_id=f"{stem}:{number}", path=source, max_chars=options.max_chars)
        except UnicodeDecodeError as exc:
            yield Record(source, number, "line", error=f"not valid UTF-8 at byte {exc.start} of the line")
            continue
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            yield Record(source, number, "line", error=f"{type(exc).__name__}: {exc}")
            continue
        yield Record(source, number, "line", article=article)
