"""End-to-end ingest benchmark: articles/s with 1 and 2 workers, and peak memory of the process tree.

    python -m quotegraph.bench_ingest --articles 1000 2000 --workers 1 2 [--model rules] [--data DIR]

Builds a JSONL file of N articles from the PolNeAR train+dev texts in a temporary folder (texts
are reused when N is larger than the corpus, each copy with a distinct URL and an
"(Archive copy k.)" line so the duplicate filter keeps it), runs ``quotegraph ingest`` on it as a
user would, and reports wall-clock throughput (start-up and model loading included) and peak
memory. Peak memory is the highest sum of the resident memory of the ingest process and all of
its workers, sampled every 0.2 s from /proc (Linux), so the parent, every worker and any worker
that replaces a recycled one all count. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

from quotegraph.models import DEFAULT_MODEL
from quotegraph.proctree import tree_rss
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

DEFAULT_POLNEAR = "../shared/data/polnear"


def build_input(folder: Path, count: int, data: Path) -> Path:
    """``count`` JSONL articles from PolNeAR train+dev texts, all distinct to the dedup filter."""
    texts = [p.read_text(encoding="utf-8") for split in ("train", "dev") for p in sorted((data / split / "text").glob("*.txt"))]
    if not texts:
        raise SystemExit(f"no PolNeAR texts under {data}/{{train,dev}}/text")
    path = folder / f"news-{count}.jsonl"
    with path.open("w", encoding="utf-8") as stream:
        for i in range(count):
            copy, index = divmod(i, len(texts))
            text = texts[index] if copy == 0 else f"{texts[index]}\n\n(Archive copy {copy}.)"
            stream.write(json.dumps({"text": text, "url": f"https://bench.example/{copy}/{index}"}) + "\n")
    return path


def run_measured(command: list[str], env: dict[str, str] | None = None
                 ) -> tuple[subprocess.Popen[str], str, str, float, int]:
    """Run ``command`` to its end; its wall-clock seconds and the peak resident bytes of its
    process tree, sampled every 0.2 s."""
    peak = 0
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss(process.pid))
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    return process, stdout, stderr, seconds, peak


def run_once(source: Path, workers: int, model: str, folder: Path) -> dict[str, object]:
    out = folder / f"out-{source.stem}-w{workers}.jsonl"
    for stale in folder.glob(out.name + "*"):
        stale.unlink()
    errors = folder / f"errors-{source.stem}-w{workers}.jsonl"
    errors.unlink(missing_ok=True)
    command = [sys.executable, "-m", "quotegraph", "ingest", str(source), "--out", str(out), "--errors", str(errors),
               "--workers", str(workers), "--model", model, "--no-progress", "--json"]
    process, stdout, stderr, seconds, peak = run_measured(command)
    if process.returncode not in (0, 1):
        raise SystemExit(f"ingest failed ({process.returncode}): {stderr.strip()}")
    summary = json.loads(stdout)
    return {
        "articles": summary["read"], "workers": workers, "model": model, "extracted": summary["extracted"],
        "failed": summary["failed"], "skipped": sum(summary["skipped"].values()), "statements": summary["statements"],
        "seconds": round(seconds, 1), "articles_per_second": round(summary["read"] / seconds, 2),
        "peak_memory_mb": round(peak / 2**20),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m quotegraph.bench_ingest", description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, nargs="+", default=[1000], help="input sizes (default 1000)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (default 1 2)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"extraction model (default {DEFAULT_MODEL})")
    parser.add_argument("--data", default=os.environ.get("QUOTEGRAPH_POLNEAR", DEFAULT_POLNEAR), help="PolNeAR folder")
    parser.add_argument("--keep", metavar="DIR", help="build inputs and outputs in DIR and keep them")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="qg-bench-") as temporary:
        folder = Path(args.keep or temporary)
        folder.mkdir(parents=True, exist_ok=True)
        for count in args.articles:
            source = build_input(folder, count, Path(args.data))
            for workers in args.workers:
                print(json.dumps(run_once(source, workers, args.model, folder)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
