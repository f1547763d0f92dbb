"""The rule-based extractor: reporting verbs and their arguments on a dependency parse,
"according to" phrases, and quotations found by their marks.

Works on the working text of an :class:`~quotegraph.annotate.Annotated` article and returns
:class:`~quotegraph.model.Attribution` records in original-text offsets. Each rule names itself
in ``Attribution.rule`` so that confidence can be calibrated per rule and a learned tagger can
replace or complement any one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from quotegraph.extractors.lexicon import cue_prepositions, infinitive_cues, reporting_verbs, source_phrases
from quotegraph.extractors.formats import add_formatted
from quotegraph.extractors.quotes import Quote, find_quotes
from quotegraph.model import Attribution, Kind, Span

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

    from quotegraph.annotate import Annotated

SUBJECT_DEPS = {"nsubj", "nsubjpass", "csubj"}
CONTENT_DEPS = {"ccomp"}
CUE_MODIFIER_DEPS = {"aux", "auxpass", "neg"}
EXPLETIVE_SUBJECTS = {"it", "there"}
TRIM_CHARS = " \t\r\n,;:—–-"
QUOTE_CHARS = "\"“”„«»‘’'"
MIN_CONTENT_CHARS = 8
SHORT_QUOTE_WORDS = 4  # a free-standing quotation needs this many words to be a statement
# "Name: text" at the start of a line (headlines, transcripts); the name is checked against the parse
LEAD_IN = re.compile(r"(?m)^[ \t]*(?P<name>[A-Z][\w.'’-]*(?:[ \t]+[A-Z][\w.'’-]*){0,3})[ \t]*(?P<marker>:)[ \t]+(?P<content>[^\n]+)")


@dataclass
class _Candidate:
    """An attribution under construction, in working-text offsets."""

    cue: list[tuple[int, int]]
    content: list[tuple[int, int]]
    source: tuple[int, int] | None
    weight: float
    rule: str
    quotes: list[Quote] = field(default_factory=list)
    complete_quotes: bool = True
    verb_index: int | None = None


def _trim(text: str, start: int, end: int, keep_final_period: bool = False) -> tuple[int, int]:
    """Strip outer whitespace and clause punctuation; a final period goes unless inside quotes."""
    while start < end and text[start] in TRIM_CHARS:
        start += 1
    while end > start:
        ch = text[end - 1]
        if ch in TRIM_CHARS or (ch == "." and not keep_final_period and not _period_belongs(text, start, end)):
            end -= 1
            continue
        break
    return start, end


def _period_belongs(text: str, start: int, end: int) -> bool:
    """A final period belongs to an abbreviation ("U.S.") rather than the sentence."""
    word_start = end - 1
    while word_start > start and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start:end]
    return word.count(".") >= 2 and len(word) <= 6


def _subtree_bounds(token: Token, exclude: set[int] | None = None) -> tuple[int, int]:
    """Character bounds of the contiguous run of ``token``'s subtree around it."""
    indices = sorted(t.i for t in token.subtree if not exclude or t.i not in exclude)
    # keep the contiguous run containing the token itself
    pos = indices.index(token.i) if token.i in indices else 0
    lo = hi = pos
    while lo > 0 and indices[lo - 1] == indices[lo] - 1:
        lo -= 1
    while hi + 1 < len(indices) and indices[hi + 1] == indices[hi] + 1:
        hi += 1
    doc = token.doc
    first, last = doc[indices[lo]], doc[indices[hi]]
    return first.idx, last.idx + len(last.text)


