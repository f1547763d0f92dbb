"""The similarity index: an inverted file (IVF) of int8 codes, packed per list, in the store's tables.

sqlite-vec cannot be loaded here (Python's sqlite3 is built without extension loading) and
pgvector is not available, so both backends share one plain-SQL index:

- ``ivf_centroids``: k-means centroids (spherical, ``sqrt(n)`` of them when trained);
- ``ivf_lists``: one row per list holding all its entries packed: the text hashes (int64) and
  the vectors as int8 codes (``round(x * CODE_SCALE)``, a quarter of float32's size);
- ``ivf_tail``: entries added since their list was last packed, one row each. A list is packed
  (tail merged into its row) once it has ``TAIL_MAX`` tail entries, so the tail stays small;
- ``embeddings``: the exact float32 vectors, by text hash (the cache the store already keeps).

A query reads the ``nprobe`` nearest lists — a few rows of packed codes plus at most
``TAIL_MAX`` tail rows each — scores the codes with one matrix product per list, and re-ranks the
best ``2k + 16`` candidates exactly with their float32 vectors, so the scores returned are exact
cosines. Reading packed rows instead of one row per entry is what keeps a query at a million
vectors within tens of milliseconds (see docs/benchmarks.md).

Until ``TRAIN_AT`` vectors exist everything sits in list 0 and a query is exact. The centroids
are retrained (and every entry re-assigned and re-packed) whenever the count has grown
``RETRAIN_GROWTH``-fold since the last training. Retraining assumes no other process adds
vectors meanwhile: entries added concurrently would sit in the wrong lists until the next one.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from quotegraph.store.embed import DIMENSIONS, from_bytes, to_bytes

if TYPE_CHECKING:
    from quotegraph.store.base import Store

TRAIN_AT = 2048
RETRAIN_GROWTH = 4
NPROBE = 24               # lists read per query: recall@10 about 0.9+ at a million (docs/benchmarks.md)
TRAIN_SAMPLE = 50_000
KMEANS_ITERATIONS = 12
TAIL_MAX = 128            # tail entries a list may have before it is packed
CODE_SCALE = 320.0        # int8 code = round(x * CODE_SCALE); MiniLM components stay within +-0.26
READ_CHUNK = 10_000       # rows per read when streaming every embedding (retraining)
IN_CHUNK = 500            # values per "IN (...)" list


def kmeans(vectors: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Spherical k-means: unit centroids maximising dot product with their members."""
    rng = np.random.default_rng(seed)
    centroids = vectors[rng.choice(len(vectors), size=k, replace=False)].copy()
    for _ in range(KMEANS_ITERATIONS):
        assign = _nearest(vectors, centroids)
        sums = np.zeros_like(centroids)
        np.add.at(sums, assign, vectors)
        empty = np.linalg.norm(sums, axis=1) == 0
        sums[empty] = vectors[rng.choice(len(vectors), size=int(empty.sum()))]
        centroids = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    return centroids.astype(np.float32)


def _nearest(vectors: np.ndarray, centroids: np.ndarray, chunk: int = 8192) -> np.ndarray:
    out = np.empty(len(vectors), dtype=np.int64)
    for start in range(0, len(vectors), chunk):
        out[start : start + chunk] = np.argmax(vectors[start : start + chunk] @ centroids.T, axis=1)
    return out


