"""Similarity-index benchmark at a million distinct vectors: build time, memory, latency, recall@10.

    python -m quotegraph.store.bench --vectors 1000000 --db vectors.db

MiniLM embeds about 20-50 statements a second on this machine, so a million real embeddings
cannot be computed. The index is filled with:

- **real** vectors: MiniLM embeddings of ``--real`` distinct PolNeAR *train* statement texts (the
  gold Content spans of at least 4 words), cached in ``--embed-cache``;
- **synthetic** vectors for the rest, made from the real ones: a few thousand "topics", each a
  real embedding moved by anisotropic Gaussian noise shaped like the real embeddings' own
  covariance, and around each topic statements moved the same way, re-normalised. The noise
  scales are chosen so that the synthetic vectors are as far from their nearest neighbour, at the
  same sample size, as the real ones are (printed as ``calibration``).

The queries are real and synthetic too: held-out PolNeAR *dev* statements (never indexed),
indexed statements with a quarter of their words dropped (both MiniLM embeddings), and
synthetic vectors drawn like the index's own. Recall@10 is measured against exact brute force
over every indexed vector. The store is filled through ``VectorIndex.add`` in ingest-sized
batches, with ``maybe_retrain`` after each, exactly as ingest does; that part runs in a child
process, so its peak memory is the build's own.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from quotegraph.store.embed import DIMENSIONS

CHUNK = 50_000          # synthetic vectors are made (and re-made) in seeded chunks of this size
TOPICS_PER_REAL = 4     # synthetic topics per real embedding
TOPIC_MIX = (0.1, 0.4)       # how far a topic moves from its real embedding (share of noise)
MEMBER_MIX = (0.25, 0.45)     # how far a statement moves from its topic
MIN_WORDS = 4
HASH_BASE = 1 << 40     # synthetic text hashes: far from real ones, distinct


# -- the real texts --------------------------------------------------------------------------

def polnear_statements(root: Path, split: str) -> list[str]:
    """Distinct gold Content texts of a PolNeAR split (one annotator per article), in file order."""
    folder = root / split / "attributions"
    if not folder.is_dir():
        from quotegraph.errors import InputError

        raise InputError(f"--polnear: no {folder} (expected the PolNeAR train/dev layout)")
    seen_articles: set[str] = set()
    texts: dict[str, None] = {}
    for path in sorted(folder.glob("*.ann")):
        article = path.stem.rsplit("_", 1)[0]
        if article in seen_articles:
            continue
        seen_articles.add(article)
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) == 3 and parts[1].startswith("Content "):
                text = " ".join(parts[2].split())
                if len(text.split()) >= MIN_WORDS:
                    texts.setdefault(text)
    return list(texts)


def edited(text: str, rng: np.random.Generator) -> str:
    """The text with a quarter of its words dropped (at least one): a reworded, shortened copy."""
    words = text.split()
    drop = set(rng.choice(len(words), size=max(1, len(words) // 4), replace=False).tolist())
    return " ".join(w for i, w in enumerate(words) if i not in drop)


def embed_cached(texts: list[str], cache: Path) -> np.ndarray:
    """MiniLM embeddings of ``texts``, computed once and kept in ``cache`` (keyed by the texts)."""
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()
    if cache.exists():
        with np.load(cache) as saved:
            if str(saved["key"]) == key:
                return saved["vectors"]
    from quotegraph.store.embed import MiniLM

    model = MiniLM()
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    start = time.perf_counter()
    for i in range(0, len(texts), 256):
        out[i : i + 256] = model.embed(texts[i : i + 256])
        rate = (i + 256) / (time.perf_counter() - start)
        print(f"  embedded {min(i + 256, len(texts)):,}/{len(texts):,} texts ({rate:.0f}/s)", file=sys.stderr, flush=True)
    np.savez(cache, key=key, vectors=out)
    return out


# -- the synthetic vectors -------------------------------------------------------------------

def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


class Synthesizer:
    """Makes vectors shaped like the real embeddings, deterministically by chunk.

    A vector is moved by keeping the mean embedding and mixing its residual with Gaussian noise of
    the real residuals' covariance: ``mean + sqrt(1-w) * (v - mean) + sqrt(w) * noise``. The
    expected length and the share of the mean direction stay those of real embeddings (so the
    mean pairwise cosine is kept); ``w`` sets how far the new vector is from the old one.
    """

    def __init__(self, real: np.ndarray, seed: int = 0, topic_mix: tuple[float, float] = TOPIC_MIX,
                 member_mix: tuple[float, float] = MEMBER_MIX) -> None:
        self.seed, self.member_mix = seed, member_mix
        self.mean = real.mean(axis=0)
        values, vectors = np.linalg.eigh(np.cov(real - self.mean, rowvar=False))
        self.shape = (vectors * np.sqrt(np.clip(values, 0, None))).T.astype(np.float32)
        rng = np.random.default_rng(seed)
        parents = rng.integers(0, len(real), size=len(real) * TOPICS_PER_REAL)
        self.topics = self.move(rng, real[parents], topic_mix)

    def move(self, rng: np.random.Generator, vectors: np.ndarray, mix: tuple[float, float]) -> np.ndarray:
        noise = rng.standard_normal(vectors.shape, dtype=np.float32) @ self.shape
        w = rng.uniform(*mix, size=(len(vectors), 1)).astype(np.float32)
        return _unit(self.mean + np.sqrt(1 - w) * (vectors - self.mean) + np.sqrt(w) * noise)

    def chunk(self, index: int, n: int = CHUNK, stream: int = 0) -> np.ndarray:
        """Chunk ``index`` of a stream: stream 0 fills the index, 1 makes queries, 2 calibrates."""
        rng = np.random.default_rng([self.seed, stream, index])
        return self.move(rng, self.topics[rng.integers(0, len(self.topics), size=n)], self.member_mix)


def nn_cosine(vectors: np.ndarray) -> np.ndarray:
    """Each vector's cosine with its nearest other vector."""
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -1)
    return sims.max(axis=1)


