"""The SQLite backend: one file, no server, FTS5 for full-text search. The default."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from quotegraph.store.base import Store


def split_sql(script: str) -> list[str]:
    """A migration file's statements (they end with ';' at the end of a line; no triggers)."""
    text = "\n".join(line for line in script.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in re.split(r";\s*(?:\n|$)", text) if s.strip()]


def fts_phrase(words: list[str]) -> str:
    """Words as one quoted FTS5 phrase; only word characters reach here, so nothing can escape."""
    return '"' + " ".join(w.replace('"', "") for w in words) + '"'


class SQLiteStore(Store):
    backend = "sqlite"
    placeholder = "?"

    def __init__(self, path: str | Path, **options: Any) -> None:
        self.path = Path(path)
        conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        # WAL: readers never block the writer; synchronous=NORMAL keeps a commit durable against a
        # process crash (the case ingest cares about) without an fsync per article.
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA cache_size = -131072")  # 128 MiB
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA busy_timeout = 30000")
        super().__init__(conn, **options)

    def _cursor_execute(self, sql: str, params: Sequence[Any]) -> Any:
        return self.conn.execute(sql, params)

    def _refuse_writes(self) -> None:
        self.conn.execute("PRAGMA query_only = ON")

    def _cursor_executemany(self, sql: str, rows: list[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def _run_script(self, script: str) -> None:
        for statement in split_sql(script):
            self.conn.execute(statement)

    def _fts_add(self, statement_id: int, content: str, keys: str) -> None:
        self.conn.execute("INSERT INTO statement_fts (rowid, content, speaker_keys) VALUES (?, ?, ?)",
                          (statement_id, content, keys))

    def _fts_remove(self, statement_id: int, content: str, keys: str) -> None:
        # External-content FTS5: a row is removed by repeating what was indexed.
        self.conn.execute("INSERT INTO statement_fts (statement_fts, rowid, content, speaker_keys) "
                          "VALUES ('delete', ?, ?, ?)", (statement_id, content, keys))

    @staticmethod
    def _fts_query(terms: list[list[str]], speaker_tokens: list[str]) -> str:
        """The MATCH expression: every word or phrase in the content, any speaker token."""
        parts = []
        if terms:
            parts.append("content : (" + " AND ".join(fts_phrase(t) for t in terms) + ")")
        if speaker_tokens:
            parts.append("speaker_keys : (" + " OR ".join(fts_phrase([t]) for t in speaker_tokens) + ")")
        return " AND ".join(parts)

    def _text_search(self, terms: list[list[str]], speaker_tokens: list[str]
                     ) -> tuple[str, str, list[Any], str, list[Any]]:
        source = "statement_fts JOIN statements s ON s.id = statement_fts.rowid"
        # bm25 weights: content counts, the speaker tokens do not.
        return (source, "statement_fts MATCH ?", [self._fts_query(terms, speaker_tokens)],
                "bm25(statement_fts, 1.0, 0.0)", [])

    def _index_rank(self, terms: list[list[str]], speaker_tokens: list[str], scored: bool = True
                    ) -> tuple[str, list[Any]] | None:
        # Ranking inside FTS5 reads only the index; joining every match to its statement row
        # first costs a random read per match (hundreds of ms for a common word at 1M statements).
        score = "bm25(statement_fts, 1.0, 0.0)" if scored else "0"
        sql = f"SELECT rowid AS id, {score} AS score FROM statement_fts WHERE statement_fts MATCH ?"
        return sql, [self._fts_query(terms, speaker_tokens)]


__all__ = ["SQLiteStore", "split_sql"]
