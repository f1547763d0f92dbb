"""Cheap part-of-speech tags, named entities and a shallow parse for the fast pipeline.

The fast model runs behind a blank spaCy tokenizer and a sentencizer
(:func:`quotegraph.models.fast.light_nlp`) so that a core handles dozens of articles a second,
but the speaker resolver (:mod:`quotegraph.resolve`) reads the Doc: ``pos_`` (PROPN, PRON, DET,
VERB, AUX, ADP, NOUN, ADJ, NUM), ``tag_`` (NNS / NNPS for plurals, JJ / VBN / VBG), ``lemma_``
(the head noun of "the campaign"), ``doc.ents`` (PERSON, ORG, GPE, NORP, DATE) and the parse
(the head of a mention, subjects, appositions, conjunctions, relative clauses). This component
fills exactly those from word lists, capitalisation and word order, without a statistical model:

* words: function words from ``data/light_words.tsv``; capitalised words are proper nouns,
  except at the start of a sentence where a word the article also writes in lower case, or a
  frequent word (``common_words.txt``), is read as common; reporting-verb forms are verbs;
  other lower-case words are nouns (plural when they look it), -ly words adverbs.
* names: a run of capitalised words holds a PERSON when it starts with a known first name
  (``first_names.tsv``: "Mark Ellison") or follows a title (``titles.txt``: "Secretary of State
  Kerry", "Mr. Trump"), or when an apposition says so ("Chad Bown, an expert on trade,",
  "Rucker Culpepper, who ..."); once the article has named someone, a run of name-like words
  ending with their last name ("Ellison", "Laurence H. Tribe") is a PERSON too.
* other entities: runs with an organisation word are ORG ("State Department", "Commission on
  Presidential Debates"), places GPE / LOC / FAC ("Washington sent ...", "Kent County"), plural
  group nouns NORP ("Republicans"), weekdays and dated months DATE (``data/light_entities.tsv``).
* parse: noun chunks headed by their last noun; "of ...", ", the ... ,", "(...)", "and ..." and
  "who ..." hang on the noun before them; a chunk before a verb is its subject (nsubj).

When unsure it leaves a word unlabelled: a wrong PERSON can give a quotation a wrong name,
while a missing one only leaves it unresolved.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np

from quotegraph.extractors.lexicon import data_lines

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

LIGHT_TAGS = "quotegraph_light_tags"

# hyphen-like tokens that glue two capitalised words into one name ("Smith-Jones", "Post-ABC")
_HYPHENS = {"-", "‐", "–"}
_ARTICLES = {"the", "a", "an"}
# tokens after which a capitalised word is as good as sentence-initial
_OPENERS = {'"', "“", "‘", "'", "(", "[", ":", "—", "–", "-", "--", "…"}
_NOMINAL_BEFORE = {"DET", "ADJ", "NUM"}
_FUNCTION_POS = {"DET", "PRON", "ADP", "CCONJ", "SCONJ", "PART"}
_SUBJECT_PRONOUNS = {"i", "you", "he", "she", "it", "we", "they"}
_SUBJECTS = _SUBJECT_PRONOUNS | {"who", "which", "that"}
# dashes that set off an apposition like commas ("X -- the production company --")
_DASHES = {"--", "—", "–", "---"}
# parts of speech that make up a noun chunk, and how a non-head word of a chunk hangs on its head
_CHUNK_POS = {"DET", "ADJ", "NOUN", "PROPN", "NUM"}
_CHUNK_DEP = {"DET": "det", "ADJ": "amod", "NUM": "nummod", "PRON": "poss", "PUNCT": "punct", "SPACE": "dep"}
_MAX_HEADLINE_TOKENS = 30  # a longer first line is a paragraph of the story, not its headline


@dataclass(frozen=True)
class LightLexicon:
    """The word lists the light tagger reads, loaded once per process."""

    closed: dict[str, tuple[str, str, str]]  # word -> (pos, tag, lemma) from light_words.tsv
    common: frozenset[str]  # frequent lower-case words (common_words.txt, english_stopwords.txt)
    first_names: frozenset[str]
    roles_by_last: dict[str, tuple[tuple[str, ...], ...]]  # titles.txt entries by their last token
    honorifics: frozenset[tuple[str, ...]]  # titles.txt entries without a role class (Mr., Dr.)
    role_words: frozenset[str]  # one-token titles and honorifics ("minister", "gov.", "mr.")
    name_titles: frozenset[str]  # party nouns that act as a title before a name ("Democrat")
    places: dict[str, tuple[tuple[tuple[str, ...], str], ...]]  # first word -> (words, label), longest first
    place_words: dict[str, str]  # "county" -> GPE
    groups: frozenset[str]  # NORP plurals ("republicans")
    nationalities: frozenset[str]  # nationality / party adjectives ("russian")
    org_words: frozenset[str]
    orgs: frozenset[str]
    weekdays: frozenset[str]
    months: frozenset[str]
    particles: frozenset[str]  # lower-case words inside names ("de", "van", "al")
    title_abbreviations: frozenset[str]  # "lt", "gen": a period after them does not end a sentence
    verbs: dict[str, str]  # reporting-verb form -> lemma
    be: frozenset[str]  # forms of "be": a noun after them is an attribute ("Kerry is the secretary")
    rules: dict[str, frozenset[str]]  # light_rules.tsv: kind -> words

    def rule(self, kind: str) -> frozenset[str]:
        return self.rules.get(kind, frozenset())


def _tokens_of(phrase: str) -> tuple[str, ...]:
    """A lexicon phrase as spaCy's English tokenizer splits it ("president-elect", "state's")."""
    out: list[str] = []
    for word in phrase.lower().replace("’", "'").split():
        if word.endswith("'s") and len(word) > 2:
            out.extend(_tokens_of(word[:-2]) + ("'s",))
            continue
        for k, part in enumerate(word.split("-")):
            if k:
                out.append("-")
            if part:
                out.append(part)
    return tuple(out)