class Corpus:
    """The real texts, their embeddings and the synthetic generator: what both processes share."""

    def __init__(self, polnear: Path, real: int, cache: Path, queries: int, seed: int = 0) -> None:
        train = polnear_statements(polnear, "train")
        dev = polnear_statements(polnear, "dev")
        rng = np.random.default_rng(seed)
        train = [train[i] for i in rng.permutation(len(train))[:real]]
        held = set(train)
        dev = [dev[i] for i in rng.permutation(len(dev)) if dev[i] not in held][: queries // 2]
        picks = rng.choice(len(train), size=queries // 4, replace=False)
        self.edited = [edited(train[i], rng) for i in picks]
        self.texts = train
        vectors = embed_cached(train + dev + self.edited, cache)
        self.real = vectors[: len(train)]
        self.query_kinds = ["held-out"] * len(dev) + ["edited"] * len(self.edited)
        self.real_queries = vectors[len(train):]
        self.synth = Synthesizer(self.real, seed)
        n_synthetic = queries - len(self.real_queries)
        self.synthetic_queries = self.synth.chunk(0, n_synthetic, stream=1)
        self.queries = np.concatenate([self.real_queries, self.synthetic_queries])
        self.query_kinds += ["synthetic"] * n_synthetic

    def vectors(self, total: int) -> Any:
        """(hashes, vectors) in chunks: the real embeddings first, then synthetic ones up to ``total``."""
        yield [_real_hash(t) for t in self.texts], self.real
        made, index = len(self.real), 0
        while made < total:
            n = min(CHUNK, total - made)
            yield list(range(HASH_BASE + made, HASH_BASE + made + n)), self.synth.chunk(index, n)
            made += n
            index += 1

    def hashes(self, total: int) -> np.ndarray:
        """The text hashes of :meth:`vectors`, in the same order, without making the vectors."""
        real = np.array([_real_hash(t) for t in self.texts], dtype=np.int64)
        return np.concatenate([real, np.arange(HASH_BASE + len(real), HASH_BASE + max(total, len(real)))])[:total]

    def calibration(self) -> dict[str, float]:
        """Nearest-neighbour cosine at equal sample size, real vs synthetic; pairwise mean cosine."""
        n = len(self.real)
        synthetic = self.synth.chunk(0, n, stream=2)
        real_nn, synth_nn = nn_cosine(self.real), nn_cosine(synthetic)
        rng = np.random.default_rng(1)
        pairs = rng.integers(0, n, size=(20_000, 2))
        return {"sample": n,
                "real_nn_cos_median": round(float(np.median(real_nn)), 3),
                "synthetic_nn_cos_median": round(float(np.median(synth_nn)), 3),
                "real_nn_cos_p10_p90": [round(float(x), 3) for x in np.percentile(real_nn, [10, 90])],
                "synthetic_nn_cos_p10_p90": [round(float(x), 3) for x in np.percentile(synth_nn, [10, 90])],
                "real_pair_cos_mean": round(float(np.mean(np.sum(self.real[pairs[:, 0]] * self.real[pairs[:, 1]], 1))), 3),
                "synthetic_pair_cos_mean": round(float(np.mean(np.sum(synthetic[pairs[:, 0]] * synthetic[pairs[:, 1]], 1))), 3)}


def _real_hash(text: str) -> int:
    from quotegraph.store.dedup import text_hash

    return text_hash(text)


# -- the benchmark ---------------------------------------------------------------------------

def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def build(db: str, corpus: Corpus, total: int, batch: int) -> dict[str, Any]:
    """Fill the index through ``VectorIndex.add`` in ingest-sized batches, retraining as ingest does."""
    from quotegraph.store import open_store

    store = open_store(db)
    try:
        have = store.vectors.count()
        if have:
            if store.get_meta("bench_vectors") == str(total):
                return {"reused": True, "vectors": have}
            from quotegraph.errors import InputError

            raise InputError(f"--db {db} already holds {have:,} vectors: the benchmark needs a new, empty store")
        start = time.perf_counter()
        retrains: list[dict[str, Any]] = []
        added, next_report = 0, 100_000
        for hashes, vectors in corpus.vectors(total):
            for i in range(0, len(hashes), batch):
                with store.transaction():
                    store.vectors.add(hashes[i : i + batch], vectors[i : i + batch])
                added += len(hashes[i : i + batch])
                t = time.perf_counter()
                if store.vectors.maybe_retrain():
                    retrains.append({"at": added, "seconds": round(time.perf_counter() - t, 1), "rss_mb": _rss_mb()})
                    print(f"  retrained at {added:,} vectors in {retrains[-1]['seconds']} s", file=sys.stderr, flush=True)
                if added >= next_report:
                    print(f"  {added:,} vectors, {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
                    next_report += 100_000
        with store.transaction():
            store.set_meta("bench_vectors", str(total))
        seconds = time.perf_counter() - start
        lists = int(store._one("SELECT count(*) FROM ivf_lists")[0])  # type: ignore[index]
        tail = int(store._one("SELECT count(*) FROM ivf_tail")[0])  # type: ignore[index]
        return {"vectors": store.vectors.count(), "batch": batch, "seconds": round(seconds, 1),
                "vectors_per_s": round(total / seconds), "retrains": retrains,
                "retrain_seconds": round(sum(r["seconds"] for r in retrains), 1),
                "lists": lists, "tail_entries": tail, "peak_rss_mb": _rss_mb()}
    finally:
        store.close()


def exact_top(corpus: Corpus, total: int, k: int = 10) -> np.ndarray:
    """Brute force: the indices (into the fill order) of each query's ``k`` nearest vectors."""
    best_s = np.full((len(corpus.queries), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(corpus.queries), k), dtype=np.int64)
    at = 0
    for hashes, vectors in corpus.vectors(total):
        scores = corpus.queries @ vectors.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        cand_s = np.concatenate([best_s, np.take_along_axis(scores, top, 1)], axis=1)
        cand_i = np.concatenate([best_i, top + at], axis=1)
        keep = np.argsort(-cand_s, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(cand_s, keep, 1), np.take_along_axis(cand_i, keep, 1)
        at += len(hashes)
    return best_i


def measure(db: str, corpus: Corpus, total: int, nprobes: list[int], k: int) -> dict[str, Any]:
    """Latency per nprobe (after 10 warm-up queries), then recall@10 against brute force."""
    from quotegraph.store import open_store

    store = open_store(db)
    try:
        found: dict[int, list[list[int]]] = {}
        runs: dict[int, dict[str, Any]] = {}
        for nprobe in nprobes:
            for q in corpus.queries[:10]:
                store.vectors.search(q, k, nprobe=nprobe)
            times, cpu, found[nprobe] = [], [], []
            for q in corpus.queries:
                t, c = time.perf_counter(), time.process_time()
                hits = store.vectors.search(q, k, nprobe=nprobe)
                times.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)
                found[nprobe].append([h for h, _ in hits[:10]])
            times.sort()
            cpu.sort()
            # CPU time: what the query costs this process, whatever else the shared machine runs
            runs[nprobe] = {"median_ms": round(statistics.median(times), 1),
                            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1), "max_ms": round(times[-1], 1),
                            "cpu_median_ms": round(statistics.median(cpu), 1),
                            "cpu_p95_ms": round(cpu[int(0.95 * (len(cpu) - 1))], 1)}
            print(f"  nprobe {nprobe}: median {runs[nprobe]['median_ms']} ms, p95 {runs[nprobe]['p95_ms']} ms "
                  f"(CPU {runs[nprobe]['cpu_median_ms']} / {runs[nprobe]['cpu_p95_ms']} ms)", file=sys.stderr, flush=True)
        rss = _rss_mb()
    finally:
        store.close()
    hashes = corpus.hashes(total)
    truth = [set(hashes[row].tolist()) for row in exact_top(corpus, total)]
    kinds = np.array(corpus.query_kinds)
    for nprobe in nprobes:
        recall = np.array([len(truth[i] & set(found[nprobe][i])) / 10 for i in range(len(truth))])
        runs[nprobe]["recall_at_10"] = round(float(recall.mean()), 3)
        runs[nprobe]["recall_by_query"] = {kind: round(float(recall[kinds == kind].mean()), 3)
                                           for kind in dict.fromkeys(corpus.query_kinds)}
    return {"k": k, "queries": len(corpus.queries), "query_kinds": {kd: int((kinds == kd).sum()) for kd in set(kinds)},
            "by_nprobe": runs, "search_process_peak_rss_mb": rss}


def run(db: str, total: int, polnear: Path, real: int, cache: Path, queries: int, batch: int,
        nprobes: list[int], k: int) -> dict[str, Any]:
    """The whole benchmark: build in a child process (its own peak memory), then measure here."""
    corpus = Corpus(polnear, real, cache, queries)  # bad paths fail here, before the build starts
    command = [sys.executable, "-m", "quotegraph.store.bench_vectors", db, str(total), str(polnear), str(real),
               str(cache), str(queries), str(batch)]
    child = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if child.returncode != 0:
        from quotegraph.errors import QuotegraphError

        raise QuotegraphError(f"the build process failed (exit {child.returncode})")
    out: dict[str, Any] = {"db": "postgresql" if db.startswith("postgres") else "sqlite",
                           "build": json.loads(child.stdout.strip().splitlines()[-1])}
    out["calibration"] = corpus.calibration()
    out["search"] = measure(db, corpus, total, nprobes, k)
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    if out["db"] == "sqlite":
        out["db_mb"] = round(Path(db).stat().st_size / 1e6)
    return out


def _child(argv: list[str]) -> int:
    from quotegraph.errors import QuotegraphError

    db, total, polnear, real, cache, queries, batch = argv
    try:
        corpus = Corpus(Path(polnear), int(real), Path(cache), int(queries))
        print(json.dumps(build(db, corpus, int(total), int(batch))), flush=True)
    except QuotegraphError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
