"""The similarity index: an inverted file (IVF) of embeddings, in the store's own tables.

sqlite-vec cannot be loaded here (Python's sqlite3 is built without extension loading) and
pgvector is not available, so both backends share one plain-SQL index: k-means centroids in
``ivf_centroids``, and each embedded text in the list of its nearest centroid
(``ivf_entries``, clustered by list). A query reads the ``nprobe`` nearest lists only — about
``nprobe / lists`` of the vectors — and ranks them exactly by dot product in numpy. The index is
over distinct texts (embeddings are cached by text hash), so wire copy costs nothing extra.

Until ``TRAIN_AT`` vectors exist everything sits in list 0 and a query is exact. The centroids
are retrained (and every entry reassigned) whenever the count has grown ``RETRAIN_GROWTH``-fold
since the last training, so lists stay near ``sqrt(n)`` long.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from quotegraph.store.embed import DIMENSIONS, from_bytes, to_bytes

if TYPE_CHECKING:
    from quotegraph.store.base import Store

TRAIN_AT = 2048
RETRAIN_GROWTH = 4
NPROBE = 8
TRAIN_SAMPLE = 50_000
KMEANS_ITERATIONS = 12


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


class VectorIndex:
    """Add embeddings, find the nearest ones. Works through the store's SQL helpers."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._centroids: np.ndarray | None = None
        self._loaded = False

    def centroids(self) -> np.ndarray | None:
        if not self._loaded:
            rows = self.store._all("SELECT list_id, vec FROM ivf_centroids ORDER BY list_id")
            self._centroids = np.stack([from_bytes(v) for _, v in rows]) if rows else None
            self._loaded = True
        return self._centroids

    def add(self, hashes: list[int], vectors: np.ndarray) -> None:
        """Store new embeddings (inside the caller's transaction) and put them in their lists."""
        if not hashes:
            return
        centroids = self.centroids()
        lists = _nearest(vectors, centroids) if centroids is not None else np.zeros(len(hashes), dtype=np.int64)
        self.store._many("INSERT INTO embeddings (text_hash, vec) VALUES (?, ?) ON CONFLICT DO NOTHING",
                         [(h, to_bytes(v)) for h, v in zip(hashes, vectors)])
        self.store._many("INSERT INTO ivf_entries (list_id, text_hash) VALUES (?, ?) ON CONFLICT DO NOTHING",
                         [(int(lst), h) for h, lst in zip(hashes, lists)])

    def count(self) -> int:
        return int(self.store._one("SELECT count(*) FROM embeddings")[0])

    def maybe_retrain(self) -> bool:
        """Retrain when the index has outgrown its lists; True when it did."""
        n = self.count()
        trained = int(self.store.get_meta("ivf_trained_count") or 0)
        if n < TRAIN_AT or (trained and n < trained * RETRAIN_GROWTH):
            return False
        self.train()
        return True

    def train(self) -> None:
        """k-means on a sample, then reassign every entry. Its own transaction."""
        rows = self.store._all("SELECT text_hash, vec FROM embeddings")
        if not rows:
            return
        hashes = [h for h, _ in rows]
        vectors = np.stack([from_bytes(v) for _, v in rows])
        k = max(1, int(math.sqrt(len(rows))))
        rng = np.random.default_rng(0)
        sample = vectors if len(vectors) <= TRAIN_SAMPLE else vectors[rng.choice(len(vectors), TRAIN_SAMPLE, replace=False)]
        centroids = kmeans(sample, min(k, len(sample)))
        lists = _nearest(vectors, centroids)
        with self.store.transaction():
            self.store._run("DELETE FROM ivf_centroids")
            self.store._run("DELETE FROM ivf_entries")
            self.store._many("INSERT INTO ivf_centroids (list_id, vec) VALUES (?, ?)",
                             [(i, to_bytes(c)) for i, c in enumerate(centroids)])
            self.store._many("INSERT INTO ivf_entries (list_id, text_hash) VALUES (?, ?)",
                             [(int(lst), h) for h, lst in zip(hashes, lists)])
            self.store.set_meta("ivf_trained_count", str(len(rows)))
        self._centroids, self._loaded = centroids, True

    def search(self, query: np.ndarray, k: int, nprobe: int = NPROBE) -> list[tuple[int, float]]:
        """The ``k`` text hashes nearest to ``query`` (unit vector), with their cosine similarity."""
        centroids = self.centroids()
        if centroids is None:
            probe = [0]
        else:
            probe = [int(i) for i in np.argsort(-(centroids @ query))[:nprobe]]
        marks = ", ".join("?" for _ in probe)
        rows = self.store._all(
            f"SELECT e.text_hash, e.vec FROM ivf_entries i JOIN embeddings e ON e.text_hash = i.text_hash "
            f"WHERE i.list_id IN ({marks})", probe)
        if not rows:
            return []
        matrix = np.frombuffer(b"".join(v for _, v in rows), dtype=np.float32).reshape(len(rows), DIMENSIONS)
        scores = matrix @ query
        top = np.argsort(-scores)[:k]
        return [(int(rows[i][0]), float(scores[i])) for i in top]


__all__ = ["VectorIndex", "kmeans"]
