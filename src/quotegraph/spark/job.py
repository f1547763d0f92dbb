"""Stage 1 on Spark: input files → articles, statements, speakers, errors and skips as Parquet.

    quotegraph spark INPUT... --output DIR [--model fast] [--master URL]
    spark-submit … submit.py extract INPUT... --output DIR        (see docs/spark.md)

The job does what ``quotegraph ingest`` does, spread over a cluster, and gives the same result:

1. **list** (driver): the input files in ingest's walk order (``read.list_inputs``);
2. **read** (executors, one task per group of files): each file's bytes through the same
   readers and filters as ingest — a row per record: a candidate article, a skip with its reason,
   or a read error;
3. **dedup** (Spark SQL): ingest keeps an article unless an article *kept before it* had the same
   URL or the same normalised text. That is the lexicographically first independent set of the
   graph whose edges join records sharing a URL or a text, and it is computed exactly in rounds:
   records that share nothing are kept at once; then each round keeps every record that comes
   first among the undecided records sharing its URL and among those sharing its text, and drops
   the undecided records sharing a key with one just kept (so "first" is the input order, as in
   ingest, whatever the partitioning);
4. **extract** (executors): the kept articles spread evenly over partitions; each Python worker
   loads the Pipeline once (module-level cache: once per executor core, not per article or per
   task) and gives each article a time budget; an article that raises or runs over becomes an
   ``errors`` row, never a failed task retried forever;
5. **write**: every table with mode ``overwrite``. Ids come from article keys, so a re-run over
   the same input writes the same rows (idempotent), and a killed run is simply run again.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from quotegraph.budget import OverBudget, time_budget
from quotegraph.budget import install as install_budget
from quotegraph.errors import InputError
from quotegraph.filters import FilterOptions
from quotegraph.ingest.base import MAX_ARTICLE_CHARS, JsonlFields, ReadOptions
from quotegraph.model import Article
from quotegraph.spark import tables
from quotegraph.spark.read import (CANDIDATE, ERROR, IGNORED, SKIPPED, InputFile, hadoop_path_list, list_inputs,
                                   source_name)
from quotegraph.models import DEFAULT_MODEL

MODEL_LOAD_MARK = "quotegraph: model could not be loaded:"
READ_ROW = ("`file_index` int, `position` bigint, `unit` string, `source` string, `key` string, `kind` string, "
            "`reason` string, `article` string, `url_key` string, `text_key` string")
RESULT_ROW = ("`key` string, `file_index` int, `position` bigint, `unit` string, `source` string, `status` string, "
              "`extraction` string, `error` string, `traceback` string, `article_id` string, `url` string, "
              "`statements` int")
TABLES = ("articles", "statements", "speakers", "errors", "skipped")


@dataclass(frozen=True)
class JobOptions:
    model: str = DEFAULT_MODEL
    min_confidence: float = 0.0
    max_seconds: float | None = 300.0  # per article, as in `quotegraph ingest`
    read: ReadOptions = field(default_factory=ReadOptions)
    filters: FilterOptions = field(default_factory=FilterOptions)
    partitions: int | None = None  # extraction partitions; default from the article count and cores
    articles_per_partition: int = 200


# --- executors: the pipeline, loaded once per Python worker ----------------------------------------

_PIPELINES: dict[tuple[str, float], Any] = {}


def executor_pipeline(model: str, min_confidence: float) -> Any:
    """The worker's Pipeline for ``model``, loaded on first use and kept for every later task."""
    key = (model, min_confidence)
    if key not in _PIPELINES:
        from quotegraph.pipeline import Pipeline

        try:
            pipeline = Pipeline(model=model, min_confidence=min_confidence)
            pipeline(Article(text="Jane Smith said the talks went well."))  # load everything lazy now
        except Exception as exc:  # noqa: BLE001 - the driver turns this mark into a one-line error
            raise RuntimeError(f"{MODEL_LOAD_MARK} '{model}': {type(exc).__name__}: {exc}") from None
        _PIPELINES[key] = pipeline
    return _PIPELINES[key]


