"""The fast pipeline's shortcuts (issue 3, speed of the fast model) against plain reference
computations of the same thing: table lookups of the CRF weights against a search of the
packed keys, batched Viterbi and forward-backward against brute force, the cached word-form
attributes against the token-by-token path, and the binary-searched cue window against a walk
over the tokens."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from quotegraph.extractors.quotes import find_quotes
from quotegraph.models.crf import _COMPACT_LIMIT, LinearChain, marginals, viterbi
from quotegraph.models.features import (
    PAD,
    RADIX,
    ROW_ATTRIBUTES,
    Rows,
    Template,
    Vocabulary,
    cue_window,
    featurize,
    template_keys,
    tokenize,
)

TEXT = (
    'Sen. Warren said: "We will win." Trump told reporters — twice — that it was over.\n\n'
    "Critics, many of whom say the well-known plan -- a mess -- failed, disagreed. 'Never,' he said.\n"
    "“It is done,” the U.S. official added."
)


# -- CRF weight lookups -------------------------------------------------------------------------


def _reference_scores(chain: LinearChain, attrs: dict[str, np.ndarray], rows: Rows | None, n: int) -> np.ndarray:
    """Sum of the weights of every template's key at every position, found by a dict lookup
    of the packed key, summed in template order (as the CRF does)."""
    size = len(rows.token) if rows is not None else n
    scores = None
    for t, template in enumerate(chain.templates):
        table = {int(k): chain.weights[t][i].astype(np.float64) for i, k in enumerate(chain.keys[t])}
        zero = np.zeros(len(chain.labels))
        part = np.array([table.get(int(k), zero) if k else zero for k in template_keys(template, attrs, rows, n)])
        part = part.reshape(size, len(chain.labels))
        scores = part if scores is None else scores + part
    assert scores is not None
    return scores


def _random_chain(rng: np.random.Generator, values: dict[str, int]) -> LinearChain:
    """Templates of one to three parts over the attributes in ``values`` (attribute -> how many
    values it takes), one of them with so many keys that it is hashed, one without keys."""
    names = list(values)
    templates = [Template("big", (("w", -1), ("w", 0)))]
    for k in range(12):
        parts = tuple((names[(k + j) % len(names)], int(rng.integers(-2, 3)) if names[(k + j) % len(names)] not in ROW_ATTRIBUTES else 0)
                      for j in range(1 + k % 3))
        templates.append(Template(f"t{k}", parts))
    templates.append(Template("empty", (("w", 0),)))
    keys, weights = [], []
    for template in templates:
        if template.name == "empty":
            count = 0
        elif template.name == "big":
            count = 3000
        else:
            possible = int(np.prod([values[attr] - 2 for attr, _ in template.parts]))
            count = min(possible, int(rng.integers(1, 60)))
        packed = set()
        while len(packed) < count:
            key, scale = 0, 1
            for attr, _ in template.parts:
                key += int(rng.integers(2, values[attr])) * scale
                scale *= RADIX
            packed.add(key)
        ordered = np.array(sorted(packed), dtype=np.int64)
        keys.append(ordered)
        weights.append(rng.normal(size=(len(ordered), 3)).astype(np.float32))
    return LinearChain(("A", "B", "C"), rng.normal(size=(3, 3)), tuple(templates), keys, weights)


def test_weight_tables_find_what_a_search_of_the_keys_finds() -> None:
    rng = np.random.default_rng(7)
    values = {"w": 3000, "sh": 9, "q": 6, "side": 5}  # w-1|w has too many value pairs for a table
    chain = _random_chain(rng, values)
    assert 3000 * 3000 > _COMPACT_LIMIT and chain.compact[0] is None and chain.hashed[0] is not None
    assert all(c is not None for c in chain.compact[1:-1])  # the others are tables
    assert chain.hashed[-1] is None and chain.compact[-1] is None  # no keys at all
    n = 400
    # values include ABSENT (0), padding (1) and values no key uses (beyond the key range)
    attrs = {name: rng.integers(0, values[name] + 5, size=n + 2 * PAD).astype(np.int64) for name in ("w", "sh", "q")}
    # ... and word pairs that are keys of the hashed template, so that lookups find them
    pairs = rng.choice(chain.keys[0], size=n // 4)
    attrs["w"][PAD : PAD + n // 2 : 2] = pairs % RADIX
    attrs["w"][PAD + 1 : PAD + n // 2 : 2] = pairs // RADIX
    rows = Rows(
        token=rng.integers(0, n, size=700).astype(np.int64),
        cue=np.zeros(700, dtype=np.int64),
        starts=np.array([0], dtype=np.int64),
        lengths=np.array([700], dtype=np.int64),
        windows=[(0, n)],
        attrs={"side": rng.integers(0, 8, size=700).astype(np.int64)},
    )
    assert np.array_equal(chain.state_scores(attrs, 0, rows), _reference_scores(chain, attrs, rows, 0))
    token_only = LinearChain(chain.labels, chain.transitions,
                             tuple(t for t in chain.templates if all(a not in ROW_ATTRIBUTES for a, _ in t.parts)),
                             [k for k, t in zip(chain.keys, chain.templates) if all(a not in ROW_ATTRIBUTES for a, _ in t.parts)],
                             [w for w, t in zip(chain.weights, chain.templates) if all(a not in ROW_ATTRIBUTES for a, _ in t.parts)])
    assert np.array_equal(token_only.state_scores(attrs, n), _reference_scores(token_only, attrs, None, n))
    # a part of the templates, on top of precomputed scores
    base = rng.normal(size=(700, 3))
    only = range(3, 9)
    expected = base.copy()
    expected += LinearChain(chain.labels, chain.transitions, chain.templates[3:9], chain.keys[3:9], chain.weights[3:9]).state_scores(attrs, 0, rows)
    assert np.allclose(chain.state_scores(attrs, 0, rows, only=only, base=base.copy()), expected)


# -- decoding -------------------------------------------------------------------------------------


def _brute_force(scores: np.ndarray, transitions: np.ndarray) -> tuple[list[int], np.ndarray]:
    length, labels = scores.shape
    best, best_score = None, -np.inf
    marginal = np.zeros_like(scores)
    total = 0.0
    for path in itertools.product(range(labels), repeat=length):
        s = sum(scores[t, path[t]] for t in range(length)) + sum(transitions[path[t - 1], path[t]] for t in range(1, length))
        if s > best_score:
            best, best_score = list(path), s
        weight = np.exp(s)
        total += weight
        for t, label in enumerate(path):
            marginal[t, label] += weight
    assert best is not None
    return best, marginal / total


@pytest.mark.parametrize("labels", [3, 4])
def test_batched_decoding_matches_brute_force(labels: int) -> None:
    rng = np.random.default_rng(labels)
    lengths = np.array([5, 1, 3, 6, 2, 6, 4], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    scores = rng.normal(size=(int(lengths.sum()), labels)) * 2
    transitions = rng.normal(size=(labels, labels))
    best = viterbi(scores, starts, lengths, transitions)
    marginal = marginals(scores, starts, lengths, transitions)
    for start, length in zip(starts, lengths):
        path, expected = _brute_force(scores[start : start + length], transitions)
        assert best[start : start + length].tolist() == path
        assert np.allclose(marginal[start : start + length], expected)


# -- features ---------------------------------------------------------------------------------------


def test_cached_word_forms_give_the_token_by_token_attributes() -> None:
    tt = tokenize(TEXT)
    growing = Vocabulary(frozen=False)
    expected = featurize(tt, growing)  # token by token: every string gets an id
    frozen = Vocabulary(growing.strings)  # the same ids, frozen: attributes come from the form cache
    for _ in range(2):  # a cold cache, then a warm one
        got = featurize(tokenize(TEXT), frozen)
        assert got.attrs.keys() == expected.attrs.keys()
        for name in expected.attrs:
            assert np.array_equal(got.attrs[name], expected.attrs[name]), name
        for name in ("comma_cum", "mark_cum", "that_cum"):
            assert np.array_equal(getattr(got, name), getattr(expected, name)), name
    # unknown words are ABSENT; a dash between words and one inside a word differ
    small = Vocabulary(["—", "-", "said"])
    article = featurize(tokenize("Smith said — well-known"), small)
    w = article.attrs["w"][PAD:-PAD].tolist()
    assert w == [0, small.index["said"], small.index["—"], 0, small.index["-"], 0]


def _walked_window(tt, first: int, last: int) -> tuple[int, int]:
    """cue_window as a walk over the tokens (how it was first written)."""
    para = tt.para_of[first]
    s_first = max(0, tt.sent_of[first] - 3)
    s_last = min(len(tt.sents) - 1, tt.sent_of[last] + 5)
    lo, hi = tt.sents[s_first][0], tt.sents[s_last][1]
    while lo < first and tt.para_of[lo] != para:
        lo += 1
    while hi > last + 1 and tt.para_of[hi - 1] != tt.para_of[last]:
        hi -= 1
    return lo, hi


def test_cue_window_by_binary_search_matches_a_walk() -> None:
    rng = random.Random(11)
    texts = [TEXT] + ["".join(rng.choice(["Ab", " said", ".", " ", "\n", "\n\n", '"', "Mr."]) for _ in range(60)) for _ in range(40)]
    for text in texts:
        tt = tokenize(text)
        for first in range(len(tt)):
            for last in (first, min(len(tt) - 1, first + 2)):
                assert cue_window(tt, first, last) == _walked_window(tt, first, last)


def test_lines_and_sentences_of_the_tokenizer() -> None:
    tt = tokenize("One. Two\n  three  \n\nFour! \n five")
    assert tt.newline_before == [tt.words[i] in ("three", "Four", "five") for i in range(len(tt))]
    assert [tt.words[a] for a, _ in tt.sents] == ["One", "Two", "three", "Four", "five"]
    assert tt.para_of == [0, 0, 0, 1, 2, 2, 3]
    assert tokenize("").sents == [] and tokenize("   \n ").newline_before == []


def test_doubled_quotation_marks() -> None:
    text = "He said ''we will win'' and ``so it goes'' today."
    found = [(text[q.inner_start : q.inner_end]) for q in find_quotes(text)]
    assert found == ["we will win", "so it goes"]