@lru_cache(maxsize=1)
def light_lexicon() -> LightLexicon:
    """Read light_words.tsv, light_entities.tsv and the resolver's own word lists."""
    from quotegraph.models.features import abbreviations, cue_lexicon
    from quotegraph.resolve import lexicon

    lex = lexicon()
    closed: dict[str, tuple[str, str, str]] = {}
    for row in data_lines("light_words.tsv"):
        word = row[0].lower()
        lemma = row[3] if len(row) > 3 and row[3] != "-" else word
        closed.setdefault(word, (row[1], row[2], lemma))
    common = frozenset(r[0].lower() for r in data_lines("common_words.txt")) | frozenset(
        r[0].lower() for r in data_lines("english_stopwords.txt"))
    by_last: dict[str, list[tuple[str, ...]]] = {}
    honorifics, role_words = set(), set()
    for words, role in lex.roles.items():
        toks = _tokens_of(" ".join(words))
        if not toks:
            continue
        by_last.setdefault(toks[-1], []).append(toks)
        if not role.classes:
            honorifics.add(toks)
        if len(toks) == 1:
            role_words.add(toks[0])
    places: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    place_words: dict[str, str] = {}
    groups, nationalities, org_words, orgs, name_titles = set(), set(), set(), set(), set()
    for row in data_lines("light_entities.tsv"):
        kind, phrase = row[0], row[1]
        if kind in ("GPE", "LOC"):
            toks = tuple(phrase.lower().split())
            places.setdefault(toks[0], []).append((toks, kind))
        elif kind == "placeword":
            place_words[phrase.lower()] = row[2] if len(row) > 2 else "LOC"
        elif kind == "NORP":
            groups.add(phrase.lower())
        elif kind == "nationality":
            nationalities.add(phrase.lower())
        elif kind == "orgword":
            org_words.add(phrase.lower())
        elif kind == "ORG":
            orgs.add(phrase.lower())
        elif kind == "nametitle":
            name_titles.add(phrase.lower())
    weekdays, months, particles = set(), set(), set()
    for row in data_lines("header_words.txt"):
        if row[0] == "weekday":
            weekdays.add(row[1].lower())
        elif row[0] == "month":
            months.add(row[2].lower())
        elif row[0] == "name_particle" and row[1].isalpha():
            particles.add(row[1].lower())
    particles -= {"and", "la", "le"}  # "Smith and Jones" are two people
    rules: dict[str, set[str]] = {}
    for row in data_lines("light_rules.tsv"):
        rules.setdefault(row[0], set()).add(row[1].lower())
    return LightLexicon(
        closed=closed,
        common=common,
        first_names=frozenset(lex.first_names),
        roles_by_last={k: tuple(sorted(v, key=len, reverse=True)) for k, v in by_last.items()},
        honorifics=frozenset(honorifics),
        role_words=frozenset(role_words),
        name_titles=frozenset(name_titles),
        places={k: tuple(sorted(v, key=lambda p: len(p[0]), reverse=True)) for k, v in places.items()},
        place_words=place_words,
        groups=frozenset(groups),
        nationalities=frozenset(nationalities),
        org_words=frozenset(org_words),
        orgs=frozenset(orgs),
        weekdays=frozenset(weekdays),
        months=frozenset(months),
        particles=frozenset(particles),
        title_abbreviations=frozenset(a for a in abbreviations() if a + "." in role_words or a[-1:] == "s" and a[:-1] + "." in role_words),
        verbs={form: lemma for form, (lemma, _kind) in cue_lexicon().items()},
        be=frozenset(word for word, (_, _, lemma) in closed.items() if lemma == "be") | {"'s"},
        rules={kind: frozenset(words) for kind, words in rules.items()},
    )


def _texts(doc: Doc, known: dict[int, str]) -> tuple[list[str], list[str]]:
    """Token texts and trailing white space, read from arrays through a cache of the vocabulary's
    strings (making a Token object per word, or ``Doc.text``, costs more than the tagging)."""
    orths, where = np.unique(doc.to_array("ORTH"), return_inverse=True)
    strings = doc.vocab.strings
    words = []
    for orth in orths.tolist():
        text = known.get(orth)
        if text is None:
            text = known[orth] = strings[orth]
        words.append(text)
    if len(known) > 500_000:
        known.clear()
    return [words[k] for k in where.reshape(-1).tolist()], [" " if space else "" for space in doc.to_array("SPACY").tolist()]


def _singular(word: str) -> str:
    """The lemma of a regular plural noun ("officials" -> official, "parties" -> party)."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _looks_plural(word: str) -> bool:
    return len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "ous"))


def _subsequence(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    it = iter(long)
    return all(any(w == x for x in it) for w in short)


@dataclass
class _Words:
    """One Doc's tokens as the tagger sees them."""

    texts: list[str]
    lowers: list[str]
    ws: list[str]  # trailing whitespace of each token
    starts: list[int]  # 1 where a sentence starts (a list: read one token at a time)
    pos: list[str]
    tag: list[str]
    lemma: list[str]
    cap: list[bool]  # a capitalised word that may be part of a name

    def gap(self, i: int) -> bool:
        """Token ``i`` is white space inside a line (a no-break space between "Gov." and a name)."""
        t = self.texts[i]
        return t.isspace() and "\n" not in t


# --------------------------------------------------------------------------------------------


