"""quotegraph: who said what, about what, when — attributions in news text.

``quotegraph.extract(text)`` runs every stage on one article and returns an
:class:`~quotegraph.model.Extraction`; ``quotegraph.Pipeline`` keeps the models loaded for
batch work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quotegraph.model import Article, Attribution, Damage, Extraction, Kind, Method, Span, Speaker

if TYPE_CHECKING:
    from quotegraph.pipeline import Pipeline

__version__ = "0.1.0"


def extract(text: str) -> Extraction:
    """Find every attribution in one article's text and resolve its speakers."""
    from quotegraph.pipeline import extract as run

    return run(text)


def __getattr__(name: str) -> Any:  # lazy: importing quotegraph must not load spaCy
    if name == "Pipeline":
        from quotegraph.pipeline import Pipeline

        return Pipeline
    raise AttributeError(name)


__all__ = ["Article", "Attribution", "Damage", "Extraction", "Kind", "Method", "Pipeline", "Span", "Speaker", "extract"]