def extract_partition(rows: Iterator[Any], model: str, min_confidence: float,
                      budget: float | None) -> Iterator[tuple[Any, ...]]:
    """Extract every article of a partition; one that raises or runs over its budget is a failed row."""
    pipeline = None
    timed = bool(budget) and threading.current_thread() is threading.main_thread()
    previous = install_budget() if timed else None
    try:
        for row in rows:
            if pipeline is None:
                pipeline = executor_pipeline(model, min_confidence)
            article = Article.from_json(json.loads(row.article))
            base = (row.key, row.file_index, row.position, row.unit, row.source)
            try:
                with time_budget(budget if timed else None):
                    extraction = pipeline(article)
            except OverBudget:
                yield (*base, "failed", None, f"took longer than the time budget of {budget:g} s", None,
                       article.id, article.url, 0)
                continue
            except Exception as exc:  # noqa: BLE001 - one bad article must not fail the task
                yield (*base, "failed", None, f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=6),
                       article.id, article.url, 0)
                continue
            yield (*base, "ok", json.dumps(extraction.to_json(), ensure_ascii=False), None, None, article.id,
                   article.url, len(extraction.attributions))
    finally:
        if timed:
            signal.signal(signal.SIGALRM, previous)


def _extraction(row: Any) -> Any:
    from quotegraph.model import Extraction

    return Extraction.from_json(json.loads(row.extraction))


# --- the driver ------------------------------------------------------------------------------

