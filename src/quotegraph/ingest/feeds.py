"""RSS and Atom feed files (``.rss``, ``.atom``, ``.xml`` that is a feed), read with feedparser.

Each entry is one article: its full content (``content:encoded`` or Atom ``content``) when the
feed carries it, else its summary, which is usually a teaser that the news filter then skips as
too short. feedparser is handed the bytes of the file, so nothing is fetched.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, BinaryIO

from quotegraph.ingest.base import Record, ReadOptions, make_article
from quotegraph.ingest.html import fragment_text

MAX_FEED_BYTES = 100_000_000


def _entry_text(entry: Any) -> str:
    contents = entry.get("content") or []
    best = max(contents, key=lambda c: len(c.get("value", "")), default=None)
    if best is not None and best.get("value", "").strip():
        value, kind = best["value"], best.get("type", "text/html")
    else:
        value, kind = entry.get("summary", ""), entry.get("summary_detail", {}).get("type", "text/html")
    return fragment_text(value) if "html" in kind else value.strip()


def _credit(entry: Any) -> str | None:
    """The Media RSS credit line (photographer, agency), when the entry has one."""
    credits = entry.get("media_credit") or []
    names = [c.get("content", "").strip() for c in credits if isinstance(c, dict)]
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
    parsed = feedparser.parse(data, resolve_relative_uris=False, sanitize_html=True)
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
        authors = entry.get("authors") or []
        author = ", ".join(a.get("name", "") for a in authors if a.get("name")) or entry.get("author")
        article = make_article(
            text,
            id=entry.get("id") or entry.get("link") or f"{source}#{index}",
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
