"""The store as an ingest sink (``quotegraph ingest --db``), behind ``sinks.Sink``.

Each article is written in its own savepoint inside the batch's transaction, so an article is
stored whole or not at all; ``commit`` commits the transaction. A crash loses only what was not
committed, and the batch ledger only lists committed articles. Writes are idempotent by article
key (the same extraction again is a no-op), so articles committed after the ledger's last entry
are simply written again on resume; ``rollback`` therefore only drops an open transaction and
never deletes stored articles (``rollback(0)`` on a fresh ledger must not empty a shared store).
"""

from __future__ import annotations

from quotegraph.model import Extraction
from quotegraph.store.base import Store


class StoreSink:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.written = 0
        self.committed = 0

    def write(self, key: str, extraction: Extraction) -> None:
        self.store.begin()
        self.store.add(key, extraction)
        self.written += 1

    def commit(self) -> int:
        self.store.commit()
        self.committed = self.written
        return self.committed

    def rollback(self, checkpoint: int) -> None:
        self.store.rollback()
        self.written = self.committed = checkpoint

    def close(self) -> None:
        self.store.commit()
        self.store.finish_ingest()
        self.store.close()


__all__ = ["StoreSink"]
