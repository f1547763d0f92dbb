"""Damage detection for scraped text: header lines, glued words, holes.

The original text is never rewritten. ``clean`` returns a *working* text for the NLP stages
(the original with one space inserted at each glued word boundary and header lines blanked)
plus the mapping back to original offsets, and the damage it found as flags.

Scrapers that drop hyperlinked words leave two kinds of scars: words glued together
("thatAt", 'Secretary"The', "said.The", "intohigh", "Trumpsupporters") which confuse the
tokenizer and parser, and holes ("according to the .") which only the user can judge. Glued words are split in the working
text; holes are only flagged. Leading metadata lines (date, byline, photo credit) are parsed
into ``header`` and blanked so that no attribution is ever found in them.

Everything here is linear in the length of the text: the scans use compiled regexes whose
matches are rare (a case change, a quotation mark touching a word), and each candidate is
checked by looking only a bounded distance around it.
"""

from __future__ import annotations

import datetime as _dt
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources

from quotegraph.model import Damage


@dataclass(frozen=True)
class Cleaned:
    """The original text, the working text derived from it, and how to map between them."""

    original: str
    text: str  # working text: original + a space at each position in ``inserted``
    inserted: tuple[int, ...] = ()  # sorted original offsets before which one space was inserted
    damage: tuple[Damage, ...] = ()
    header: dict[str, str] = field(default_factory=dict)  # metadata parsed from header lines
    body_start: int = 0  # original offset where the article body starts
    # original (start, end) ranges replaced by spaces in the working text (the header lines)
    blanked: tuple[tuple[int, int], ...] = ()

    def to_original(self, offset: int) -> int:
        """Map an offset in the working text to the original text."""
        # the k-th inserted space sits at working offset inserted[k] + k
        lo, hi = 0, len(self.inserted)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.inserted[mid] + mid < offset:
                lo = mid + 1
            else:
                hi = mid
        return offset - lo

    def to_working(self, offset: int) -> int:
        """Map an original offset to the working text."""
        return offset + bisect_left(self.inserted, offset + 1) if self.inserted else offset


# --------------------------------------------------------------------------------------------
# data files


def _data_text(filename: str) -> str:
    return (resources.files("quotegraph") / "data" / filename).read_text(encoding="utf-8")


