"""When two reported quotes are the same statement.

Wire copy and re-quoting give the same words in many articles with small differences: curly or
straight quotation marks, a dropped word, a truncated end, a changed word. Those merge. Two
*different* quotes must never merge, so the near-duplicate test is strict: long enough quotes
only, nearly all of the shorter one matched word for word, and no difference in a negation or a
number ("will" / "will not", "5" / "50" are different statements, however similar the rest).

Exact duplicates are found by :func:`norm_hash` of the :func:`canonical` form. Near-duplicate
candidates are found by winnowed word-trigram fingerprints (:func:`fingerprints`): any two
quotes sharing a run of at least ``WINDOW + SHINGLE - 1`` words share a fingerprint, so a
truncated quote finds its full version; :func:`near_duplicate` then decides.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

SHINGLE = 3  # words per shingle
WINDOW = 4  # winnowing window: shared runs of >= 6 words always share a fingerprint
MIN_NEAR_WORDS = 6  # shorter quotes merge only when exactly equal
MAX_CHANGED_SHARE = 0.12  # at most this share of the shorter quote's words may differ

NEGATIONS = frozenset(
    "not no never nothing none nobody neither nor without cannot cant won't wont don't dont "
    "isn't isnt aren't arent wasn't wasnt weren't werent n't didn't didnt doesn't doesnt "
    "shouldn't shouldnt wouldn't wouldnt couldn't couldnt haven't havent hasn't hasnt".split()
)
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'", "´": "'", "`": "'",
                         "–": "-", "—": "-", "…": " "})
_WORD = re.compile(r"[\w']+")


def canonical(text: str) -> str:
    """Lower-case words only: marks, dashes, ellipses, spacing and accents do not matter."""
    text = unicodedata.normalize("NFKD", text.translate(_QUOTES))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(w.strip("'") for w in _WORD.findall(text) if w.strip("'"))


def _hash64(data: str) -> int:
    """A stable signed 64-bit hash (fits BIGINT in both backends)."""
    return int.from_bytes(hashlib.blake2b(data.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


def norm_hash(text: str) -> int:
    """Hash of the canonical form: equal for exact duplicates."""
    return _hash64(canonical(text))


def text_hash(text: str) -> int:
    """Hash of the whitespace-normalised text: the key embeddings are cached under."""
    return _hash64(" ".join(text.split()))


def fingerprints(canon: str) -> set[int]:
    """Winnowed hashes of word trigrams: a small set that any long shared run hits."""
    words = canon.split()
    if len(words) < SHINGLE:
        return {_hash64(canon)} if canon else set()
    shingles = [_hash64(" ".join(words[i : i + SHINGLE])) for i in range(len(words) - SHINGLE + 1)]
    if len(shingles) <= WINDOW:
        return {min(shingles)}
    return {min(shingles[i : i + WINDOW]) for i in range(len(shingles) - WINDOW + 1)}


@dataclass(frozen=True)
class Match:
    """The verdict on two quotes, with the reason kept as the merge's explanation."""

    same: bool
    reason: str


def _is_number(word: str) -> bool:
    return any(c.isdigit() for c in word)


def near_duplicate(a: str, b: str) -> Match:
    """Whether canonical texts ``a`` and ``b`` are the same quote (exact, truncated or lightly edited)."""
    if a == b:
        return Match(True, "exact")
    wa, wb = a.split(), b.split()
    short, long_ = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    if len(short) < MIN_NEAR_WORDS:
        return Match(False, f"too short for a near match ({len(short)} words)")
    matcher = SequenceMatcher(None, short, long_, autojunk=False)
    blocks = [blk for blk in matcher.get_matching_blocks() if blk.size]
    matched = sum(blk.size for blk in blocks)
    changed_short = len(short) - matched
    if changed_short > max(1, int(MAX_CHANGED_SHARE * len(short))):
        return Match(False, f"{changed_short} of {len(short)} words differ")
    # The part of the longer quote outside the matched stretch may only be a truncation at its
    # ends; inside the stretch, as many words may differ as in the shorter one (plus one).
    first, last = blocks[0], blocks[-1]
    inner_long = (last.b + last.size - first.b) - matched
    if inner_long > changed_short + 1:
        return Match(False, f"{inner_long} words inserted inside the quote")
    differing: set[str] = set()
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            differing.update(short[i1:i2])
            if j1 >= first.b and j2 <= last.b + last.size:
                differing.update(long_[j1:j2])
    if differing & NEGATIONS:
        return Match(False, f"negation differs ({', '.join(sorted(differing & NEGATIONS))})")
    if any(_is_number(w) for w in differing):
        return Match(False, "a number differs")
    if len(short) < len(long_) and inner_long <= changed_short and changed_short == 0:
        return Match(True, f"truncated: {len(short)} of {len(long_)} words")
    return Match(True, f"near-duplicate: {max(changed_short, inner_long)} word(s) differ")


__all__ = ["Match", "canonical", "fingerprints", "near_duplicate", "norm_hash", "text_hash"]