def first_of_duplicates(candidates: Any) -> tuple[Any, Any]:
    """(kept keys, dropped keys with ``duplicate-url``/``duplicate-text``), exactly as ingest's Deduper
    decides in input order. ``candidates``: key, file_index, position, url_key (nullable), text_key."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    c = candidates.select(
        "key", F.struct("file_index", "position").alias("o"), "url_key",
        F.coalesce("url_key", F.concat(F.lit("no-url:"), "key")).alias("u"), F.col("text_key").alias("t"))
    by_u, by_t = Window.partitionBy("u"), Window.partitionBy("t")
    counted = c.withColumn("nu", F.count("*").over(by_u)).withColumn("nt", F.count("*").over(by_t))
    kept = [counted.where("nu = 1 AND nt = 1").select("key", "o", "url_key")]
    undecided = counted.where("nu > 1 OR nt > 1").select("key", "o", "url_key", "u", "t").localCheckpoint()
    involved = undecided
    while undecided.limit(1).count():
        ranked = undecided.withColumn("mu", F.min("o").over(by_u)).withColumn("mt", F.min("o").over(by_t))
        first = ranked.where((F.col("o") == F.col("mu")) & (F.col("o") == F.col("mt"))).select(
            "key", "o", "url_key", "u", "t").localCheckpoint()
        kept.append(first.select("key", "o", "url_key"))
        undecided = (undecided.join(first.select("u").distinct(), "u", "left_anti")
                     .join(first.select("t").distinct(), "t", "left_anti").localCheckpoint())
    all_kept = kept[0]
    for part in kept[1:]:
        all_kept = all_kept.unionByName(part)
    dropped = involved.join(all_kept.select("key"), "key", "left_anti")
    url_first = all_kept.where("url_key IS NOT NULL").groupBy("url_key").agg(F.min("o").alias("first_o"))
    reasons = (dropped.join(url_first, "url_key", "left")
               .select("key", F.when(F.col("first_o") < F.col("o"), F.lit("duplicate-url"))
                       .otherwise(F.lit("duplicate-text")).alias("reason")))
    return all_kept.select("key"), reasons


@dataclass
class JobSummary:
    read: int = 0
    extracted: int = 0
    statements: int = 0
    failed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    files: int = 0
    ignored_files: int = 0
    seconds: float = 0.0
    output: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"read": self.read, "extracted": self.extracted, "statements": self.statements, "failed": self.failed,
                "skipped": dict(sorted(self.skipped.items())), "files": self.files,
                "ignored_files": self.ignored_files, "seconds": round(self.seconds, 2), "output": self.output}

    def format(self) -> str:
        skipped = sum(self.skipped.values())
        reasons = ", ".join(f"{r} {n:,}" for r, n in sorted(self.skipped.items()))
        rate = self.extracted / self.seconds if self.seconds > 0 else 0.0
        return "\n".join([
            f"articles read: {self.read:,} from {self.files:,} files"
            + (f" ({self.ignored_files:,} files of no known format passed over)" if self.ignored_files else ""),
            f"extracted: {self.extracted:,} ({self.statements:,} statements found) in {self.seconds:.1f} s, "
            f"{rate:.2f} articles/s",
            f"skipped: {skipped:,}" + (f" ({reasons})" if reasons else ""),
            f"failed: {self.failed:,}" + (f" (see {self.output}/errors)" if self.failed else ""),
            f"written: {', '.join(f'{self.output}/{t}' for t in TABLES)}",
        ])


def _say(message: str, quiet: bool) -> None:
    if not quiet:
        print(f"quotegraph spark: {message}", file=sys.stderr, flush=True)


def run_extract(spark: Any, inputs: Sequence[str], output: str, options: JobOptions = JobOptions(),
                *, quiet: bool = False) -> JobSummary:
    """Run stage 1 in ``spark``; returns the counts. Raises InputError for bad usage and for a job
    that cannot run (a model that does not load, an unreadable output folder)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from quotegraph.pipeline import MODELS

    if options.model not in MODELS:
        raise InputError(f"unknown model '{options.model}': choose one of {', '.join(MODELS)}")
    start = time.monotonic()
    output = output.rstrip("/")
    files, _ = list_inputs(spark, inputs, exclude=[_qualified(spark, output)])
    summary = JobSummary(output=output)
    sc = spark.sparkContext
    _say(f"{len(files):,} input files, {sum(f.size for f in files) / 2**20:,.1f} MiB", quiet)
    by_uri = sc.broadcast({f.uri: f for f in files})
    read_options, filters = options.read, options.filters

    def read(pair: tuple[str, bytes]) -> Iterator[tuple[Any, ...]]:
        from quotegraph.spark.read import file_rows

        uri, data = pair
        info = by_uri.value.get(uri) or InputFile(-1, uri, source_name(uri), len(data))
        return file_rows(data, info, read_options, filters)

    if files:
        raw = sc.binaryFiles(hadoop_path_list([f.uri for f in files]), minPartitions=max(1, sc.defaultParallelism))
        records = spark.createDataFrame(raw.flatMap(read), READ_ROW)
    else:
        records = spark.createDataFrame([], READ_ROW)
    records = records.persist(StorageLevel.MEMORY_AND_DISK)
    counts = {(r["kind"], r["reason"]): r["count"] for r in records.groupBy("kind", "reason").count().collect()}
    summary.files = len(files) - sum(n for (kind, _), n in counts.items() if kind == IGNORED)
    summary.ignored_files = len(files) - summary.files
    summary.read = sum(n for (kind, _), n in counts.items() if kind != IGNORED)
    for (kind, reason), n in counts.items():
        if kind == SKIPPED:
            summary.skipped[reason] += n
    candidates = records.where(F.col("kind") == CANDIDATE)
    _say(f"{summary.read:,} records read; removing duplicates", quiet)
    kept, duplicates = first_of_duplicates(candidates.select("key", "file_index", "position", "url_key", "text_key"))
    duplicates = duplicates.persist(StorageLevel.MEMORY_AND_DISK)
    for r in duplicates.groupBy("reason").count().collect():
        summary.skipped[r["reason"]] += r["count"]
    todo = candidates.join(kept, "key", "inner")
    total = todo.count()
    partitions = options.partitions or max(2 * sc.defaultParallelism,
                                           math.ceil(total / max(1, options.articles_per_partition)))
    _say(f"extracting {total:,} articles with model '{options.model}' in {partitions:,} partitions", quiet)
    model, min_confidence, budget = options.model, options.min_confidence, options.max_seconds

    def extract(rows: Iterator[Any]) -> Iterator[tuple[Any, ...]]:
        from quotegraph.spark.job import extract_partition

        return extract_partition(rows, model, min_confidence, budget)

    work = todo.select("key", "file_index", "position", "unit", "source", "article").repartition(partitions, "key")
    results = spark.createDataFrame(work.rdd.mapPartitions(extract), RESULT_ROW).persist(StorageLevel.MEMORY_AND_DISK)
    for r in results.groupBy("status").agg(F.count("*").alias("n"), F.sum("statements").alias("s")).collect():
        if r["status"] == "ok":
            summary.extracted, summary.statements = r["n"], int(r["s"] or 0)
        else:
            summary.failed += r["n"]
    summary.failed += sum(n for (kind, _), n in counts.items() if kind == ERROR)
    _say(f"writing tables to {output}/", quiet)
    write_tables(spark, records, duplicates, results, output)
    for frame in (results, duplicates, records):
        frame.unpersist()
    summary.seconds = time.monotonic() - start
    return summary


