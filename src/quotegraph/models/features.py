"""Tokens, sentences, quotation context and per-token features for the fast model.

The fast model must run on millions of articles, so nothing here parses: a regex tokenizer
(every run of word characters and every other character is a token: 99.9% of PolNeAR span
boundaries fall on its token boundaries), a rule sentence splitter, and quotation marks found by
:func:`quotegraph.extractors.quotes.find_quotes`. All offsets are into the text given (the
*working* text of :class:`quotegraph.clean.Cleaned`); the extractor maps them back.

Features are *templates* over small integer-coded token attributes (the lowercased word, its
shape, suffixes, cue-lexicon class, quotation role, sentence position, ...): a template names
one to three (attribute, offset) parts and its value at a token is the tuple of those attribute
values, packed into one integer key. Training writes each (template, key) as a CRFsuite feature
string; inference looks keys up in the exported weight tables with numpy, all tokens at once
(:mod:`quotegraph.models.crf`), which is what makes the model fast. Static attributes describe one
token and are computed once per article; the source/content tagger adds *row* attributes that
describe a token relative to one cue (side, distance, what lies between).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from quotegraph.extractors.lexicon import data_lines, reporting_verbs
from quotegraph.extractors.quotes import Quote, find_quotes

TOKEN = re.compile(r"\w+|[^\w\s]")
SENTENCE_END = frozenset(".!?…")
CLOSERS = frozenset("\"'”’)]»")
OPENERS = frozenset("\"'“‘([«`")
QUOTE_MARKS = frozenset("\"'“”‘’«»„`")

# quote roles of a token
OUTSIDE, INSIDE, OPEN_MARK, CLOSE_MARK = 0, 1, 2, 3
_QUOTE_ROLE_NAMES = ("out", "in", "open", "close")


# -- word lists ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def abbreviations() -> frozenset[str]:
    """Words after which a period does not end the sentence (data/abbreviations.txt)."""
    return frozenset(row[0].lower() for row in data_lines("abbreviations.txt"))


def _regular_forms(lemma: str) -> set[str]:
    """-s, -ed and -ing forms by the usual spelling rules (a doubled final consonant is added
    as an alternative: extra non-words cost nothing in a lookup table)."""
    forms = {lemma}
    vowels = "aeiou"
    if lemma.endswith(("s", "x", "z", "ch", "sh")):
        forms.add(lemma + "es")
    elif lemma.endswith("y") and len(lemma) > 1 and lemma[-2] not in vowels:
        forms.add(lemma[:-1] + "ies")
    else:
        forms.add(lemma + "s")
    if lemma.endswith("e"):
        forms.add(lemma + "d")
        forms.add((lemma[:-1] if not lemma.endswith("ee") else lemma) + "ing")
    elif lemma.endswith("y") and len(lemma) > 1 and lemma[-2] not in vowels:
        forms.add(lemma[:-1] + "ied")
        forms.add(lemma + "ing")
    else:
        forms.add(lemma + "ed")
        forms.add(lemma + "ing")
        if len(lemma) >= 3 and lemma[-1] not in vowels + "wxy" and lemma[-2] in vowels and lemma[-3] not in vowels:
            forms.add(lemma + lemma[-1] + "ed")
            forms.add(lemma + lemma[-1] + "ing")
    return forms


@lru_cache(maxsize=1)
def cue_lexicon() -> dict[str, tuple[str, str]]:
    """Every known form of a cue verb -> (lemma, class): reporting_verbs.tsv and
    extra_cue_lemmas.tsv, with regular forms generated and irregular ones from verb_forms.tsv."""
    lemmas: dict[str, str] = {lemma: verb.kind for lemma, verb in reporting_verbs().items()}
    for lemma, kind in data_lines("extra_cue_lemmas.tsv"):
        lemmas.setdefault(lemma, kind)
    forms: dict[str, tuple[str, str]] = {}
    for lemma, kind in lemmas.items():
        for form in _regular_forms(lemma):
            forms.setdefault(form, (lemma, kind))
    for form, lemma in data_lines("verb_forms.tsv"):
        if lemma in lemmas:
            forms[form] = (lemma, lemmas[lemma])
    return forms


# -- tokens and sentences --------------------------------------------------------------------


@dataclass
class TokenizedText:
    """One article as tokens with sentence, paragraph and quotation context."""

    text: str
    starts: list[int]
    ends: list[int]
    words: list[str]
    sent_of: list[int] = field(default_factory=list)  # sentence index of each token
    sents: list[tuple[int, int]] = field(default_factory=list)  # token ranges [first, last+1)
    para_of: list[int] = field(default_factory=list)  # paragraph index of each token
    newline_before: list[bool] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    quote_of: list[int] = field(default_factory=list)  # index into quotes, -1 outside any
    quote_role: list[int] = field(default_factory=list)  # OUTSIDE, INSIDE, OPEN_MARK, CLOSE_MARK
    quote_first: dict[int, int] = field(default_factory=dict)  # quote index -> first token
    quote_last: dict[int, int] = field(default_factory=dict)  # quote index -> last token

    def __len__(self) -> int:
        return len(self.words)

    def token_at(self, offset: int) -> int:
        """Index of the first token that ends after ``offset``."""
        return bisect_left(self.ends, offset + 1)

    def tokens_in(self, start: int, end: int) -> range:
        """Token indices inside the character range [start, end) (partially covered included)."""
        first = bisect_left(self.ends, start + 1)
        last = bisect_left(self.starts, end)
        return range(first, last)


def tokenize(text: str, start: int = 0) -> TokenizedText:
    """Tokens, sentences, paragraphs and quotation marks of ``text`` (from offset ``start``)."""
    starts: list[int] = []
    ends: list[int] = []
    words: list[str] = []
    for m in TOKEN.finditer(text, start):
        starts.append(m.start())
        ends.append(m.end())
        words.append(m.group())
    tt = TokenizedText(text, starts, ends, words)
    _split(tt)
    _quote_context(tt, [q for q in find_quotes(text) if q.end > start])
    return tt


def _split(tt: TokenizedText) -> None:
    """Paragraphs at line breaks; sentences at paragraphs and at . ! ? (plus closing marks)
    followed by a capital, a digit or an opening mark, except after an abbreviation or initial."""
    text, starts, ends, words = tt.text, tt.starts, tt.ends, tt.words
    n = len(words)
    abbrevs = abbreviations()
    newline = [False] * n
    # a token holds no white space, so every line break lies in the gap before some token
    at = text.find("\n", starts[0] if n else len(text))
    while at >= 0:
        i = bisect_left(starts, at)
        if i >= n:
            break
        newline[i] = True
        at = text.find("\n", starts[i])
    sent_start = list(newline)
    if n:
        sent_start[0] = True
    for i in [k for k, w in enumerate(words) if w in SENTENCE_END]:
        w = words[i]
        if w == "." and i > 0 and ends[i - 1] == starts[i]:
            prev = words[i - 1]
            if prev.lower() in abbrevs or (len(prev) == 1 and prev.isupper()):
                continue
        j = i + 1
        while j < n and words[j] in CLOSERS and starts[j] == ends[j - 1] and not newline[j]:
            j += 1
        # a closing mark separated by a space still closes when it is followed by a new start
        if j < n and not newline[j]:
            nxt = words[j]
            first = nxt[0]
            if first.isupper() or first.isdigit() or nxt in OPENERS:
                sent_start[j] = True
    firsts = [i for i, first in enumerate(sent_start) if first]
    sents = list(zip(firsts, firsts[1:] + [n]))
    sent_of = (np.cumsum(np.array(sent_start, dtype=np.int64)) - 1).tolist()
    para_start = np.array(newline, dtype=np.int64)
    if n:
        para_start[0] = 1
    para_of = (np.cumsum(para_start) - 1).tolist()
    tt.sent_of, tt.sents, tt.para_of, tt.newline_before = sent_of, sents, para_of, newline


def _quote_context(tt: TokenizedText, quotes: list[Quote]) -> None:
    n = len(tt.words)
    quote_of = [-1] * n
    role = [OUTSIDE] * n
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for qi, q in enumerate(quotes):
        for i in tt.tokens_in(q.start, q.end):
            if quote_of[i] != -1:
                continue
            quote_of[i] = qi
            s = tt.starts[i]
            if s < q.inner_start:
                role[i] = OPEN_MARK
            elif s >= q.inner_end:
                role[i] = CLOSE_MARK
            else:
                role[i] = INSIDE
            first.setdefault(qi, i)
            last[qi] = i
    tt.quotes, tt.quote_of, tt.quote_role, tt.quote_first, tt.quote_last = quotes, quote_of, role, first, last


def shape(word: str) -> str:
    """Collapsed character classes: "Trump" -> "Xx", "U" -> "X", "2016" -> "d", "," -> ","."""
    if word.isalpha():
        if word.islower():
            return "x"
        if word.isupper():
            return "X" if len(word) == 1 else "XX"
        if word[0].isupper():
            return "Xx"
        return "xX"
    if word.isdigit():
        return "d"
    if len(word) == 1 and not word.isalnum():
        return "q" if word in QUOTE_MARKS else word
    return "m"


# -- attributes ------------------------------------------------------------------------------

ABSENT = 0  # the attribute does not apply here (or names an unknown string): no feature fires
PADDING = 1  # beyond either end of the article
PAD = 3  # token attribute arrays are padded this much each side (the largest template offset)
RADIX = 1 << 21  # one part of a template key; every attribute value stays below it

_MAX_DISTANCE = 64
_BUCKETS = (0, 1, 2, 3, 4, 7, 11, 21, 41)  # bucket k covers distances from _BUCKETS[k]


def _bucket_table() -> np.ndarray:
    table = np.zeros(_MAX_DISTANCE + 1, dtype=np.int64)
    for d in range(_MAX_DISTANCE + 1):
        table[d] = sum(1 for b in _BUCKETS if d >= b) - 1
    return table


BUCKET = _bucket_table()  # distance (capped at _MAX_DISTANCE) -> bucket index 0..8


def bucket(d: int) -> int:
    """Attribute value (>= 2) of a distance: 0, 1, 2, 3, 4-6, 7-10, 11-20, 21-40, 41+."""
    return int(BUCKET[min(d, _MAX_DISTANCE)]) + 2


class Vocabulary:
    """Strings (words, shapes, affixes, cue words) to attribute values (2, 3, ...).

    Grows while training features are built; frozen, an unknown string is ABSENT, so a word
    never seen in training simply contributes no word feature.
    """

    def __init__(self, strings: list[str] | None = None, frozen: bool = True,
                 classes: dict[str, int] | None = None) -> None:
        self.strings: list[str] = list(strings or [])
        # word -> embedding class (models/clusters.py): a feature for words training never saw
        self.classes: dict[str, int] = dict(classes or {})
        self.index: dict[str, int] = {s: i + 2 for i, s in enumerate(self.strings)}
        self.frozen = frozen
        self.forms: _Forms | None = None  # per word form attribute values, once frozen

    def __len__(self) -> int:
        return len(self.strings)

    def id(self, string: str) -> int:
        value = self.index.get(string)
        if value is None:
            if self.frozen:
                return ABSENT
            value = len(self.strings) + 2
            if value >= RADIX:
                raise ValueError("vocabulary too large for the template key radix")
            self.index[string] = value
            self.strings.append(string)
        return value


@dataclass(frozen=True)
class Template:
    """A feature template: its value at a token is the tuple of its (attribute, offset) parts."""

    name: str
    parts: tuple[tuple[str, int], ...]


def _t(name: str, *parts: tuple[str, int]) -> Template:
    return Template(name, parts)


# describe one token (offsets reach its neighbours); used by both taggers
STATIC_TEMPLATES: tuple[Template, ...] = (
    _t("w", ("w", 0)),
    _t("sh", ("sh", 0)),
    _t("q", ("q", 0)),
    _t("w-1", ("w", -1)),
    _t("w+1", ("w", 1)),
    _t("w-2", ("w", -2)),
    _t("w+2", ("w", 2)),
    _t("w-3", ("w", -3)),
    _t("w+3", ("w", 3)),
    _t("w-1|w", ("w", -1), ("w", 0)),
    _t("w|w+1", ("w", 0), ("w", 1)),
    _t("sh-1|sh|sh+1", ("sh", -1), ("sh", 0), ("sh", 1)),
    _t("q-1", ("q", -1)),
    _t("q+1", ("q", 1)),
    _t("lx-1", ("lx", -1)),
    _t("lx+1", ("lx", 1)),
    _t("lx-2", ("lx", -2)),
    _t("lx+2", ("lx", 2)),
    _t("q-1|q|q+1", ("q", -1), ("q", 0), ("q", 1)),
    _t("s3", ("s3", 0)),
    _t("s2", ("s2", 0)),
    _t("p3", ("p3", 0)),
    _t("lx", ("lx", 0)),
    _t("lm", ("lm", 0)),
    _t("sfirst", ("sfirst", 0)),
    _t("slast", ("slast", 0)),
    _t("spos", ("spos", 0)),
    _t("send", ("send", 0)),
    _t("nl", ("nl", 0)),
    _t("para0", ("para0", 0)),
    _t("pclose", ("pclose", 0)),
    _t("nopen", ("nopen", 0)),
    _t("qpos", ("qpos", 0)),
    _t("qend", ("qend", 0)),
    _t("sq", ("sq", 0)),
    _t("slx", ("slx", 0)),
    _t("slx|lx", ("slx", 0), ("lx", 0)),
    _t("nthat", ("nthat", 0)),
    _t("w|q", ("w", 0), ("q", 0)),
    _t("lx|w+1", ("lx", 0), ("w", 1)),
    _t("w|nthat", ("w", 0), ("nthat", 0)),
    _t("w|sq", ("w", 0), ("sq", 0)),
    _t("cl", ("cl", 0)),
    _t("cl-1", ("cl", -1)),
    _t("cl+1", ("cl", 1)),
)

# describe a token relative to one cue (row attributes), alone or with the token's own
RELATIVE_TEMPLATES: tuple[Template, ...] = (
    _t("side", ("side", 0)),
    _t("side|dist", ("side", 0), ("dist", 0)),
    _t("sr", ("sr", 0)),
    _t("sr|q", ("sr", 0), ("q", 0)),
    _t("side|w", ("side", 0), ("w", 0)),
    _t("side|q", ("side", 0), ("q", 0)),
    _t("side|sh", ("side", 0), ("sh", 0)),
    _t("side|ct", ("side", 0), ("ct", 0)),
    _t("side|ch", ("side", 0), ("ch", 0)),
    _t("side|ch|dist", ("side", 0), ("ch", 0), ("dist", 0)),
    _t("side|clx", ("side", 0), ("clx", 0)),
    _t("side|bc", ("side", 0), ("bc", 0)),
    _t("side|bo", ("side", 0), ("bo", 0)),
    _t("side|bm", ("side", 0), ("bm", 0)),
    _t("side|bx", ("side", 0), ("bx", 0)),
    _t("adjq", ("adjq", 0)),
    _t("adjq|side|q", ("adjq", 0), ("side", 0), ("q", 0)),
    _t("ocue", ("ocue", 0)),
    _t("side|lx", ("side", 0), ("lx", 0)),
    _t("opara", ("opara", 0)),
    _t("side|bt", ("side", 0), ("bt", 0)),
    _t("side|bt|q", ("side", 0), ("bt", 0), ("q", 0)),
    _t("side|nthat", ("side", 0), ("nthat", 0)),
    _t("side|cform", ("side", 0), ("cform", 0)),
    _t("side|spos|cform", ("side", 0), ("spos", 0), ("cform", 0)),
    _t("side|sh|cform", ("side", 0), ("sh", 0), ("cform", 0)),
    _t("side|cl", ("side", 0), ("cl", 0)),
)

ROW_ATTRIBUTES = frozenset(
    ("side", "dist", "sr", "ct", "ch", "clx", "cform", "bc", "bo", "bm", "bx", "bt", "adjq", "ocue", "opara")
)
COMPLEMENTIZERS = frozenset(("that",))

SIDE_LEFT, SIDE_RIGHT, SIDE_CUE = 2, 3, 4


@dataclass
class Article:
    """An article ready for the taggers: tokens and their attribute arrays."""

    tokens: TokenizedText
    attrs: dict[str, np.ndarray]  # token attributes, padded by PAD (int64)
    sent: np.ndarray  # sentence index of each token
    para: np.ndarray  # paragraph index of each token
    quote_of: np.ndarray  # quotation index of each token, -1 outside
    comma_cum: np.ndarray  # prefix counts (n+1) of clause punctuation
    mark_cum: np.ndarray  # prefix counts (n+1) of quotation marks
    that_cum: np.ndarray  # prefix counts (n+1) of complementizers ("that")

    def __len__(self) -> int:
        return len(self.tokens)


def _padded(values: list[int] | np.ndarray) -> np.ndarray:
    arr = np.full(len(values) + 2 * PAD, PADDING, dtype=np.int64)
    arr[PAD : PAD + len(values)] = values
    return arr


DASHES = frozenset("-‐‑‒–—―−")


def _normalise_dashes(tt: TokenizedText, lower: list[str]) -> None:
    """Every dash character as "-" inside a word (self-described) and "—" between words, so an
    unseen dash ("―") looks like the ones seen in training."""
    text, starts, ends = tt.text, tt.starts, tt.ends
    for i, w in enumerate(lower):
        if w in DASHES:
            attached = 0 < starts[i] and ends[i] < len(text) and text[starts[i] - 1].isalnum() and text[ends[i]].isalnum()
            lower[i] = "-" if attached else "—"


def _bucketed(distance: np.ndarray) -> np.ndarray:
    return BUCKET[np.clip(distance, 0, _MAX_DISTANCE)] + 2


# the attribute values of a token that depend on its word form alone (columns of _Forms rows)
_W, _SH, _S3, _S2, _P3, _LX, _LM, _IN_LEX, _THAT, _COMMA, _CL = range(11)
_FORM_COLUMNS = 11


def _form_row(
    word: str, lower: str, vid: Callable[[str], int], lexicon: dict[str, tuple[str, str]], classes: dict[str, int]
) -> tuple[int, ...]:
    """The _Forms row of a token: ``lower`` is its lowercased, dash-normalised form."""
    long_alpha = len(lower) > 3 and lower.isalpha()
    e = lexicon.get(lower)
    return (
        vid(lower),
        vid(shape(word) if word not in DASHES else lower),
        vid("-" + lower[-3:]) if long_alpha else ABSENT,
        vid("-" + lower[-2:]) if long_alpha else ABSENT,
        vid(lower[:3] + "-") if long_alpha else ABSENT,
        vid("lex:" + e[1]) if e else ABSENT,
        vid(e[0]) if e else ABSENT,
        e is not None,
        lower in COMPLEMENTIZERS,
        word in ",;:—–",
        vid(f"cl:{classes[lower]}") if lower in classes else ABSENT,
    )


class _Forms:
    """Word form -> its row of form attributes, for a frozen vocabulary: news text repeats its
    words, so each form's lowercasing, shape, affixes and vocabulary lookups are done once.
    A dash is keyed by (dash, attached), since its normalised form depends on its neighbours."""

    LIMIT = 500_000  # forms kept before the table starts over (bounded memory on endless input)

    def __init__(self, vocab: Vocabulary) -> None:
        self.size_of_vocab = len(vocab)
        self.index: dict[str | tuple[str, bool], int] = {}
        self.rows = np.zeros((4096, _FORM_COLUMNS), dtype=np.int64)
        self.classes = vocab.classes
        get = vocab.index.get
        self.vid: Callable[[str], int] = lambda string: get(string, ABSENT)

    def add(self, key: str | tuple[str, bool], row: tuple[int, ...]) -> int:
        k = len(self.index)
        if k == len(self.rows):
            self.rows = np.concatenate((self.rows, np.zeros_like(self.rows)))
        self.rows[k] = row
        self.index[key] = k
        return k

    def of(self, tt: TokenizedText) -> np.ndarray:
        """(tokens, _FORM_COLUMNS) form attributes of every token."""
        if len(self.index) > self.LIMIT:
            self.index.clear()
        words = tt.words
        get = self.index.get
        found = [get(w, -1) for w in words]
        lexicon = cue_lexicon()
        text, starts, ends = tt.text, tt.starts, tt.ends
        for i, k in enumerate(found):
            if k >= 0:
                continue
            w = words[i]
            if w in DASHES:  # see _normalise_dashes
                attached = 0 < starts[i] and ends[i] < len(text) and text[starts[i] - 1].isalnum() and text[ends[i]].isalnum()
                key: str | tuple[str, bool] = (w, attached)
                k = get(key, -1)
                if k < 0:
                    k = self.add(key, _form_row(w, "-" if attached else "—", self.vid, lexicon, self.classes))
            else:
                k = get(w, -1)  # added earlier in this article
                if k < 0:
                    k = self.add(w, _form_row(w, w.lower(), self.vid, lexicon, self.classes))
            found[i] = k
        return self.rows[np.array(found, dtype=np.int64)]


def _form_attributes(tt: TokenizedText, vocab: Vocabulary) -> np.ndarray:
    """(tokens, _FORM_COLUMNS) form attributes; while the vocabulary grows (training) they are computed
    token by token, in the order that assigns the vocabulary ids."""
    if vocab.frozen:
        if vocab.forms is None or vocab.forms.size_of_vocab != len(vocab):
            vocab.forms = _Forms(vocab)
        return vocab.forms.of(tt)
    words = tt.words
    lower = [w.lower() for w in words]
    _normalise_dashes(tt, lower)
    lexicon = cue_lexicon()
    vid = vocab.id
    long_alpha = [len(w) > 3 and w.isalpha() for w in lower]
    entries = [lexicon.get(w) for w in lower]
    columns = [
        [vid(w) for w in lower],
        [vid(shape(w) if w not in DASHES else lw) for w, lw in zip(words, lower)],
        [vid("-" + w[-3:]) if ok else ABSENT for w, ok in zip(lower, long_alpha)],
        [vid("-" + w[-2:]) if ok else ABSENT for w, ok in zip(lower, long_alpha)],
        [vid(w[:3] + "-") if ok else ABSENT for w, ok in zip(lower, long_alpha)],
        [vid("lex:" + e[1]) if e else ABSENT for e in entries],
        [vid(e[0]) if e else ABSENT for e in entries],
        [e is not None for e in entries],
        [w in COMPLEMENTIZERS for w in lower],
        [w in ",;:—–" for w in words],
        [vid(f"cl:{vocab.classes[w]}") if w in vocab.classes else ABSENT for w in lower],
    ]
    return np.array(columns, dtype=np.int64).reshape(_FORM_COLUMNS, len(words)).T


def featurize(tt: TokenizedText, vocab: Vocabulary) -> Article:
    """The static attributes of every token: the word, its shape and affixes, its cue-lexicon
    class and lemma, its quotation role and place in its quotation, its place in its sentence
    and paragraph, and how far the nearest quotation closes before / opens after it."""
    n = len(tt.words)
    forms = _form_attributes(tt, vocab).T

    index = np.arange(n, dtype=np.int64)
    sent = np.asarray(tt.sent_of, dtype=np.int64)
    bounds = np.asarray(tt.sents, dtype=np.int64).reshape(-1, 2)
    first_of = bounds[sent, 0] if n else index
    last_of = bounds[sent, 1] - 1 if n else index
    role = np.asarray(tt.quote_role, dtype=np.int64)
    quote_of = np.asarray(tt.quote_of, dtype=np.int64)
    two = np.int64(2)
    # the last closing mark before each token and the first opening mark after it, same sentence
    closes = np.where(role == CLOSE_MARK, index, -1)
    last_close = np.concatenate(([-1], np.maximum.accumulate(closes)[:-1])) if n else index
    has_close = (last_close >= 0) & (sent[np.maximum(last_close, 0)] == sent)
    opens = np.where(role == OPEN_MARK, index, n)
    next_open = np.concatenate((np.minimum.accumulate(opens[::-1])[::-1][1:], [n])) if n else index
    has_open = (next_open < n) & (sent[np.minimum(next_open, max(n - 1, 0))] == sent)
    inside = role == INSIDE
    q_first = np.zeros(max(1, len(tt.quotes)), dtype=np.int64)
    q_last = np.zeros(max(1, len(tt.quotes)), dtype=np.int64)
    for qi, first in tt.quote_first.items():
        q_first[qi] = first
        q_last[qi] = tt.quote_last[qi]
    qi_safe = np.maximum(quote_of, 0)
    absent = np.int64(ABSENT)
    attrs = {
        "w": _padded(forms[_W]),
        "sh": _padded(forms[_SH]),
        "s3": _padded(forms[_S3]),
        "s2": _padded(forms[_S2]),
        "p3": _padded(forms[_P3]),
        "lx": _padded(forms[_LX]),
        "lm": _padded(forms[_LM]),
        "cl": _padded(forms[_CL]),
        "q": _padded(role + 2),
        "sfirst": _padded(np.where(index == first_of, two, absent)),
        "slast": _padded(np.where(index == last_of, two, absent)),
        "spos": _padded(_bucketed(index - first_of)),
        "send": _padded(_bucketed(last_of - index)),
        "nl": _padded(np.where(np.asarray(tt.newline_before, dtype=bool), two, absent)),
        "para0": _padded(np.where(np.asarray(tt.para_of, dtype=np.int64) == 0, two, absent)),
        "pclose": _padded(np.where(has_close, _bucketed(index - last_close), absent)),
        "nopen": _padded(np.where(has_open, _bucketed(next_open - index), absent)),
        "qpos": _padded(np.where(inside, _bucketed(index - q_first[qi_safe]), absent)),
        "qend": _padded(np.where(inside, _bucketed(q_last[qi_safe] - index), absent)),
    }
    # sentence context: does it hold a quotation mark, how many cue-lexicon words
    marks_in = np.zeros(len(bounds) + 1, dtype=np.int64)
    lex_in = np.zeros(len(bounds) + 1, dtype=np.int64)
    if n:
        np.add.at(marks_in, sent, (role == OPEN_MARK) | (role == CLOSE_MARK))
        np.add.at(lex_in, sent, forms[_IN_LEX])
    attrs["sq"] = _padded(np.where(marks_in[sent] > 0, two, absent))
    attrs["slx"] = _padded(np.minimum(lex_in[sent], 2) + 2)
    # the next complementizer "that" in the sentence (content often starts there)
    is_that = forms[_THAT].astype(bool)
    thats = np.where(is_that, index, n)
    next_that = np.concatenate((np.minimum.accumulate(thats[::-1])[::-1][1:], [n])) if n else index
    has_that = (next_that < n) & (sent[np.minimum(next_that, max(n - 1, 0))] == sent)
    attrs["nthat"] = _padded(np.where(has_that, _bucketed(next_that - index), absent))
    comma = forms[_COMMA]
    mark = ((role == OPEN_MARK) | (role == CLOSE_MARK)).astype(np.int64)
    return Article(
        tokens=tt,
        attrs=attrs,
        sent=sent,
        para=np.asarray(tt.para_of, dtype=np.int64),
        quote_of=quote_of,
        comma_cum=np.concatenate(([0], np.cumsum(comma))),
        mark_cum=np.concatenate(([0], np.cumsum(mark))),
        that_cum=np.concatenate(([0], np.cumsum(is_that))),
    )


# -- rows: tokens relative to a cue ------------------------------------------------------------

MAX_SENTENCES_BEFORE = 3  # content starts at most this many sentences before its cue (99.7% in train)
MAX_SENTENCES_AFTER = 5  # and ends at most this many after it (99.6%)


def cue_window(tt: TokenizedText, cue_first: int, cue_last: int) -> tuple[int, int]:
    """The tokens a cue's source and content are looked for in: the cue's paragraph, cut to a
    few sentences either side (PolNeAR content stays in its cue's paragraph 99% of the time)."""
    para = tt.para_of[cue_first]
    s_first = max(0, tt.sent_of[cue_first] - MAX_SENTENCES_BEFORE)
    s_last = min(len(tt.sents) - 1, tt.sent_of[cue_last] + MAX_SENTENCES_AFTER)
    lo = tt.sents[s_first][0]
    hi = tt.sents[s_last][1]
    # paragraph indices never decrease: the cue's paragraphs start and end by binary search
    lo = max(lo, bisect_left(tt.para_of, para))
    hi = min(hi, bisect_right(tt.para_of, tt.para_of[cue_last]))
    return lo, hi


def adjacent_quotes(tt: TokenizedText, cue_first: int, cue_last: int) -> list[int]:
    """Quotations that touch the cue: one closing just before it ("…,” she said), one opening
    just after it (said: “…), or one the cue sits in."""
    found: list[int] = []
    n = len(tt)
    for i in range(max(0, cue_first - 4), cue_first):
        if tt.quote_role[i] == CLOSE_MARK:
            found.append(tt.quote_of[i])
    for i in range(cue_last + 1, min(n, cue_last + 6)):
        if tt.quote_role[i] == OPEN_MARK:
            found.append(tt.quote_of[i])
            break
    if tt.quote_of[cue_first] >= 0:
        found.append(tt.quote_of[cue_first])
    return found[:3]


@dataclass
class Rows:
    """Every (cue, window token) pair of an article, cue after cue: the role tagger's input."""

    token: np.ndarray  # token index of each row
    cue: np.ndarray  # cue index of each row
    starts: np.ndarray  # first row of each cue's window
    lengths: np.ndarray  # rows in each cue's window
    windows: list[tuple[int, int]]
    attrs: dict[str, np.ndarray]  # row attributes


def cue_rows(article: Article, cues: list[tuple[int, int]], vocab: Vocabulary, cue_tokens: np.ndarray) -> Rows:
    """Rows for each cue (first, last) with the attributes that relate a token to its cue.
    ``cue_tokens`` marks the tokens of all cues (gold ones in training, predicted ones after)."""
    tt = article.tokens
    windows = [cue_window(tt, first, last) for first, last in cues]
    lengths = np.array([hi - lo for lo, hi in windows], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])) if len(cues) else np.zeros(0, dtype=np.int64)
    if len(cues):
        token = np.concatenate([np.arange(lo, hi, dtype=np.int64) for lo, hi in windows])
    else:
        token = np.zeros(0, dtype=np.int64)
    cue = np.repeat(np.arange(len(cues), dtype=np.int64), lengths)
    firsts = np.array([f for f, _ in cues], dtype=np.int64)
    lasts = np.array([last for _, last in cues], dtype=np.int64)
    first, last = firsts[cue], lasts[cue]
    left, right = token < first, token > last
    side = np.where(left, SIDE_LEFT, np.where(right, SIDE_RIGHT, SIDE_CUE))
    dist = np.where(left, first - token, np.where(right, token - last, 0))
    dist_value = BUCKET[np.minimum(dist, _MAX_DISTANCE)] + 2
    sr = np.clip(article.sent[token] - article.sent[first], -2, 2) + 4
    # what lies strictly between the token and the cue: [a, b)
    a = np.where(left, token + 1, np.where(right, last + 1, 0))
    b = np.where(left, first, np.where(right, token, 0))
    cue_cum = np.concatenate(([0], np.cumsum(cue_tokens.astype(np.int64))))
    bc = np.minimum(article.comma_cum[b] - article.comma_cum[a], 2)
    bo = np.minimum(cue_cum[b] - cue_cum[a], 1)
    bm = np.minimum(article.mark_cum[b] - article.mark_cum[a], 2)
    bt = np.minimum(article.that_cum[b] - article.that_cum[a], 1)
    adjacent = np.full((max(1, len(cues)), 3), -5, dtype=np.int64)
    for k, (f, la) in enumerate(cues):
        for j, qi in enumerate(adjacent_quotes(tt, f, la)):
            adjacent[k, j] = qi
    quote = article.quote_of[token]
    adjq = ((adjacent[cue] == quote[:, None]).any(axis=1) & (quote >= 0)) if len(cues) else np.zeros(0, dtype=bool)
    ocue = cue_tokens[token] & (side != SIDE_CUE)
    opara = article.para[token] != article.para[first]
    lower_w = tt.words
    ct, ch, clx, cform = [], [], [], []
    lexicon = cue_lexicon()
    for f, la in cues:
        words = [lower_w[i].lower() for i in range(f, la + 1)]
        head = next((w for w in reversed(words) if w[0].isalpha()), words[-1])
        ct.append(vocab.id(" ".join(words)) if len(words) <= 4 else vocab.id(head))
        ch.append(vocab.id(head))
        kind = next((lexicon[w][1] for w in words if w in lexicon), "none")
        clx.append(vocab.id("lex:" + kind))
        cform.append(2 + next((k for k, end in enumerate(("ing", "ed", "s")) if head.endswith(end)), 3))
    two = np.int64(2)
    attrs = {
        "side": side,
        "dist": dist_value,
        "sr": sr,
        "bc": bc + 2,
        "bo": bo + 2,
        "bm": bm + 2,
        "bx": bc * 9 + bm * 3 + bo + 2,
        "bt": bt + 2,
        "adjq": np.where(adjq, two, ABSENT),
        "ocue": np.where(ocue, two, ABSENT),
        "opara": np.where(opara, two, ABSENT),
        "ct": np.array(ct, dtype=np.int64)[cue] if cues else cue,
        "ch": np.array(ch, dtype=np.int64)[cue] if cues else cue,
        "clx": np.array(clx, dtype=np.int64)[cue] if cues else cue,
        "cform": np.array(cform, dtype=np.int64)[cue] if cues else cue,
    }
    return Rows(token, cue, starts, lengths, windows, attrs)