def _data_rows(filename: str) -> list[list[str]]:
    """Non-comment lines of a data file, split on TABs."""
    rows = []
    for line in _data_text(filename).splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            rows.append([cell.strip() for cell in line.split("\t")])
    return rows


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Frequent lowercase English words (data/common_words.txt)."""
    return frozenset(row[0].lower() for row in _data_rows("common_words.txt"))


@lru_cache(maxsize=1)
def _glue_affixes() -> tuple[frozenset[str], frozenset[str]]:
    """Compound prefixes and suffixes that a lowercase split must not cut off (data/glue_affixes.txt)."""
    rows = _data_rows("glue_affixes.txt")
    return (frozenset(part for kind, part in rows if kind == "prefix"),
            frozenset(part for kind, part in rows if kind == "suffix"))


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, float]:
    """Word frequency of the ~320,000 words of wordfreq's large English list: the test of
    whether a lowercase token is a word at all. Loaded on first use (0.1 s, about 40 MB)."""
    import wordfreq

    return wordfreq.get_frequency_dict("en", "large")


@lru_cache(maxsize=1)
def _known_mixed_case() -> frozenset[str]:
    return frozenset(row[0] for row in _data_rows("known_mixed_case.txt"))


@lru_cache(maxsize=1)
def _hole_words() -> dict[str, frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for row in _data_rows("hole_words.txt"):
        groups.setdefault(row[0], set()).add(row[1])
    return {k: frozenset(v) for k, v in groups.items()}


# --------------------------------------------------------------------------------------------
# header lines

_MAX_HEADER_LINES = 6  # only the first few non-blank lines can be metadata
_MAX_HEADER_LINE = 250  # a longer line is prose
_MAX_VALUE = 150  # a longer credit or free-form date value is prose


def _alternation(words: list[str]) -> str:
    """Regex alternation of literal phrases, longest first, spaces matching any whitespace."""
    escaped = [r"\s+".join(re.escape(w) for w in phrase.split()) for phrase in words]
    return "|".join(sorted(escaped, key=len, reverse=True))


@dataclass(frozen=True)
class _HeaderRules:
    """Compiled patterns for metadata lines, built once from data/header_words.txt."""

    months: dict[str, int]
    not_names: frozenset[str]  # words that cannot start a byline name (months, weekdays)
    particles: frozenset[str]
    date: re.Pattern[str]  # optional label + a date (+ time), anchored with .match
    labelled: re.Pattern[str]  # "Published: <anything short>"
    credit: re.Pattern[str]  # "© ...", "Photo: ...", "Photo by ..."
    agency: re.Pattern[str]  # "(Reuters)"
    byline: re.Pattern[str]  # "By ...", "Author: ..."


@lru_cache(maxsize=1)
def _header_rules() -> _HeaderRules:
    groups: dict[str, list[list[str]]] = {}
    for row in _data_rows("header_words.txt"):
        groups.setdefault(row[0], []).append(row[1:])
    months = {name.lower(): int(row[0]) for row in groups["month"] for name in row[1:]}
    weekdays = [name for row in groups["weekday"] for name in row]
    month_re = _alternation(list(months))
    weekday_re = _alternation(weekdays)
    date_labels = _alternation([r[0] for r in groups["date_label"]])
    ordinal = r"(?:st|nd|rd|th)?"
    time = (
        r"(?:(?:T|\s*,\s*|\s+at\s+|\s*[|–—-]\s*|\s+)\d{1,2}[:.]\d{2}(?::\d{2}(?:\.\d+)?)?"
        r"(?:\s*[ap]\.?\s?m\.?|\s*[AP]M)?"
        r"(?:\s*(?:Z|[+-]\d{2}:?\d{2}|(?:UTC|GMT)(?:[+-]\d{1,2}(?::?\d{2})?)?|[A-Z]{2,4}\b))?)?"
    )
    date = (
        rf"(?:(?i:{date_labels})(?:\s*:\s*|\s+))?"
        rf"(?:(?i:{weekday_re})\.?,?\s+)?"
        r"(?:(?P<iy>\d{4})(?P<isep>[-/.])(?P<im>\d{1,2})(?P=isep)(?P<id>\d{1,2})"
        r"|(?P<na>\d{1,2})(?P<nsep>[-/.])(?P<nb>\d{1,2})(?P=nsep)(?P<ny>\d{4})"
        rf"|(?P<tm>(?i:{month_re}))\.?\s+(?P<td>\d{{1,2}}){ordinal},?\s+(?P<ty>\d{{4}})"
        rf"|(?P<ud>\d{{1,2}}){ordinal}\s+(?:of\s+)?(?P<um>(?i:{month_re}))\.?,?\s+(?P<uy>\d{{4}}))"
        rf"{time}"
        r"(?=[\s|·•,;–—-]|©|$)"
    )
    credit_marks = _alternation([r[0] for r in groups["credit_mark"]])
    credit_labels = _alternation([r[0] for r in groups["credit_label"]])
    credit_by = _alternation([r[0] for r in groups["credit_by"]])
    author_labels = _alternation([r[0] for r in groups["author_label"]])
    return _HeaderRules(
        months=months,
        not_names=frozenset(months) | frozenset(w.lower() for w in weekdays),
        particles=frozenset(r[0] for r in groups["name_particle"]),
        date=re.compile(date),
        labelled=re.compile(rf"(?i:{date_labels})\s*:\s*(?P<value>\S.*?)\s*$"),
        credit=re.compile(
            rf"(?:(?i:{credit_marks})\s*(?:©\s*)?|(?i:{credit_labels})\s*:\s*|(?i:{credit_by})\s+)"
            r"(?P<value>\S.*?)\s*$"
        ),
        agency=re.compile(r"\(\s*(?P<value>[A-Z][A-Za-z&.' /-]{0,40}?)\s*\)\s*$"),
        byline=re.compile(rf"(?i:{author_labels})(?:\s*:\s*|\s+)(?P<value>\S.*?)\s*$"),
    )


def _iso_date(m: re.Match[str], months: dict[str, int]) -> str:
    """The ISO date of a date match, or "" when it is ambiguous or not a real date."""
    if m["iy"]:
        y, mo, d = int(m["iy"]), int(m["im"]), int(m["id"])
    elif m["ny"]:
        a, b, y = int(m["na"]), int(m["nb"]), int(m["ny"])
        if m["nsep"] == "." or (a > 12 >= b):
            d, mo = a, b  # 13.04.2017 and 13/04/2017 are day first
        elif b > 12 >= a:
            mo, d = a, b  # 04/13/2017 is month first
        elif a == b:
            mo = d = a
        else:
            return ""  # 04/05/2017: no way to tell
    elif m["ty"]:
        y, mo, d = int(m["ty"]), months[m["tm"].lower()], int(m["td"])
    else:
        y, mo, d = int(m["uy"]), months[m["um"].lower()], int(m["ud"])
    if not 1900 <= y <= 2100:
        return ""
    try:
        return _dt.date(y, mo, d).isoformat()
    except ValueError:
        return ""


_SEPARATORS = re.compile(r"[\s|·•,;–—-]*")
_NAME_WORD = re.compile(r"[^\s,&/|]+")
_BYLINE_STOP = re.compile(r"\s[|·•]|\s[–—-]\s|©")


def _looks_like_names(value: str, rules: _HeaderRules) -> bool:
    """True for "Jane Doe", "Jane Doe and John Smith, Reuters": capitalised words only."""
    words = _NAME_WORD.findall(value)
    if not words or len(words) > 12 or len(value) > 100:
        return False
    first = words[0].strip(".'’").lower()
    if first in common_words() or first in rules.not_names:
        return False  # "By The Way", "By Monday"
    if value[-1] in ".!?:;" and not re.search(r"(?:\b[A-Z]|\bJr|\bSr)\.$", value):
        return False  # ends like a sentence, unless with an initial
    for word in words:
        if any(ch.isdigit() for ch in word):
            return False
        if word.lower() not in rules.particles and not word[0].isupper():
            return False
    return True


def _header_segments(line: str, rules: _HeaderRules) -> list[tuple[str, int, int, str]] | None:
    """The metadata pieces (kind, start, end, value) of a line, or None if it is not metadata.

    A line counts only when it is metadata from end to end: a date (optionally labelled and
    with a time), a byline, and/or a trailing credit, separated by punctuation. Anything else
    on the line ("April 13, 2017 was a good day") makes it prose.
    """
    segments: list[tuple[str, int, int, str]] = []
    i = len(line) - len(line.lstrip())
    end = len(line.rstrip())
    while i < end:
        if m := rules.date.match(line, i):
            segments.append(("date", i, m.end(), _iso_date(m, rules.months)))
            i = m.end()
        elif m := rules.credit.match(line, i):
            if len(m["value"]) > _MAX_VALUE:
                return None
            segments.append(("credit", i, end, m["value"]))
            break
        elif m := rules.agency.match(line, i):
            segments.append(("credit", i, end, m["value"]))
            break
        elif m := rules.byline.match(line, i):
            value_start = m.start("value")
            stop = end
            if s := _BYLINE_STOP.search(line, value_start, end):
                stop = s.start()
            if d := rules.date.search(line, value_start, stop):
                stop = d.start()
            names = line[value_start:stop].rstrip(" \t,;|·•–—-")
            if not _looks_like_names(names, rules):
                return None
            segments.append(("author", i, value_start + len(names), names))
            i = value_start + len(names)
        elif m := rules.labelled.match(line, i):
            if len(m["value"]) > _MAX_VALUE:
                return None
            d = rules.date.search(m["value"])
            segments.append(("date", i, end, _iso_date(d, rules.months) if d else ""))
            break
        else:
            return None
        i = _SEPARATORS.match(line, i).end()  # type: ignore[union-attr]
    return segments or None


_SEGMENT_NOTES = {"date": "date line", "author": "byline", "credit": "photo or agency credit"}


def parse_header(original: str) -> tuple[dict[str, str], int, list[Damage]]:
    """Parse the metadata lines at the top of an article.

    Returns (header, body_start, damage): ``header`` has the keys ``date`` (ISO yyyy-mm-dd,
    only when the date is unambiguous), ``credit`` and ``author`` when found; ``body_start`` is
    the offset of the first line after the metadata (0 when there is none); ``damage`` marks
    each metadata piece as kind "header" (date, byline) or "credit". Conservative: a line is
    metadata only when all of it is, so an article's first sentence is never taken.
    """
    rules = _header_rules()
    header: dict[str, str] = {}
    damage: list[Damage] = []
    body_start = 0
    pos, seen = 0, 0
    while pos < len(original) and seen < _MAX_HEADER_LINES:
        newline = original.find("\n", pos, pos + _MAX_HEADER_LINE + 2)
        if newline < 0:
            newline = len(original)
            if newline - pos > _MAX_HEADER_LINE + 1:
                break
        line = original[pos:newline]
        if line.strip():
            seen += 1
            segments = _header_segments(line, rules) if len(line) <= _MAX_HEADER_LINE else None
            if segments is None:
                break
            for kind, start, end, value in segments:
                text = line[start:end].rstrip(" \t|·•,;–—-")
                end = start + len(text)
                damage.append(
                    Damage("credit" if kind == "credit" else "header", pos + start, pos + end, _SEGMENT_NOTES[kind])
                )
                if value:
                    header.setdefault(kind, value)
            body_start = newline + 1
        pos = newline + 1
    if damage:
        # the body starts at its first non-blank line
        while body_start < len(original):
            newline = original.find("\n", body_start)
            if newline < 0 or original[body_start:newline].strip():
                break
            body_start = newline + 1
        body_start = min(body_start, len(original))
    return header, body_start, damage


# --------------------------------------------------------------------------------------------
# glued words

# candidates are rare events: a case change inside a word, a stop touching a capitalised word,
# a quotation mark touching a word; each is then checked in Python
# (each pattern starts with its rarest character so the regex engine can skip ahead quickly)
_CASE_GLUE = re.compile(r"[A-Z](?<=[a-z][A-Z])(?=[a-z])")
_STOP_GLUE = re.compile(r"[.!?](?<=[a-z0-9)%][.!?])(?=[A-Z][a-z])")
_QUOTE_GLUE = re.compile(r'["“”](?<=[^\W_]["“”]|[.,;:!?]["“”])(?=[^\W_])')
_PROTECTED = re.compile(
    r"://|\bwww\.|@|(?:^|[^\w])#\w"
    r"|\w\.(?:com|org|net|gov|edu|mil|int|io|co|uk|us|ru|de|fr|eu|info|biz|tv|me|ly)\b"
)
# a run of lowercase letters that is a whole word or one part of a hyphenated word: not part of
# a longer word, a name with an apostrophe, a path, a handle or an abbreviation
_LOWER_TOKEN = re.compile(r"(?<![\w'’.@#/\\])[a-z]{4,40}(?![\w'’@/\\])")
# the same for a capitalised word with a lowercase word glued on ("Trumpsupporters")
_CAPITAL_TOKEN = re.compile(r"(?<![\w'’.@#/\\])[A-Z][a-z]{4,40}(?![\w'’@/\\])")
_MAX_SHORT_TAIL = 3  # a glued-on lowercase word this short must be a common word ("is", not "ian")
_MIN_PART = 2  # letters in each half of a lowercase split
# each half of a lowercase split must be at least this frequent (zipf 3: once per million words);
# rarer "words" are mostly abbreviations and fragments ("ina", "tha", "ons")
_MIN_PART_FREQUENCY = 1e-6
# wordfreq's list is read off the web, so the commonest glues are in it ("thatthe", "tothe"):
# a listed token is split too when the two words are this many times likelier, side by side,
# than the token is as one word (glues score 500 to 100,000; "toon" 204, "thereto" 65, "beget" 48)
_GLUE_OVER_WORD = 500.0
_MAX_PAIR_FREQUENCY = 3e-3  # above any two words side by side ("the" is 0.05): a word likelier is no glue
_TOKEN_LIMIT = 300  # how far to look for the ends of a whitespace-delimited token


def _token_bounds(text: str, p: int) -> tuple[int, int]:
    """The whitespace-delimited token around offset ``p`` (looking at most _TOKEN_LIMIT away)."""
    start, low = p, max(0, p - _TOKEN_LIMIT)
    while start > low and not text[start - 1].isspace():
        start -= 1
    end, high = p, min(len(text), p + _TOKEN_LIMIT)
    while end < high and not text[end].isspace():
        end += 1
    return start, end


def _protected(text: str, p: int) -> bool:
    """True when offset ``p`` is inside a URL, e-mail address, @handle or #hashtag."""
    start, end = _token_bounds(text, p)
    return _PROTECTED.search(text, start, end) is not None