def _scores(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``matrix @ query`` in float32, on this thread: einsum casts int8 rows as it goes (no float
    copy of the codes), and a query must not wake BLAS threads, which on a busy machine cost
    several times the product itself."""
    return np.einsum("ij,j->i", matrix, query, dtype=np.float32, casting="unsafe")


def encode(vectors: np.ndarray) -> np.ndarray:
    """int8 codes of unit vectors; a code's dot product with a query, over CODE_SCALE, is the score."""
    return np.clip(np.rint(np.asarray(vectors, dtype=np.float32) * CODE_SCALE), -127, 127).astype(np.int8)


def _hashes_blob(hashes: np.ndarray) -> bytes:
    return np.asarray(hashes, dtype="<i8").tobytes()


def _chunks(values: list[int], size: int = IN_CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class VectorIndex:
    """Add embeddings, find the nearest ones. Works through the store's SQL helpers."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._centroids: np.ndarray | None = None
        self._trained: str | None = "unloaded"

    # -- state --------------------------------------------------------------------------------

    def _meta(self) -> dict[str, str]:
        rows = self.store._all("SELECT key, value FROM meta WHERE key IN ('ivf_trained_count', 'ivf_rebuild')")
        return {str(k): str(v) for k, v in rows}

    def centroids(self, meta: dict[str, str] | None = None) -> np.ndarray | None:
        """The current centroids; reloaded when another process (or this one) has retrained."""
        trained = (meta if meta is not None else self._meta()).get("ivf_trained_count")
        if trained != self._trained:
            rows = self.store._all_binary("SELECT list_id, vec FROM ivf_centroids ORDER BY list_id")
            self._centroids = np.stack([from_bytes(v) for _, v in rows]) if rows else None
            self._trained = trained
        return self._centroids

    def count(self) -> int:
        """Vectors in the index (a counter kept in meta: counting rows would read the whole table)."""
        return int(self.store.get_meta("ivf_size") or 0)

    # -- adding -------------------------------------------------------------------------------

    def add(self, hashes: list[int], vectors: np.ndarray) -> None:
        """Store new embeddings (inside the caller's transaction) and put them in their lists' tails."""
        if not hashes:
            return
        have: set[int] = set()
        for part in _chunks(list(dict.fromkeys(hashes))):
            marks = ", ".join("?" for _ in part)
            have.update(int(r[0]) for r in self.store._all(f"SELECT text_hash FROM embeddings WHERE text_hash IN ({marks})",
                                                           part))
        keep = []
        for i, h in enumerate(hashes):
            if h not in have:
                have.add(h)
                keep.append(i)
        if not keep:
            return
        new_hashes = [int(hashes[i]) for i in keep]
        vectors = np.asarray(vectors, dtype=np.float32)[keep]
        centroids = self.centroids()
        lists = _nearest(vectors, centroids) if centroids is not None else np.zeros(len(keep), dtype=np.int64)
        codes = encode(vectors)
        self.store._many("INSERT INTO embeddings (text_hash, vec) VALUES (?, ?)",
                         [(h, to_bytes(v)) for h, v in zip(new_hashes, vectors)])
        self.store._many("INSERT INTO ivf_tail (list_id, text_hash, code) VALUES (?, ?, ?)",
                         [(int(lst), h, c.tobytes()) for h, lst, c in zip(new_hashes, lists, codes)])
        self.store._run("UPDATE meta SET value = CAST(CAST(value AS BIGINT) + ? AS TEXT) WHERE key = 'ivf_size'",
                        (len(keep),))
        touched = sorted({int(x) for x in lists})
        full: list[int] = []
        for part in _chunks(touched):
            marks = ", ".join("?" for _ in part)
            full.extend(int(r[0]) for r in self.store._all(
                f"SELECT list_id FROM ivf_tail WHERE list_id IN ({marks}) GROUP BY list_id HAVING count(*) >= ?",
                [*part, TAIL_MAX]))
        for list_id in full:
            self.pack(list_id)

    def pack(self, list_id: int) -> None:
        """Merge a list's tail into its packed row (inside the caller's transaction)."""
        row = self.store._one_binary("SELECT hashes, codes FROM ivf_lists WHERE list_id = ?" + self.store.lock_rows,
                                     (list_id,))
        tail = self.store._all_binary("SELECT text_hash, code FROM ivf_tail WHERE list_id = ?", (list_id,))
        if not tail:
            return
        old_hashes = bytes(row[0]) if row else b""
        old_codes = bytes(row[1]) if row else b""
        hashes = old_hashes + _hashes_blob(np.array([int(h) for h, _ in tail], dtype=np.int64))
        codes = old_codes + b"".join(bytes(c) for _, c in tail)
        self.store._run("INSERT INTO ivf_lists (list_id, hashes, codes) VALUES (?, ?, ?) ON CONFLICT (list_id) "
                        "DO UPDATE SET hashes = excluded.hashes, codes = excluded.codes", (list_id, hashes, codes))
        # delete exactly the rows merged: a concurrent writer's new tail rows stay
        self.store._many("DELETE FROM ivf_tail WHERE list_id = ? AND text_hash = ?", [(list_id, h) for h, _ in tail])

    # -- training -----------------------------------------------------------------------------

    def maybe_retrain(self) -> bool:
        """Retrain when the index has outgrown its lists (or must be rebuilt); True when it did."""
        meta = self._meta()
        n = self.count()
        trained = int(meta.get("ivf_trained_count") or 0)
        if meta.get("ivf_rebuild") != "1" and (n < TRAIN_AT or (trained and n < trained * RETRAIN_GROWTH)):
            return False
        self.train()
        return True

    def _stream(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every embedding, in text-hash order, a chunk at a time: (hashes, vectors)."""
        last: int | None = None
        while True:
            if last is None:
                rows = self.store._all_binary(f"SELECT text_hash, vec FROM embeddings ORDER BY text_hash LIMIT {READ_CHUNK}")
            else:
                rows = self.store._all_binary("SELECT text_hash, vec FROM embeddings WHERE text_hash > ? "
                                              f"ORDER BY text_hash LIMIT {READ_CHUNK}", (last,))
            if not rows:
                return
            last = int(rows[-1][0])
            hashes = np.fromiter((int(h) for h, _ in rows), dtype=np.int64, count=len(rows))
            vectors = np.frombuffer(b"".join(bytes(v) for _, v in rows), dtype=np.float32).reshape(len(rows), DIMENSIONS)
            yield hashes, vectors

    def train(self) -> None:
        """k-means on a sample, then re-assign and re-pack every entry. Its own transaction.

        Streams the embeddings twice (sample, then assignment) instead of loading them all: peak
        memory is the int8 codes (384 bytes a vector) plus the sample.
        """
        n = int(self.store._one("SELECT count(*) FROM embeddings")[0])  # type: ignore[index]
        centroids: np.ndarray | None = None
        if n >= TRAIN_AT:
            rng = np.random.default_rng(0)
            size = min(n, TRAIN_SAMPLE)
            picks = np.sort(rng.choice(n, size=size, replace=False))
            sample, seen = [], 0
            for _, vectors in self._stream():
                lo, hi = np.searchsorted(picks, [seen, seen + len(vectors)])
                sample.append(vectors[picks[lo:hi] - seen])
                seen += len(vectors)
            data = np.concatenate(sample)
            centroids = kmeans(data, min(max(1, int(math.sqrt(n))), len(data)))
        k = 1 if centroids is None else len(centroids)
        with self.store.transaction():
            all_hashes, all_lists, all_codes = [], [], []
            for hashes, vectors in self._stream():
                all_hashes.append(hashes)
                all_lists.append(_nearest(vectors, centroids) if centroids is not None
                                 else np.zeros(len(hashes), dtype=np.int64))
                all_codes.append(encode(vectors))
            hashes = np.concatenate(all_hashes) if all_hashes else np.zeros(0, dtype=np.int64)
            lists = np.concatenate(all_lists) if all_lists else np.zeros(0, dtype=np.int64)
            codes = np.concatenate(all_codes) if all_codes else np.zeros((0, DIMENSIONS), dtype=np.int8)
            del all_hashes, all_lists, all_codes
            order = np.argsort(lists, kind="stable")
            bounds = np.concatenate([[0], np.cumsum(np.bincount(lists, minlength=k))])
            self.store._run("DELETE FROM ivf_centroids")
            self.store._run("DELETE FROM ivf_lists")
            self.store._run("DELETE FROM ivf_tail")
            if centroids is not None:
                self.store._many("INSERT INTO ivf_centroids (list_id, vec) VALUES (?, ?)",
                                 [(i, to_bytes(c)) for i, c in enumerate(centroids)])
            for start in range(0, k, 64):
                rows = []
                for list_id in range(start, min(k, start + 64)):
                    members = order[bounds[list_id] : bounds[list_id + 1]]
                    rows.append((list_id, _hashes_blob(hashes[members]), codes[members].tobytes()))
                self.store._many("INSERT INTO ivf_lists (list_id, hashes, codes) VALUES (?, ?, ?)", rows)
            self.store.set_meta("ivf_size", str(len(hashes)))
            self.store.set_meta("ivf_trained_count", str(len(hashes)) if centroids is not None else "0")
            self.store._run("DELETE FROM meta WHERE key = 'ivf_rebuild'")
        self._trained = "unloaded"

    # -- searching ----------------------------------------------------------------------------

    def _scan(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Exact search over every embedding, streamed: only while the index awaits a rebuild."""
        best: list[tuple[int, float]] = []
        for hashes, vectors in self._stream():
            scores = _scores(vectors, query)
            top = np.argsort(-scores)[:k]
            best = sorted([*best, *zip(hashes[top].tolist(), scores[top].tolist())], key=lambda hs: (-hs[1], hs[0]))[:k]
        return [(int(h), float(sc)) for h, sc in best]

    def search(self, query: np.ndarray, k: int, nprobe: int = NPROBE) -> list[tuple[int, float]]:
        """The ``k`` text hashes nearest to ``query`` (unit vector), with their cosine similarity."""
        meta = self._meta()
        query = np.asarray(query, dtype=np.float32)
        if meta.get("ivf_rebuild") == "1":  # a store made before version 2 of the index
            if getattr(self.store, "read_only", False):
                return self._scan(query, k)  # a reader cannot rebuild: exact, slow, until a writer does
            self.train()
            meta = self._meta()
        centroids = self.centroids(meta)
        if centroids is None:
            probe = [0]
        else:
            probe = [int(i) for i in np.argsort(-_scores(centroids, query))[:nprobe]]
        marks = ", ".join("?" for _ in probe)
        rows = self.store._all_binary(f"SELECT hashes, codes FROM ivf_lists WHERE list_id IN ({marks})", probe)
        tail = self.store._all_binary(f"SELECT text_hash, code FROM ivf_tail WHERE list_id IN ({marks})", probe)
        parts_h, parts_s = [], []
        for hashes, codes in rows:  # each packed list scored where it lies: no copy of the codes
            if hashes:
                parts_h.append(np.frombuffer(hashes, dtype="<i8"))
                parts_s.append(_scores(np.frombuffer(codes, dtype=np.int8).reshape(-1, DIMENSIONS), query))
        if tail:
            parts_h.append(np.fromiter((int(h) for h, _ in tail), dtype=np.int64, count=len(tail)))
            codes = np.frombuffer(b"".join(bytes(c) for _, c in tail), dtype=np.int8)
            parts_s.append(_scores(codes.reshape(len(tail), DIMENSIONS), query))
        if not parts_h:
            return []
        all_h, approx = np.concatenate(parts_h), np.concatenate(parts_s)
        keep = min(len(all_h), 2 * k + 16)
        best = np.argpartition(-approx, keep - 1)[:keep] if keep < len(all_h) else np.arange(len(all_h))
        candidates = sorted({int(h) for h in all_h[best]})
        exact: list[tuple[int, float]] = []
        for part in _chunks(candidates):
            rows = self.store._all_binary(f"SELECT text_hash, vec FROM embeddings WHERE text_hash IN "
                                          f"({', '.join('?' for _ in part)})", part)
            if rows:
                matrix = np.frombuffer(b"".join(bytes(v) for _, v in rows), dtype=np.float32).reshape(len(rows), DIMENSIONS)
                exact.extend(zip((int(h) for h, _ in rows), (float(s) for s in _scores(matrix, query))))
        exact.sort(key=lambda hs: (-hs[1], hs[0]))
        return exact[:k]


__all__ = ["CODE_SCALE", "NPROBE", "VectorIndex", "encode", "kmeans"]