def write_tables(spark: Any, records: Any, duplicates: Any, results: Any, output: str) -> None:
    """The five tables, each replacing whatever an earlier run left (mode overwrite)."""
    from pyspark.sql import functions as F

    ok = results.where(F.col("status") == "ok")

    def article(row: Any) -> tuple[Any, ...]:
        from quotegraph.spark.tables import article_row

        return article_row(row.key, row.file_index, row.position, row.unit, row.source, _extraction(row))

    def statements(row: Any) -> list[tuple[Any, ...]]:
        from quotegraph.spark.tables import statement_rows

        return statement_rows(row.key, row.file_index, row.position, _extraction(row))

    def speakers(row: Any) -> list[tuple[Any, ...]]:
        from quotegraph.spark.tables import speaker_rows

        return speaker_rows(row.key, _extraction(row))

    articles = spark.createDataFrame(ok.rdd.map(article), tables.ddl(tables.ARTICLES))
    articles.orderBy("file_index", "position").write.mode("overwrite").parquet(f"{output}/articles")
    spark.createDataFrame(ok.rdd.flatMap(statements), tables.ddl(tables.STATEMENTS)) \
        .write.mode("overwrite").parquet(f"{output}/statements")
    spark.createDataFrame(ok.rdd.flatMap(speakers), tables.ddl(tables.SPEAKERS)) \
        .write.mode("overwrite").parquet(f"{output}/speakers")
    read_errors = records.where(F.col("kind") == ERROR).select(
        "key", "source", "unit", "position", F.lit("read").alias("stage"), F.col("reason").alias("error"),
        F.lit(None).cast("string").alias("article_id"), F.lit(None).cast("string").alias("url"),
        F.lit(None).cast("string").alias("traceback"))
    failed = results.where(F.col("status") == "failed").select(
        "key", "source", "unit", "position", F.lit("extract").alias("stage"), "error", "article_id", "url", "traceback")
    read_errors.unionByName(failed).orderBy("key").write.mode("overwrite").parquet(f"{output}/errors")
    skipped = records.where(F.col("kind") == SKIPPED).select("key", "source", "unit", "position", "reason")
    dup_rows = duplicates.join(records.select("key", "source", "unit", "position"), "key").select(
        "key", "source", "unit", "position", "reason")
    skipped.unionByName(dup_rows).orderBy("key").write.mode("overwrite").parquet(f"{output}/skipped")


def _qualified(spark: Any, path: str) -> str:
    """``path`` as Hadoop names it (``file:/abs/path``, ``hdfs://nn/...``), to leave it out of the inputs."""
    jvm = spark.sparkContext._jvm
    p = jvm.org.apache.hadoop.fs.Path(path)
    fs = p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    return str(fs.makeQualified(p).toString()).rstrip("/")


def spark_failure(exc: Exception) -> Exception:
    """What to raise for an exception out of a Spark action: Spark's and Py4J's own errors become a
    one-line InputError; ours (and bugs) pass through unchanged."""
    if isinstance(exc, InputError):
        return exc
    kind = type(exc)
    if kind.__module__.startswith(("py4j", "pyspark")):
        return job_error(exc)
    return exc


def job_error(exc: BaseException) -> InputError:
    """A failed Spark job as one line: the model-load message when that was it, else the root cause."""
    text = str(exc)
    if MODEL_LOAD_MARK in text:
        line = text[text.index(MODEL_LOAD_MARK):].splitlines()[0]
        return InputError(line.removeprefix("quotegraph: "))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    cause = next((line for line in reversed(lines) if "Error" in line or "Exception" in line), lines[0] if lines else "")
    return InputError(f"the Spark job failed: {cause[:300]}")


# --- command line (shared by `quotegraph spark` and spark-submit) ------------------------------

JSONL_FIELDS = ("text", "id", "url", "title", "date", "author", "publisher", "language", "credit")