def _letters_back(text: str, p: int, limit: int = 40) -> int:
    """Start of the run of ASCII letters ending at ``p``."""
    start, low = p, max(0, p - limit)
    while start > low and ("a" <= text[start - 1] <= "z" or "A" <= text[start - 1] <= "Z"):
        start -= 1
    return start


def _word_back(text: str, p: int, limit: int = 40) -> int:
    """Start of the word (letters, digits, inner dots and apostrophes) ending at ``p``."""
    start, low = p, max(0, p - limit)
    while start > low and (text[start - 1].isalnum() or text[start - 1] in ".'’-"):
        start -= 1
    return start


def _word_forward(text: str, p: int, limit: int = 40) -> int:
    """End of the run of letters and digits starting at ``p``."""
    end, high = p, min(len(text), p + limit)
    while end < high and text[end].isalnum():
        end += 1
    return end


def _case_glue(text: str, cap: int) -> Damage | None:
    """'thatAt': a common lowercase word glued to a capitalised word at offset ``cap``."""
    start = _letters_back(text, cap)
    prefix = text[start:cap]
    if len(prefix) < 2 or not prefix.islower() or prefix not in common_words():
        return None  # McDonald, iPhone, eBay, JavaScript, PolitiFact, ...
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_.'’@#/\\"):
        return None  # part of a longer word, an identifier, a handle or a path
    end = cap + 1
    while end < len(text) and "a" <= text[end] <= "z":
        end += 1
    if end < len(text) and (text[end].isupper() or text[end].isdigit() or text[end] == "_"):
        return None  # more humps ("getElementById"), an identifier rather than two words
    if text[start:end] in _known_mixed_case() or _protected(text, cap):
        return None
    return Damage("glued", start, end, "lowercase word glued to a capitalised word")


