"""A linear-chain CRF evaluated with numpy: weights trained by CRFsuite, scored in batches.

CRFsuite trains well but tags one sequence at a time from feature strings; at 25 cues per
article, each tagged over its paragraph, that costs more than the whole article budget of the
fast model. Here the trained weights are exported into one table per feature template, so
scoring a whole article is one vectorised lookup per template, and all of an article's
sequences are decoded together (Viterbi and forward-backward over a padded batch).

CRFsuite's first-order CRF has state features (attribute, label) and label-to-label transition
weights, and no start or end weights; the score of a labelling is the sum of both, exactly as
computed here, so labels and marginals match CRFsuite's (checked in tests/test_fast_model.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from quotegraph.models.features import (
    PAD,
    ROW_ATTRIBUTES,
    Rows,
    Template,
    template_keys,
)

# a one-part template whose values stay below this is looked up in a dense table
_DENSE_LIMIT = 1 << 18


@dataclass
class LinearChain:
    """One exported CRF: labels, transitions and a weight table per template."""

    labels: tuple[str, ...]
    transitions: np.ndarray  # (L, L) float64, from -> to
    templates: tuple[Template, ...]
    keys: list[np.ndarray]  # per template: sorted int64 keys that carry weights
    weights: list[np.ndarray]  # per template: (len(keys), L) float32
    # built from the above: all weight rows stacked (last row zeros) and per-template lookups
    stacked: np.ndarray = field(init=False, repr=False)
    offsets: list[int] = field(init=False, repr=False)
    dense: list[np.ndarray | None] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.offsets = []
        total = 0
        for w in self.weights:
            self.offsets.append(total)
            total += len(w)
        self.stacked = np.vstack([*self.weights, np.zeros((1, len(self.labels)), dtype=np.float32)]).astype(np.float64)
        self.dense = []
        for t, keys in enumerate(self.keys):
            table = None
            if len(self.templates[t].parts) == 1 and len(keys) and keys[-1] < _DENSE_LIMIT:
                # value -> stacked row; values beyond the table are clipped to its last cell (zero row)
                table = np.full(int(keys[-1]) + 2, total, dtype=np.int64)
                table[keys] = self.offsets[t] + np.arange(len(keys))
            self.dense.append(table)

    @classmethod
    def from_crfsuite(cls, model_path: Path, templates: tuple[Template, ...], labels: tuple[str, ...]) -> LinearChain:
        """Export a CRFsuite model whose attributes are "<template index>:<key>" strings."""
        import pycrfsuite

        tagger = pycrfsuite.Tagger()
        tagger.open(str(model_path))
        info = tagger.info()
        tagger.close()
        column = {label: i for i, label in enumerate(labels)}
        trans = np.zeros((len(labels), len(labels)), dtype=np.float64)
        for (a, b), w in info.transitions.items():
            trans[column[a], column[b]] = w
        per_template: list[dict[int, np.ndarray]] = [{} for _ in templates]
        for (attr, label), w in info.state_features.items():
            t, _, key = attr.partition(":")
            row = per_template[int(t)].setdefault(int(key), np.zeros(len(labels), dtype=np.float32))
            row[column[label]] = w
        keys, weights = [], []
        for table in per_template:
            ordered = sorted(table)
            keys.append(np.array(ordered, dtype=np.int64))
            matrix = np.zeros((len(ordered), len(labels)), dtype=np.float32)
            for i, key in enumerate(ordered):
                matrix[i] = table[key]
            weights.append(matrix)
        return cls(tuple(labels), trans, templates, keys, weights)

    # -- storage ------------------------------------------------------------------------------

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Arrays for ``np.savez``; weights stored as float16 (the model ships in the repo)."""
        out = {f"{prefix}.transitions": self.transitions.astype(np.float32)}
        for t, (k, w) in enumerate(zip(self.keys, self.weights)):
            out[f"{prefix}.{t}.keys"] = k
            out[f"{prefix}.{t}.weights"] = w.astype(np.float16)
        return out

    @classmethod
    def from_arrays(
        cls, data: dict[str, np.ndarray], prefix: str, templates: tuple[Template, ...], labels: tuple[str, ...]
    ) -> LinearChain:
        keys = [data[f"{prefix}.{t}.keys"].astype(np.int64) for t in range(len(templates))]
        weights = [data[f"{prefix}.{t}.weights"].astype(np.float32) for t in range(len(templates))]
        return cls(tuple(labels), data[f"{prefix}.transitions"].astype(np.float64), templates, keys, weights)

    # -- scoring ------------------------------------------------------------------------------

    def _rows_of(self, t: int, token_attrs: dict[str, np.ndarray], rows: Rows | None, n: int) -> np.ndarray:
        """Index into ``stacked`` of template ``t``'s weights at every position."""
        zero = len(self.stacked) - 1
        keys = self.keys[t]
        if not len(keys):
            return np.full(len(rows.token) if rows is not None else n, zero, dtype=np.int64)
        table = self.dense[t]
        if table is not None:
            ((attr, offset),) = self.templates[t].parts
            if rows is not None and attr in ROW_ATTRIBUTES:
                values = rows.attrs[attr]
            elif rows is not None:
                values = token_attrs[attr][rows.token + (PAD + offset)]
            else:
                values = token_attrs[attr][PAD + offset : PAD + offset + n]
            # ABSENT (0) is never a key, so it finds the zero row like any unknown value
            return table[np.minimum(values, len(table) - 1)]
        k = template_keys(self.templates[t], token_attrs, rows, n)
        idx = np.searchsorted(keys, k)
        np.minimum(idx, len(keys) - 1, out=idx)
        hit = (keys[idx] == k) & (k != 0)
        return np.where(hit, idx + self.offsets[t], zero)

    def state_scores(
        self,
        token_attrs: dict[str, np.ndarray],
        n: int,
        rows: Rows | None = None,
        only: range | None = None,
        base: np.ndarray | None = None,
    ) -> np.ndarray:
        """Sum of state weights per position: (n tokens or rows, L). ``only`` restricts to some
        templates; ``base`` is added (precomputed scores of the other templates)."""
        selected = only if only is not None else range(len(self.templates))
        size = len(rows.token) if rows is not None else n
        index = np.empty((len(selected), size), dtype=np.int64)
        for j, t in enumerate(selected):
            index[j] = self._rows_of(t, token_attrs, rows, n)
        # template-major gather, then a sum over the leading axis: both fast paths in numpy
        scores = np.take(self.stacked, index.ravel(), axis=0).reshape(len(selected), size, -1).sum(axis=0)
        if base is not None:
            scores += base
        return scores

    def best(self, scores: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Viterbi labels (label index per position) of the sequences [starts[i], starts[i] + lengths[i])."""
        return viterbi(scores, starts, lengths, self.transitions)

    def marginals(
        self, scores: np.ndarray, starts: np.ndarray, lengths: np.ndarray, subset: np.ndarray | None = None
    ) -> np.ndarray:
        """Label marginals (positions, L); with ``subset`` (sequence indices) only for those
        sequences, zero elsewhere."""
        if subset is None:
            return marginals(scores, starts, lengths, self.transitions)
        marginal = np.zeros(scores.shape, dtype=np.float64)
        if len(subset):
            positions = np.concatenate([np.arange(starts[i], starts[i] + lengths[i]) for i in subset])
            sub_lengths = lengths[subset]
            sub_starts = np.concatenate(([0], np.cumsum(sub_lengths)[:-1]))
            marginal[positions] = marginals(scores[positions], sub_starts, sub_lengths, self.transitions)
        return marginal


@dataclass
class _Batch:
    """Sequences laid out time-major, longest first, so that the sequences still running at
    step t are always a prefix ``[:active[t]]`` of the batch (no masks in the loops)."""

    scores: np.ndarray  # (longest, sequences, L)
    active: list[int]  # active[t]: how many sequences are longer than t
    time: np.ndarray  # time step of each input row
    slot: np.ndarray  # batch slot of each input row


def _batch(scores: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> _Batch:
    order = np.argsort(-lengths, kind="stable")
    slot_of = np.empty(len(lengths), dtype=np.int64)
    slot_of[order] = np.arange(len(lengths))
    sorted_lengths = lengths[order]
    longest = int(sorted_lengths[0])
    time = np.arange(scores.shape[0]) - np.repeat(starts, lengths)
    slot = np.repeat(slot_of, lengths)
    padded = np.zeros((longest, len(lengths), scores.shape[1]), dtype=np.float64)
    padded[time, slot] = scores
    # active[t] = number of sequences with length > t (lengths sorted descending)
    active = np.searchsorted(-sorted_lengths, -np.arange(longest), side="left").tolist()
    return _Batch(padded, active, time, slot)


def marginals(scores: np.ndarray, starts: np.ndarray, lengths: np.ndarray, transitions: np.ndarray) -> np.ndarray:
    """Forward-backward over a batch of sequences, in scaled probability space."""
    if scores.shape[0] == 0 or len(lengths) == 0:
        return np.zeros(scores.shape, dtype=np.float64)
    batch = _batch(scores, starts, lengths)
    padded, active = batch.scores, batch.active
    longest = padded.shape[0]
    # a per-position shift keeps exp() in range; it cancels out in the normalised marginals
    padded -= padded.max(axis=2, keepdims=True)
    potentials = np.exp(padded)
    trans = np.exp(transitions - transitions.max())
    alpha = np.empty_like(potentials)
    a = potentials[0] / potentials[0].sum(axis=1, keepdims=True)
    alpha[0] = a
    for t in range(1, longest):
        k = active[t]
        a = (a[:k] @ trans) * potentials[t, :k]
        a /= a.sum(axis=1, keepdims=True)
        alpha[t, :k] = a
    beta = np.ones_like(potentials)
    trans_t = trans.T
    b = beta[longest - 1, : active[longest - 1]]
    for t in range(longest - 2, -1, -1):
        k, k_next = active[t], active[t + 1]
        nb = np.ones((k, trans.shape[0]), dtype=np.float64)  # sequences ending at t start at 1
        step = (potentials[t + 1, :k_next] * b) @ trans_t
        step /= step.sum(axis=1, keepdims=True)
        nb[:k_next] = step
        b = nb
        beta[t, :k] = b
    product = alpha[batch.time, batch.slot] * beta[batch.time, batch.slot]
    product /= product.sum(axis=1, keepdims=True)
    return product


def viterbi(scores: np.ndarray, starts: np.ndarray, lengths: np.ndarray, transitions: np.ndarray) -> np.ndarray:
    """The best labelling (label index per position) of each sequence, decoded as a batch."""
    if scores.shape[0] == 0 or len(lengths) == 0:
        return np.zeros(0, dtype=np.int64)
    batch = _batch(scores, starts, lengths)
    padded, active = batch.scores, batch.active
    longest, size, labels = padded.shape
    back = np.zeros((longest, size, labels), dtype=np.int64)
    delta = padded[0].copy()
    # candidates[b, to, from]: reduce over the last, contiguous axis
    trans_t = transitions.T[None]
    for t in range(1, longest):
        k = active[t]
        candidates = delta[:k, None, :] + trans_t
        back[t, :k] = candidates.argmax(axis=2)
        delta[:k] = candidates.max(axis=2) + padded[t, :k]
    # delta now holds each sequence's score at its own last step
    best = np.zeros((longest, size), dtype=np.int64)
    current = np.zeros(size, dtype=np.int64)
    k_next = 0
    for t in range(longest - 1, -1, -1):
        k = active[t]
        if k > k_next:  # sequences whose last step is t start their backtrack here
            current[k_next:k] = delta[k_next:k].argmax(axis=1)
        best[t, :k] = current[:k]
        if t:
            current[:k] = back[t, np.arange(k), current[:k]]
        k_next = k
    return best[batch.time, batch.slot]


def save(path: Path, chains: dict[str, LinearChain], extra: dict[str, np.ndarray]) -> None:
    arrays: dict[str, np.ndarray] = dict(extra)
    for prefix, chain in chains.items():
        arrays.update(chain.arrays(prefix))
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)