class RuleExtractor:
    """Finds attributions with hand-written rules over a spaCy parse."""

    name = "rules"

    def __call__(self, annotated: Annotated) -> list[Attribution]:
        text = annotated.cleaned.text
        doc = annotated.doc
        body_start = annotated.cleaned.to_working(annotated.cleaned.body_start)
        quotes = [q for q in find_quotes(text) if q.end > body_start]
        candidates: list[_Candidate] = []
        for token in doc:
            if token.idx < body_start:
                continue
            cand = self._verb_candidate(token, text, quotes)
            if cand is not None:
                candidates.append(cand)
        candidates.extend(self._phrase_candidates(doc, text, body_start))
        candidates.extend(self._lead_in_candidates(doc, text, body_start))
        candidates = self._dedupe(candidates)
        self._continue_quotes(candidates, quotes, text)
        candidates.extend(self._floating_quotes(candidates, quotes, doc, text))
        return add_formatted(annotated.cleaned, [self._finish(c, annotated, text) for c in candidates])

    # -- reporting verbs -------------------------------------------------------------------

    def _verb_candidate(self, verb: Token, text: str, quotes: list[Quote]) -> _Candidate | None:
        if not verb.tag_.startswith("VB"):
            return None
        lemma = verb.lemma_.lower()
        entry = reporting_verbs().get(lemma)
        preps = [
            (child, weight)
            for child in verb.children
            if child.dep_ == "prep" and child.i > verb.i and (weight := cue_prepositions().get((lemma, child.lower_)))
        ]
        if entry is None and not preps:
            return None
        subject = self._subject(verb)
        if subject is not None and subject.lower_ in EXPLETIVE_SUBJECTS and subject.dep_ == "nsubjpass":
            return None  # "it was reported that ...": no source in the sentence
        content: tuple[int, int] | None = None
        rule = ""
        weight = entry.weight if entry else 0.0
        if entry is not None:
            content, rule = self._content(verb, text, quotes, subject)
        cue_end_token = None
        if content is None and preps:
            prep, weight = preps[0]
            objects = [c for c in prep.children if c.dep_ in ("pobj", "pcomp")]
            if objects:
                content, rule = _subtree_bounds(objects[0]), "verb-prep"
                if prep.i == verb.i + 1:
                    cue_end_token = prep
        if content is None and entry is not None and entry.object_weight > 0:
            content = self._object_content(verb)
            if content is not None:
                rule, weight = "verb-object", entry.object_weight
        if content is None:
            return None
        cue_bounds = self._cue_bounds(verb, subject)
        if cue_end_token is not None:
            cue_bounds = (cue_bounds[0], cue_end_token.idx + len(cue_end_token.text))
        source = None
        if subject is not None:
            source = _trim(text, *_subtree_bounds(subject))
        if rule == "verb-parenthetical" and source is not None:
            content_pieces = self._cut(content, [(min(source[0], cue_bounds[0]), max(source[1], cue_bounds[1]))], keep_all=True)
        else:
            content_pieces = self._cut(content, [cue_bounds] + ([source] if source else []))
        content_pieces = [p for p in (_trim(text, s, e) for s, e in content_pieces) if p[1] - p[0] >= 2]
        if not content_pieces:
            return None
        if sum(e - s for s, e in content_pieces) < MIN_CONTENT_CHARS:
            return None
        if source is None:
            return None
        touched = [q for q in quotes if any(q.start < e and s < q.end for s, e in content_pieces)]
        # extend a content that covers part of a quotation to the whole quotation
        if touched:
            pieces = list(content_pieces)
            for q in touched:
                if q.end - q.start < 400 or q.complete:
                    pieces.append((q.start, q.end))
            content_pieces = _merge(pieces, forbidden=[cue_bounds, source])
        return _Candidate(
            cue=[cue_bounds], content=content_pieces, source=source, weight=weight, rule=rule,
            quotes=touched, complete_quotes=all(q.complete for q in touched), verb_index=verb.i,
        )

    @staticmethod
    def _subject(verb: Token) -> Token | None:
        for child in verb.children:
            if child.dep_ in SUBJECT_DEPS:
                return child
        # "..., he said, adding that ..." / "he said and added": the subject of the head verb
        if verb.dep_ in ("conj", "advcl", "xcomp") and verb.head.i < verb.i:
            for child in verb.head.children:
                if child.dep_ in SUBJECT_DEPS and child.i < verb.i:
                    return child
        return None

    def _content(self, verb: Token, text: str, quotes: list[Quote], subject: Token | None) -> tuple[tuple[int, int] | None, str]:
        comps = [c for c in verb.children if c.dep_ in CONTENT_DEPS]
        if comps:
            comp = max(comps, key=lambda c: len(list(c.subtree)))
            exclude = {verb.i} | ({t.i for t in subject.subtree} if subject is not None else set())
            return _subtree_bounds(comp, exclude), "verb-ccomp"
        adjacent = self._adjacent_quote(verb, text, quotes, subject)
        if adjacent is not None:
            return (adjacent.start, adjacent.end), "verb-quote"
        parenthetical = self._parenthetical(verb, subject)
        if parenthetical is not None:
            return parenthetical, "verb-parenthetical"
        if verb.lemma_.lower() in infinitive_cues():
            for child in verb.children:
                if child.dep_ == "xcomp" and child.i > verb.i and any(t.dep_ == "aux" and t.lower_ == "to" for t in child.children):
                    return _subtree_bounds(child), "verb-xcomp"
        return None, ""

    @staticmethod
    def _parenthetical(verb: Token, subject: Token | None) -> tuple[int, int] | None:
        """"This campaign, he says, is different": a cue set off by commas inside its content."""
        if subject is None or verb.dep_ not in ("parataxis", "ccomp", "advcl") or subject.i > verb.i:
            return None
        clause = sorted(t.i for t in verb.subtree)
        first, last = clause[0], clause[-1]
        if last - first + 1 != len(clause) or last - first > 8:
            return None
        doc, sent = verb.doc, verb.sent
        if first - 1 <= sent.start or doc[first - 1].text != ",":
            return None
        if last + 1 >= sent.end or doc[last + 1].text != ",":
            return None
        return sent.start_char, sent.end_char

    @staticmethod
    def _object_content(verb: Token) -> tuple[int, int] | None:
        """The direct object and what completes it ("Trump for not paying taxes", "him a liar")."""
        objects = [c for c in verb.children if c.dep_ == "dobj" and c.i > verb.i]
        if not objects:
            return None
        parts = [objects[0]] + [
            c for c in verb.children if c.i > objects[0].i and (c.dep_ in ("oprd", "xcomp", "ccomp") or (c.dep_ == "prep" and c.lower_ in ("for", "as", "over")))
        ]
        start = min(_subtree_bounds(p)[0] for p in parts)
        end = max(_subtree_bounds(p)[1] for p in parts)
        return start, end

    @staticmethod
    def _adjacent_quote(verb: Token, text: str, quotes: list[Quote], subject: Token | None) -> Quote | None:
        """A quotation right before the source-and-cue ("“...,” he said") or right after it."""
        sent = verb.sent
        clause_tokens = [verb] + (list(subject.subtree) if subject is not None else [])
        clause_start = min(t.idx for t in clause_tokens)
        clause_end = max(t.idx + len(t.text) for t in clause_tokens)
        own_subject = subject is not None and subject.head.i == verb.i
        for q in quotes:
            # a quotation before the clause belongs to this verb only if the verb has its own
            # subject ("“...,” he said, adding ..." — the quotation is said's, not adding's)
            if own_subject and q.end <= clause_start and q.end >= sent.start_char - 2:
                gap = text[q.end:clause_start]
                if all(not ch.isalnum() for ch in gap) and len(gap) <= 4:
                    return q
            if q.start >= clause_end and q.start <= sent.end_char + 1:
                gap = text[clause_end:q.start]
                if all(not ch.isalnum() for ch in gap) and len(gap) <= 4:
                    return q
        return None

    @staticmethod
    def _cue_bounds(verb: Token, subject: Token | None) -> tuple[int, int]:
        tokens = [verb]
        for child in verb.children:
            if child.dep_ in CUE_MODIFIER_DEPS and child.i < verb.i:
                tokens.append(child)
            elif child.dep_ == "advmod" and child.i < verb.i and (subject is None or child.i > subject.i):
                tokens.append(child)
            elif child.dep_ == "prt" and child.i == verb.i + 1:
                tokens.append(child)
        first = min(tokens, key=lambda t: t.i)
        last = max(tokens, key=lambda t: t.i)
        # keep the cue contiguous: only modifiers that sit right before the verb
        doc = verb.doc
        start_i = verb.i
        while start_i - 1 >= first.i and doc[start_i - 1] in tokens:
            start_i -= 1
        end_i = verb.i
        while end_i + 1 <= last.i and doc[end_i + 1] in tokens:
            end_i += 1
        return doc[start_i].idx, doc[end_i].idx + len(doc[end_i].text)

    @staticmethod
    def _cut(bounds: tuple[int, int], holes: list[tuple[int, int]], keep_all: bool = False) -> list[tuple[int, int]]:
        pieces = [bounds]
        for hs, he in holes:
            next_pieces = []
            for s, e in pieces:
                if he <= s or hs >= e:
                    next_pieces.append((s, e))
                    continue
                if s < hs:
                    next_pieces.append((s, hs))
                if he < e:
                    next_pieces.append((he, e))
            pieces = next_pieces
        if len(pieces) > 1 and not keep_all:  # keep the largest piece: a cut clause is one content
            pieces = [max(pieces, key=lambda p: p[1] - p[0])]
        return pieces

    # -- "according to X" ------------------------------------------------------------------

    def _phrase_candidates(self, doc: Doc, text: str, body_start: int) -> list[_Candidate]:
        found = []
        phrases = source_phrases()
        for sent in doc.sents:
            if sent.start_char < body_start:
                continue
            lowers = [t.lower_ for t in sent]
            for i in range(len(lowers)):
                for phrase, weight in phrases.items():
                    if tuple(lowers[i : i + len(phrase)]) != phrase:
                        continue
                    last = sent[i + len(phrase) - 1]
                    objects = [c for c in last.children if c.dep_ == "pobj"]
                    if not objects:
                        continue
                    source = _trim(text, *_subtree_bounds(objects[0]))
                    cue = (sent[i].idx, last.idx + len(last.text))
                    pieces = self._cut((sent.start_char, sent.end_char), [(cue[0], source[1])])
                    pieces = [_trim(text, s, e) for s, e in pieces]
                    pieces = [p for p in pieces if p[1] - p[0] >= MIN_CONTENT_CHARS]
                    if pieces:
                        found.append(_Candidate(cue=[cue], content=pieces, source=source, weight=weight, rule="according-to"))
        return found

    # -- "Name: content" lead-ins (headlines, transcripts, Q/A interviews) ---------------------

    def _lead_in_candidates(self, doc: Doc, text: str, body_start: int) -> list[_Candidate]:
        people = {e.text for e in doc.ents if e.label_ == "PERSON"}
        people |= {name.split()[-1] for name in people}
        found = []
        for match in LEAD_IN.finditer(text, body_start):
            name = match.group("name")
            name_start, name_end = match.span("name")
            entity = next((e for e in doc.ents if e.start_char == name_start and e.end_char == name_end), None)
            is_speaker = name in people or (entity is not None and entity.label_ in ("PERSON", "ORG")) or name in ("Q", "A")
            if not is_speaker:
                continue
            content = _trim(text, match.start("content"), match.end("content"), keep_final_period=True)
            if len(text[content[0] : content[1]].split()) < 3:
                continue
            found.append(
                _Candidate(cue=[match.span("marker")], content=[content], source=(name_start, name_end), weight=0.7, rule="lead-in")
            )
        return found

    # -- assembly --------------------------------------------------------------------------

    @staticmethod
    def _floating_quotes(candidates: list[_Candidate], quotes: list[Quote], doc: Doc, text: str) -> list[_Candidate]:
        """Whole-sentence quotations with no cue of their own: the speaker of the statement just
        before (same or previous paragraph) goes on speaking. Marked so resolution can inherit."""
        found = []
        claimed = [(s, e) for c in candidates for s, e in c.content]
        ordered = sorted((c for c in candidates if c.source is not None), key=lambda c: c.content[0][0])
        for q in quotes:
            if not q.complete or len(text[q.inner_start : q.inner_end].split()) < SHORT_QUOTE_WORDS:
                continue
            if any(s < q.end and q.start < e for s, e in claimed):
                continue
            span = doc.char_span(q.start, q.end, alignment_mode="expand")
            if span is None:
                continue
            sent_start, sent_end = span[0].sent.start_char, span[-1].sent.end_char
            outside = text[sent_start : q.start] + text[q.end : sent_end]
            if any(ch.isalnum() for ch in outside):
                continue  # part of a larger sentence: not a free-standing quotation
            before = [c for c in ordered if max(e for _, e in c.content) <= q.start]
            if not before:
                continue
            previous = before[-1]
            between = text[max(e for _, e in previous.content) : q.start]
            if between.count("\n\n") > 1 or len(between) > 400:
                continue
            found.append(
                _Candidate(cue=[], content=[(q.start, q.end)], source=None, weight=previous.weight * 0.8, rule="adjacent", quotes=[q])
            )
            claimed.append((q.start, q.end))
        return found

    @staticmethod
    def _continue_quotes(candidates: list[_Candidate], quotes: list[Quote], text: str) -> None:
        """“A,” he said, “B.” — the quotation that resumes right after the cue is the same content."""
        claimed = {(s, e) for c in candidates for s, e in c.content}
        for c in candidates:
            if not c.quotes or c.source is None:
                continue
            last = c.content[-1]
            clause_end = max(c.cue[-1][1], c.source[1])
            if last[1] > min(c.cue[0][0], c.source[0]):
                continue  # content is not before the cue
            for q in quotes:
                if q.start < clause_end or (q.start, q.end) in claimed:
                    continue
                gap = text[clause_end : q.start]
                if len(gap) <= 3 and not any(ch.isalnum() or ch == "\n" for ch in gap):
                    c.content.append(_trim(text, q.start, q.end, keep_final_period=True))
                    c.quotes.append(q)
                    claimed.add((q.start, q.end))
                break

    @staticmethod
    def _dedupe(candidates: list[_Candidate]) -> list[_Candidate]:
        """One candidate per content: when two cues claim the same content, the nearer cue wins."""
        by_content: dict[tuple, _Candidate] = {}
        for c in candidates:
            key = tuple(c.content)
            kept = by_content.get(key)
            if kept is None or _cue_distance(c) < _cue_distance(kept):
                by_content[key] = c
        return sorted(by_content.values(), key=lambda c: c.content[0])

    @staticmethod
    def _finish(c: _Candidate, annotated: Annotated, text: str) -> Attribution:
        to_orig = annotated.cleaned.to_original
        original = annotated.cleaned.original

        def span(pieces: list[tuple[int, int]], trim: bool = True) -> Span:
            mapped = []
            for s, e in pieces:
                s2, e2 = to_orig(s), to_orig(e)
                if trim:
                    s2, e2 = _trim(original, s2, e2, keep_final_period=True)
                mapped.append((s2, e2))
            return Span.join(original, mapped)

        content = span(c.content)
        if c.quotes:
            kind = Kind.DIRECT if _only_quotes(text, c.content, c.quotes) else Kind.MIXED
        else:
            kind = Kind.INDIRECT
        confidence = c.weight
        if kind is Kind.DIRECT:
            confidence = min(0.99, confidence + 0.03)
        if not c.complete_quotes:
            confidence *= 0.85
        return Attribution(
            content=content,
            source=span([c.source]) if c.source else None,
            cue=span(c.cue, trim=False) if c.cue else None,
            kind=kind,
            confidence=round(confidence, 3),
            rule=c.rule,
        )


def _cue_distance(c: _Candidate) -> int:
    if not c.cue:
        return 1 << 30
    cue_start, cue_end = c.cue[0][0], c.cue[-1][1]
    return min(abs(cue_start - e) for _, e in c.content) if cue_start >= c.content[0][1] else min(
        abs(s - cue_end) for s, _ in c.content
    )


def _only_quotes(text: str, pieces: list[tuple[int, int]], quotes: list[Quote]) -> bool:
    """True when every piece of content is covered by quotations (up to punctuation)."""
    for s, e in pieces:
        covered = [(max(s, q.start), min(e, q.end)) for q in quotes if q.start < e and s < q.end]
        pos = s
        for cs, ce in sorted(covered):
            if any(ch.isalnum() for ch in text[pos:cs]):
                return False
            pos = max(pos, ce)
        if any(ch.isalnum() for ch in text[pos:e]):
            return False
    return True


def _merge(pieces: list[tuple[int, int]], forbidden: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(pieces):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    result = []
    for s, e in merged:
        cut = RuleExtractor._cut((s, e), forbidden) if forbidden else [(s, e)]
        result.extend(cut)
    return result
