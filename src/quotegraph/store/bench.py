"""Store benchmark: ingest rate and search latency on a store built from repeated real articles.

    python -m quotegraph.store.bench --db bench.db --statements 1000000
    python -m quotegraph.store.bench --db postgresql://... --statements 100000

The PolNeAR dev texts are extracted once with the rules model (cached in ``--cache``). Copies of
those extractions are then ingested with new article keys, dates and outlets. So that copies are
new *statements* rather than new occurrences of the old ones (quote dedup would fold them), each
copy gives every named speaker another first name ("Anna-Maria Lavrov"): speakers and the quote
scope differ, the quote texts stay real. Embeddings are computed at ingest (cached by text, so
only the first copy pays for them). Search latency is measured on a fixed, seeded query set of
speaker + term queries: a full name (one copy's speaker) and a bare surname (all copies).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from quotegraph.model import Article, Extraction, Speaker
from quotegraph.store import SearchQuery, open_store
from quotegraph.store.speakers import name_words

OUTLETS = [f"Outlet {i:02d}" for i in range(40)]
FIRST = ("Anna Maria John Paul Mark Luke Sara Lena Omar Ivan Olga Yuri Nina Hugo Ines Raj Mei Ken Ada Eva Leo Max "
         "Ida Tom Ben Kim Lea Noa Ali Zoe").split()


def extract_once(texts: Path, cache: Path) -> list[Extraction]:
    """Rules-model extractions of every text in ``texts``, cached as JSON lines."""
    if cache.exists():
        return [Extraction.from_json(json.loads(line)) for line in cache.read_text(encoding="utf-8").splitlines()]
    from quotegraph.ingest.text import read_text_file
    from quotegraph.pipeline import Pipeline

    pipeline = Pipeline(model="rules")
    out = [pipeline(read_text_file(path)) for path in sorted(texts.glob("*.txt"))]
    cache.write_text("".join(e.dumps() + "\n" for e in out), encoding="utf-8")
    return out


def copy_of(extraction: Extraction, copy: int, index: int) -> Extraction:
    """The extraction as if another outlet had run it on another day, quoting other namesakes."""
    first = f"{FIRST[copy % len(FIRST)]}-{FIRST[(copy // len(FIRST)) % len(FIRST)]}{copy // len(FIRST) ** 2 or ''}"
    speakers = []
    for s in extraction.speakers:
        words = s.name.split()
        name = f"{first} {words[-1]}" if s.named and len(name_words(s.name)) >= 2 else s.name
        speakers.append(replace(s, name=name) if isinstance(s, Speaker) else s)
    day = 1 + (copy * 7 + index) % 2190
    year, rest = 2015 + day // 365, day % 365
    date = f"{year}-{1 + rest // 31 % 12:02d}-{1 + rest % 28:02d}"
    article = Article(text=extraction.article.text, id=f"{copy}-{index}", date=date,
                      publisher=OUTLETS[(copy + index) % len(OUTLETS)], url=f"https://bench.example/{copy}/{index}")
    return Extraction(article, extraction.attributions, tuple(speakers), extraction.damage)


def build(db: str, base: list[Extraction], statements: int, embed: bool, report_every: int = 50_000) -> dict[str, Any]:
    store = open_store(db, embed=embed, aliases=Path(str(db).split("/")[-1] + ".bench-aliases.tsv")
                       if not db.startswith("postgres") else Path("/tmp/bench-aliases.tsv"))
    start = time.perf_counter()
    articles = occurrences = 0
    copy = int(store.get_meta("bench_copies") or 0)
    have = store.counts()["statements"]
    next_report = have + report_every
    try:
        while have < statements:
            store.begin()
            for index, extraction in enumerate(base):
                result = store.add(f"bench/{copy}/{index}", copy_of(extraction, copy, index))
                articles += 1
                occurrences += len(extraction.attributions)
                have += result.statements_new
            store.set_meta("bench_copies", str(copy + 1))
            store.commit()
            copy += 1
            if have >= next_report:
                elapsed = time.perf_counter() - start
                print(f"  {have:,} statements, {articles / elapsed:,.0f} articles/s, "
                      f"{occurrences / elapsed:,.0f} statements/s", file=sys.stderr, flush=True)
                next_report += report_every
        store.finish_ingest()
    finally:
        store.close()
    elapsed = time.perf_counter() - start
    return {"articles": articles, "attributions": occurrences, "seconds": round(elapsed, 1),
            "articles_per_s": round(articles / elapsed, 1) if elapsed else None,
            "attributions_per_s": round(occurrences / elapsed, 1) if elapsed else None}


def query_set(db: str, n: int, seed: int = 7) -> list[SearchQuery]:
    """Seeded speaker + term queries drawn from the store itself: half full names, half surnames."""
    store = open_store(db)
    try:
        top = store._one("SELECT max(id) FROM statements")[0]  # type: ignore[index]
        rng = random.Random(seed)
        queries: list[SearchQuery] = []
        while len(queries) < n:
            row = store._one("SELECT s.content, sp.name FROM statements s JOIN speakers sp ON sp.id = s.speaker_id "
                             "WHERE s.id >= ? AND sp.named = 1 ORDER BY s.id LIMIT 1", (rng.randint(1, top),))
            if not row:
                continue
            words = [w.strip('.,;:"“”‘’()') for w in row[0].split()]
            words = [w for w in words if len(w) >= 6 and w.isalpha()]
            names = name_words(row[1])
            if not words or len(names) < 2:
                continue
            speaker = row[1] if len(queries) % 2 == 0 else names[-1]
            queries.append(SearchQuery(rng.choice(words), speaker=speaker, limit=20))
        return queries
    finally:
        store.close()


def latency(db: str, queries: list[SearchQuery], similar: int = 0) -> dict[str, Any]:
    store = open_store(db)
    try:
        for q in queries[:10]:  # warm the cache
            store.search(q)
        times, found = [], 0
        for q in queries:
            t = time.perf_counter()
            page = store.search(q)
            times.append((time.perf_counter() - t) * 1000)
            found += bool(page.hits)
        result = {"queries": len(queries), "with_hits": found, "median_ms": round(statistics.median(times), 2),
                  "p95_ms": round(sorted(times)[int(0.95 * (len(times) - 1))], 2), "max_ms": round(max(times), 2)}
        full = [t for t, q in zip(times, queries) if len((q.speaker or "").split()) > 1]
        sur = [t for t, q in zip(times, queries) if len((q.speaker or "").split()) == 1]
        result["full_name_p95_ms"] = round(sorted(full)[int(0.95 * (len(full) - 1))], 2)
        result["surname_p95_ms"] = round(sorted(sur)[int(0.95 * (len(sur) - 1))], 2)
        if similar:
            store.embedder().embed(["warm up"])
            sims = []
            for q in queries[:similar]:
                t = time.perf_counter()
                store.similar(q.text + " " + (q.speaker or ""), SearchQuery(limit=20))
                sims.append((time.perf_counter() - t) * 1000)
            result["similar_median_ms"] = round(statistics.median(sims), 1)
            result["similar_p95_ms"] = round(sorted(sims)[int(0.95 * (len(sims) - 1))], 1)
        result["store"] = store.counts()
        return result
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m quotegraph.store.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--statements", type=int, default=1_000_000)
    parser.add_argument("--texts", default="../shared/data/polnear/dev/text")
    parser.add_argument("--cache", default="polnear-dev-extractions.jsonl")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--similar", type=int, default=50, help="also time this many searches by meaning")
    parser.add_argument("--no-embed", action="store_true")
    parser.add_argument("--search-only", action="store_true")
    vectors = parser.add_argument_group("similarity index at scale (store/bench_vectors.py)")
    vectors.add_argument("--vectors", type=int, help="instead: fill a new store's similarity index with N vectors "
                         "(real PolNeAR statement embeddings, the rest synthetic) and time searches")
    vectors.add_argument("--polnear", default="../shared/data/polnear")
    vectors.add_argument("--real", type=int, default=3000, help="real statement texts to embed")
    vectors.add_argument("--embed-cache", default="polnear-minilm.npz")
    vectors.add_argument("--vector-queries", type=int, default=200, help="half held-out real statements, a quarter "
                         "edited indexed ones, a quarter synthetic")
    vectors.add_argument("--batch", type=int, default=1000, help="vectors per add (one ingest commit)")
    vectors.add_argument("--nprobe", default="", help="comma-separated nprobe values (default: the index's own)")
    vectors.add_argument("--k", type=int, default=84, help="neighbours per query (similar() asks 84 for 20 hits)")
    args = parser.parse_args(argv)
    if args.vectors:
        from quotegraph.store import bench_vectors, vector

        nprobes = [int(x) for x in args.nprobe.split(",") if x] or [vector.NPROBE]
        from quotegraph.errors import QuotegraphError

        try:
            result = bench_vectors.run(args.db, args.vectors, Path(args.polnear), args.real, Path(args.embed_cache),
                                       args.vector_queries, args.batch, nprobes, args.k)
        except QuotegraphError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(json.dumps(result))
        return 0
    base = extract_once(Path(args.texts), Path(args.cache))
    print(f"{len(base)} articles, {sum(len(e.attributions) for e in base)} attributions per copy", file=sys.stderr)
    out: dict[str, Any] = {"db": "postgresql" if args.db.startswith("postgres") else "sqlite"}
    if not args.search_only:
        out["ingest"] = build(args.db, base, args.statements, embed=not args.no_embed)
        print(json.dumps(out["ingest"]), file=sys.stderr, flush=True)
    out["search"] = latency(args.db, query_set(args.db, args.queries), similar=args.similar)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
