"""Who is the same person across articles: name keys, context, merge decisions, corrections.

In-article resolution (``resolve.py``) already ties "Lavrov" to "Sergey Lavrov" inside one
article. Across articles the store merges conservatively, and says why every time:

* a full name (two or more words) joins a store speaker with the same folded name: case,
  accents, honorifics and common transliteration variants (Sergey/Sergei, Dmitry/Dmitrii,
  Aleksandr/Alexander) do not matter — unless the two titles contradict each other and the
  articles share no context;
* a bare surname ("Lavrov") joins a store speaker with that surname only when exactly one such
  speaker exists, their titles do not contradict, and the articles share at least
  ``MIN_SHARED_CONTEXT`` context terms (capitalised names: Russia, Moscow, Syria …). "Johnson" in
  a sports article and "Johnson" in a Westminster article stay apart;
* a speaker the article never names is never merged.

User corrections live in an alias file (TSV, editable by hand, applied at every ingest so they
survive re-ingestion):

    same    Sergei Lavrov   Lavrov              # these names are one person (first is canonical)
    apart   Johnson         ARTICLE-KEY         # in that article, Johnson is someone else
    qid     Sergei Lavrov   Q172858             # Wikidata id
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from quotegraph.errors import InputError

MIN_SHARED_CONTEXT = 3
CONTEXT_TERMS_PER_ARTICLE = 40
CONTEXT_TERMS_PER_SPEAKER = 300

HONORIFICS = frozenset(
    "mr mrs ms miss dr prof sir dame lord lady rev sen senator rep gov governor president pm "
    "minister secretary general gen col capt lt sgt judge justice mayor chancellor king queen prince "
    "princess sheikh ayatollah pope father".split()
)
SUFFIXES = frozenset("jr sr ii iii iv phd md esq".split())
# Folding rules for romanised names, applied in order to each lower-cased name word.
TRANSLITERATION = (
    (re.compile(r"^ye"), "e"),      # Yevgeny / Evgeny
    (re.compile(r"^j(?=[aeiou])"), "y"),  # Jelena / Yelena
    (re.compile(r"ks"), "x"),       # Aleksandr / Alexandr
    (re.compile(r"kh"), "h"),       # Khodorkovsky / Hodorkovsky
    (re.compile(r"gue"), "ge"),     # Serguei / Sergei
    (re.compile(r"ph"), "f"),
    (re.compile(r"ck"), "k"),
    (re.compile(r"w"), "v"),        # Lawrow / Lavrov
    (re.compile(r"ey$"), "ei"),     # Sergey / Sergei
    (re.compile(r"iy$|ii$|yy$|y$"), "i"),  # Dmitriy / Dmitrii / Dmitry / Dmitri
    (re.compile(r"ij$"), "i"),
    (re.compile(r"yu"), "iu"),
    (re.compile(r"ya"), "ia"),
    (re.compile(r"([a-z])\1"), r"\1"),  # doubled letters
    (re.compile(r"er$"), "r"),      # Alexander / Alexandr
)
# Capitalised words that say nothing about what an article is about.
_NOT_CONTEXT = frozenset(
    "the a an and but or if in on at to of for by with from as it its this that these those he she "
    "they we you i his her their our my mr mrs ms dr monday tuesday wednesday thursday friday saturday "
    "sunday january february march april may june july august september october november december "
    "said says also more one two new after before when while there here what who how why where "
    "according however yet still last first".split()
)
_WORD = re.compile(r"[^\W\d_][\w'’.-]*")
_CAPITALISED = re.compile(r"\b[A-Z][a-zA-Z'’-]{2,}\b")


def _ascii_lower(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def name_words(name: str) -> list[str]:
    return list(_name_words(name))


@lru_cache(maxsize=65536)
def _name_words(name: str) -> tuple[str, ...]:
    """The name's words without honorifics, suffixes, initials and punctuation, lower-cased ASCII."""
    words = [w.strip(".'’-").replace("’", "'") for w in _WORD.findall(_ascii_lower(name))]
    words = [w for w in words if w and w not in SUFFIXES]
    while words and words[0].rstrip(".") in HONORIFICS and len(words) > 1:
        words = words[1:]
    return tuple(w for w in words if len(w) > 1)  # initials ("J.") carry too little to compare


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """One name word folded over transliteration variants (Sergey → sergei, Lawrow → lavrov)."""
    word = re.sub(r"[^a-z]", "", word)
    for pattern, replacement in TRANSLITERATION:
        word = pattern.sub(replacement, word)
    return word


