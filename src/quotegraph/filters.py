"""Which articles are worth extracting: English, news-like, and not seen before.

Each check returns a *reason* when it rejects an article, so a batch can count its skips by
reason instead of dropping them silently:

- ``language``: declared non-English, or too few English function words
  (``data/english_stopwords.txt``). A stopword ratio needs no language-id model and is plenty to
  tell English news from other languages; text that mixes languages is judged by its majority.
- ``too-short``: fewer than ``min_words`` words (teasers, captions, index pages).
- ``no-sentences``: fewer than ``min_sentences`` sentence ends (menus, lists, tables of links).
- ``duplicate-url``: a URL already seen in this batch (ignoring the fragment and a trailing slash).
- ``duplicate-text``: the same text, after normalising case, punctuation and whitespace, as an
  earlier article (syndicated copies, the same page crawled twice under two URLs).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from itertools import islice
from typing import NamedTuple

from quotegraph.model import Article

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s|$)")
_NORMAL_TOKEN = re.compile(r"\w+")
SKIP_REASONS = ("language", "too-short", "no-sentences", "duplicate-url", "duplicate-text")


@lru_cache(maxsize=1)
def english_stopwords() -> frozenset[str]:
    text = resources.files("quotegraph").joinpath("data/english_stopwords.txt").read_text(encoding="utf-8")
    return frozenset(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))


def english_ratio(text: str, sample_words: int = 2000) -> float:
    """Share of the (first ``sample_words``) words that are English function words."""
    words = [m.group(0) for m in islice(_WORD.finditer(text), sample_words)]
    return _stopword_share(words)


def _stopword_share(words: list[str]) -> float:
    if not words:
        return 0.0
    return sum(map(english_stopwords().__contains__, map(str.lower, words))) / len(words)


@dataclass(frozen=True)
class FilterOptions:
    min_words: int = 50
    min_sentences: int = 3
    min_english_ratio: float = 0.2  # English news sits near 0.4; other languages far below 0.1


def rejection(article: Article, options: FilterOptions = FilterOptions()) -> str | None:
    """Why ``article`` is not an English news-like text, or None when it is."""
    declared = (article.language or "").strip().lower()
    if declared and not declared.startswith("en"):
        return "language"
    text = article.text
    words = _WORD.findall(text)  # the pattern has no group: whole matches, as finditer gives them
    if len(words) < options.min_words:
        return "too-short"
    if len(_SENTENCE_END.findall(text)) < options.min_sentences:
        return "no-sentences"
    if _stopword_share(words[:2000]) < options.min_english_ratio:  # english_ratio's sample, words already found
        return "language"
    return None


def normal_url(url: str) -> str:
    """A URL compared for duplicates: no fragment, no trailing slash, lower-case scheme and host."""
    url = url.strip().split("#", 1)[0].rstrip("/")
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


def text_fingerprint(text: str) -> bytes:
    """16 bytes that are equal for texts differing only in case, punctuation and spacing."""
    normal = " ".join(_NORMAL_TOKEN.findall(text.casefold()))
    return hashlib.blake2b(normal.encode("utf-8"), digest_size=16).digest()


def url_key(article: Article) -> bytes | None:
    """16 bytes equal for URLs that :func:`normal_url` makes equal; None without a URL."""
    return hashlib.blake2b(normal_url(article.url).encode("utf-8"), digest_size=16).digest() if article.url else None


class Screening(NamedTuple):
    """What a batch needs to know of one article before extracting it, all computable without
    the rest of the batch (so a worker can do it): why it is rejected, and its dedup keys.
    A tuple: thousands a second cross a process pipe."""

    rejection: str | None
    url_key: bytes | None
    text_key: bytes


def screen(article: Article, options: FilterOptions = FilterOptions()) -> Screening:
    """:func:`rejection` and the dedup keys; the keys are only looked up when it is not rejected."""
    reason = rejection(article, options)
    if reason:
        return Screening(reason, None, b"")
    return Screening(None, url_key(article), text_fingerprint(article.text))


@dataclass
class Deduper:
    """Remembers what a batch has seen: 16-byte digests, so a million articles cost tens of MB."""

    urls: set[bytes] = field(default_factory=set)
    texts: set[bytes] = field(default_factory=set)

    def check(self, article: Article) -> str | None:
        """``duplicate-url`` or ``duplicate-text`` when seen before; else remember it and return None."""
        return self.check_keys(url_key(article), text_fingerprint(article.text))

    def check_keys(self, url_key: bytes | None, text_key: bytes) -> str | None:
        """:meth:`check` on keys computed elsewhere (a batch worker computes them, the parent only
        looks them up, in input order)."""
        if url_key is not None and url_key in self.urls:
            return "duplicate-url"
        if text_key in self.texts:
            return "duplicate-text"
        if url_key is not None:
            self.urls.add(url_key)
        self.texts.add(text_key)
        return None
