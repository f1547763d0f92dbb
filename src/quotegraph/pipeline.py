"""Composes the stages: ingest → clean → annotate → extract → resolve.

``extract(text)`` is the one entry point most callers need; ``Pipeline`` keeps the loaded
models for batch work (one per worker process).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from quotegraph.annotate import Annotated, annotate, load_nlp
from quotegraph.clean import clean
from quotegraph.extractors import Extractor, RuleExtractor
from quotegraph.errors import InputError
from quotegraph.ingest.base import MAX_ARTICLE_CHARS
from quotegraph.model import Article, Attribution, Extraction
from quotegraph.models import DEFAULT_MODEL, MODEL_NAMES
from quotegraph.resolve import resolve

if TYPE_CHECKING:
    from spacy.language import Language


MODELS = MODEL_NAMES


def make_extractor(model: str) -> Extractor:
    """The extractor for a model name: ``rules`` (hand-written, on the parse), ``fast`` (CRF,
    no parser) or ``accurate`` (fine-tuned MiniLM). Trained models load from ``models/<name>``."""
    if model == "rules":
        return RuleExtractor()
    if model == "fast":
        from quotegraph.models.fast import FastExtractor

        return FastExtractor()
    if model == "accurate":
        try:
            from quotegraph.models.accurate import AccurateExtractor
        except ImportError as exc:
            raise InputError(f"the accurate model needs torch and transformers: pip install -e '.[store]' ({exc.name} missing)") from exc
        return AccurateExtractor()
    raise InputError(f"unknown model '{model}': choose one of {', '.join(MODELS)}")


def nlp_for(model: str) -> Language:
    """The trained models read no parse (only the cleaned text), so they run behind a light
    tokenizer, sentencizer and word-list tags for the speaker resolver; the rules need spaCy's
    parser."""
    if model in ("fast", "accurate"):
        from quotegraph.models.fast import light_nlp

        return light_nlp()
    return load_nlp()


@dataclass
class Pipeline:
    """The loaded stages. Build once, call for every article."""

    model: str = DEFAULT_MODEL
    nlp: Language | None = None
    min_confidence: float = 0.0
    extractor: Extractor | None = field(default=None)
    max_chars: int = MAX_ARTICLE_CHARS  # parsing needs ~3.6 GB and ~100 s for 1M characters

    def __post_init__(self) -> None:
        if self.extractor is None:
            self.extractor = make_extractor(self.model)
        if self.nlp is None:
            self.nlp = nlp_for(self.model)

    def annotate(self, article: Article) -> Annotated:
        if len(article.text) > self.max_chars:
            raise InputError(f"article of {len(article.text):,} characters is over the limit of {self.max_chars:,}")
        return annotate(clean(article.text), self.nlp)

    def run_annotated(self, article: Article, annotated: Annotated) -> Extraction:
        found = [a for a in self.extractor(annotated) if a.confidence >= self.min_confidence]
        found.sort(key=lambda a: (a.content.start, a.content.end))
        attributions, speakers = resolve(annotated, found)
        return Extraction(
            article=article,
            attributions=tuple(attributions),
            speakers=tuple(speakers),
            damage=annotated.cleaned.damage,
        )

    def __call__(self, article: Article) -> Extraction:
        return self.run_annotated(article, self.annotate(article))


_default: Pipeline | None = None


def default_pipeline() -> Pipeline:
    global _default
    if _default is None:
        _default = Pipeline()
    return _default


def extract_article(article: Article) -> Extraction:
    """Run every stage on one article."""
    return default_pipeline()(article)


def extract(text: str) -> Extraction:
    """Find every attribution in ``text`` (one article) and resolve its speakers."""
    from quotegraph.ingest.text import article_from_text

    return extract_article(article_from_text(text))


__all__ = ["Attribution", "Pipeline", "extract", "extract_article"]