def _lower_glue(text: str, start: int, end: int) -> tuple[int, Damage] | None:
    """'intohigh': two frequent lowercase words glued, where a dropped link was between them.

    Only a token that is no English word, or a listed one far rarer than its two halves side
    by side, is split, at the cut whose halves are the likeliest pair of frequent words;
    compounds of a prefix or suffix ("undertaxed", "yearslong") are not. Returns where to
    insert the space.
    """
    lexicon = _lexicon()
    word = text[start:end]
    as_word = lexicon.get(word, 0.0)
    if as_word * _GLUE_OVER_WORD >= _MAX_PAIR_FREQUENCY:
        return None
    prefixes, suffixes = _glue_affixes()
    best, cut = 0.0, 0
    for i in range(_MIN_PART, len(word) - _MIN_PART + 1):
        head, tail = word[:i], word[i:]
        if head in prefixes or tail in suffixes:
            continue
        f_head, f_tail = lexicon.get(head, 0.0), lexicon.get(tail, 0.0)
        if min(f_head, f_tail) >= _MIN_PART_FREQUENCY and f_head * f_tail > best:
            best, cut = f_head * f_tail, i
    if not cut or best < as_word * _GLUE_OVER_WORD or _protected(text, start):
        return None
    return start + cut, Damage("glued", start, end, "two lowercase words glued together")


