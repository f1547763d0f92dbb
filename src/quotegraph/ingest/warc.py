"""WARC archives (``.warc``, ``.warc.gz``): a crawler's output or Common Crawl's CC-NEWS.

Only HTTP responses carrying HTML are articles. Requests, metadata, warcinfo and revisit records
are passed over without a word (they are not documents); a response that is not HTML, or not a
success, is reported as a skipped record so the count adds up. The article's URL is the record's
target URI; its date is the page's own publication date when it has one, else the record's
WARC-Date (when it was fetched).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from quotegraph.errors import InputError
from quotegraph.ingest.base import Record, ReadOptions
from quotegraph.ingest.html import MAX_HTML_BYTES, html_article

_HTML_TYPES = ("text/html", "application/xhtml+xml")


def warc_records(stream: BinaryIO, source: str, options: ReadOptions) -> Iterator[Record]:
    """One record per HTTP response in the archive, positioned by the WARC record's byte offset."""
    from warcio.archiveiterator import ArchiveIterator

    records = ArchiveIterator(stream)
    offset = -1
    try:
        for warc in records:
            if warc.rec_type != "response":
                offset = records.get_record_offset()
                continue
            headers = warc.http_headers
            status = headers.get_statuscode() or "" if headers is not None else ""
            content_type = (headers.get_header("Content-Type") or "").split(";")[0].strip().lower() if headers else ""
            skip = None
            if headers is None:  # a response record that is not HTTP (dns:, ftp:)
                skip = "not-html"
            elif not status.startswith("2"):
                skip = "http-status"
            elif content_type not in _HTML_TYPES:
                skip = "not-html"
            # the payload is read before asking for the offset: warcio skips the record to find it
            body = warc.content_stream().read(MAX_HTML_BYTES + 1) if skip is None else b""
            offset = records.get_record_offset()
            if skip is not None:
                yield Record(source, offset, "offset", skip=skip)
                continue
            url = warc.rec_headers.get_header("WARC-Target-URI")
            date = warc.rec_headers.get_header("WARC-Date")
            record_id = warc.rec_headers.get_header("WARC-Record-ID") or f"{source}@{offset}"
            try:
                article = html_article(body, id=record_id.strip("<>"), path=source, url=url, date=date,
                                       max_chars=options.max_chars)
            except (InputError, ValueError) as exc:
                yield Record(source, offset, "offset", error=f"{url or 'record'}: {exc}")
                continue
            yield Record(source, offset, "offset", article=article)
    except Exception as exc:  # a truncated or corrupt archive: report where, keep the batch going
        broken = max(int(getattr(records, "offset", 0) or 0), offset + 1)  # never the key of a record already read
        yield Record(source, broken, "offset", error=f"cannot read the archive at byte {broken}: {type(exc).__name__}: {exc}")
