"""In-article speaker resolution: tie every source mention to one speaker of the article.

A source mention is read as one of: a pronoun ("he"), a (part of a) person's name ("Lavrov",
"Mr. Trump"), a role ("the Foreign Minister", "the top US diplomat"), an organisation ("The
Post") or a description that never names anyone ("a source"). Names are clustered into people
under the fullest form the article gives; titles are read from the text around the names
("Russian Foreign Minister Sergey Lavrov", "Lavrov, Russia's foreign minister,", "the top US
diplomat, John Kerry," and "Kerry is the secretary of state"). A role mention is bound to the
named person the article gave that role, a pronoun to the most recent compatible subject or
speaker. When the evidence does not single out one person the mention stays unresolved or
becomes its own unnamed speaker: a wrong name is worse than no name.

All spans handed in and out are in original-text offsets; spaCy runs on the working text and
every conversion goes through :class:`quotegraph.annotate.Annotated`.

Word lists live in ``quotegraph/data``: ``titles.txt`` (titles, honorifics, role nouns),
``first_names.tsv`` (first-name gender) and ``mention_words.tsv`` (pronouns, determiners and
modifier kinds).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from itertools import accumulate
from typing import TYPE_CHECKING

from quotegraph.annotate import Annotated
from quotegraph.model import Attribution, Link, Method, Resolution, Span, Speaker

if TYPE_CHECKING:
    from spacy.tokens import Token

# --------------------------------------------------------------------------------------------
# word lists


@dataclass(frozen=True)
class Role:
    """One entry of titles.txt: a title/role phrase, its classes and implied gender."""

    words: tuple[str, ...]
    classes: tuple[str, ...]  # empty for a pure honorific (Mr., Mrs.)
    gender: str | None


@dataclass(frozen=True)
class Lexicon:
    """The word lists resolution reads, loaded once."""

    roles: dict[tuple[str, ...], Role]
    max_role_words: int
    first_names: dict[str, str]  # lower-case first name -> m / f / u
    words: dict[str, dict[str, str]]  # kind -> word -> value (mention_words.tsv)

    def kind(self, kind: str) -> dict[str, str]:
        return self.words.get(kind, {})


def _data_lines(name: str) -> list[list[str]]:
    text = resources.files("quotegraph.data").joinpath(name).read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        rows.append([cell.strip() for cell in line.split("\t")])
    return rows


def _phrase_words(phrase: str) -> tuple[str, ...]:
    """Split a lexicon phrase the way mention text is split into words ("state's" -> state 's)."""
    words: list[str] = []
    for word in phrase.lower().replace("’", "'").split():
        if word.endswith("'s") and len(word) > 2:
            words.extend([word[:-2], "'s"])
        else:
            words.append(word)
    return tuple(words)


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """Load titles.txt, first_names.tsv and mention_words.tsv (cached for the process)."""
    roles: dict[tuple[str, ...], Role] = {}
    for row in _data_lines("titles.txt"):
        words = _phrase_words(row[0])
        classes = () if len(row) > 1 and row[1] == "-" else tuple((row[1] if len(row) > 1 else row[0]).split(","))
        gender = row[2] if len(row) > 2 and row[2] in ("m", "f") else None
        roles.setdefault(words, Role(words, classes, gender))
    names = {row[0].lower(): row[1] for row in _data_lines("first_names.tsv") if len(row) > 1}
    kinds: dict[str, dict[str, str]] = {}
    for row in _data_lines("mention_words.tsv"):
        kinds.setdefault(row[0], {})[row[1].lower()] = row[2] if len(row) > 2 else "-"
    return Lexicon(roles, max(len(w) for w in roles), names, kinds)


# --------------------------------------------------------------------------------------------
# words of a token sequence

_PREPOSITIONS = {"of", "for", "to", "at", "in", "on", "with", "from", "under", "and"}
_PROPER_POS = {"PROPN"}
_NAME_STOP = {"jr.", "jr", "sr.", "sr", "ii", "iii", "iv"}
_ORG_LABELS = {"ORG", "NORP", "GPE", "FAC", "LOC", "PRODUCT", "WORK_OF_ART", "EVENT", "LAW"}
_PLACE_LABELS = {"GPE", "NORP", "LOC", "FAC", "DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "PERCENT", "QUANTITY"}
# labels spaCy's small model puts on person names often enough that an untagged or so-tagged
# proper noun heading a source may start a new person
_NAME_LABELS = {"", "PERSON", "WORK_OF_ART", "PRODUCT", "EVENT", "LAW"}


@dataclass(frozen=True)
class Word:
    """A word made of one or more hyphen-joined tokens ("commander-in-chief")."""

    lower: str
    text: str
    first: int  # token index in the doc
    last: int

    @property
    def capitalised(self) -> bool:
        return self.text[:1].isupper()


def _words(tokens: Sequence[Token]) -> list[Word]:
    """Words of a token run, joining tokens glued by hyphens and normalising apostrophes."""
    words: list[Word] = []
    glue = False
    for tok in tokens:
        text = tok.text.replace("’", "'")
        if words and (glue or (text == "-" and tok.i > 0 and not tok.doc[tok.i - 1].whitespace_)):
            prev = words[-1]
            words[-1] = Word((prev.lower + text).lower(), prev.text + text, prev.first, tok.i)
            glue = text == "-" and not tok.whitespace_
            continue
        words.append(Word(text.lower(), text, tok.i, tok.i))
        glue = False
    return words


@lru_cache(maxsize=1)
def _role_first_words() -> frozenset[str]:
    return frozenset(words[0] for words in lexicon().roles if words)


def _role_at(words: Sequence[Word], i: int) -> tuple[int, Role] | None:
    """The longest titles.txt entry starting at word ``i``: (end word index, role)."""
    lex = lexicon()
    if i >= len(words) or words[i].lower.rstrip(",") not in _role_first_words():
        return None  # no entry starts with this word
    keys = [w.lower.rstrip(",") for w in words[i : i + lex.max_role_words]]
    for n in range(len(keys), 0, -1):
        key = tuple(keys[:n])
        role = lex.roles.get(key)
        if role is None and n == 1 and key[0].endswith("s"):
            continue
        if role is not None:
            return i + n, role
    return None


def head_role(words: Sequence[Word]) -> tuple[int, int, Role] | None:
    """The role a noun phrase is headed by: the first role entry followed by the end of the
    phrase or a preposition ("nominee for president", "foreign minister of Russia")."""
    for i in range(len(words)):
        found = _role_at(words, i)
        if found is None or not found[1].classes:
            continue
        end, role = found
        if end == len(words) or words[end].lower in _PREPOSITIONS:
            return i, end, role
    return None


@dataclass(frozen=True)
class Modifiers:
    """What qualifies a role: strict modifiers (former, deputy) and other words, canonicalised."""

    strict: frozenset[str]
    proper: frozenset[str]  # nationality, organisation ("russian", "senate")
    plain: frozenset[str]
    party: frozenset[str] = frozenset()  # "republican", "democratic"


def modifiers(words: Sequence[Word]) -> Modifiers:
    """Canonical modifiers of a role phrase (its words minus determiners and role words)."""
    lex = lexicon()
    strict, proper, plain, party = set(), set(), set(), set()
    skip = set(lex.kind("definite")) | set(lex.kind("indefinite")) | set(lex.kind("neutral"))
    for word in words:
        w = word.lower.strip(",.")
        if not w or w in skip or w in _PREPOSITIONS or w in {"'s", "the", "-"}:
            continue
        if w in lex.kind("strict"):
            strict.add(lex.kind("strict")[w])
        elif w.startswith(("ex-", "then-", "former-")):
            strict.add("former")
        elif w in lex.kind("party"):
            party.add(lex.kind("party")[w])
        elif w in lex.kind("alias"):
            proper.add(lex.kind("alias")[w])
        elif word.capitalised:
            proper.add(w)
        else:
            plain.add(w)
    return Modifiers(frozenset(strict), frozenset(proper), frozenset(plain), frozenset(party))


def modifiers_fit(mention: Modifiers, title: Modifiers) -> int | None:
    """None when a role mention's modifiers contradict a title, else how many of them it shares."""
    if mention.strict != title.strict or not mention.party <= title.party:
        return None
    score = len(mention.party)
    for word in mention.proper:
        if word in title.proper:
            score += 1
        elif title.proper:
            return None  # "the Russian diplomat" is not the U.S. one
    score += len(mention.plain & (title.plain | title.proper))
    return score


def description_fits(mention: Modifiers, earlier: Modifiers | None) -> bool:
    """A later description may drop an earlier one's modifiers ("the diplomat" after "the
    former diplomat") but not add others: "the former diplomat" is not "the top US diplomat"."""
    if earlier is None:
        return True
    return mention.strict <= earlier.strict and mention.party <= earlier.party and mention.proper <= earlier.proper


# --------------------------------------------------------------------------------------------
# entities


@dataclass
class Title:
    """A title or role the article gives a person, and where."""

    text: str
    span: Span  # where the title is written
    name_span: Span  # the name it is given to
    role: Role
    mods: Modifiers


@dataclass
class Entity:
    """A person, organisation or description that may speak, with its mentions in the text."""

    key: int
    kind: str  # person | org | description
    words: tuple[str, ...]  # name words (matching keys) for people and organisations
    name: str
    name_span: Span
    named: bool = True
    gender: str | None = None
    plural: bool = False
    head: str = ""  # head noun of a description or organisation
    person_like: bool = False  # a description of a person ("the former diplomat"), not a thing
    mods: Modifiers | None = None  # a description's modifiers: "the former diplomat" is not "the top US diplomat"
    titles: list[Title] = field(default_factory=list)
    mentions: list[Span] = field(default_factory=list)
    history: list[int] = field(default_factory=list)  # start offsets of attached mentions


@dataclass
class Event:
    """A mention of an entity, candidate antecedent for pronouns."""

    start: int
    entity: Entity
    span: Span
    subject: bool
    protected: bool  # inside reported content or quotation marks
    rule: str
    chain: tuple[Link, ...] = ()


def _name_key(word: str) -> str:
    return word.lower().replace("’", "'").strip(".,")


def _is_initial(word: str) -> bool:
    return len(word.strip(".")) <= 1


def _initials(words: Sequence[str]) -> str:
    """"christian news service" -> "cns": for acronyms of organisations."""
    return "".join(w[0] for w in words if w and w not in {"of", "for", "the", "and", "on", "a", "in"})


def _subsequence(short: Sequence[str], long: Sequence[str]) -> bool:
    it = iter(long)
    return all(any(w == x for x in it) for w in short)


# --------------------------------------------------------------------------------------------


class _Resolver:
    """The state of resolving one article."""

    def __init__(self, annotated: Annotated, attributions: Sequence[Attribution]) -> None:
        self.ann = annotated
        self.doc = annotated.doc
        self.original = annotated.original
        self.attributions = list(attributions)
        self.lex = lexicon()
        self.entities: list[Entity] = []
        self.events: list[Event] = []
        self.par_starts = [0] + [m.end() for m in re.finditer(r"\n\s*", self.original)]
        self.protected = sorted(self._protected_regions())
        self.protected_starts = [s for s, _ in self.protected]
        self.protected_reach = list(accumulate((e for _, e in self.protected), max))  # furthest end so far
        self.split_names: dict[tuple[int, ...], tuple[list[Word], list[Word]]] = {}
        self.span_tokens: dict[tuple[tuple[int, int], ...], list[Token]] = {}
        self.content_of_source: dict[Span, Span] = {}  # the content of the first attribution with that source
        for a in self.attributions:
            if a.source is not None:
                self.content_of_source.setdefault(a.source, a.content)
        self.headline_end = self._headline_end()  # once: Doc.text rebuilds the whole text on every access
        self.ents = self.doc.ents  # once: Doc.ents makes a Span per entity on every access
        # (working start, working end, person, mention) of each name mention build() attached,
        # in people_by_start order: what person_at scans for every source
        self.name_mentions: list[tuple[int, int, Entity, Span]] = []

    # -- text helpers -----------------------------------------------------------------------

    def tokens(self, span: Span) -> list[Token]:
        """The doc tokens covering an original-text span (all pieces), punctuation trimmed.
        Remembered per span: a source is read by several steps."""
        key = tuple(span.offsets())
        found = self.span_tokens.get(key)
        if found is None:
            found = self.span_tokens[key] = self._tokens(span)
        return list(found)

    def _tokens(self, span: Span) -> list[Token]:
        toks: list[Token] = []
        for start, end in span.offsets():
            ws, we = self.ann.cleaned.to_working(start), self.ann.cleaned.to_working(end)
            sp = self.doc.char_span(ws, we, alignment_mode="expand")
            if sp is not None:
                toks.extend(sp)
        while toks and (toks[0].is_punct or toks[0].is_space):
            toks.pop(0)
        while toks and (toks[-1].is_punct or toks[-1].is_space):
            toks.pop()
        return toks

    def span_of(self, first: Token, last: Token) -> Span:
        return self.ann.token_span(first, last)

    def paragraph(self, offset: int) -> int:
        return bisect.bisect_right(self.par_starts, offset) - 1

    def _protected_regions(self) -> list[tuple[int, int]]:
        regions = [(s, e) for a in self.attributions for s, e in a.content.offsets()]
        for match in re.finditer(r"“[^”]*”|\"[^\"\n]*\"", self.original):
            regions.append((match.start(), match.end()))
        return regions

    def is_protected(self, start: int, end: int, own: Span | None = None) -> bool:
        """Inside reported content or a quotation (other than the mention's own attribution's
        content): such mentions are not pronoun antecedents."""
        k = bisect.bisect_right(self.protected_starts, start)  # the regions starting at or before it
        if not k or self.protected_reach[k - 1] < end:
            return False  # none of them reaches its end
        skip = set(own.offsets()) if own is not None else set()
        return any(end <= e for s, e in self.protected[:k] if (s, e) not in skip)

    # -- names ------------------------------------------------------------------------------

    def split_name(self, tokens: Sequence[Token]) -> tuple[list[Word], list[Word]]:
        """Split a name run into (leading title words, name words). Remembered per token run:
        a source's name is split when it is read, when it is added and when it is matched."""
        key = tuple(t.i for t in tokens)
        found = self.split_names.get(key)
        if found is None:
            found = self.split_names[key] = self._split_name(tokens)
        return list(found[0]), list(found[1])

    def _split_name(self, tokens: Sequence[Token]) -> tuple[list[Word], list[Word]]:
        words = _words(tokens)
        i = 0
        while i < len(words):
            w = words[i].lower
            if w in self.lex.kind("definite") or w in self.lex.kind("indefinite") or not w.strip("-.,'\""):
                i += 1
                continue
            found = _role_at(words, i)
            if found is not None and found[0] < len(words):
                i = found[0]
                continue
            if (w in self.lex.kind("strict") or w in self.lex.kind("neutral") or w in self.lex.kind("alias")
                    or w.startswith(("ex-", "then-"))) and i + 1 < len(words):
                i += 1
                continue
            break
        j = len(words)
        while j > i and (words[j - 1].lower in {"'s", "'"} or not words[j - 1].lower.strip("-.,'\"")):
            j -= 1
        name = list(words[i:j])
        # "Fox News' Megyn Kelly": the name is what follows the last possessive
        cuts = [k for k, w in enumerate(name) if w.lower in {"'s", "'"}]
        if cuts:
            name = name[cuts[-1] + 1 :]
        # "Injecting Clinton", "Obama Seeks": keep the proper nouns
        while name and self.doc[name[0].first].pos_ != "PROPN":
            name.pop(0)
        while name and self.doc[name[-1].last].pos_ != "PROPN":
            name.pop()
        # "Crooked Hillary Clinton": drop capitalised words before a known first name
        if len(name) >= 3 and name[0].lower not in self.lex.first_names and (
            name[0].lower.endswith(("ed", "ing", "ly")) or self.doc[name[0].first].tag_ in ("JJ", "VBN", "VBG")
        ):
            firsts = [k for k, w in enumerate(name[1:-1], start=1) if w.lower in self.lex.first_names]
            if firsts:
                name = name[firsts[0] :]
        if name and not name[0].capitalised:
            return words[:i], []
        return words[:i], name

    def word_before(self, index: int) -> list[Word]:
        """The honorific just before a name when spaCy left it out of the entity ("Mrs.")."""
        if index == 0:
            return []
        words = _words([self.doc[index - 1]])
        role = self.lex.roles.get((words[0].lower,))
        return words if role is not None and not role.classes else []

    def gender_of(self, name: Sequence[Word], prefix: Sequence[Word]) -> str | None:
        for word in prefix:
            role = self.lex.roles.get((word.lower,))
            if role is not None and role.gender:
                return role.gender
        found = head_role(list(prefix)) if prefix else None
        if found is not None and found[2].gender:
            return found[2].gender
        if name:
            g = self.lex.first_names.get(name[0].lower.strip("."))
            if g in ("m", "f"):
                return g
        return None

    # -- building the people ----------------------------------------------------------------

    def build(self) -> None:
        """Collect name mentions (PERSON entities and name-like sources) and cluster them."""
        # (start, title words, name words, root token, span, may create a new person)
        mentions: list[tuple[int, list[Word], list[Word], Token, Span, bool]] = []
        taken: set[int] = set()

        def add(tokens: list[Token], root: Token, creates: bool) -> None:
            prefix, name = self.split_name(tokens)
            if not name or any(i in taken for i in range(name[0].first, name[-1].last + 1)):
                return
            span = self.span_of(self.doc[name[0].first], self.doc[name[-1].last])
            mentions.append((span.start, prefix, name, root, span, creates))
            taken.update(range(name[0].first, name[-1].last + 1))

        for ent in self.ents:
            if ent.label_ == "PERSON":
                add(list(ent), ent.root, not self.in_headline(ent.start_char))
        for attribution in self.attributions:
            if attribution.source is not None:
                found = self.name_in_source(attribution.source)
                if found is not None:
                    tokens, root = found
                    _, name = self.split_name(tokens)
                    # an untagged proper noun starts a person only when it begins with a known
                    # first name; a lone "RT" or "CNS" is more likely an organisation. spaCy's
                    # small model often tags an unfamiliar "Elena Varga" ORG: as the source of a
                    # statement, two or three words opening with a first name are a person.
                    first_name = len(name) >= 2 and name[0].lower in self.lex.first_names
                    org_named_like_person = root.ent_type_ == "ORG" and first_name and len(name) <= 3
                    add(tokens, root, root.ent_type_ == "PERSON" or (root.ent_type_ in _NAME_LABELS and first_name)
                        or org_named_like_person)
        for ent in self.ents:
            if ent.label_ == "ORG":  # spaCy often tags a bare surname ORG: it may join a person
                add(list(ent), ent.root, False)
        mentions.sort(key=lambda m: m[0])

        name_keys: dict[int, tuple[str, ...]] = {}  # by id of a mention's name list (alive all along)

        def keys(name: Sequence[Word]) -> tuple[str, ...]:
            found = name_keys.get(id(name))
            if found is None:
                found = name_keys[id(name)] = tuple(_name_key(w.text) for w in name if _name_key(w.text) not in _NAME_STOP)
            return found

        # people from multi-word names, longest first
        people: list[Entity] = []
        for _, prefix, name, _, span, creates in sorted(mentions, key=lambda m: (-len(keys(m[2])), m[0])):
            k = keys(name)
            if len(k) < 2 or not creates:
                continue
            fits = [p for p in people if _subsequence(k, p.words)]
            if not fits:
                people.append(self.new_entity("person", k, " ".join(w.text for w in name), span))
        self.people_by_start: dict[int, Entity] = {}
        self.ambiguous: dict[int, list[Entity]] = {}
        self.source_spans = [a.source for a in self.attributions if a.source is not None]
        for start, prefix, name, root, span, creates in mentions:
            k = keys(name)
            fits = [p for p in people if _subsequence(k, p.words)] if len(k) > 1 else [
                p for p in people if k and k[0] in p.words and not _is_initial(k[0])
            ]
            person: Entity | None
            if len(fits) == 1:
                person = fits[0]
            elif not fits:
                if not creates:
                    continue
                person = self.new_entity("person", k, " ".join(w.text for w in name), span)
                people.append(person)
            else:
                gender = self.gender_of([], prefix + self.word_before(name[0].first))  # "Mrs. Clinton" is not Bill
                if gender:
                    fits = [p for p in fits if p.gender in (None, gender)] or fits
                person = fits[0] if len(fits) == 1 else self.dominant(fits, start)
                if person is None:
                    self.ambiguous[start] = fits
            if person is None:
                continue
            self.people_by_start[start] = person
            person.mentions.append(span)
            person.history.append(start)
            honorific = prefix + self.word_before(name[0].first)
            gender = self.gender_of(name, honorific)
            if gender and (person.gender is None or honorific):
                person.gender = gender
            subject = root.dep_ in ("nsubj", "nsubjpass") and root.i <= name[-1].last and root.i >= name[0].first
            rule = "name" if k == person.words else "part of the name of"
            self.events.append(Event(start, person, span, subject, self.is_protected(span.start, span.end), rule,
                                     self.name_chain(span, person)))
            self.read_titles(person, prefix, name, span)
        to_working = self.ann.cleaned.to_working
        for start, person in self.people_by_start.items():
            # the first mention at ``start``: mentions added later (record) come after it
            span = next((m for m in person.mentions if m.start == start), None)
            if span is not None:
                self.name_mentions.append((to_working(span.start), to_working(span.end), person, span))

    def new_entity(self, kind: str, words: tuple[str, ...], name: str, span: Span, named: bool = True) -> Entity:
        entity = Entity(len(self.entities), kind, words, name, span, named)
        self.entities.append(entity)
        return entity

    def name_chain(self, span: Span, person: Entity) -> tuple[Link, ...]:
        if span.start == person.name_span.start and span.end == person.name_span.end:
            return ()
        mention_keys = tuple(_name_key(w) for w in span.text.split())
        if mention_keys == person.words:
            return ()
        rule = f"surname of '{person.name}'"
        if len(mention_keys) == 1 and person.words and mention_keys[0] == person.words[0]:
            rule = f"first name of '{person.name}'"
        elif len(mention_keys) > 1:
            rule = f"short form of '{person.name}'"
        return (Link(span, person.name_span, rule),)

    def dominant(self, fits: list[Entity], start: int) -> Entity | None:
        """Among people sharing a name part, the most recent one when it clearly dominates:
        the others are not mentioned in this or the previous paragraph, and it is (or it has
        been mentioned at least twice as often)."""
        last = {id(p): max([s for s in p.history if s < start], default=-1) for p in fits}
        ranked = sorted(fits, key=lambda p: last[id(p)], reverse=True)
        best, others = ranked[0], ranked[1:]
        if last[id(best)] < 0:
            return None
        par = self.paragraph(start)
        in_window = lambda s: s >= 0 and self.paragraph(s) >= par - 1  # noqa: E731
        count = lambda p: sum(1 for s in p.history if s < start)  # noqa: E731
        if not any(in_window(last[id(p)]) for p in others) and (
            in_window(last[id(best)]) or all(count(best) >= 2 * max(1, count(p)) for p in others)
        ):
            return best
        # otherwise: the only one of them quoted so far ("Cruz" among Ted, Heidi and Rafael Cruz)
        spoke = [p for p in fits if any(s < start and self.in_source(s) for s in p.history)]
        return spoke[0] if len(spoke) == 1 else None

    def _headline_end(self) -> int:
        """Where a title-case first line ends (working offset), or 0 when the text has none."""
        text = self.ann.cleaned.text  # the text the Doc was made from
        first_line_end = text.find("\n")
        if first_line_end < 0:
            return 0
        words = [w for w in text[:first_line_end].split() if w[:1].isalpha()]
        return first_line_end if words and sum(w[0].isupper() for w in words) >= 0.7 * len(words) else 0

    def in_headline(self, working_offset: int) -> bool:
        """In a title-case first line, where capitalised words are not names ("Clinton Breaks")."""
        return working_offset < self.headline_end

    def in_source(self, offset: int) -> bool:
        return any(src.start <= offset < src.end for src in getattr(self, "source_spans", ()))

    def name_in_source(self, source: Span) -> tuple[list[Token], Token] | None:
        """The proper-noun run heading a source mention (with the words before it), when it
        may be a person's name: not a place or nationality, not a plural."""
        toks = self.tokens(source)
        root = self.root(toks)
        if root is None or root.pos_ != "PROPN" or root.tag_ == "NNPS" or root.ent_type_ in _PLACE_LABELS:
            return None
        lo = hi = root.i
        first, last = toks[0].i, toks[-1].i
        while lo - 1 >= first and self.doc[lo - 1].pos_ == "PROPN" and self.doc[lo - 1].ent_type_ not in _PLACE_LABELS:
            lo -= 1
        while hi + 1 <= last and self.doc[hi + 1].pos_ == "PROPN" and self.doc[hi + 1].ent_type_ not in _PLACE_LABELS:
            hi += 1
        tokens = [t for t in toks if t.i <= hi]
        prefix, name = self.split_name(tokens)
        if not name or any(self.lex.roles.get((w.lower,)) for w in name):
            return None
        if len(name) == 1 and (name[0].lower in self.lex.kind("alias") or name[0].lower in self.lex.kind("party")):
            return None
        return tokens, root

    def root(self, toks: Sequence[Token]) -> Token | None:
        """The syntactic head of a token run (the first token whose head lies outside it)."""
        if not toks:
            return None
        ids = {t.i for t in toks}
        for tok in toks:
            if tok.head.i not in ids or tok.head.i == tok.i:
                return tok
        return toks[0]

    # -- titles -------------------------------------------------------------------------------

    def read_titles(self, person: Entity, prefix: list[Word], name: list[Word], name_span: Span) -> None:
        """Titles written around one name mention (before it, in apposition, after "is")."""
        first, last = name[0].first, name[-1].last
        before = self.title_before(first)
        if before:
            self.add_title(person, before, name_span)
        after = self.apposition_after(last)
        if after:
            self.add_title(person, after, name_span)
        fronted = self.apposition_before(first, last)
        if fronted:
            self.add_title(person, fronted, name_span)
        copula = self.copula_title(self.doc[last])
        if copula:
            self.add_title(person, copula, name_span)

    def add_title(self, person: Entity, words: list[Word], name_span: Span) -> None:
        found = head_role(words)
        if found is None:
            return
        i, end, role = found
        lex = self.lex
        start = 0
        while start < i and (words[start].lower in lex.kind("definite") or words[start].lower in lex.kind("indefinite")
                             or words[start].lower in _PREPOSITIONS or words[start].lower == "'s"):
            start += 1
        words = words[start:]
        i -= start
        span = self.span_of(self.doc[words[0].first], self.doc[words[-1].last])
        if any(t.span.start == span.start for t in person.titles):
            return
        mods = modifiers(words[:i] + words[end - start :])
        person.titles.append(Title(span.text, span, name_span, role, mods))
        if role.gender and person.gender is None:
            person.gender = role.gender

    def np_word(self, tok: Token) -> bool:
        return tok.pos_ in ("PROPN", "NOUN", "ADJ", "NUM") or tok.lower_ in ("of", "'s", "’s", "-", "the")

    def title_before(self, first: int) -> list[Word]:
        """Title words directly before a name: "Russian Foreign Minister Sergey Lavrov"."""
        k = first - 1
        toks: list[Token] = []
        while k >= 0 and len(toks) < 8:
            tok = self.doc[k]
            if tok.ent_type_ == "PERSON" or not (tok.pos_ in ("PROPN", "NOUN", "ADJ", "NUM") or tok.lower_ in ("of", "'s", "’s", "-")):
                break
            if tok.is_punct and tok.text != "-":
                break
            toks.insert(0, tok)
            if tok.is_sent_start:
                break
            k -= 1
        while toks and toks[0].lower_ in ("of", "'s", "’s", "-"):
            toks.pop(0)
        words = _words(toks)
        # the role must end right before the name
        for i in range(len(words)):
            found = _role_at(words, i)
            if found and found[0] == len(words) and found[1].classes:
                return words
        return []

    def apposition_after(self, last: int) -> list[Word]:
        """"Sergey Lavrov, Russia's foreign minister, said": the phrase after the comma."""
        if last + 2 >= len(self.doc) or self.doc[last + 1].text != ",":
            return []
        toks: list[Token] = []
        k = last + 2
        while k < len(self.doc) and len(toks) < 12:
            tok = self.doc[k]
            if (tok.is_punct and tok.text not in ("-", "'s", "’s")) or tok.pos_ in ("VERB", "AUX") or tok.lower_ in (
                "who", "which", "that", "whose", "whom"
            ):
                break
            if tok.ent_type_ == "PERSON" or tok.pos_ == "PRON":
                return []
            toks.append(tok)
            k += 1
        if not toks or toks[0].pos_ not in ("DET", "ADJ", "PROPN", "NOUN", "PART", "NUM"):
            return []
        return _words(toks)

    def apposition_before(self, first: int, last: int) -> list[Word]:
        """"the top US diplomat, John Kerry, said": a determined role phrase before the comma."""
        if first < 2 or self.doc[first - 1].text != ",":
            return []
        nxt = self.doc[last + 1] if last + 1 < len(self.doc) else None
        if nxt is not None and not (nxt.is_punct or nxt.pos_ in ("VERB", "AUX")):
            return []
        k = first - 2
        toks: list[Token] = []
        while k >= 0 and len(toks) < 8:
            tok = self.doc[k]
            if tok.ent_type_ == "PERSON" or not (self.np_word(tok) or tok.pos_ == "DET"):
                break
            toks.insert(0, tok)
            if tok.pos_ == "DET" or tok.is_sent_start:
                break
            k -= 1
        if not toks or not (toks[0].pos_ == "DET" or toks[0].is_sent_start):
            return []
        words = _words(toks)
        found = head_role(words)
        if found is None or found[1] != len(words):
            return []
        return words

    def copula_title(self, name_tok: Token) -> list[Word]:
        """"Kerry is the secretary of state": the attribute of a copula with the name as subject."""
        root = name_tok
        if root.dep_ != "nsubj" or root.head.lemma_ != "be":
            return []
        for child in root.head.children:
            if child.dep_ == "attr":
                toks = [t for t in child.subtree if t.i <= child.i or any(
                    a.dep_ == "prep" and a.lower_ in ("of", "for") and t in a.subtree for a in child.children)]
                if any(t.ent_type_ == "PERSON" for t in toks):
                    return []
                return _words(toks)
        return []

    # -- resolving source mentions ------------------------------------------------------------

    def run(self) -> tuple[list[Attribution], list[Speaker]]:
        self.build()
        order = sorted(
            range(len(self.attributions)),
            key=lambda i: (self.attributions[i].source or self.attributions[i].content).start,
        )
        results: dict[int, tuple[Entity | None, Resolution]] = {}
        deferred: list[int] = []
        for index in order:
            attribution = self.attributions[index]
            if attribution.source is None:
                continue
            pronoun = self.pronoun(attribution.source)
            if pronoun in ("self", "selfpl"):
                deferred.append(index)
                continue
            results[index] = self.resolve_source(attribution.source, pronoun, index, results)
        for index in deferred:
            results[index] = self.resolve_self(index, results)

        speakers, ids = self.speakers(results)
        out: list[Attribution] = []
        source_speaker = {
            (a.source.start, a.source.end): ids.get(id(results[i][0])) if results.get(i) and results[i][0] else None
            for i, a in enumerate(self.attributions)
            if a.source is not None
        }
        for index, attribution in enumerate(self.attributions):
            if attribution.source is None:
                out.append(self.adjacent(attribution, source_speaker))
                continue
            entity, resolution = results[index]
            out.append(replace(attribution, speaker_id=ids.get(id(entity)) if entity else None, resolution=resolution))
        return out, speakers

    def adjacent(self, attribution: Attribution, source_speaker: dict[tuple[int, int], str | None]) -> Attribution:
        """No source: keep the extractor's adjacency decision, re-pointed at our speaker ids."""
        if attribution.resolution.method != Method.ADJACENT and "adjacent" not in attribution.rule:
            return replace(attribution, speaker_id=None)
        for link in reversed(attribution.resolution.chain):
            for (start, end), speaker_id in source_speaker.items():
                if start < link.antecedent.end and link.antecedent.start < end:
                    return replace(attribution, speaker_id=speaker_id)
        return attribution

    def pronoun(self, source: Span) -> str | None:
        toks = self.tokens(source)
        if len(toks) == 1:
            return self.lex.kind("pronoun").get(toks[0].lower_)
        return None

    def record(self, entity: Entity, source: Span, rule: str, chain: tuple[Link, ...]) -> None:
        entity.mentions.append(source)
        entity.history.append(source.start)
        own = self.content_of_source.get(source)
        self.events.append(Event(source.start, entity, source, True,
                                 self.is_protected(source.start, source.end, own), rule, chain))

    def resolve_source(self, source: Span, pronoun: str | None, index: int,
                       results: dict[int, tuple[Entity | None, Resolution]]) -> tuple[Entity | None, Resolution]:
        if pronoun == "rel":
            return self.resolve_relative(source)
        if pronoun is not None:
            return self.resolve_pronoun(source, pronoun, index, results)
        toks = self.tokens(source)
        root = self.root(toks)
        if root is None:
            return None, Resolution()
        words = _words(toks)
        # "Trump and Clinton", "France and Germany", "Paris to Prague": a group, none of its members
        ids = {t.i for t in toks}
        if any(c.dep_ == "conj" and c.i in ids for c in root.children) or any(
            t.dep_ == "prep" and t.lower_ == "to" and t.head.i == root.i and root.pos_ == "PROPN" for t in toks
        ):
            return self.resolve_description(source, words, root, True)
        # a person's name heads the mention, or stands in apposition to its role noun
        person = self.person_at(root, toks) or self.apposed_person(root, toks) or self.person_by_words(toks, source)
        if person is not None:
            entity, span = person
            if entity is None:
                return None, Resolution(Method.NONE)
            chain = self.name_chain(span, entity)
            method = Method.SURNAME if chain else Method.NAME
            self.record(entity, source, "previous speaker", chain)
            return entity, Resolution(method, chain)
        apposed = self.apposition_to_name(toks)
        if apposed is not None:
            entity, span = apposed
            chain = (Link(source, span, f"apposition to '{entity.name}'"),)
            self.record(entity, source, "apposition", chain)
            return entity, Resolution(Method.TITLE, chain)
        # plural nouns ("officials", "sources") are unnamed groups unless an organisation
        plural = root.tag_ in ("NNS", "NNPS")
        found = head_role(words) if not plural else None
        if found is not None and words[found[0]].first <= root.i <= words[found[1] - 1].last:
            return self.resolve_role(source, words, found)
        quantified = bool(words) and words[0].lower in self.lex.kind("indefinite")
        if root.ent_type_ in _ORG_LABELS and not quantified:
            ent_end = max(t.i for t in toks if t.ent_type_ == root.ent_type_)
            restricted = any(t.i > ent_end and t.pos_ in ("VERB", "ADP", "NOUN") for t in toks)
            if not (plural and restricted):  # "Americans worried about ..." is a subset
                return self.resolve_org(source, toks, root)
        elif root.pos_ == "PROPN" and not plural and not quantified:
            return self.resolve_org(source, toks, root)
        if found is not None:
            return self.resolve_role(source, words, found)
        if root.lower_ in self.lex.kind("orghead") and any(
            t.pos_ == "PROPN" or t.ent_type_ for t in toks if t.i < root.i
        ):
            return self.resolve_org(source, toks, root)
        return self.resolve_description(source, words, root, plural)

    def apposition_to_name(self, toks: Sequence[Token]) -> tuple[Entity, Span] | None:
        """"Senator Rand Paul, Republican of Kentucky, called": a source set off by commas right
        after a person's name describes that person (the extractor cut the name off), when the
        name opens its sentence, after capitalised words at most ("But Senator"). Not after a
        preposition ("In addition to Mr. Regalado, two members of Congress, ...") nor without the
        closing comma ("... met Rand Paul, Republican leaders said"): there it is someone else."""
        first, last = toks[0].i, toks[-1].i
        closed = self.doc[last].text == "," or last + 1 < len(self.doc) and self.doc[last + 1].text == ","
        if first < 2 or self.doc[first - 1].text != "," or not closed:
            return None
        name_end = self.doc[first - 2]
        hit = self.person_at(name_end, [name_end])
        if hit is None or hit[0] is None or self.span_of(name_end, name_end).end != hit[1].end:
            return None
        opening = [t for t in name_end.sent if t.idx < self.ann.cleaned.to_working(hit[1].start)]
        if any(not (t.is_punct or t.is_space or t.text[:1].isupper()) for t in opening):
            return None
        return hit[0], hit[1]

    def person_at(self, root: Token, toks: Sequence[Token]) -> tuple[Entity | None, Span] | None:
        """The person whose name contains the root of a mention, (None, span) if ambiguous."""
        idx = root.idx
        for ws, we, person, span in self.name_mentions:
            if ws <= idx < we:
                return person, span
        for start in self.ambiguous:
            if start == self.span_of(root, root).start or any(self.span_of(t, t).start == start for t in toks if t.i <= root.i):
                wl = self.ann.cleaned.to_working(start)
                if wl <= root.idx:
                    return None, self.span_of(root, root)
        return None

    def person_by_words(self, toks: Sequence[Token], source: Span) -> tuple[Entity | None, Span] | None:
        """A short source ("Trump", "Mr. McAuliffe") whose capitalised words are part of exactly
        one known person's name, whatever tag spaCy gave it."""
        if len(toks) > 4:
            return None
        words = _words(toks)
        prefix, _ = self.split_name(list(toks))
        name = [w for w in words[len(prefix):] if w.lower not in {"'s", "'"}]
        if not name or not all(w.capitalised for w in name):
            return None  # "the Obama administration" is not Obama
        keys = tuple(_name_key(w.text) for w in name)
        people = [e for e in self.entities if e.kind == "person"]
        fits = [p for p in people if (_subsequence(keys, p.words) if len(keys) > 1 else keys[0] in p.words)]
        gender = self.gender_of([], prefix)
        if gender:
            fits = [p for p in fits if p.gender in (None, gender)] or fits
        person = fits[0] if len(fits) == 1 else (self.dominant(fits, source.start) if fits else None)
        if person is None:
            return None
        span = self.span_of(self.doc[name[0].first], self.doc[name[-1].last])
        return person, span

    def apposed_person(self, root: Token, toks: Sequence[Token]) -> tuple[Entity | None, Span] | None:
        """"The state's campaign chairman, Phil Lovas,": a name in apposition to the head noun
        (after a comma or tagged appos), not one inside "for ..." or "X's"."""
        ids = {t.i for t in toks}
        found: list[tuple[Entity | None, Span]] = []
        for tok in toks:
            if tok.ent_type_ != "PERSON" and tok.pos_ != "PROPN":
                continue
            hit = self.person_at(tok, [tok])
            if hit is None or hit[0] is None:
                continue
            name_root = tok
            while name_root.dep_ in ("compound", "flat") and name_root.head.i in ids and name_root.head.i != root.i:
                name_root = name_root.head
            before = self.doc[name_root.left_edge.i - 1] if name_root.left_edge.i > 0 else None
            apposed = name_root.head.i == root.i and (
                name_root.dep_ == "appos" or (before is not None and before.text == ",")
            )
            if (apposed or self.comma_apposition(tok, root, ids)) and all(h[1].start != hit[1].start for h in found):
                found.append(hit)
        return found[0] if len(found) == 1 else None

    def comma_apposition(self, tok: Token, root: Token, ids: set[int]) -> bool:
        """"the city's mayor, John Smith": a name that follows the mention's head noun and a comma
        and ends the mention or a comma-delimited part of it, read from the word order alone,
        for a parse that attached the name elsewhere (the light tagger often does)."""
        first = last = tok.i
        while first - 1 in ids and self.doc[first - 1].pos_ == "PROPN":
            first -= 1
        while last + 1 in ids and self.doc[last + 1].pos_ == "PROPN":
            last += 1
        comma = first - 1
        if comma not in ids or self.doc[comma].text != "," or not root.i < comma:
            return False
        if any(self.doc[i].text == "," for i in range(root.i + 1, comma)):
            return False  # "the mayor of Kyiv, the capital, John Smith": a list, not one apposition
        return last + 1 not in ids or self.doc[last + 1].text == ","

    def resolve_relative(self, source: Span) -> tuple[Entity | None, Resolution]:
        """who/which/that: the noun the relative clause hangs on, if it names a known speaker."""
        toks = self.tokens(source)
        word = source.text.strip()
        if not toks:
            return None, Resolution()
        verb = toks[0].head
        antecedent = verb.head if verb.dep_ in ("relcl", "acl") and verb.head.i != verb.i else None
        if antecedent is None:
            return None, Resolution()
        hit = self.person_at(antecedent, [antecedent])
        if hit is not None and hit[0] is not None:
            entity, span = hit
            chain = (Link(source, span, f"relative pronoun '{word}' -> the noun it modifies"),) + self.name_chain(span, entity)
            self.record(entity, source, "previous speaker", chain)
            return entity, Resolution(Method.PRONOUN, chain)
        ws = antecedent.idx
        for event in reversed(self.events):
            es, ee = self.ann.cleaned.to_working(event.span.start), self.ann.cleaned.to_working(event.span.end)
            if es <= ws < ee and event.entity.named:
                chain = (Link(source, event.span, f"relative pronoun '{word}' -> the noun it modifies"),) + event.chain
                self.record(event.entity, source, "previous speaker", chain)
                return event.entity, Resolution(Method.PRONOUN, chain)
        return None, Resolution()

    def resolve_org(self, source: Span, toks: Sequence[Token], root: Token) -> tuple[Entity | None, Resolution]:
        """A named organisation; short forms ("The Post") join the fuller name in the article."""
        label = root.ent_type_
        drop = set(self.lex.kind("definite")) | {"'s", "'"}
        if label:
            # the named entity around the root ("The nonpartisan Commission on Presidential Debates")
            lo = hi = root.i
            while lo - 1 >= toks[0].i and self.doc[lo].ent_iob_ == "I":
                lo -= 1
            while hi + 1 <= toks[-1].i and self.doc[hi + 1].ent_iob_ == "I":
                hi += 1
            words = [w for w in _words([t for t in toks if lo <= t.i <= hi]) if w.lower not in drop]
        else:
            words = [w for w in _words(toks) if w.lower not in drop]
            # cut an apposition or relative clause after the head
            cut = [w for w in words if w.last <= root.i or self.doc[w.first].head.i == root.i and w.first < root.i]
            words = cut or words
        keys = tuple(_name_key(w.text) for w in words if _name_key(w.text))
        if not keys:
            return self.resolve_description(source, _words(toks), root, False)
        name = " ".join(w.text for w in words)
        acronym = len(keys) == 1 and len(keys[0]) > 1 and words[0].text.isupper()
        orgs = [e for e in self.entities if e.kind == "org"]
        exact = [e for e in orgs if e.words == keys]
        longer = [e for e in orgs if label not in _PLACE_LABELS and (
            len(e.words) > len(keys) and _subsequence(keys, e.words) or acronym and _initials(e.words) == keys[0])]
        if not exact and not longer and label not in _PLACE_LABELS:
            for ent in self.ents:
                if ent.label_ == "ORG" and not self.in_headline(ent.start_char):
                    ent_words = [w for w in _words(list(ent)) if w.lower not in self.lex.kind("definite")]
                    ent_keys = tuple(_name_key(w.text) for w in ent_words)
                    fits = (len(ent_keys) > len(keys) and _subsequence(keys, ent_keys)) or (
                        acronym and _initials(ent_keys) == keys[0])
                    if fits and ent.start_char < self.ann.cleaned.to_working(source.start):
                        span = self.ann.spacy_span(ent)
                        org = self.new_entity("org", ent_keys, " ".join(w.text for w in ent_words), span)
                        org.head = ent.root.lemma_.lower()
                        org.mentions.append(span)
                        org.history.append(span.start)
                        longer = [org]
                        break
        if exact:
            org = exact[0]
            self.record(org, source, "previous speaker", ())
            return org, Resolution(Method.NAME)
        if len(longer) == 1:
            org = longer[0]
            chain = (Link(source, org.name_span, f"short form of '{org.name}'"),)
            self.record(org, source, "previous speaker", chain)
            return org, Resolution(Method.SURNAME, chain)
        org = self.new_entity("org", keys, name, source)
        org.plural = root.tag_ in ("NNS", "NNPS")
        org.head = root.lemma_.lower()
        self.record(org, source, "previous speaker", ())
        return org, Resolution(Method.NAME)

    def resolve_role(self, source: Span, words: list[Word], found: tuple[int, int, Role]) -> tuple[Entity | None, Resolution]:
        """A role mention: the named person given that role, else an unnamed description."""
        i, end, role = found
        determiner = words[0].lower if words else ""
        mention_mods = modifiers(words[:i] + words[end:])
        if determiner not in self.lex.kind("indefinite"):
            scored: list[tuple[int, Entity, Title]] = []
            for person in self.entities:
                if person.kind != "person":
                    continue
                best: tuple[int, Title] | None = None
                for title in person.titles:
                    if role.classes[0] not in title.role.classes:
                        continue
                    score = modifiers_fit(mention_mods, title.mods)
                    if score is not None and (best is None or score > best[0]):
                        best = (score, title)
                if best is not None:
                    scored.append((best[0], person, best[1]))
            if scored:
                top = max(s for s, _, _ in scored)
                fits = [(p, t) for s, p, t in scored if s == top]
                chosen: tuple[Entity, Title] | None = fits[0] if len(fits) == 1 else None
                if chosen is None:
                    dominant = self.dominant([p for p, _ in fits], source.start)
                    chosen = next(((p, t) for p, t in fits if p is dominant), None)
                if chosen is not None:
                    person, title = chosen
                    role_text = " ".join(w.text for w in words[i:end])
                    chain = (Link(source, title.name_span, f"title '{role_text}' given to '{person.name}' as '{title.text}'"),)
                    self.record(person, source, "previous speaker", chain)
                    return person, Resolution(Method.TITLE, chain)
        return self.resolve_description(source, words, None, False, head=" ".join(w.lower for w in words[i:end]),
                                        gender=role.gender)

    def resolve_description(self, source: Span, words: list[Word], root: Token | None, plural: bool,
                            head: str | None = None, gender: str | None = None) -> tuple[Entity | None, Resolution]:
        """A speaker the article never names ("a source", "the former diplomat")."""
        person_like = head is not None
        # a Doc without lemmas (a blank pipeline) must not give every description the same head ""
        head = head or ((root.lemma_ or root.text).lower() if root is not None else source.text.lower())
        head_words = set(head.split())
        mods = modifiers([w for w in words if w.lower not in head_words and not (root is not None and w.first <= root.i <= w.last)])
        determiner = words[0].lower if words else ""
        if determiner in ("the", "this", "that") and not plural:
            # "the campaign", "the commission": a body named just before with that head noun
            par = self.paragraph(source.start)
            bodies = [(max(e.history), e) for e in self.entities if e.kind == "org" and e.head == head and e.history
                      and max(e.history) < source.start and self.paragraph(max(e.history)) >= par - 2]
            if bodies:
                _, org = max(bodies, key=lambda b: b[0])
                chain = (Link(source, org.name_span, f"'{source.text}' -> the {head} named before, '{org.name}'"),)
                self.record(org, source, "previous speaker", chain)
                return org, Resolution(Method.TITLE, chain)
        if determiner in self.lex.kind("definite") and determiner not in ("his", "her", "their", "its"):
            earlier = [e for e in self.entities if e.kind == "description" and e.head == head and e.history
                       and min(e.history) < source.start and description_fits(mods, e.mods)]
            if earlier:
                entity = max(earlier, key=lambda e: max(e.history))
                chain = (Link(source, entity.name_span, f"same description as '{entity.name}'"),)
                self.record(entity, source, "previous speaker", chain)
                return entity, Resolution(Method.DESCRIPTION, chain)
        entity = self.new_entity("description", (), source.text, source, named=False)
        entity.head, entity.plural, entity.gender, entity.person_like = head, plural, gender, person_like
        entity.mods = mods
        self.record(entity, source, "previous speaker", ())
        return entity, Resolution(Method.DESCRIPTION)

    def resolve_pronoun(self, source: Span, kind: str, index: int,
                        results: dict[int, tuple[Entity | None, Resolution]]) -> tuple[Entity | None, Resolution]:
        """he/she: the most recent compatible subject or speaker in this or the previous
        paragraph (outside quoted content); they/it: an organisation or group."""
        par = self.paragraph(source.start)
        word = source.text.strip()

        def compatible(entity: Entity) -> bool:
            if kind in ("m", "f"):
                return (entity.kind == "person" or entity.kind == "description" and entity.person_like) and (
                    not entity.plural and entity.gender in (None, kind))
            if kind == "pl":
                return entity.kind == "org" or entity.plural
            return entity.kind in ("org", "description") and not entity.plural and not entity.person_like  # it

        before = [e for e in self.events if e.start < source.start and not e.protected
                  and self.paragraph(e.start) >= par - 1]
        before.sort(key=lambda e: e.start, reverse=True)
        candidates = [e for e in before if e.subject] + [e for e in before if not e.subject]
        for event in candidates:
            if compatible(event.entity):
                why = "previous speaker" if event.rule == "previous speaker" else (
                    "subject of a previous sentence" if event.subject else "most recent mention")
                chain = (Link(source, event.span, f"pronoun '{word}' -> {why}"),) + event.chain
                self.record(event.entity, source, "previous speaker", chain)
                return event.entity, Resolution(Method.PRONOUN, chain)
        return None, Resolution(Method.NONE)

    def resolve_self(self, index: int, results: dict[int, tuple[Entity | None, Resolution]]) -> tuple[Entity | None, Resolution]:
        """I/we: the speaker of the quotation the pronoun sits in, else the previous speaker."""
        source = self.attributions[index].source
        assert source is not None
        word = source.text.strip()
        for other, (entity, _) in results.items():
            content = self.attributions[other].content
            if entity is not None and any(s <= source.start and source.end <= e for s, e in content.offsets()):
                origin = self.attributions[other].source
                chain = (Link(source, origin or content, f"pronoun '{word}' -> speaker of the enclosing quote"),)
                self.record(entity, source, "previous speaker", chain)
                return entity, Resolution(Method.PRONOUN, chain)
        previous = [(self.attributions[o].source, results[o][0]) for o in results
                    if self.attributions[o].source is not None and results[o][0] is not None
                    and self.attributions[o].source.start < source.start]  # type: ignore[union-attr]
        if previous and self.is_protected(source.start, source.end, self.attributions[index].content):
            span, entity = max(previous, key=lambda p: p[0].start)  # type: ignore[union-attr]
            if self.paragraph(span.start) >= self.paragraph(source.start) - 1:  # type: ignore[union-attr]
                chain = (Link(source, span, f"pronoun '{word}' -> previous speaker"),)  # type: ignore[arg-type]
                self.record(entity, source, "previous speaker", chain)  # type: ignore[arg-type]
                return entity, Resolution(Method.PRONOUN, chain)
        return None, Resolution(Method.NONE)

    # -- output -------------------------------------------------------------------------------

    def speakers(self, results: dict[int, tuple[Entity | None, Resolution]]) -> tuple[list[Speaker], dict[int, str]]:
        """One Speaker per entity that speaks, numbered in order of first mention."""
        speaking = {id(e): e for e, _ in results.values() if e is not None}
        ordered = sorted(speaking.values(), key=lambda e: min(m.start for m in e.mentions))
        ids: dict[int, str] = {}
        speakers: list[Speaker] = []
        for n, entity in enumerate(ordered, start=1):
            ids[id(entity)] = f"s{n}"
            mentions = tuple(sorted({(m.start, m.end): m for m in entity.mentions}.values(), key=lambda m: m.start))
            title = min(entity.titles, key=lambda t: t.span.start).text if entity.titles else None
            speakers.append(Speaker(f"s{n}", entity.name, mentions, title, entity.named))
        return speakers, ids


def resolve(annotated: Annotated, attributions: Sequence[Attribution]) -> tuple[list[Attribution], list[Speaker]]:
    """Fill ``speaker_id`` and ``resolution`` of each attribution; return them with the
    article's speakers (ids ``s1``, ``s2``, ... in order of first mention)."""
    return _Resolver(annotated, attributions).run()
