"""Shared by the web app tests: the demo articles (invented) run once through the real pipeline,
an article whose text and metadata are full of markup, and a store filled with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from quotegraph.model import Extraction
from quotegraph.pipeline import Pipeline
from quotegraph.serve.demo import article_of, demo_articles
from quotegraph.store import open_store

# Markup in every field a page shows. If any of it reached the page as HTML, a script would set
# window.__xss, an element would appear, or a javascript: link would be clickable.
XSS_ARTICLE = {
    "key": "test/markup",
    "title": "<script>window.__xss = 3</script>Council <b>vote</b>",
    "url": "javascript:window.__xss=4",
    "date": "2024-05-01",
    "publisher": "<i>Greyhaven</i> Gazette",
    "text": ("The council of Greyhaven met on Monday. <script>window.__xss = 1; alert(1)</script> <b>html</b> stayed "
             "on the page.\n\n\"We will vote <img src=x onerror='window.__xss=2'> on Friday,\" Mayor Ana Ruiz said. "
             "She added that the budget was <i>final</i>."),
}
TOKEN = "test-token-7c1e"


@pytest.fixture(scope="session")
def pipeline() -> Pipeline:
    return Pipeline(model="rules")


@pytest.fixture(scope="session")
def extractions(pipeline: Pipeline) -> list[tuple[str, Extraction]]:
    """The demo articles and the markup article, extracted once for the whole session."""
    return [(r["key"], pipeline(article_of(r))) for r in [*demo_articles(), XSS_ARTICLE]]


def fill(target: str, aliases: Path, extractions: list[tuple[str, Extraction]]) -> None:
    store = open_store(target, aliases=aliases)
    try:
        with store.transaction():
            for key, extraction in extractions:
                store.add(key, extraction)
    finally:
        store.close()
