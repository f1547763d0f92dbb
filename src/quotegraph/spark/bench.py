"""Spark benchmark: articles/s in ``local[1]`` and ``local[2]`` against ``quotegraph ingest --workers 2``.

    python -m quotegraph.spark.bench --articles 10000 [--model fast] [--data DIR] [--keep DIR]
    python -m quotegraph.spark.bench --memory --model rules fast accurate

The first form builds N JSONL articles from the PolNeAR train+dev texts (``bench_ingest.build_input``:
copies beyond the 924 texts get their own URL and an "(Archive copy k.)" line, so the duplicate
filter keeps them), then runs, as separate processes and one after the other, ``quotegraph spark
FILE --master local[1]``, the same with ``local[2]``, and ``quotegraph ingest FILE --workers 2``,
and reports wall-clock seconds (JVM start, model loading and writing the Parquet tables
included), articles/s, peak memory of the whole process tree (driver, JVM, Python workers;
sampled every 0.2 s from /proc) and Spark's overhead against ingest. A run over 20 articles gives
the fixed cost of a Spark run (JVM start-up, model loading, the job's many small stages).

``--memory`` measures what one executor core needs per model: the peak resident memory
(``getrusage``) of a fresh Python process that loads the Pipeline and extracts a few articles,
which is what each Spark Python worker holds.

A benchmark, not a test: it asserts nothing. It is CPU-heavy: run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from quotegraph.bench_ingest import DEFAULT_POLNEAR, build_input, run_measured, run_once

_MEMORY_SCRIPT = """
import json, resource, sys, time
from pathlib import Path
start = time.perf_counter()
from quotegraph.model import Article
from quotegraph.pipeline import Pipeline
pipeline = Pipeline(model=sys.argv[1])
texts = sorted(Path(sys.argv[2]).glob('*.txt'))[:20]
loaded = time.perf_counter() - start
for path in texts:
    pipeline(Article(text=path.read_text(encoding='utf-8')))
print(json.dumps({"model": sys.argv[1], "articles": len(texts), "load_seconds": round(loaded, 1),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def run_spark(source: Path, master: str, model: str, folder: Path) -> dict[str, object]:
    """One ``quotegraph spark`` run as a separate process: seconds, articles/s, peak tree memory."""
    out = folder / f"spark-{source.stem}-{master.replace('[', '').replace(']', '')}"
    command = [sys.executable, "-m", "quotegraph", "spark", str(source), "--output", str(out), "--master", master,
               "--model", model, "--json", "--quiet"]
    env = {**os.environ, "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
           "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable)}
    process, stdout, stderr, seconds, peak = run_measured(command, env)
    if process.returncode not in (0, 1):
        raise SystemExit(f"spark failed ({process.returncode}): {stderr.strip()[-2000:]}")
    summary = json.loads(stdout)
    return {
        "run": f"spark {master}", "articles": summary["read"], "model": model, "extracted": summary["extracted"],
        "failed": summary["failed"], "skipped": sum(summary["skipped"].values()), "statements": summary["statements"],
        "seconds": round(seconds, 1), "articles_per_second": round(summary["read"] / seconds, 2),
        "peak_memory_mb": round(peak / 2**20),
    }


def memory(models: list[str], texts: Path) -> list[dict[str, object]]:
    rows = []
    for model in models:
        done = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, model, str(texts)], capture_output=True,
                              text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        if done.returncode != 0:
            rows.append({"model": model, "error": (done.stderr.strip().splitlines() or ["failed"])[-1]})
        else:
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m quotegraph.spark.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=10_000, help="input size (default 10000)")
    parser.add_argument("--model", nargs="+", default=["rules"], help="model(s) (default rules)")
    parser.add_argument("--data", default=os.environ.get("QUOTEGRAPH_POLNEAR", DEFAULT_POLNEAR), help="PolNeAR folder")
    parser.add_argument("--keep", metavar="DIR", help="build inputs and outputs in DIR and keep them")
    parser.add_argument("--memory", action="store_true", help="only measure each model's peak memory per worker")
    parser.add_argument("--no-fixed-cost", action="store_true", help="skip the 20-article run")
    args = parser.parse_args(argv)
    if args.memory:
        for row in memory(args.model, Path(args.data) / "dev" / "text"):
            print(json.dumps(row), flush=True)
        return 0
    with tempfile.TemporaryDirectory(prefix="qg-spark-bench-") as temporary:
        folder = Path(args.keep or temporary)
        folder.mkdir(parents=True, exist_ok=True)
        for model in args.model:
            if not args.no_fixed_cost:
                small = build_input(folder, 20, Path(args.data))
                print(json.dumps({**run_spark(small, "local[2]", model, folder), "note": "fixed cost"}), flush=True)
            source = build_input(folder, args.articles, Path(args.data))
            results = [run_spark(source, "local[1]", model, folder), run_spark(source, "local[2]", model, folder)]
            ingest = run_once(source, 2, model, folder)
            ingest = {"run": "ingest --workers 2", **ingest}
            for row in results:
                row["overhead_vs_ingest_w2"] = f"{row['seconds'] / ingest['seconds'] - 1:+.0%}"
                print(json.dumps(row), flush=True)
            print(json.dumps(ingest), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