# -- template keys ---------------------------------------------------------------------------


def template_keys(
    template: Template, token_attrs: dict[str, np.ndarray], rows: Rows | None = None, n: int = 0
) -> np.ndarray:
    """The integer key of ``template`` at every token (``rows`` None: n tokens) or every row;
    0 where any part is ABSENT (no feature)."""
    key: np.ndarray | None = None
    valid: np.ndarray | None = None
    scale = 1
    for attr, offset in template.parts:
        if rows is not None and attr in ROW_ATTRIBUTES:
            values = rows.attrs[attr]
        elif rows is not None:
            values = token_attrs[attr][rows.token + (PAD + offset)]
        else:
            values = token_attrs[attr][PAD + offset : PAD + offset + n]
        part = values * scale if scale != 1 else values
        key = part if key is None else key + part
        present = values != ABSENT
        valid = present if valid is None else valid & present
        scale *= RADIX
    assert key is not None and valid is not None
    return np.where(valid, key, 0)


def feature_strings(templates: tuple[Template, ...], keys: list[np.ndarray], offset: int = 0) -> list[list[str]]:
    """CRFsuite attribute strings ("<template index>:<key>") per position, for training."""
    n = len(keys[0]) if keys else 0
    out: list[list[str]] = [[] for _ in range(n)]
    for t, k in enumerate(keys):
        prefix = f"{t + offset}:"
        for i, key in enumerate(k.tolist()):
            if key:
                out[i].append(prefix + str(key))
    return out
