"""Saved HTML pages (``.html``/``.htm``) and HTML fragments, read with trafilatura.

trafilatura finds the article among navigation, advertisements and "related" boxes and keeps
the text of links inside it: a speaker's name is often link text, and scrapers that drop links
leave "said thatAt" behind. trafilatura is only ever handed bytes already read, so nothing is
fetched.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from quotegraph.errors import InputError
from quotegraph.ingest.base import MAX_ARTICLE_CHARS, Record, ReadOptions, make_article, paragraphs
from quotegraph.model import Article

MAX_HTML_BYTES = 20_000_000
_LANG = re.compile(rb"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)", re.I)
_BLOCK_TAGS = frozenset(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote pre table tr section article header footer figure figcaption".split()
)
_PARA = "\u2029"  # marks a block boundary while the fragment's own whitespace is collapsed
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0]+")


def page_language(data: bytes) -> str | None:
    """The language the page declares on its <html> element, if any (``en``, ``en-GB``)."""
    match = _LANG.search(data[:8192])
    return match.group(1).decode("ascii").replace("_", "-") if match else None


def html_article(
    data: bytes, *, id: str, path: str, url: str | None = None, date: str | None = None,
    max_chars: int = MAX_ARTICLE_CHARS,
) -> Article:
    """The main text and metadata of one HTML page; ``url``/``date`` are used when the page lacks them.

    Raises InputError when no article text can be found (an index page, an empty shell).
    """
    import trafilatura

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)  # its per-page complaints become our error records
    if len(data) > MAX_HTML_BYTES:
        raise InputError(f"more than {MAX_HTML_BYTES:,} bytes of HTML, over the limit for one page")
    document = trafilatura.bare_extraction(
        data, url=url, with_metadata=True, include_comments=False, include_tables=False, include_links=False
    )
    if document is None or not (document.text or "").strip():
        raise InputError("no article text found in the HTML")
    text = paragraphs(document.text)
    if len(text) > max_chars:
        raise InputError(f"article text of {len(text):,} characters is over the limit of {max_chars:,}")
    return make_article(
        text,
        id=id,
        path=path,
        url=url or document.url,
        title=document.title,
        date=document.date or date,
        author=document.author,
        publisher=document.sitename or document.hostname,
        language=page_language(data),
    )


def fragment_text(html: str) -> str:
    """Plain text of an HTML fragment (a feed entry's content): block elements become paragraphs.

    Link text is kept in place, as are the spaces around it.
    """
    import lxml.html

    if "<" not in html:
        return paragraphs(html)
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except Exception:  # lxml refuses some broken markup outright: fall back to the text itself
        return paragraphs(re.sub(r"<[^>]*>", " ", html))
    for bad in root.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCK_TAGS:
            element.tail = _PARA + (element.tail or "")
            element.text = _PARA + (element.text or "")
    text = _SPACES.sub(" ", root.text_content())
    blocks = [block.strip() for block in text.split(_PARA)]
    return "\n\n".join(block for block in blocks if block)


def html_records(stream: BinaryIO, source: str, options: ReadOptions) -> Iterator[Record]:
    """The batch reader for a saved page: one record, the article on it."""
    data = stream.read(MAX_HTML_BYTES + 1)
    try:
        article = html_article(data, id=Path(source).stem, path=source, max_chars=options.max_chars)
    except InputError as exc:
        yield Record(source, 0, "file", error=str(exc))
        return
    yield Record(source, 0, "file", article=article)
