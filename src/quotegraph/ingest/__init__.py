"""Input stage: turn files and streams into :class:`~quotegraph.model.Article` records."""

from quotegraph.ingest.text import (
    MAX_ARTICLE_BYTES,
    article_from_text,
    decode_text,
    read_text_file,
    read_text_stream,
)

__all__ = ["MAX_ARTICLE_BYTES", "article_from_text", "decode_text", "read_text_file", "read_text_stream"]
