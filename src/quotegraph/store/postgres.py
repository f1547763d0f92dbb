"""The PostgreSQL backend, for a team sharing one store: psycopg 3, tsvector full-text search."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from quotegraph.errors import QuotegraphError
from quotegraph.store.base import Store


class PostgresStore(Store):
    backend = "postgres"
    placeholder = "%s"

    def __init__(self, url: str, **options: Any) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise QuotegraphError("a PostgreSQL store needs psycopg: pip install 'psycopg[binary]'") from exc
        try:
            # Autocommit: the store sends BEGIN / SAVEPOINT / COMMIT itself, like on SQLite.
            conn = psycopg.connect(url, autocommit=True)
        except psycopg.OperationalError as exc:
            raise QuotegraphError(f"cannot connect to {_redact(url)}: {str(exc).strip().splitlines()[0]}") from exc
        self.url = url
        super().__init__(conn, **options)

    def _cursor_execute(self, sql: str, params: Sequence[Any]) -> Any:
        return self.conn.execute(sql, params or None)

    def _refuse_writes(self) -> None:
        self.conn.execute("SET default_transaction_read_only = on")  # every statement is a transaction

    lock_rows = " FOR UPDATE"

    def _all_binary(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        # bytea in text format is hex: twice the bytes on the wire and a decode per row
        return list(self.conn.execute(self._sql(sql), params or None, binary=True).fetchall())

    def _cursor_executemany(self, sql: str, rows: list[Sequence[Any]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(sql, rows)

    def _run_script(self, script: str) -> None:
        self.conn.execute(script)  # no parameters: several statements are allowed

    def _text_search(self, terms: list[list[str]], speaker_tokens: list[str]
                     ) -> tuple[str, str, list[Any], str, list[Any]]:
        content = " && ".join("phraseto_tsquery('english', %s)" for _ in terms)
        content_params = [" ".join(t) for t in terms]
        parts, params = [], []
        if terms:
            parts.append(f"({content})")
            params.extend(content_params)
        if speaker_tokens:
            # Tokens are letters and digits only (speakers.query_tokens), weight A = the speaker part.
            parts.append("to_tsquery('simple', %s)")
            params.append(" | ".join(f"{t}:A" for t in speaker_tokens))
        condition = "s.tsv @@ (" + " && ".join(parts) + ")"
        score = f"-ts_rank(s.tsv, {content})" if terms else "0"
        return "statements s", condition, params, score, content_params if terms else []


def _redact(url: str) -> str:
    """The URL without its password, for error messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


__all__ = ["PostgresStore"]