def add_extract_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="files or folders on any file system Spark reads (path, file:, hdfs://, s3a://)")
    parser.add_argument("--output", required=True, metavar="DIR", help="folder for the Parquet tables (replaced)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"extraction model: rules, fast or accurate (default {DEFAULT_MODEL})")
    parser.add_argument("--min-confidence", type=float, default=0.0, help="drop attributions below this confidence")
    parser.add_argument("--max-seconds", type=float, default=300.0, metavar="S",
                        help="time budget per article (default 300)")
    parser.add_argument("--max-chars", type=int, default=MAX_ARTICLE_CHARS, metavar="N",
                        help=f"longest article text read, in characters (default {MAX_ARTICLE_CHARS:,}), as ingest")
    parser.add_argument("--partitions", type=int, metavar="N",
                        help="extraction partitions (default: 200 articles each, at least 2 per core)")
    parser.add_argument("--merge", action="store_true", help="also run stage 2 (quotations across articles)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.add_argument("--quiet", action="store_true", help="no stage messages")
    for name in JSONL_FIELDS:
        parser.add_argument(f"--{name}-field", default=name, metavar="NAME",
                            help=f"JSONL field holding the {name} (default {name}; a.b for nested)")


def options_from(args: argparse.Namespace) -> JobOptions:
    if args.max_seconds is not None and args.max_seconds <= 0:
        raise InputError("--max-seconds must be more than 0")
    if args.max_chars < 1:
        raise InputError("--max-chars must be at least 1")
    if args.partitions is not None and args.partitions < 1:
        raise InputError("--partitions must be at least 1")
    fields = JsonlFields(**{name: getattr(args, f"{name}_field") for name in JSONL_FIELDS})
    return JobOptions(model=args.model, min_confidence=args.min_confidence, max_seconds=args.max_seconds,
                      read=ReadOptions(jsonl=fields, max_chars=args.max_chars), partitions=args.partitions)


@contextmanager
def spark_session(master: str | None) -> Iterator[Any]:
    """A Spark session for one command, stopped at the end; a failure Spark reports in Java terms
    becomes the one-line error it stands for."""
    from quotegraph.spark.session import get_session

    spark = get_session(master)
    try:
        yield spark
    except Exception as exc:
        failure = spark_failure(exc)
        if failure is exc:
            raise
        raise failure from None
    finally:
        spark.stop()


def run_extract_command(args: argparse.Namespace, master: str | None, out: Any) -> int:
    """``quotegraph spark`` / ``submit.py extract``: stage 1 (and stage 2 with ``--merge``)."""
    options = options_from(args)
    with spark_session(master) as spark:
        summary = run_extract(spark, args.inputs, args.output, options, quiet=args.quiet)
        merged = None
        if args.merge:
            from quotegraph.spark.merge import run_merge

            merged = run_merge(spark, args.output, quiet=args.quiet)
    if args.json:
        document = summary.to_json()
        if merged is not None:
            document["merge"] = merged
        out.write(json.dumps(document) + "\n")
    else:
        out.write(summary.format() + "\n")
        if merged is not None:
            out.write(f"quotations: {merged['quotations']:,} from {merged['statements']:,} statements, "
                      f"{merged['speakers']:,} speakers\n")
    return 1 if summary.failed else 0


def run_merge_command(args: argparse.Namespace, master: str | None, out: Any) -> int:
    from quotegraph.spark.merge import run_merge
    with spark_session(master) as spark:
        merged = run_merge(spark, args.dir.rstrip("/"), quiet=args.quiet)
    out.write((json.dumps(merged) if args.json else
               f"quotations: {merged['quotations']:,} from {merged['statements']:,} statements, "
               f"{merged['speakers']:,} speakers; written: {merged['written']}") + "\n")
    return 0


def add_merge_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", metavar="DIR", help="the --output folder of a stage-1 run")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.add_argument("--quiet", action="store_true", help="no stage messages")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for spark-submit (``submit.py``): ``extract INPUT... --output DIR`` or ``merge DIR``.

    The master, memory and cores come from spark-submit's own options.
    """
    parser = argparse.ArgumentParser(prog="submit.py", description="quotegraph on Spark (spark-submit entry point)")
    commands = parser.add_subparsers(dest="command", required=True)
    add_extract_arguments(commands.add_parser("extract", help="stage 1: files -> articles/statements/speakers"))
    add_merge_arguments(commands.add_parser("merge", help="stage 2: quotations across articles"))
    args = parser.parse_args(argv)
    try:
        if args.command == "extract":
            return run_extract_command(args, None, sys.stdout)
        return run_merge_command(args, None, sys.stdout)
    except InputError as exc:
        print(f"quotegraph: error: {exc}", file=sys.stderr)
        return 2


__all__ = ["JobOptions", "JobSummary", "add_extract_arguments", "add_merge_arguments", "extract_partition",
           "first_of_duplicates", "main", "run_extract", "run_extract_command", "run_merge_command"]
