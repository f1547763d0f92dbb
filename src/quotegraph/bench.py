"""Throughput benchmark: articles per second on one core, and peak memory.

A benchmark, not a test: it reports numbers for docs/benchmarks.md and asserts nothing. Runs
in one process, on one thread by default so the rate is per core (``threads`` lets the accurate
model's torch use more); the first article (model loading) is timed separately.

Two rates: wall-clock (what a user waits) and per CPU-second of this process (what one core
does). On an idle machine they agree; on a shared one the CPU rate is the one to compare.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from quotegraph.errors import InputError
from quotegraph.models import DEFAULT_MODEL


@dataclass(frozen=True)
class BenchResult:
    model: str
    articles: int
    words: int
    statements: int
    load_seconds: float
    seconds: float
    articles_per_second: float
    cpu_seconds: float
    articles_per_cpu_second: float
    words_per_second: float
    peak_rss_mb: float
    threads: int
    python: str
    machine: str

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    def format(self) -> str:
        per = "per core" if self.threads == 1 else f"in one process with {self.threads} threads"
        return (
            f"model {self.model}: {self.articles} articles ({self.words} words, {self.statements} statements) "
            f"in {self.seconds:.1f} s: {self.articles_per_second:.2f} articles/s {per} "
            f"({self.articles_per_cpu_second:.2f} per CPU-second), "
            f"{self.words_per_second:.0f} words/s; model load {self.load_seconds:.1f} s; peak memory {self.peak_rss_mb:.0f} MB"
        )


def _texts(folder: Path, limit: int | None) -> list[str]:
    if not folder.is_dir():
        raise InputError(f"no such folder of texts: {folder}")
    paths = sorted(folder.glob("*.txt"))[: limit or None]
    if not paths:
        raise InputError(f"no .txt files in {folder}")
    return [p.read_text(encoding="utf-8") for p in paths]


def run_bench(
    folder: Path, model: str = DEFAULT_MODEL, limit: int | None = None, repeat: int = 1, threads: int = 1
) -> BenchResult:
    """Extract every text in ``folder`` (``repeat`` times) and measure the rate."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    if "torch" in sys.modules:  # already loaded (a second model in one run): set it directly
        sys.modules["torch"].set_num_threads(threads)
    from quotegraph.ingest.text import article_from_text
    from quotegraph.pipeline import Pipeline

    texts = _texts(folder, limit)
    start = time.perf_counter()
    pipeline = Pipeline(model=model)
    pipeline(article_from_text("Smith said the talks went well."))  # warm up: load everything
    load = time.perf_counter() - start
    statements = words = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(repeat):
        for text in texts:
            statements += len(pipeline(article_from_text(text)).attributions)
            words += len(text.split())
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    articles = len(texts) * repeat
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return BenchResult(
        model=model, articles=articles, words=words, statements=statements, load_seconds=round(load, 2),
        seconds=round(seconds, 2), articles_per_second=round(articles / seconds, 2),
        cpu_seconds=round(cpu, 2), articles_per_cpu_second=round(articles / cpu, 2),
        words_per_second=round(words / seconds, 1), peak_rss_mb=round(peak, 1), threads=threads,
        python=sys.version.split()[0], machine=f"{platform.machine()}, {os.cpu_count()} cores",
    )
