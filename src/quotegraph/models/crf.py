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
    RADIX,
    ROW_ATTRIBUTES,
    Rows,
    Template,
    template_keys,
)

# a template is looked up in a table over the values its keys use when the product of their
# counts stays below this (all but the word-pair templates: those are hashed, see _Hashed)
_COMPACT_LIMIT = 1 << 20


@dataclass
class _Compact:
    """A template as a dense table: each part's value is first coded as its rank among the
    values that part takes in the template's keys (0 for any other value, ABSENT included), and
    the codes index a table of stacked rows. Equivalent to looking the packed key up in the
    sorted keys (a key is unique in its parts), but a few gathers instead of a binary search."""

    codes: list[np.ndarray]  # per part: value -> code (last cell 0, for values beyond it)
    strides: list[int]
    table: np.ndarray  # flat code index -> stacked row (the zero row when no key)

    @classmethod
    def build(cls, keys: np.ndarray, parts: int, first_row: int, zero: int) -> _Compact | None:
        rest = keys.copy()
        values = []
        for _ in range(parts):
            values.append(rest % RADIX)
            rest //= RADIX
        uniques = [np.unique(v) for v in values]
        size = 1
        for u in uniques:
            size *= len(u) + 1
        if size > _COMPACT_LIMIT:
            return None
        codes, strides, index, stride = [], [], np.zeros(len(keys), dtype=np.int64), 1
        for v, u in zip(values, uniques):
            code = np.zeros(int(u[-1]) + 2, dtype=np.int32)  # codes stay below _COMPACT_LIMIT
            code[u] = np.arange(1, len(u) + 1)
            codes.append(code)
            strides.append(stride)
            index += code[v] * stride
            stride *= len(u) + 1
        table = np.full(size, zero, dtype=np.int64)
        table[index] = first_row + np.arange(len(keys))
        return cls(codes, strides, table)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # multiplicative hashing: 2^64 / golden ratio, odd


@dataclass
class _Hashed:
    """Packed keys in an open-addressing table (linear probing), looked up for every position
    at once: the word-pair templates, whose _Compact table would be too large. A hash and a
    gather find most keys (or their absence) at their home slot; only keys whose home slot
    holds another key probe on, a few at a time."""

    bits: int
    slot_keys: np.ndarray  # 0 marks an empty slot (0 is never a key: a part is ABSENT)
    slot_rows: np.ndarray  # stacked row of each slot's key, the zero row for an empty slot
    probes: int  # the longest probe sequence of any key
    zero: int  # the zero row

    @staticmethod
    def home(keys: np.ndarray, bits: int) -> np.ndarray:
        return ((keys.astype(np.uint64) * _GOLDEN) >> np.uint64(64 - bits)).astype(np.int64)

    @classmethod
    def build(cls, keys: np.ndarray, first_row: int, zero: int) -> _Hashed:
        bits = max(4, (4 * len(keys) - 1).bit_length())  # at most a quarter full
        mask = (1 << bits) - 1
        slot_keys = [0] * (mask + 1)
        slot_rows = [zero] * (mask + 1)
        probes = 0
        for i, (key, home) in enumerate(zip(keys.tolist(), cls.home(keys, bits).tolist())):
            p = 0
            while slot_keys[(home + p) & mask]:
                p += 1
            slot_keys[(home + p) & mask] = key
            slot_rows[(home + p) & mask] = first_row + i
            probes = max(probes, p)
        return cls(bits, np.array(slot_keys, dtype=np.int64), np.array(slot_rows, dtype=np.int64), probes, zero)

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """Stacked row of each key (the zero row for 0 and for keys not in the table)."""
        mask = len(self.slot_keys) - 1
        slot = self.home(keys, self.bits)
        rows = self.slot_rows[slot]  # right when the home slot holds the key or is empty
        found = self.slot_keys[slot]
        todo = np.flatnonzero((found != keys) & (found != 0))
        rows[todo] = self.zero
        for p in range(1, self.probes + 1):
            if not len(todo):
                break
            probe = (slot[todo] + p) & mask
            found = self.slot_keys[probe]
            hit = found == keys[todo]
            rows[todo[hit]] = self.slot_rows[probe[hit]]
            todo = todo[(found != 0) & ~hit]
        return rows


