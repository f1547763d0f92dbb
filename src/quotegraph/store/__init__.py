"""quotegraph's memory: statements, speakers and where they appeared, searchable by words and meaning.

``open_store(target)`` opens (creating and migrating when needed) a store: a file path or
``sqlite:///path`` is SQLite, ``postgresql://...`` is PostgreSQL. See ``base.Store`` for the
interface.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from quotegraph.store.base import (Hit, IngestResult, Occurrence, Page, SearchQuery, SpeakerInfo, StatementView,
                                   Store)

DEFAULT_DB = "quotegraph.db"


def default_target() -> str:
    return os.environ.get("QUOTEGRAPH_DB") or DEFAULT_DB


def default_alias_file(target: str) -> Path:
    """``quotegraph.db`` -> ``quotegraph.aliases.tsv`` beside it; for a server, in the current folder."""
    if os.environ.get("QUOTEGRAPH_ALIASES"):
        return Path(os.environ["QUOTEGRAPH_ALIASES"])
    if is_postgres(target):
        return Path("quotegraph.aliases.tsv")
    path = Path(target.removeprefix("sqlite:///"))
    return path.with_name(path.stem + ".aliases.tsv")


def is_postgres(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def open_store(target: str | Path | None = None, *, aliases: str | Path | None = None, embed: bool = False,
               **options: Any) -> Store:
    """Open the store at ``target`` (default ``$QUOTEGRAPH_DB`` or ``quotegraph.db``).

    ``aliases`` is the speaker-corrections file (default beside the database); ``embed`` computes
    sentence embeddings at ingest (otherwise on the first search by meaning); ``read_only=True``
    opens a connection the database refuses writes on, without migrating (open a writer first).
    """
    target = str(target) if target is not None else default_target()
    alias_path = Path(aliases) if aliases is not None else default_alias_file(target)
    if is_postgres(target):
        from quotegraph.store.postgres import PostgresStore

        return PostgresStore(target, aliases=alias_path, embed=embed, **options)
    from quotegraph.store.sqlite import SQLiteStore

    return SQLiteStore(target.removeprefix("sqlite:///"), aliases=alias_path, embed=embed, **options)


__all__ = ["DEFAULT_DB", "Hit", "IngestResult", "Occurrence", "Page", "SearchQuery", "SpeakerInfo", "StatementView",
           "Store", "default_target", "open_store"]
