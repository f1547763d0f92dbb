"""Input stage: turn files and streams into :class:`~quotegraph.model.Article` records.

``text.py`` reads one plain-text article (``quotegraph extract``). For batches
(``quotegraph ingest``) every format has a reader behind one interface (``base.Reader``: an
opened file in, :class:`Record`s out): ``text.text_records``, ``html.html_records``,
``warc.warc_records``, ``feeds.feed_records``, ``jsonl.jsonl_records``; ``walk.Walk`` walks
folders and picks the reader for each file.
"""

from quotegraph.ingest.base import JsonlFields, Reader, ReadOptions, Record
from quotegraph.ingest.text import (
    MAX_ARTICLE_BYTES,
    article_from_text,
    decode_text,
    read_text_file,
    read_text_stream,
)
from quotegraph.ingest.walk import Walk, detect, read_paths

__all__ = [
    "MAX_ARTICLE_BYTES", "JsonlFields", "ReadOptions", "Reader", "Record", "Walk", "article_from_text", "decode_text",
    "detect", "read_paths", "read_text_file", "read_text_stream",
]