class LightTagger:
    """The spaCy component: POS, TAG, LEMMA, HEAD and DEP of every token and the entities.
    Keeps a per-pipeline cache of the tags of lower-case words."""

    def __init__(self, nlp: Language) -> None:
        from spacy import symbols

        self.lex = light_lexicon()
        self.strings = nlp.vocab.strings
        self.pos_id = {name: getattr(symbols, name) for name in (
            "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
            "PUNCT", "SCONJ", "SPACE", "SYM", "VERB", "X")}
        self.cache: dict[str, tuple[str, str, str]] = {}
        self.orths: dict[int, str] = {}
        self.ids: dict[str, int] = {}

    def __call__(self, doc: Doc) -> Doc:
        n = len(doc)
        if n == 0:
            return doc
        texts, ws = _texts(doc, self.orths)
        starts = doc.to_array("SENT_START")
        joined = self._join_abbreviations(doc, texts, ws, starts)
        if joined:
            n = len(doc)
            texts, ws = _texts(doc, self.orths)
            starts = doc.to_array("SENT_START")
            starts[joined] = 0  # the parse below sets the sentences
        lowers = [t.lower().replace("’", "'") for t in texts]
        w = _Words(texts, lowers, ws, starts.tolist(), [""] * n, [""] * n, [""] * n, [False] * n)
        self._tag(w)
        ents = self._entities(w)
        for s, e, label in ents:
            if label in ("ORG", "PERSON"):
                for k in range(s, e):
                    if w.pos[k] == "ADJ":
                        w.pos[k], w.tag[k] = "PROPN", "NNP"
        heads, deps = self._parse(w, ents)

        values = np.empty((n, 5), dtype=np.uint64)
        values[:, 0] = list(map(self.pos_id.__getitem__, w.pos))
        values[:, 1] = self._ids(w.tag)
        values[:, 2] = self._ids(w.lemma)
        values[:, 3] = (np.asarray(heads, dtype=np.int64) - np.arange(n, dtype=np.int64)).view(np.uint64)
        values[:, 4] = self._ids(deps)
        doc.from_array(["POS", "TAG", "LEMMA", "HEAD", "DEP"], values)
        if ents:
            from spacy.tokens import Span

            doc.set_ents([Span(doc, s, e, label=label) for s, e, label in ents], default="outside")
        return doc

    def _ids(self, values: list[str]) -> list[int]:
        """String-store ids of tags, lemmas or labels (a dict is faster than StringStore.add).
        Added as permanent strings, so a cached id stays valid after a spaCy memory zone."""
        ids = self.ids
        out = list(map(ids.get, values))
        if None in out:
            for k, found in enumerate(out):
                if found is None:
                    value = values[k]
                    found = ids.get(value)
                    if found is None:
                        found = ids[value] = self.strings.add(value, allow_transient=False)
                    out[k] = found
        if len(ids) > 500_000:
            ids.clear()
        return out

    def _join_abbreviations(self, doc: Doc, texts: list[str], ws: list[str], starts: np.ndarray) -> list[int]:
        """spaCy's tokenizer splits "Lt." before a name and the sentencizer ends a sentence
        there ("Retired Lt. Gen. Michael Flynn"): join such a title and its period back into one
        token that does not end the sentence. Returns the (new) indices of the tokens that
        should not start a sentence."""
        joins = [int(i) for i in np.flatnonzero(starts == 1)
                 if i >= 2 and texts[i - 1] == "." and not ws[i - 2] and texts[i][:1].isupper()
                 and texts[i - 2][:1].isupper() and texts[i - 2].lower() in self.lex.title_abbreviations]
        if joins:
            with doc.retokenize() as retokenizer:
                for i in joins:
                    retokenizer.merge(doc[i - 2 : i])
        return [i - shift for shift, i in enumerate(joins, start=1)]

    # -- words ---------------------------------------------------------------------------------

    def lower_word(self, word: str) -> tuple[str, str, str]:
        """(pos, tag, lemma) of a lower-case word out of context."""
        found = self.cache.get(word)
        if found is not None:
            return found
        lex = self.lex
        if word in lex.closed:
            found = lex.closed[word]
        elif not word[:1].isalpha():
            first = word[:1]
            found = ("NUM", "CD", word) if first.isdigit() else ("PUNCT", "PUNCT", word) if not first.isalnum() else ("X", "XX", word)
        elif word in lex.verbs:
            lemma = lex.verbs[word]
            if word == lemma:
                tag = "VB"
            elif word.endswith("ing"):
                tag = "VBG"
            elif word.endswith("s") and not word.endswith("ss"):
                tag = "VBZ"
            else:
                tag = "VBD"
            found = ("VERB", tag, lemma)
        elif word in lex.nationalities:
            found = ("ADJ", "JJ", word)
        elif word.endswith("ly") and len(word) > 4:
            found = ("ADV", "RB", word)
        elif word.endswith("ed") and len(word) > 4 and not word.endswith("eed"):
            found = ("VERB", "VBN", word)
        elif word.endswith("ing") and len(word) > 5:
            found = ("VERB", "VBG", word)
        elif _looks_plural(word):
            found = ("NOUN", "NNS", _singular(word))
        else:
            found = ("NOUN", "NN", word)
        if len(self.cache) < 200_000:
            self.cache[word] = found
        return found

    def _tag(self, w: _Words) -> None:
        """Part of speech, tag and lemma of every token (``w.pos``, ``w.tag``, ``w.lemma``).
        A capitalised word at the start of a sentence is decided last, once the whole article
        has shown which words it writes in lower case."""
        lex, cache = self.lex, self.cache
        texts, lowers, pos, tag, lemma, starts = w.texts, w.lowers, w.pos, w.tag, w.lemma, w.starts
        n = len(texts)
        lower_seen: set[str] = set()
        cap_mid: set[str] = set()  # capitalised inside a sentence of running text: a name
        initial_caps: list[int] = []  # capitalised where a capital proves nothing: decided last
        title_line: set[int] = set()  # ... in a title-case or capitals line ("Clinton Breaks With Obama")
        line_caps: list[int] = []
        line = [0, 0, 0]  # words, capitalised words, how many initial_caps came before the line
        surnames: set[str] = set()  # capitalised words written right after a known first name
        at_start = True  # as good as sentence-initial: a capital proves nothing here
        for i, text in enumerate(texts):
            if starts[i] == 1:
                at_start = True
            first = text[:1]
            if first.isupper():
                low = lowers[i]
                closed = lex.closed.get(low)
                all_caps = len(text) > 1 and text.isupper()
                line[0] += 1
                line[1] += 1
                if i and lowers[i - 1] in lex.first_names and texts[i - 1][:1].isupper() and (
                        i < 2 or not texts[i - 2][:1].isupper()):
                    surnames.add(text)  # "Bernie Sanders"; not "Rand Paul Scores"
                if low == "i":
                    pos[i], tag[i], lemma[i] = "PRON", "PRP", "I"
                elif closed is not None and not all_caps and (closed[0] in _FUNCTION_POS or closed[1] == "WRB"):
                    pos[i], tag[i], lemma[i] = closed
                elif at_start and not all_caps:
                    initial_caps.append(i)
                    pos[i], tag[i], lemma[i] = closed or ("PROPN", "NNP", text)  # decided below
                else:
                    line_caps.append(i)
                    w.cap[i] = True
                    if low in lex.nationalities and not all_caps:
                        pos[i], tag[i], lemma[i] = "ADJ", "JJ", text
                    else:
                        pos[i], tag[i], lemma[i] = "PROPN", "NNPS" if low in lex.groups else "NNP", text
                at_start = False
                continue
            if text.isspace():
                pos[i], tag[i], lemma[i] = "SPACE", "_SP", text
                if "\n" in text:
                    at_start = True
                    self._end_line(w, i, line_caps, line, cap_mid, initial_caps, title_line)
                continue
            if first.isalpha():
                line[0] += 1
                if text.islower():
                    lower_seen.add(text)
                at_start = False
            elif text in _OPENERS:
                # after ":" or an opening quotation mark ("said, “When ...") a capital proves nothing
                at_start = at_start or text in (":", "“", "‘") or text == '"' and (i == 0 or bool(w.ws[i - 1])) and not w.ws[i]
            else:
                at_start = False
            found = cache.get(lowers[i])
            p, t, lem = found if found is not None else self.lower_word(lowers[i])
            prev = i - 1
            if p == "VERB":
                if prev >= 0 and (pos[prev] in _NOMINAL_BEFORE or tag[prev] in ("PRP$", "POS")
                                  or pos[prev] == "ADP" and t not in ("VBD", "VBN")):
                    # "a retired general", "the claims", "secretary of state": noun or adjective
                    if t in ("VBN", "VBG"):
                        p, t = "ADJ", "JJ"
                    else:
                        p, t, lem = ("NOUN", "NNS", _singular(lowers[i])) if _looks_plural(lowers[i]) else ("NOUN", "NN", lowers[i])
                elif t == "VB" and prev >= 0 and tag[prev] in ("NN", "NNP") and i + 1 < n and texts[i + 1][:1].islower() \
                        and lowers[i + 1] not in lex.closed:
                    p, t = "NOUN", "NN"  # "a Washington state delegate": a noun between nouns
                elif t in ("VBN", "VBG") and lowers[i] not in lex.verbs and i + 1 < n and (
                        texts[i + 1][:1].isupper() or lowers[i + 1] in lex.role_words) and (prev < 0 or pos[prev] not in ("NOUN", "PROPN", "PRON")):
                    p, t = "ADJ", "JJ"  # "retired Air Force general", ", leading Democrat ..."
            elif p == "ADV":
                if prev >= 0 and (pos[prev] in _NOMINAL_BEFORE or tag[prev] in ("PRP$", "POS")) and lowers[i] not in lex.closed:
                    # "the family", "an ally", "the deadly attack": an -ly word after a determiner
                    p, t = ("ADJ", "JJ") if i + 1 < n and texts[i + 1][:1].isalpha() and self.lower_word(lowers[i + 1])[0] == "NOUN" \
                        else ("NOUN", "NN")
            elif p == "NOUN":
                if prev >= 0 and tag[prev] in ("PRP", "WP", "WDT") and lowers[prev] in _SUBJECTS:
                    p, t = "VERB", "VBZ" if t == "NNS" else "VBP"  # "who heads", "she leads"
                elif t == "NN" and prev >= 0 and tag[prev] in ("NNS", "NNPS") and i + 1 < n and lowers[i] not in lex.role_words \
                        and (lowers[i + 1] == "to" or lex.closed.get(lowers[i + 1], ("",))[0] in ("DET", "PRON")):
                    p, t = "VERB", "VBP"  # "rivals cling to", "allies aim to": a plural subject's verb
            elif p == "DET" and lowers[i] == "that" and prev >= 0:
                if pos[prev] == "VERB" or i + 1 < n and (texts[i + 1][:1].isupper() or lowers[i + 1] in _SUBJECT_PRONOUNS):
                    p, t = "SCONJ", "IN"  # "noted that Moscow ...", "said that he ..."
                elif pos[prev] in ("NOUN", "PROPN") and i + 1 < n and self._verb_like(lowers[i + 1]):
                    p, t = "PRON", "WDT"  # "the company that owns ..."
            pos[i], tag[i], lemma[i] = p, t, lem

        self._end_line(w, n, line_caps, line, cap_mid, initial_caps, title_line)

        headline_once = self._headline_once(w, initial_caps)
        for i in initial_caps:
            text, low = texts[i], lowers[i]
            if text in cap_mid or text in surnames:
                pass  # the article writes it capitalised inside sentences, or after a first name
            elif low in lex.closed:
                pos[i], tag[i], lemma[i] = lex.closed[low]  # "However", "Still", "Are"
                w.cap[i] = False
                continue
            elif (i in title_line or not self._name_follows(w, i)) and (
                low in lower_seen or low in lex.common
                or low not in lex.first_names and low not in lex.groups and (
                    _looks_plural(low) or i in title_line and self.lower_word(low)[0] in ("VERB", "ADV")
                    or i in headline_once)
            ):
                pos[i], tag[i], lemma[i] = self.lower_word(low)  # "Critics said": a common word
                w.cap[i] = False
                continue
            w.cap[i] = True
            if low in lex.nationalities and not text.isupper():
                pos[i], tag[i], lemma[i] = "ADJ", "JJ", text
            else:
                pos[i], tag[i], lemma[i] = "PROPN", "NNPS" if low in lex.groups else "NNP", text
        if any(t in _HYPHENS for t in texts):
            self._compounds(w)

    def _compounds(self, w: _Words) -> None:
        """Words glued by hyphens ("get-out-the-vote", "well-known", "so-called") modify a noun:
        their lower-case parts are adjectives, the last one a noun unless it is a verb after a
        prefix ("re-elected")."""
        texts, ws, pos, tag = w.texts, w.ws, w.pos, w.tag
        n = len(texts)

        def glue(k: int) -> bool:  # token k is a hyphen joining two words
            return (texts[k] in _HYPHENS and 0 < k < n - 1 and not ws[k - 1] and not ws[k]
                    and texts[k - 1][:1].isalnum() and texts[k + 1][:1].isalnum())

        done = 0
        for i in [k for k, text in enumerate(texts) if text in _HYPHENS]:
            if i < done or not glue(i):
                continue
            s, e = i - 1, i + 2
            while e < n - 1 and glue(e):
                e += 2
            parts = list(range(s, e, 2))
            for k in parts:
                if texts[k][:1].islower():
                    if k != parts[-1]:
                        pos[k], tag[k] = "ADJ", "JJ"
                    elif pos[k] not in ("NOUN", "VERB") or pos[k] == "VERB" and w.lowers[s] not in self.lex.rule("verbprefix"):
                        pos[k], tag[k] = ("NOUN", tag[k]) if pos[k] == "NOUN" else ("ADJ", "JJ")
            for k in range(s + 1, e, 2):
                pos[k], tag[k] = "PUNCT", "HYPH"
            done = e

    def _end_line(self, w: _Words, end: int, line_caps: list[int], line: list[int], cap_mid: set[str],
                  initial_caps: list[int], title_line: set[int]) -> None:
        """At the end of a line (token ``end``): in a title-case or capitals line ("Clinton
        Breaks With Obama", "EXPERTS WARN") a capital proves nothing, so its capitalised words are
        decided like sentence-initial ones; elsewhere they are names. Resets the line."""
        words, capitals, first = line  # first: index into initial_caps
        if line_caps:
            last = end - 1
            while last > 0 and w.texts[last].isspace():
                last -= 1
            if words >= 2 and (capitals >= 0.9 * words or capitals >= 0.75 * words and w.texts[last] not in (".", '"', "”")):
                title_line.update(initial_caps[first:])  # the line's first word
                initial_caps.extend(line_caps)
                title_line.update(line_caps)
            else:
                cap_mid.update(w.texts[k] for k in line_caps if not w.texts[k].isupper())
            line_caps.clear()
        line[0], line[1], line[2] = 0, 0, len(initial_caps)

    def _headline_once(self, w: _Words, initial_caps: list[int]) -> set[int]:
        """Capitalised words of a short first line (the headline) that the article never writes
        again: a name in a headline comes back in the story, so "Bushfire warning as heatwave
        grips south-east" names no "Bushfire". Not an acronym ("GOP", "WSJ") nor a listed place
        ("America"): a headline may abbreviate what the story spells out."""
        end = next((k for k, text in enumerate(w.texts[: _MAX_HEADLINE_TOKENS + 1]) if "\n" in text), None)
        if end is None:
            return set()  # one line, or a long first one: no headline above a story
        candidates = [i for i in initial_caps if i < end and w.lowers[i] not in self.lex.places
                      and not (len(w.texts[i]) > 1 and w.texts[i].isupper())]
        if not candidates:
            return set()
        counts = Counter(w.lowers)
        return {i for i in candidates if counts[w.lowers[i]] == 1}

    def _verb_like(self, word: str) -> bool:
        """A lower-case word that is probably a verb right after a relative "that"."""
        p, t, _ = self.lower_word(word)
        return p in ("VERB", "AUX") or t == "NNS"

    def _name_follows(self, w: _Words, i: int) -> bool:
        """A capitalised word (not a function word) right after token ``i``: "Senate Majority"."""
        j = i + 1
        if j < len(w.texts) and w.gap(j):
            j += 1
        if j >= len(w.texts) or not w.texts[j][:1].isupper():
            return False
        closed = self.lex.closed.get(w.lowers[j])
        return closed is None or closed[0] not in _FUNCTION_POS | {"AUX"}

    # -- entities ------------------------------------------------------------------------------

    def _runs(self, w: _Words) -> list[list[int]]:
        """Maximal runs of capitalised tokens in one sentence, joined by hyphens without spaces
        ("Smith-Jones"), name particles ("Bashar al-Assad") and no-break spaces."""
        particles = self.lex.particles
        texts, lowers, cap, starts, ws = w.texts, w.lowers, w.cap, w.starts, w.ws
        runs: list[list[int]] = []
        n = len(texts)
        i = 0
        while i < n:
            if not cap[i]:
                i += 1
                continue
            run = [i]
            j = i + 1
            while j < n and starts[j] != 1:
                if cap[j]:
                    run.append(j)
                    j += 1
                elif j + 1 < n and cap[j + 1] and starts[j + 1] != 1 and (
                        texts[j] in _HYPHENS and not ws[j - 1] and not ws[j] or lowers[j] in particles or w.gap(j)):
                    if not w.gap(j):
                        run.append(j)
                    run.append(j + 1)
                    j += 2
                elif j + 2 < n and lowers[j] in particles and texts[j + 1] in _HYPHENS and cap[j + 2]:
                    run.extend((j, j + 1, j + 2))
                    j += 3
                else:
                    break
            runs.append(run)
            i = j
        return runs

    def _before(self, w: _Words, i: int) -> int:
        """The token before ``i``, skipping a no-break space."""
        j = i - 1
        if j >= 0 and w.gap(j):
            j -= 1
        return j

    def _role_before(self, w: _Words, i: int, lo: int) -> int:
        """2 when an honorific ("Mr.") ends right before token ``i``, 1 for another title
        ("Secretary of State", "the top US diplomat"), 0 for none (within the sentence from ``lo``)."""
        j = self._before(w, i)
        if j < lo:
            return 0
        lowers = w.lowers
        for role in self.lex.roles_by_last.get(lowers[j], ()):
            k = j + 1 - len(role)
            if k >= lo and tuple(lowers[k : j + 1]) == role:
                return 2 if role in self.lex.honorifics else 1
        return 1 if lowers[j] in self.lex.name_titles and w.texts[j][:1].isupper() else 0

    def _name_like(self, w: _Words, k: int) -> bool:
        """A capitalised word that may be part of a person's name (not a title, organisation,
        place, group, day or acronym)."""
        low = w.lowers[k].strip(".")
        lex = self.lex
        text = w.texts[k]
        if text in _HYPHENS:
            return True
        if len(text) == 2 and text[1] == "." and text[0].isupper():
            return True  # an initial: "Laurence H. Tribe"
        if text.endswith(".") and len(text) > 2 or len(text) > 1 and text.isupper():
            return False  # "Sens.", "DJ": an abbreviation or an acronym, not part of a name
        return (w.pos[k] == "PROPN" and w.lowers[k] not in lex.role_words
                and low not in lex.org_words and low not in lex.place_words and low not in lex.groups
                and low not in lex.orgs and low not in lex.weekdays and low not in lex.months
                and (low in lex.first_names or low not in lex.common and low not in lex.verbs and low not in lex.closed)
                and not any(len(p) == 1 for p, _ in lex.places.get(low, ())))

    def _entities(self, w: _Words) -> list[tuple[int, int, str]]:
        lowers = w.lowers
        runs = self._runs(w)
        if not runs:
            return []
        starts = np.asarray(w.starts)
        sent_lo = np.maximum.accumulate(np.where(starts == 1, np.arange(len(starts)), 0))
        ents: list[tuple[int, int, str]] = []
        leftovers: list[list[int]] = []
        people: list[tuple[str, ...]] = []
        covered = 0  # an organisation's name may take in the runs after it ("Department of Veterans Affairs")
        for run in runs:
            run = [k for k in run if k >= covered]
            if not run:
                continue
            found = self._person_in_run(w, run, int(sent_lo[run[0]]))
            if found is None:
                segments = [run]
            else:
                s, e = found
                ents.append((run[s], run[e - 1] + 1, "PERSON"))
                people.append(self._keys(w, run[s:e]))
                segments = [seg for seg in (run[:s], run[e:]) if seg]
            for seg in segments:
                org = self._org_in(w, seg)
                if org is None:
                    leftovers.append(seg)
                    continue
                start, end, label = org
                if start == seg[0] and end - start > 1 and leftovers and start >= 2 and lowers[start - 1] in ("and", "&") \
                        and leftovers[-1][-1] == start - 2 and label == "ORG" and not self._is_place(w, leftovers[-1]) \
                        and not any(lowers[k] in self.lex.weekdays or lowers[k] in self.lex.months for k in leftovers[-1]):
                    # "the Central and East European Coalition"; not "Israel and Hamas" (two names)
                    start = leftovers.pop()[0]
                ents.append((start, end, label))
                covered = max(covered, end)
                for rest in ([k for k in seg if k < start], [k for k in seg if k >= end]):
                    if rest:
                        leftovers.append(rest)  # "Senate Democrats": the group after the body

        known: dict[str, list[tuple[str, ...]]] = {}
        for keys in people:
            if keys:
                known.setdefault(keys[-1], []).append(keys)
        ends = {e: label for _, e, label in ents}  # where a possessor's name ends ("the Post's ...")
        for seg in leftovers:
            found = len(ents)
            self._label_leftover(w, seg, known, int(sent_lo[seg[0]]), ents, ends)
            ends.update((e, label) for _, e, label in ents[found:])
        ents.sort()
        return ents

    def _keys(self, w: _Words, tokens: list[int]) -> tuple[str, ...]:
        keys = []
        for k in tokens:
            key = w.lowers[k].strip(".")
            if key and w.texts[k] not in _HYPHENS and key not in self.lex.rule("namesuffix"):
                keys.append(key)
        return tuple(keys)

    def _person_in_run(self, w: _Words, run: list[int], lo: int) -> tuple[int, int] | None:
        """Where in a run of capitalised tokens a new person's name is: (first, end) positions
        in the run. A name starts with a known first name or right after a title."""
        lex = self.lex
        lowers, texts, pos = w.lowers, w.texts, w.pos
        n = len(run)
        k = 0
        while k < n:
            tok = run[k]
            low = lowers[tok]
            before = self._role_before(w, tok, lo)
            titled = before > 0 and (low not in lex.role_words or before == 2 and k == n - 1)  # "Mr. King"
            first = low in lex.first_names and not texts[tok].isupper()
            if not (titled or first) or pos[tok] == "ADJ" or low in lex.weekdays or low in lex.org_words \
                    or low in lex.place_words:
                k += 1
                continue
            e = k + 1
            stop = ""
            while e < n:
                x = run[e]
                word = lowers[x]
                if word in lex.role_words:
                    if first and e == n - 1 and e == k + 1:
                        e += 1  # "Larry King": a title word as a last name
                    else:
                        stop = "role"  # "Virginia Gov. Terry McAuliffe"
                    break
                if word in lex.org_words or word in lex.place_words:
                    stop = "org"
                    break
                if word in lex.groups or word in lex.weekdays or pos[x] == "ADJ" or word in lex.months and not (e == k + 1 and first):
                    break
                if word not in lex.first_names and word not in lex.particles and (word in lex.verbs or word in lex.closed):
                    break  # a title-case line: "Marco Rubio Responds", "Sanders Is"
                e += 1
            if stop == "org":
                k = e + 1  # "John Jay College", "Ford Foundation", "Kent County": not a person
                continue
            if stop == "role":
                k = e
                continue
            words = [x for x in run[k:e] if texts[x] not in _HYPHENS and len(texts[x].strip(".")) > 1]
            if titled and 1 <= len(words) <= 3 and not self._is_place(w, run[k:e]):
                return k, e
            if first and 2 <= len(words) <= 4:
                s = k  # "J. Michael Luttig", "Cornell William Brooks": a word before the first name
                if s > 0 and self._name_like(w, run[s - 1]) and not self._role_before(w, run[s - 1], lo) and (
                        len(texts[run[s - 1]].strip(".")) == 1 or not lowers[run[s - 1]].endswith(tuple(lex.rule("agentsuffix")))):
                    s -= 1
                return s, e
            k = e
        return None

    def _is_place(self, w: _Words, tokens: list[int]) -> bool:
        words = tuple(w.lowers[k] for k in tokens)
        return any(p == words for p, _ in self.lex.places.get(words[0], ())) or (
            len(words) == 1 and (words[0] in self.lex.groups or words[0] in self.lex.orgs))

    def _org_in(self, w: _Words, seg: list[int]) -> tuple[int, int, str] | None:
        """An organisation (or a place named by a place word) in a segment: (first token, end
        token, label), from the segment's start to its last organisation word, and over
        "of ..." when that word ends the segment."""
        lex = self.lex
        lowers, texts, cap = w.lowers, w.texts, w.cap
        last = -1
        label = "ORG"
        for x, k in enumerate(seg):
            low = lowers[k]
            if low in lex.org_words:
                last, label = x, "ORG"
            elif low in lex.place_words:
                last, label = x, lex.place_words[low]
        if last < 0:
            if len(seg) == 1 and lowers[seg[0]] in lex.orgs:
                return seg[0], seg[0] + 1, "ORG"
            return None
        first = 0
        while first < last and w.pos[seg[first]] == "ADJ":
            first += 1
        if label == "ORG" and first == last and (first == 0 or lowers[seg[last]] in lex.orgs):
            # a lone "Office" or "Committee" is not a name; "Democratic Senate" is the Senate
            if lowers[seg[last]] not in lex.orgs and not (seg[last] + 1 < len(texts) and lowers[seg[last] + 1] in lex.rule("orgjoiner")):
                return None
            seg = seg[first:]
            last = 0
        end = seg[last] + 1
        n = len(texts)
        if last == len(seg) - 1 and label == "ORG":
            # "Department of Veterans Affairs", "Committee for a Responsible Federal Budget",
            # "Department of Health and Human Services"; not "State Department and White House",
            # nor "Department of Defense Chief of Staff Jeremy Bash"
            j = end
            joined = False
            while j + 1 < n and lowers[j] in lex.rule("orgjoiner") and w.starts[j] != 1 and (joined or lowers[j] not in ("and", "&")):
                k = j + 1
                if lowers[k] in _ARTICLES and k + 1 < n and lowers[j] != "and":
                    k += 1
                if not cap[k] or w.starts[k] == 1:
                    break
                x = k
                while x < n and cap[x] and w.starts[x] != 1 and lowers[x] not in lex.role_words and lowers[x] not in lex.first_names \
                        and lowers[x] not in lex.weekdays and lowers[x] not in lex.months:  # "Council on Wednesday"
                    x += 1
                if x == k or x < n and cap[x] and (lowers[x] in lex.weekdays or lowers[x] in lex.months):
                    break  # not "CBS News on Super" (Tuesday)
                j = end = x
                joined = True
                if x < n and cap[x]:
                    break
        return seg[0], end, label

    def _label_leftover(self, w: _Words, seg: list[int], known: dict[str, list[tuple[str, ...]]], lo: int,
                        ents: list[tuple[int, int, str]], ends: dict[int, str]) -> None:
        """Capitalised words that are neither a new name nor an organisation: a known person's
        name or last name, a name an apposition vouches for, a place, a group or a day."""
        lex = self.lex
        lowers, texts = w.lowers, w.texts
        n = len(seg)
        x = 0
        while x < n:
            k = seg[x]
            low = lowers[k]
            best = self._known_name(w, seg, x, known)
            if not best and x == 0 and 2 <= n <= 3 and all(self._name_like(w, y) for y in seg) and (
                    self._apposed_person(w, seg[-1], lo) or self._owned(w, seg[0], ends)
                    or self._role_apposition(w, seg[0], seg[-1], lo)):
                # "Chad Bown, an expert on trade,", "Rucker Culpepper, who ...", "the Post's Ishaan
                # Tharoor", "the city's mayor, Vitali Klitschko,"
                best = n
            if best:
                ents.append((k, seg[best - 1] + 1, "PERSON"))
                x = best
                continue
            place = next((p for p in lex.places.get(low, ())
                          if tuple(lowers[seg[y]] for y in range(x, min(n, x + len(p[0])))) == p[0]), None)
            if place is not None:
                m = len(place[0])
                ents.append((k, seg[x + m - 1] + 1, place[1]))
                x += m
                continue
            if low in lex.groups:
                ents.append((k, k + 1, "NORP"))
            elif low in lex.weekdays or low in lex.months and (
                k + 1 < len(texts) and texts[k + 1][:1].isdigit() or k > 0 and lowers[k - 1] in lex.rule("datebefore")
            ):
                ents.append((k, k + 1, "DATE"))
            elif low in lex.orgs or self._acronym(w, k):
                ents.append((k, k + 1, "ORG"))
            x += 1

    def _acronym(self, w: _Words, k: int) -> bool:
        """An unknown word in capitals ("CITIC", "NAACP"): an organisation, unless it is a word
        of a title-case or shouting line ("BREAKING")."""
        text = w.texts[k]
        low = w.lowers[k]
        letters = text.replace(".", "").replace("&", "")
        return (2 <= len(letters) <= 6 and text.isupper() and letters.isalpha() and not low.endswith(("ing", "ed"))
                and low not in self.lex.common
                and low not in self.lex.closed and low not in self.lex.verbs and low.replace(".", "") not in self.lex.common)

    def _known_name(self, w: _Words, seg: list[int], x: int, known: dict[str, list[tuple[str, ...]]]) -> int:
        """The end (position in ``seg``) of a known person's name starting at position ``x``:
        words of their name ending with their last name ("Sergey Lavrov", "Lavrov"), or one
        unknown name word and initials before a last name the article gave alone ("Laurence H.
        Tribe" after "Mr. Tribe"); 0 when there is none."""
        n = len(seg)
        for e in range(min(n, x + 4), x, -1):
            people = known.get(w.lowers[seg[e - 1]].strip("."))
            if not people or not all(self._name_like(w, seg[y]) for y in range(x, e)):
                continue
            keys = self._keys(w, seg[x:e])
            for person in people:
                if _subsequence(keys, person):
                    return e
                unknown = [k for k in keys if k not in person and len(k) > 1]
                if len(person) == 1 and len(unknown) == 1 and keys[0] == unknown[0]:
                    return e
        return 0

    def _owned(self, w: _Words, first: int, ends: dict[int, str]) -> bool:
        """A possessive organisation or place right before token ``first``: "the Washington
        Post's Ishaan Tharoor", "Russia's Sergey Lavrov"."""
        p = first - 1
        return p > 0 and w.tag[p] == "POS" and ends.get(p) in ("ORG", "GPE")

    def _role_apposition(self, w: _Words, first: int, last: int, lo: int) -> bool:
        """A role noun and a comma right before ``first`` ("the city's mayor, Vitali Klitschko"),
        and a comma or the sentence's end right after ``last``: the words between name the role."""
        comma = first - 1
        if comma <= lo or w.texts[comma] != "," or self._role_before(w, comma, lo) != 1:
            return False
        after = last + 1
        return after >= len(w.texts) or w.starts[after] == 1 or w.texts[after] in (",", ".")

    def _apposed_person(self, w: _Words, last: int, lo: int) -> bool:
        """A comma after ``last`` and then "who ..." or a role noun phrase ("a professor of law")."""
        texts, lowers, pos = w.texts, w.lowers, w.pos
        n = len(texts)
        j = last + 1
        if j + 2 >= n or w.starts[j + 1] == 1:
            return False
        if texts[j] == ",":
            j += 1
            if lowers[j] in ("who", "whose") or texts[j].isdigit() and texts[j + 1] == ",":
                return True  # "Rucker Culpepper, who ...", "Khan, 45, said"
        elif lowers[j] in ("is", "was") and lowers[j + 1] in _ARTICLES:
            j += 1  # "Florent Groberg is a former U.S. Army captain"
        else:
            return False
        if lowers[j] in _ARTICLES:
            j += 1
        for k in range(j, min(n, j + 6)):
            if pos[k] not in ("ADJ", "NOUN", "PROPN") and texts[k] not in _HYPHENS:
                return False
            if self._role_before(w, k + 1, lo) == 1 and (k + 1 >= n or pos[k + 1] not in ("NOUN", "PROPN")):
                return True
        return False

    # -- a shallow parse -----------------------------------------------------------------------

    def _parse(self, w: _Words, ents: list[tuple[int, int, str]]) -> tuple[list[int], list[str]]:
        """Heads and labels from noun chunks, sentence by sentence: a chunk's words hang on its
        last noun; "of ...", ", the ... ,", "(...)", "and ..." and "who ..." hang on the noun
        before them; a chunk before a verb is its subject (nsubj), one after it its object; the
        first verb outside a relative clause is the root. One tree per sentence, so spaCy keeps
        the sentences as split."""
        n = len(w.texts)
        heads = list(range(n))
        deps = ["dep"] * n
        # an entity is one chunk ("the Central and East European Coalition"), an organisation
        # headed by its organisation word ("Department of Veterans Affairs")
        spans: dict[int, tuple[int, int]] = {}
        for s, e, label in ents:
            head = e - 1
            if label == "ORG":
                head = next((k for k in range(e - 1, s - 1, -1) if w.lowers[k] in self.lex.org_words), head)
            spans[s] = (e, head)
            if label == "PERSON":
                # "Former Secretary of State Madeleine Albright": the title and the name are one
                # chunk headed by the name
                start = self._title_start(w, s)
                if start < s:
                    spans[start] = (e, head)
        orgs = {s for s, _, label in ents if label == "ORG"}
        bounds = [i for i in range(n) if w.starts[i] == 1 or i == 0] + [n]
        for a, b in pairwise(bounds):
            if b > a:
                self._parse_sentence(w, a, b, heads, deps, spans, orgs)
        return heads, deps

    def _parse_sentence(self, w: _Words, a: int, b: int, heads: list[int], deps: list[str],
                        spans: dict[int, tuple[int, int]], orgs: set[int]) -> None:
        texts, lowers, pos, tag, ws = w.texts, w.lowers, w.pos, w.tag, w.ws

        def in_chunk(j: int) -> bool:
            p = pos[j]
            return (p in _CHUNK_POS or p == "PRON" and tag[j] == "PRP$" or p == "PART" and tag[j] == "POS"
                    or j + 1 < b and pos[j + 1] in _CHUNK_POS and ((texts[j] in _HYPHENS or texts[j] == "/") and not ws[j - 1] and not ws[j] or w.gap(j)))

        units: list[tuple[str, int]] = []  # (kind, head token) in order
        i = a
        while i < b:
            p = pos[i]
            if p in _CHUNK_POS or p == "PRON" and tag[i] == "PRP$" or i in spans:
                limit, head = spans.get(i, (i, -1))
                j = i + 1
                while j < b and (j < limit or in_chunk(j) and not (pos[j] == "DET" and pos[j - 1] not in ("DET", "PART"))):
                    if j in spans and spans[j][0] > limit:
                        limit, head = spans[j]
                    j += 1
                h = self._chunk(w, i, j, heads, deps, head if head >= 0 and limit == j else -1)
                for x in range(i, j):
                    if x in orgs and spans[x][0] < j:
                        # "the Pew Research Center analysis": the organisation hangs together, on the noun
                        self._sub_chunk(i, spans[x][0], spans[x][1], h, heads, deps)
                units.append(("NP", h))
                i = j
            elif p == "PRON":
                units.append(("REL" if tag[i] in ("WP", "WDT", "WP$") else "NP", i))
                i += 1
            elif p in ("VERB", "AUX") or p == "PART" and tag[i] == "RB" and i + 1 < b and pos[i + 1] in ("VERB", "AUX"):
                j = i + 1
                while j < b and (pos[j] in ("VERB", "AUX") or pos[j] == "PART" and tag[j] == "RB"
                                 or pos[j] == "ADV" and j + 1 < b and pos[j + 1] in ("VERB", "AUX")):
                    j += 1
                verbs = [k for k in range(i, j) if pos[k] == "VERB"] or [k for k in range(i, j) if pos[k] == "AUX"] or [j - 1]
                h = verbs[-1]
                for k in range(i, j):
                    if k != h:
                        heads[k], deps[k] = h, "aux" if pos[k] == "AUX" else "advmod"
                # a participle or infinitive without an auxiliary does not head a clause
                # ("a lawyer representing the family"); a past form right after a subject does
                finite = any(pos[k] == "AUX" for k in range(i, j)) or tag[h] in ("VBD", "VBZ", "VBP", "MD") or (
                    tag[h] == "VB" and not (units and units[-1][0] == "ADP" and lowers[units[-1][1]] == "to"))
                units.append(("V" if finite else "VN", h))
                i = j
            else:
                text = texts[i]
                if p == "ADP" or p == "PART" and tag[i] == "TO":
                    kind = "ADP"
                elif p == "CCONJ":
                    kind = "CC"
                elif text == "," or text in _DASHES:
                    kind = "COMMA"
                elif text in ("(", "["):
                    kind = "OPEN"
                elif text in (")", "]"):
                    kind = "CLOSE"
                else:
                    kind = "OTHER"
                units.append((kind, i))
                i += 1

        root = -1
        group = last_np = -1  # the current noun group, the latest noun
        verb = -1
        pending: list[int] = []  # subjects waiting for their verb
        rel = rel_ante = -1
        prev_kind, prev = "", -1
        conj_target = -1
        closed_group = False
        for kind, h in units:
            if kind == "NP":
                if prev_kind == "ADP":
                    heads[h], deps[h] = prev, "pobj"
                elif (prev_kind == "COMMA" and group >= 0 or prev_kind == "OPEN" and last_np >= 0) and not closed_group:
                    # "Scott Pruitt, the attorney general of Oklahoma,", "Sen. Lindsey Graham (R-S.C.)";
                    # not "In Berlin, Mark Ellison said"
                    heads[h], deps[h] = (group if prev_kind == "COMMA" else last_np), "appos"
                elif prev_kind == "CC" and conj_target >= 0:
                    heads[h], deps[h] = conj_target, "conj"
                elif prev_kind in ("V", "VN"):
                    heads[h], deps[h] = prev, "attr" if lowers[prev] in self.lex.be else "dobj"
                    group, closed_group = h, False
                else:
                    group, closed_group = h, False
                    pending.append(h)
                last_np = h
            elif kind == "REL":
                rel, rel_ante = h, last_np
            elif kind == "VN" and rel < 0 and not (tag[h] == "VBN" and prev_kind == "NP" and prev in pending):
                if prev_kind in ("NP", "COMMA") and last_np >= 0:
                    heads[h], deps[h] = last_np, "acl"
                elif verb >= 0:
                    heads[h], deps[h] = verb, "xcomp"
                verb, closed_group = h, True
            elif kind in ("V", "VN"):
                if rel >= 0:
                    heads[rel], deps[rel] = h, "nsubj"
                    if rel_ante >= 0:
                        heads[h], deps[h] = rel_ante, "relcl"
                    rel = rel_ante = -1
                else:
                    if root < 0:
                        root = h
                    else:
                        heads[h], deps[h] = root, "ccomp"
                    for subject in pending:
                        heads[subject], deps[subject] = h, "nsubj"
                    pending = []
                verb, closed_group = h, True
            elif kind == "ADP":
                if last_np >= 0 and (prev_kind in ("NP", "CLOSE") or prev_kind == "COMMA" and not closed_group):
                    heads[h], deps[h] = last_np, "prep"  # "of ...", ", including ..."
                elif verb >= 0:
                    heads[h], deps[h] = verb, "prep"
            elif kind == "CC":
                # "X, Y, and Z": the list's first noun; "geosciences and international affairs",
                # "held by Mr. Effron and Mr. Pruzan": the last one
                conj_target = -1
                if last_np > verb:
                    if prev_kind == "COMMA":
                        conj_target = group if group >= 0 and not closed_group else -1
                    else:
                        conj_target = last_np
                        if deps[last_np] == "appos" and heads[last_np] == group and pos[group] == "PROPN" and (
                                pos[last_np] == "PROPN" and lowers[last_np] not in self.lex.role_words
                                or any(tag[k] == "PRP$" for k in range(group + 1, last_np))):
                            # "Crane, Kibbe and other libertarians", "Sanders, his aides and ...": a list
                            deps[last_np] = "conj"
                            conj_target = group
                if conj_target >= 0:
                    heads[h], deps[h] = conj_target, "cc"
            elif prev >= 0:
                heads[h], deps[h] = prev, "punct" if pos[h] == "PUNCT" else "dep"
            if kind not in ("OPEN", "CLOSE") or prev < 0:
                prev_kind, prev = kind, h
            else:
                prev_kind = kind
        if root < 0:
            root = pending[0] if pending else units[0][1]
        for k in pending:
            if k != root:
                heads[k], deps[k] = root, "nsubj"
        heads[root], deps[root] = root, "ROOT"
        for k in range(a, b):  # one tree per sentence
            if heads[k] == k and k != root:
                heads[k], deps[k] = root, "dep"

    def _title_start(self, w: _Words, s: int) -> int:
        """Where a title of several words ending right before token ``s`` starts, or ``s``."""
        j = self._before(w, s)
        if j < 0:
            return s
        lowers = w.lowers
        for role in self.lex.roles_by_last.get(lowers[j], ()):
            k = j + 1 - len(role)
            if len(role) > 1 and k >= 0 and tuple(lowers[k : j + 1]) == role and not any(w.starts[x] == 1 for x in range(k + 1, s + 1)):
                return k
        return s

    def _sub_chunk(self, i: int, end: int, head: int, chunk_head: int, heads: list[int], deps: list[str]) -> None:
        """Words of a chunk up to the end of a name inside it hang on the name's head, which
        hangs on the chunk's head."""
        if head == chunk_head or heads[head] != chunk_head:
            return  # the head of the chunk, or inside a possessive ("GOP nominee Donald Trump's")
        for x in range(i, end):
            if x != head and heads[x] == chunk_head:
                heads[x] = head
        heads[head], deps[head] = chunk_head, "compound"

    def _chunk(self, w: _Words, i: int, j: int, heads: list[int], deps: list[str], head: int = -1) -> int:
        """Attach the words of a noun chunk [i, j) to its head (its last noun, or ``head``);
        words before a possessive "'s" to their own head, which hangs on the chunk's ("Donald
        Trump's campaign")."""
        texts, tag, pos = w.texts, w.tag, w.pos
        last = j - 1
        while last > i and (tag[last] == "POS" or texts[last] in _HYPHENS or w.gap(last)):
            last -= 1
        if head >= 0:
            last = head
        start = i
        for k in range(i, j):
            if tag[k] == "POS" and k > start:
                owner = k - 1
                for x in range(start, k):
                    if x != owner:
                        heads[x], deps[x] = owner, _CHUNK_DEP.get(pos[x], "compound")
                heads[k], deps[k] = owner, "case"
                if owner != last:
                    heads[owner], deps[owner] = last, "poss"
                start = k + 1
        for x in range(start, j):
            if x != last and heads[x] == x:
                heads[x], deps[x] = last, _CHUNK_DEP.get(pos[x], "compound")
        return last


def add_light_tags(nlp: Language) -> None:
    """Register the component (once per process) and add it at the end of ``nlp``."""
    from spacy.language import Language

    if not Language.has_factory(LIGHT_TAGS):
        Language.factory(LIGHT_TAGS, func=lambda nlp, name: LightTagger(nlp))
    nlp.add_pipe(LIGHT_TAGS)
