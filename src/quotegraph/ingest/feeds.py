"""RSS and Atom feed files (``.rss``, ``.atom``, ``.xml`` that is a feed), read with feedparser.

Each entry is one article: its full content (``content:encoded`` or Atom ``content``) when the
feed carries it, else its summary, which is usually a teaser that the news filter then skips as
too short. feedparser is handed the bytes of the file, so nothing is fetched.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any, BinaryIO

from quotegraph.ingest.base import Record, ReadOptions, make_article
from quotegraph.ingest.html import fragment_text

MAX_FEED_BYTES = 100_000_000
_CHARREF = re.compile(rb"&#([xX][0-9a-fA-F]+|[0-9]+);?")


def _charref(match: re.Match[bytes]) -> bytes:
    ref = match.group(1)
    hexadecimal = ref[:1] in b"xX"
    digits = ref[1:] if hexadecimal else ref
    value = int(digits[-12:], 16 if hexadecimal else 10) if len(digits.lstrip(b"0")) <= 12 else -1
    return match.group(0) if 0 <= value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF else b"&#xFFFD;"


def valid_charrefs(data: bytes) -> bytes:
    """Numeric character references to no character (a surrogate, past U+10FFFF) become U+FFFD.

    feedparser's fallback parser calls chr() on them and raises, which would lose the whole feed.
    """
    return _CHARREF.sub(_charref, data)


def _str(value: Any) -> str:
    """A feed value as text: feedparser leaves a field None when broken markup cut it short."""
    return value if isinstance(value, str) else ""


def _entry_text(entry: Any) -> str:
    contents = [c for c in entry.get("content") or [] if isinstance(c, dict)]
    best = max(contents, key=lambda c: len(_str(c.get("value"))), default=None)
    if best is not None and _str(best.get("value")).strip():
        value, kind = _str(best.get("value")), _str(best.get("type")) or "text/html"
    else:
        detail = entry.get("summary_detail")
        value = _str(entry.get("summary"))
        kind = (_str(detail.get("type")) if isinstance(detail, dict) else "") or "text/html"
    return fragment_text(value) if "html" in kind else value.strip()


def _credit(entry: Any) -> str | None:
    """The Media RSS credit line (photographer, agency), when the entry has one."""
    credits = entry.get("media_credit") or []
    names = [_str(c.get("content")).strip() for c in credits if isinstance(c, dict)]
    return ", ".join(n for n in names if n) or None


def _iso(parsed: time.struct_time | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", parsed) if parsed else None


def feed_records(stream: BinaryIO, source: str, options: ReadOptions) -> Iterator[Record]:
    """One record per feed entry, positioned by its index in the feed (from 0)."""
    import feedparser

    data = stream.read(MAX_FEED_BYTES + 1)
    if len(data) > MAX_FEED_BYTES:
        yield Record(source, 0, "entry", error=f"feed is over the limit of {MAX_FEED_BYTES:,} bytes")
        return
    parsed = feedparser.parse(valid_charrefs(data), resolve_relative_uris=False, sanitize_html=True)
    if not parsed.entries:
        problem = parsed.get("bozo_exception")
        yield Record(source, 0, "entry", error=f"not a feed, or a feed with no entries{f': {problem}' if problem else ''}")
        return
    feed = parsed.feed
    publisher = feed.get("title")
    feed_language = feed.get("language")
    for index, entry in enumerate(parsed.entries):
        text = _entry_text(entry)
        if not text:
            yield Record(source, index, "entry", error="entry has no content")
            continue
        if len(text) > options.max_chars:
            yield Record(source, index, "entry",
                         error=f"entry text of {len(text):,} characters is over the limit of {options.max_chars:,}")
            continue
        authors = [_str(a.get("name")) for a in entry.get("authors") or [] if isinstance(a, dict)]
        author = ", ".join(a for a in authors if a) or entry.get("author")
        article = make_article(
            text,
            id=_str(entry.get("id")) or _str(entry.get("link")) or f"{source}#{index}",
            path=source,
            url=entry.get("link"),
            title=entry.get("title"),
            date=_iso(entry.get("published_parsed") or entry.get("updated_parsed")),
            author=author,
            publisher=publisher,
            language=entry.get("language") or (entry.get("title_detail") or {}).get("language") or feed_language,
            credit=_credit(entry),
        )
        yield Record(source, index, "entry", article=article)