def name_key(name: str) -> str:
    """First and last folded name words ('' for fewer than two): equal for the same full name."""
    words = name_words(name)
    if len(words) < 2:
        return ""
    return f"{fold(words[0])} {fold(words[-1])}"


def surname_key(name: str) -> str:
    words = name_words(name)
    return fold(words[-1]) if words else ""


def speaker_tokens(speaker_id: int | None, names: list[str]) -> str:
    """Search tokens that let the full-text index filter by speaker id, surname or full name.

    Only letters and digits, so they pass any tokenizer unchanged: ``spk12 surlavrov fulsergei0lavrov``.
    """
    if speaker_id is None:
        return "spk0"
    tokens = [f"spk{speaker_id}"]
    for name in names:
        sur = surname_key(name)
        if sur:
            tokens.append(f"sur{sur}")
        key = name_key(name)
        if key:
            tokens.append("ful" + key.replace(" ", "0"))
    return " ".join(dict.fromkeys(tokens))


def query_tokens(speaker: str) -> list[str]:
    """The search token(s) a ``--speaker`` value matches: an id (``#12``), a full name or a surname."""
    value = speaker.strip()
    if re.fullmatch(r"#?[0-9]+", value):  # ASCII digits; "#007" is speaker 7, as its token says
        return [f"spk{value.lstrip('#').lstrip('0') or '0'}"]
    key = name_key(value)
    if key:
        return ["ful" + key.replace(" ", "0")]
    sur = surname_key(value)
    return [f"sur{sur}"] if sur else []


def context_terms(text: str, exclude: set[str] = frozenset()) -> Counter[str]:  # type: ignore[assignment]
    """What an article is about, cheaply: its most frequent capitalised words (names, places)."""
    counts: Counter[str] = Counter()
    for word in _CAPITALISED.findall(text):
        low = _ascii_lower(word).replace("’", "'")
        if len(low) > 2 and low not in _NOT_CONTEXT and low not in exclude:
            counts[low] += 1
    return Counter(dict(counts.most_common(CONTEXT_TERMS_PER_ARTICLE)))


def title_words(title: str | None) -> set[str]:
    if not title:
        return set()
    return {w for w in name_words(title) if w not in {"the", "of", "former", "and", "for", "s", "a", "an"}}


def titles_conflict(a: str | None, b: str | None) -> bool:
    """Both titles given and sharing no word: "Foreign Minister" vs "basketball coach"."""
    wa, wb = title_words(a), title_words(b)
    return bool(wa and wb and not wa & wb)


@dataclass(frozen=True)
class Candidate:
    """A store speaker that an article's speaker might be."""

    id: int
    name: str
    title: str | None
    context: Counter[str]
    named: bool


@dataclass(frozen=True)
class Decision:
    """Which store speaker an article's speaker is (None: a new one), and why."""

    speaker_id: int | None
    rule: str
    explanation: str


def shared_context(a: Counter[str], b: Counter[str]) -> list[str]:
    return sorted(set(a) & set(b), key=lambda t: -(a[t] + b[t]))


def decide(name: str, title: str | None, named: bool, context: Counter[str],
           by_full_name: list[Candidate], by_surname: list[Candidate]) -> Decision:
    """Merge an article's speaker into a store speaker, or not, with the reason in words."""
    if not named:
        return Decision(None, "unnamed", f"'{name}' is never named in its article: kept on its own")
    words = name_words(name)
    if not words:
        return Decision(None, "no-name", f"'{name}' has no name words: kept on its own")
    if len(words) >= 2:
        fitting = []
        for c in by_full_name:
            shared = shared_context(context, c.context)
            if titles_conflict(title, c.title) and not shared:
                continue
            fitting.append((len(shared), c, shared))
        if not fitting:
            if by_full_name:
                return Decision(None, "title-conflict",
                                f"'{name}' ({title}) has the name of speaker #{by_full_name[0].id} "
                                f"({by_full_name[0].title}) but a contradicting title and no shared context")
            return Decision(None, "new", f"no earlier speaker named '{name}'")
        fitting.sort(key=lambda x: (-x[0], x[1].id))
        if len(fitting) > 1 and fitting[0][0] == fitting[1][0]:
            return Decision(None, "ambiguous",
                            f"'{name}' matches {len(fitting)} speakers equally well: kept on its own")
        _, best, shared = fitting[0]
        how = "same full name" if name_words(best.name) == words else "same name up to spelling/transliteration"
        because = f"'{name}' = '{best.name}' (#{best.id}): {how}"
        if title and best.title:
            because += f"; titles '{title}' / '{best.title}' consistent"
        if shared:
            because += f"; shared context: {', '.join(shared[:5])}"
        return Decision(best.id, "full-name", because)
    # A single word: a surname (or a mononym). Only an unambiguous, in-context match.
    named_full = [c for c in by_surname if len(name_words(c.name)) >= 2]
    pool = named_full or by_surname
    if not pool:
        return Decision(None, "new", f"no earlier speaker with the name '{name}'")
    if len({c.id for c in named_full}) > 1:
        return Decision(None, "ambiguous-surname",
                        f"'{name}' could be any of {', '.join(c.name for c in named_full[:4])}: kept on its own")
    scored = []
    for c in pool:
        if titles_conflict(title, c.title):
            continue
        shared = shared_context(context, c.context)
        if len(shared) >= MIN_SHARED_CONTEXT:
            scored.append((len(shared), c, shared))
    if not scored:
        return Decision(None, "surname-no-context",
                        f"'{name}' matches '{pool[0].name}' (#{pool[0].id}) by surname only, with too little "
                        f"shared context (needs {MIN_SHARED_CONTEXT} terms): kept apart")
    scored.sort(key=lambda x: (-x[0], x[1].id))
    _, best, shared = scored[0]
    return Decision(best.id, "surname-in-context",
                    f"'{name}' = '{best.name}' (#{best.id}): the only speaker with that surname, "
                    f"shared context: {', '.join(shared[:6])}")


