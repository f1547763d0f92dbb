"""``quotegraph load DIR --db ...``: a Spark job's articles into the quote store.

Reads ``DIR/articles`` (Parquet, written in input order) with pyarrow — a local folder, or any
URI pyarrow's file systems open (``s3://…``, ``hdfs://…`` with libhdfs) — and adds each article
with ``Store.add``: the store then merges speakers and quotes exactly as ``quotegraph ingest
--db`` would have, in the same order. Needs no Spark.

Each article is one savepoint inside a transaction committed every ``batch`` articles; the store
is idempotent by article key (the same extraction again changes nothing), so a load that was
stopped is simply run again, and loading the same folder twice adds nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from quotegraph.errors import InputError
from quotegraph.model import Extraction
from quotegraph.progress import Progress
from quotegraph.spark.tables import rebuild

COLUMNS = ["key", "file_index", "position", "id", "url", "title", "date", "author", "publisher", "credit",
           "language", "path", "text", "extraction"]


@dataclass
class LoadSummary:
    articles: int = 0
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    statements_new: int = 0
    statements_merged: int = 0

    def to_json(self) -> dict[str, int]:
        return dict(self.__dict__)

    def format(self) -> str:
        return (f"articles: {self.articles:,} ({self.added:,} added, {self.replaced:,} replaced, "
                f"{self.unchanged:,} already there); statements: {self.statements_new:,} new, "
                f"{self.statements_merged:,} merged into existing ones")


def _fragments(folder: str) -> tuple[Any, list[Any]]:
    try:
        import pyarrow.dataset as ds
    except ImportError:
        raise InputError("quotegraph load needs pyarrow: pip install 'quotegraph[spark]'") from None
    target = folder.rstrip("/") + "/articles"
    try:
        dataset = ds.dataset(target, format="parquet")
    except (FileNotFoundError, OSError, ValueError) as exc:
        raise InputError(f"{folder}: no articles table from 'quotegraph spark' ({exc})") from None
    if not all(name in dataset.schema.names for name in ("key", "extraction", "text")):
        raise InputError(f"{target}: not an articles table written by 'quotegraph spark'")
    # Spark wrote the table sorted by input position, part files in order: read them in name order
    return dataset, sorted(dataset.get_fragments(), key=lambda f: f.path)


def iter_articles(folder: str, batch_rows: int = 256) -> Iterator[tuple[str, Extraction]]:
    """(key, extraction) for every article in the folder, in input order."""
    _, fragments = _fragments(folder)
    for fragment in fragments:
        for batch in fragment.to_batches(columns=COLUMNS, batch_size=batch_rows):
            for row in batch.to_pylist():
                yield row["key"], rebuild(row)


def count_articles(folder: str) -> int:
    dataset, _ = _fragments(folder)
    return int(dataset.count_rows())


def load(folder: str, store: Any, *, batch: int = 200, progress: TextIO | None = None,
         show_progress: bool = True) -> LoadSummary:
    """Add every article of a Spark output folder to ``store``; commits every ``batch`` articles."""
    total = count_articles(folder)
    shown = Progress(progress or sys.stderr, total, enabled=show_progress, label="quotegraph load")
    summary = LoadSummary()
    try:
        store.begin()
        for key, extraction in iter_articles(folder):
            result = store.add(key, extraction)
            summary.articles += 1
            setattr(summary, result.status, getattr(summary, result.status) + 1)
            summary.statements_new += result.statements_new
            summary.statements_merged += result.statements_merged
            if summary.articles % batch == 0:
                store.commit()
                store.begin()
            shown.update(summary.articles, summary.articles, summary.articles)
        store.commit()
        store.finish_ingest()
    except BaseException:
        store.rollback()
        raise
    finally:
        shown.update(summary.articles, summary.articles, summary.articles, force=True)
        shown.close()
    return summary


__all__ = ["LoadSummary", "count_articles", "iter_articles", "load"]