_ALNUM_RUN = re.compile(r"[^\W_]+")


class _ArticleWords:
    """How often each whole word occurs in an article, everywhere and inside sentences (after
    another word and a space, where a capital means a name, not a sentence start). Counted in
    one pass on first use, so articles without a candidate pay nothing and the check stays linear."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """(everywhere, inside sentences)."""
        text, everywhere, inside = self.text, {}, {}
        for m in _ALNUM_RUN.finditer(text):
            word, i = m.group(), m.start()
            everywhere[word] = everywhere.get(word, 0) + 1
            if i >= 2 and text[i - 1] == " " and (text[i - 2].isalnum() or text[i - 2] in ",;:)"):
                inside[word] = inside.get(word, 0) + 1
        return everywhere, inside


def _capital_glue(text: str, start: int, end: int, words: _ArticleWords) -> tuple[int, Damage] | None:
    """'Trumpsupporters': a capitalised word and a lowercase one glued, where a link was dropped.

    A lexicon cannot tell such glue from a rare name ("Gutin" is not "Gut in"), so the evidence
    is the article's own: the capitalised half occurs on its own elsewhere in the text, inside a
    sentence unless it is a common word capitalised by a sentence start ("The"); the token
    itself does not occur twice (a name is repeated, a glue is not); and the lowercase half is a
    frequent word, a common one if short. Returns where to insert the space.
    """
    word = text[start:end]
    lexicon = _lexicon()
    if word.lower() in lexicon:
        return None
    prefixes, suffixes = _glue_affixes()
    best, cut = 0.0, 0
    for i in range(_MIN_PART, len(word) - _MIN_PART + 1):
        head, tail = word[:i], word[i:]
        f_tail = lexicon.get(tail, 0.0)
        if f_tail < _MIN_PART_FREQUENCY or (len(tail) <= _MAX_SHORT_TAIL and tail not in common_words()):
            continue
        if head.lower() in prefixes or tail in suffixes:
            continue
        everywhere, inside_sentences = words.counts
        if not (everywhere if head.lower() in common_words() else inside_sentences).get(head):
            continue
        # a name is no word, so its frequency only orders the candidates; a floor keeps it in
        score = f_tail * max(lexicon.get(head.lower(), 0.0), _MIN_PART_FREQUENCY / 10)
        if score > best:
            best, cut = score, i
    if not cut or words.counts[0].get(word, 0) > 1 or _protected(text, start):
        return None
    return start + cut, Damage("glued", start, end, "capitalised word glued to a lowercase word")


def _stop_glue(text: str, stop: int) -> Damage | None:
    """'said.The': a sentence end glued to the next sentence at the stop at offset ``stop``."""
    if _protected(text, stop):
        return None
    return Damage(
        "glued", _word_back(text, stop), _word_forward(text, stop + 1), "sentence end glued to the next sentence"
    )


class _StraightQuotes:
    """Parity of straight double quotes within a line, to tell opening from closing ones."""

    def __init__(self, text: str) -> None:
        self.quotes = [m.start() for m in re.finditer('"', text)]
        self.newlines = [m.start() for m in re.finditer("\n", text)]

    def is_opening(self, p: int) -> bool:
        """True when an even number of straight quotes precede offset ``p`` on its line."""
        k = bisect_right(self.newlines, p - 1)
        line_start = self.newlines[k - 1] + 1 if k else 0
        before = bisect_left(self.quotes, p) - bisect_left(self.quotes, line_start)
        return before % 2 == 0


def _quote_glue(text: str, q: int, quotes: _StraightQuotes | None) -> tuple[int, Damage] | None:
    """'Secretary"The' / 'work,”the': a quotation mark touching words on both sides.

    Returns where to insert the space (before an opening mark, after a closing one).
    """
    mark = text[q]
    opening = mark == "“" or (mark == '"' and quotes is not None and quotes.is_opening(q))
    if _protected(text, q):
        return None
    before = q
    while before > 0 and q - before < 3 and text[before - 1] in ".,;:!?":
        before -= 1
    damage = Damage(
        "glued",
        _word_back(text, before),
        _word_forward(text, q + 1),
        "word glued to an opening quotation mark" if opening else "closing quotation mark glued to the next word",
    )
    return (q if opening else q + 1), damage


def find_glued(original: str, start: int = 0) -> tuple[list[int], list[Damage]]:
    """Glued word boundaries at or after ``start``: (sorted insertion offsets, damage)."""
    found: dict[int, Damage] = {}
    for m in _CASE_GLUE.finditer(original, start):
        if (d := _case_glue(original, m.start())) and d.start >= start:
            found[m.start()] = d
    for m in _STOP_GLUE.finditer(original, start):
        if d := _stop_glue(original, m.start()):
            found[m.end()] = d
    quotes: _StraightQuotes | None = None
    for m in _QUOTE_GLUE.finditer(original, start):
        if m.group() == '"' and quotes is None:
            quotes = _StraightQuotes(original)
        if (hit := _quote_glue(original, m.start(), quotes)) and hit[0] > start:
            found.setdefault(hit[0], hit[1])
    for m in _LOWER_TOKEN.finditer(original, start):
        if hit := _lower_glue(original, m.start(), m.end()):
            found.setdefault(hit[0], hit[1])
    words = _ArticleWords(original)
    for m in _CAPITAL_TOKEN.finditer(original, start):
        if hit := _capital_glue(original, m.start(), m.end(), words):
            found.setdefault(hit[0], hit[1])
    offsets = sorted(found)
    return offsets, [found[o] for o in offsets]


# --------------------------------------------------------------------------------------------
# holes


@lru_cache(maxsize=1)
def _hole_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    words = _hole_words()
    after = r"""(?=[\s"”’')\]]|$)"""  # punctuation that ends a word
    before = r"""[\s"“‘(\[]"""  # what may precede a whole word

    def preceded_by(group: str, punct: str) -> str:
        # Python look-behinds need a fixed width: one per word length
        by_length: dict[int, list[str]] = {}
        for word in sorted(words[group]):
            by_length.setdefault(len(word), []).append(re.escape(word))
        return "|".join(f"(?<={before}(?:{'|'.join(ws)}){punct})" for ws in by_length.values())

    word_end = re.compile(
        rf"[.,;:!?]{after}(?:{preceded_by('no_end', '[.,;:!?]')})"
        rf"|\.(?!\.){after}(?:{preceded_by('no_stop', '[.]')})"
    )
    # "by ." but not a spaced ellipsis "Trump . . . exists" nor a decimal " .5"
    space_before = re.compile(rf"[,;.](?<=[ \t][,;.])(?![.\d]| \.){after}")
    gap = re.compile(r"  [ \t]*(?=\S)")
    return word_end, space_before, gap


def _gap_is_hole(text: str, start: int, end: int, words: dict[str, frozenset[str]]) -> bool:
    """A run of spaces between a word needing an object and one that cannot begin it."""
    word_start = _letters_back(text, start, limit=12)
    if text[word_start:start] not in words["before_gap"]:
        return False
    if word_start > 0 and not text[word_start - 1].isspace() and text[word_start - 1] not in "\"“‘(":
        return False
    if text[end] in ",.;:!?)":
        return not text.startswith("...", end)
    return text[end : _word_forward(text, end, limit=12)] in words["after_gap"]


def find_holes(original: str, start: int = 0) -> list[Damage]:
    """Likely holes left by dropped link text (flags only), at or after ``start``.

    Three signs, all conservative: a space before a comma or full stop ("a report by ."),
    an article right before punctuation ("according to the."), and a run of spaces inside a
    line between a word that needs an object and one that cannot begin it ("told the  that").
    An ellipsis is not a sign: scraped prose uses it on purpose.
    """
    word_end, space_before, gap = _hole_patterns()
    words = _hole_words()
    holes = []
    for m in space_before.finditer(original, start):
        space = m.start()
        while space > start and original[space - 1] in " \t":
            space -= 1
        if space > 0 and (original[space - 1].isalnum()) and not _protected(original, m.start()):
            holes.append(Damage("hole", space, m.end(), "space before punctuation: dropped words?"))
    for m in word_end.finditer(original, start):
        word = original[_letters_back(original, m.start(), limit=8) : m.start()]
        holes.append(Damage("hole", m.start() - len(word), m.end(), f"{word!r} before punctuation: dropped words?"))
    for m in gap.finditer(original, start):
        if m.start() > 0 and original[m.start() - 1].isalpha() and _gap_is_hole(original, m.start(), m.end(), words):
            holes.append(Damage("hole", m.start(), m.end(), "run of spaces after a function word: dropped words?"))
    holes.sort(key=lambda d: (d.start, d.end))
    return holes


# --------------------------------------------------------------------------------------------


def _blank(original: str, ranges: list[tuple[int, int]]) -> str:
    """``original`` with each range replaced by spaces of the same length."""
    if not ranges:
        return original
    parts, pos = [], 0
    for start, end in ranges:
        parts.append(original[pos:start])
        parts.append(" " * (end - start))
        pos = end
    parts.append(original[pos:])
    return "".join(parts)


def _insert_spaces(text: str, offsets: list[int]) -> str:
    if not offsets:
        return text
    parts, pos = [], 0
    for offset in offsets:
        parts.append(text[pos:offset])
        pos = offset
    parts.append(text[pos:])
    return " ".join(parts)


def clean(original: str) -> Cleaned:
    """Find the damage in a scraped article and build the working text for the NLP stages."""
    header, body_start, header_damage = parse_header(original)
    blanked = _header_line_ranges(original, header_damage)
    inserted, glued = find_glued(original, body_start)
    holes = find_holes(original, body_start)
    working = _insert_spaces(_blank(original, blanked), inserted)
    damage = sorted([*header_damage, *glued, *holes], key=lambda d: (d.start, d.end, d.kind))
    return Cleaned(
        original=original,
        text=working,
        inserted=tuple(inserted),
        damage=tuple(damage),
        header=header,
        body_start=body_start,
        blanked=tuple(blanked),
    )


def _header_line_ranges(original: str, header_damage: list[Damage]) -> list[tuple[int, int]]:
    """The header lines to blank: from the first to the last metadata piece of each line."""
    ranges: list[tuple[int, int]] = []
    for d in header_damage:
        if ranges and "\n" not in original[ranges[-1][1] : d.start]:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], d.end))
        else:
            ranges.append((d.start, d.end))
    return ranges


__all__ = ["Cleaned", "clean", "common_words", "find_glued", "find_holes", "parse_header"]