@dataclass
class _Plan:
    """The table-looked-up templates of a range set out for one batched lookup: every
    (template, part) is a row of a (parts, positions) matrix of attribute values, coded and
    summed per template with a few whole-matrix numpy calls. Part rows are ordered by slot:
    the first part of every template, then the second part of those that have one, then the
    third, so the per-template sums are two in-place additions."""

    looked: np.ndarray  # place in the range of each table-looked-up template
    searched: list[tuple[int, int]]  # (place, template) of those found by binary search
    token_attrs: list[str]  # token attributes read, in the order they are stacked
    token_parts: np.ndarray  # part rows read from token attributes ...
    token_attr: np.ndarray  # ... their attribute (row of the stacked token attributes)
    token_offset: np.ndarray  # ... and PAD + their offset
    row_attrs: list[str]  # the same for row attributes (rows relative to a cue)
    row_parts: np.ndarray
    row_attr: np.ndarray
    limit: np.ndarray  # per part: last cell of its code table (larger values are clipped to it)
    code_base: np.ndarray  # per part: where its code table starts in ``codes``
    codes: np.ndarray  # the code tables end to end, each already multiplied by its stride (int32)
    slots: list[np.ndarray]  # second and third slot: which looked-up templates have that part
    table_base: np.ndarray  # per looked-up template: where its table starts in ``tables``
    tables: np.ndarray

    @classmethod
    def build(cls, chain: LinearChain, selected: range, with_rows: bool) -> _Plan:
        looked, searched = [], []
        for j, t in enumerate(selected):
            (looked if chain.compact[t] is not None else searched).append((j, t))
        token_attrs: list[str] = []
        row_attrs: list[str] = []
        token_parts, token_attr, token_offset, row_parts, row_attr = [], [], [], [], []
        limit, code_base, codes, slots = [], [], [], []
        n_codes = 0
        for slot in range(max((len(chain.templates[t].parts) for _, t in looked), default=0)):
            having = []
            for k, (_, t) in enumerate(looked):
                parts = chain.templates[t].parts
                if slot >= len(parts):
                    continue
                having.append(k)
                attr, offset = parts[slot]
                compact = chain.compact[t]
                assert compact is not None
                code = compact.codes[slot]
                part = len(limit)
                if with_rows and attr in ROW_ATTRIBUTES:
                    if attr not in row_attrs:
                        row_attrs.append(attr)
                    row_parts.append(part)
                    row_attr.append(row_attrs.index(attr))
                else:
                    if attr not in token_attrs:
                        token_attrs.append(attr)
                    token_parts.append(part)
                    token_attr.append(token_attrs.index(attr))
                    token_offset.append(PAD + offset)
                limit.append(len(code) - 1)
                code_base.append(n_codes)
                codes.append(code * np.int32(compact.strides[slot]))
                n_codes += len(code)
            if slot:
                slots.append(np.array(having, dtype=np.int64))
        tables = [chain.compact[t].table for _, t in looked]  # type: ignore[union-attr]

        def ints(values: list[int]) -> np.ndarray:
            return np.array(values, dtype=np.int64)

        empty = np.zeros(0, dtype=np.int64)
        return cls(
            ints([j for j, _ in looked]), searched, token_attrs, ints(token_parts), ints(token_attr),
            ints(token_offset), row_attrs, ints(row_parts), ints(row_attr), ints(limit), ints(code_base),
            np.concatenate(codes) if codes else empty.astype(np.int32), slots,
            ints(np.cumsum([0] + [len(t) for t in tables[:-1]]).tolist() if tables else []),
            np.concatenate(tables) if tables else empty,
        )

    def lookup(self, token_attrs: dict[str, np.ndarray], rows: Rows | None, n: int) -> np.ndarray:
        """(looked-up templates, positions): index into ``stacked`` of each one's weights."""
        size = len(rows.token) if rows is not None else n
        values = np.empty((len(self.limit), size), dtype=np.int64)
        if len(self.token_parts):
            matrix = np.stack([token_attrs[a] for a in self.token_attrs])
            positions = rows.token if rows is not None else np.arange(n, dtype=np.int64)
            flat = (self.token_attr * matrix.shape[1] + self.token_offset)[:, None] + positions
            values[self.token_parts] = np.take(matrix, flat)
        if len(self.row_parts):
            assert rows is not None
            values[self.row_parts] = np.stack([rows.attrs[a] for a in self.row_attrs])[self.row_attr]
        np.minimum(values, self.limit[:, None], out=values)
        values += self.code_base[:, None]
        coded = np.take(self.codes, values)
        count = len(self.looked)
        index = coded[:count]
        for having in self.slots:
            index[having] += coded[count : count + len(having)]
            count += len(having)
        index += self.table_base[:, None]
        return np.take(self.tables, index)


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
    compact: list[_Compact | None] = field(init=False, repr=False)
    hashed: list[_Hashed | None] = field(init=False, repr=False)
    plans: dict[tuple[int, int, int, bool], _Plan] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.offsets = []
        total = 0
        for w in self.weights:
            self.offsets.append(total)
            total += len(w)
        self.stacked = np.vstack([*self.weights, np.zeros((1, len(self.labels)), dtype=np.float32)]).astype(np.float64)
        self.compact = [
            _Compact.build(keys, len(template.parts), offset, total) if len(keys) else None
            for template, keys, offset in zip(self.templates, self.keys, self.offsets)
        ]
        self.hashed = [
            _Hashed.build(keys, offset, total) if len(keys) and compact is None else None
            for keys, offset, compact in zip(self.keys, self.offsets, self.compact)
        ]
        self.plans = {}

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
        """Index into ``stacked`` of template ``t``'s weights at every position, from its
        packed keys (the templates no _Compact table covers)."""
        hashed = self.hashed[t]
        if hashed is None:  # no keys
            return np.full(len(rows.token) if rows is not None else n, len(self.stacked) - 1, dtype=np.int64)
        return hashed.lookup(template_keys(self.templates[t], token_attrs, rows, n))

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
        key = (selected.start, selected.stop, selected.step, rows is not None)
        plan = self.plans.get(key)
        if plan is None:
            plan = self.plans[key] = _Plan.build(self, selected, rows is not None)
        index = np.empty((len(selected), size), dtype=np.int64)
        if len(plan.looked):
            index[plan.looked] = plan.lookup(token_attrs, rows, n)
        for j, t in plan.searched:
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
    active: list[int]  # active[t]: how many sequences are longer than t (t = 0 .. longest)
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
    active = np.searchsorted(-sorted_lengths, -np.arange(longest + 1), side="left").tolist()
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
    # the loops write into preallocated rows: each step is a few numpy calls on small arrays,
    # so the calls, not the arithmetic, are the cost
    multiply, add_reduce = np.multiply, np.add.reduce
    alpha = np.empty_like(potentials)
    a = alpha[0]
    np.divide(potentials[0], add_reduce(potentials[0], axis=1, keepdims=True), out=a)
    for t in range(1, longest):
        k = active[t]
        step = alpha[t, :k]
        multiply(a[:k] @ trans, potentials[t, :k], out=step)
        step /= add_reduce(step, axis=1, keepdims=True)
        a = alpha[t]
    beta = np.ones_like(potentials)  # sequences ending at t start from 1
    trans_t = trans.T
    for t in range(longest - 2, -1, -1):
        k_next = active[t + 1]
        step = beta[t, :k_next]
        np.matmul(potentials[t + 1, :k_next] * beta[t + 1, :k_next], trans_t, out=step)
        step /= add_reduce(step, axis=1, keepdims=True)
    product = alpha[batch.time, batch.slot] * beta[batch.time, batch.slot]
    product /= product.sum(axis=1, keepdims=True)
    return product


