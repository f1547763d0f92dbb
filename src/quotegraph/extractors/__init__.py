"""Extraction: from an annotated article to attributions (source, cue, content).

An extractor is any callable ``(Annotated) -> list[Attribution]``; the rule extractor is the
default, and a learned tagger can replace or complement it behind the same signature.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from quotegraph.extractors.rules import RuleExtractor

if TYPE_CHECKING:
    from quotegraph.annotate import Annotated
    from quotegraph.model import Attribution


class Extractor(Protocol):
    name: str

    def __call__(self, annotated: Annotated) -> list[Attribution]: ...


__all__ = ["Extractor", "RuleExtractor"]
