"""Shared by the store tests: hand-built extractions and a store fixture over both backends.

The PostgreSQL case uses the server in $QUOTEGRAPH_TEST_PG (``.ci/postgres.sh`` starts one);
each test gets its own schema, dropped afterwards. Without the variable the case fails: a
missing server is never a silent skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from quotegraph.model import Article, Attribution, Extraction, Kind, Span, Speaker
from quotegraph.store import Store, open_store

PG_ENV = "QUOTEGRAPH_TEST_PG"


def extraction(text: str, quotes: list[tuple[str, str]], *, key_date: str | None = None, publisher: str | None = None,
               url: str | None = None, titles: dict[str, str] | None = None, unnamed: set[str] = frozenset(),
               kind: Kind = Kind.DIRECT, confidence: float = 0.9) -> Extraction:
    """An Extraction of ``text`` with one attribution per (speaker name, content) pair, offsets found in the text."""
    titles = titles or {}
    speakers: dict[str, Speaker] = {}
    attributions = []
    for name, content in quotes:
        start = text.index(content)
        if name not in speakers:
            at = text.find(name)
            mentions = (Span.of(text, at, at + len(name)),) if at >= 0 else ()
            speakers[name] = Speaker(id=f"S{len(speakers) + 1}", name=name, mentions=mentions, title=titles.get(name),
                                     named=name not in unnamed)
        source = speakers[name].mentions[0] if speakers[name].mentions else None
        attributions.append(Attribution(content=Span.of(text, start, start + len(content)), source=source, kind=kind,
                                        confidence=confidence, speaker_id=speakers[name].id, rule="test"))
    article = Article(text=text, date=key_date, publisher=publisher, url=url)
    return Extraction(article, tuple(attributions), tuple(speakers.values()))


def pg_url(schema: str) -> str:
    base = os.environ[PG_ENV]
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and not os.environ.get(PG_ENV):
        pytest.fail(f"{PG_ENV} is not set: start PostgreSQL first (export \"$(bash .ci/postgres.sh | tail -n 1)\")")
    return str(request.param)


@pytest.fixture
def store_target(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store location: a SQLite file, or a new PostgreSQL schema."""
    if backend == "sqlite":
        yield str(tmp_path / "store.db")
        return
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(os.environ[PG_ENV], autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield pg_url(schema)
    finally:
        with psycopg.connect(os.environ[PG_ENV], autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def store(store_target: str, tmp_path: Path) -> Iterator[Store]:
    s = open_store(store_target, aliases=tmp_path / "aliases.tsv")
    try:
        yield s
    finally:
        s.close()