def viterbi(scores: np.ndarray, starts: np.ndarray, lengths: np.ndarray, transitions: np.ndarray) -> np.ndarray:
    """The best labelling (label index per position) of each sequence, decoded as a batch.

    The forward loop keeps only the best score of each label (three numpy calls a step); the
    back pointers are then found for all steps at once, and the backtrack is one gather a step.
    """
    if scores.shape[0] == 0 or len(lengths) == 0:
        return np.zeros(0, dtype=np.int64)
    batch = _batch(scores, starts, lengths)
    delta, active = batch.scores, batch.active  # delta[t] replaces the scores of step t
    longest, size, labels = delta.shape
    candidates = np.empty((labels, size, labels), dtype=np.float64)  # [from, sequence, to]
    trans = transitions[:, None, :]
    add, best_of = np.add, np.maximum.reduce
    for t in range(1, longest):
        k = active[t]
        c = candidates[:, :k]
        add(delta[t - 1, :k].T[:, :, None], trans, out=c)
        d = delta[t, :k]
        add(best_of(c, axis=0), d, out=d)
    # back[t, s, to]: the first best label at t-1 (as argmax would pick); steps past the end of
    # a sequence get pointers too, never followed
    previous = delta[:-1]
    top = previous[:, :, 0, None] + transitions[0]
    back = np.zeros((longest, size, labels), dtype=np.int64)
    for j in range(1, labels):
        candidate = previous[:, :, j, None] + transitions[j]
        np.copyto(back[1:], j, where=candidate > top)
        np.maximum(top, candidate, out=top)
    best = np.empty((longest, size), dtype=np.int64)
    slots = np.arange(size)
    current = np.zeros(size, dtype=np.int64)
    for t in range(longest - 1, -1, -1):
        k, k_next = active[t], active[t + 1]
        if k > k_next:  # sequences whose last step is t start their backtrack here
            current[k_next:k] = delta[t, k_next:k].argmax(axis=1)
        best[t] = current
        if t:
            current = back[t, slots, current]
    return best[batch.time, batch.slot]


def save(path: Path, chains: dict[str, LinearChain], extra: dict[str, np.ndarray]) -> None:
    arrays: dict[str, np.ndarray] = dict(extra)
    for prefix, chain in chains.items():
        arrays.update(chain.arrays(prefix))
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)
