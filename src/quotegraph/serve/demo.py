"""A small demo store: the invented articles in ``demo/articles.json`` run through the real
pipeline into a real store. Used by the screenshots command and the browser tests."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from quotegraph.model import Article, Extraction
from quotegraph.models import DEFAULT_MODEL


def demo_articles() -> list[dict[str, Any]]:
    """The demo articles: key, title, url, date, publisher, text."""
    data = json.loads((resources.files("quotegraph.serve") / "demo" / "articles.json").read_text(encoding="utf-8"))
    return list(data["articles"])


def article_of(record: dict[str, Any]) -> Article:
    return Article(text=record["text"], id=record["key"], url=record.get("url"), title=record.get("title"),
                   date=record.get("date"), publisher=record.get("publisher"), author=record.get("author"))


def build_demo_store(target: str | Path, *, model: str = DEFAULT_MODEL, pipeline: Any = None,
                     articles: list[dict[str, Any]] | None = None, aliases: str | Path | None = None) -> int:
    """Extract the articles (default: the demo set) into the store at ``target``; returns how many."""
    from quotegraph.pipeline import Pipeline
    from quotegraph.store import open_store

    pipeline = pipeline or Pipeline(model=model)
    records = articles if articles is not None else demo_articles()
    extractions: list[tuple[str, Extraction]] = [(r["key"], pipeline(article_of(r))) for r in records]
    store = open_store(target, aliases=aliases)
    try:
        with store.transaction():
            for key, extraction in extractions:
                store.add(key, extraction)
    finally:
        store.close()
    return len(extractions)


__all__ = ["article_of", "build_demo_store", "demo_articles"]