# --- the alias file --------------------------------------------------------------------------

ACTIONS = ("same", "apart", "qid")
HEADER = """# quotegraph speaker corrections: applied on every ingest, so they survive re-ingestion.
# One correction a line, TAB-separated; '#' starts a comment. Edit by hand or with
# 'quotegraph speakers merge A B' / 'quotegraph speakers split NAME --article KEY'.
#   same<TAB>Canonical Name<TAB>Other Name   the two names are one person
#   apart<TAB>Name<TAB>article key           in that article, Name is not the store speaker of that name
#   qid<TAB>Name<TAB>Q12345                  Wikidata id for the speaker with that name
"""


@dataclass(frozen=True)
class Correction:
    action: str
    a: str
    b: str
    note: str = ""

    def line(self) -> str:
        return f"{self.action}\t{self.a}\t{self.b}" + (f"\t# {self.note}" if self.note else "")


def read_alias_file(path: Path) -> list[Correction]:
    """Parse the alias file; a malformed line is an InputError naming its line number."""
    corrections = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line, _, note = raw.partition("#")
        if not line.strip():
            continue
        parts = [p.strip() for p in line.strip().split("\t") if p.strip()]
        if len(parts) != 3 or parts[0] not in ACTIONS:
            raise InputError(f"{path}:{number}: expected 'same|apart|qid<TAB>A<TAB>B', got {raw!r}")
        if parts[0] == "qid" and not re.fullmatch(r"Q\d+", parts[2]):
            raise InputError(f"{path}:{number}: {parts[2]!r} is not a Wikidata id (Q followed by digits)")
        corrections.append(Correction(parts[0], parts[1], parts[2], note.strip()))
    return corrections


def append_alias_file(path: Path, correction: Correction) -> None:
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", encoding="utf-8") as f:
        if new:
            f.write(HEADER)
        f.write(correction.line() + "\n")


class Corrections:
    """The user's corrections, indexed for the merge decisions at ingest."""

    def __init__(self, corrections: list[Correction]) -> None:
        self.items = list(corrections)
        self.canonical: dict[str, str] = {}  # folded name -> canonical display name
        self.apart: set[tuple[str, str]] = set()  # (folded name, article key)
        self.qids: dict[str, str] = {}
        groups: dict[str, str] = {}
        for c in self.items:
            if c.action == "same":
                root = groups.get(self.key(c.a), c.a)
                groups[self.key(c.a)] = root
                groups[self.key(c.b)] = root
            elif c.action == "apart":
                self.apart.add((self.key(c.a), c.b))
            elif c.action == "qid":
                self.qids[self.key(c.a)] = c.b
        self.canonical = groups

    @staticmethod
    def key(name: str) -> str:
        return name_key(name) or surname_key(name)

    def canonical_name(self, name: str) -> str | None:
        return self.canonical.get(self.key(name))

    def is_apart(self, name: str, article_key: str) -> bool:
        return (self.key(name), article_key) in self.apart


__all__ = [
    "Candidate", "Correction", "Corrections", "Decision", "append_alias_file", "context_terms", "decide",
    "fold", "name_key", "name_words", "query_tokens", "read_alias_file", "speaker_tokens", "surname_key",
    "titles_conflict",
]
