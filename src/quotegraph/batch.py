"""Run extraction over many articles: in worker processes, streaming, resumable.

The parent process reads records (``ingest.walk``), filters them (``filters``), hands the
articles worth extracting to a pool of worker processes and writes the results *in input order*
to a :class:`~quotegraph.sinks.Sink`. Each worker loads its :class:`~quotegraph.pipeline.Pipeline`
once (the pool initializer) and gives every article a time budget, so one slow or broken
article becomes one line in the errors file, never a stopped batch.

Memory stays flat whatever the input size: records are read lazily, at most a fixed window of
articles is in flight, and what the run remembers per article (dedup and ledger digests) is
16 bytes.

Resume: a ledger file (``<out>.ledger``) lists every article that was finished (extracted or
failed) with the sink's and the errors file's checkpoints. It is written only after the sink and
the errors file were committed (fsync'd), so it never claims more than is durable. A run over
the same inputs first rolls the sink and errors file back to the ledger's last checkpoints
(dropping anything a killed run wrote after them, such as half a line) and then skips every
article the ledger holds: nothing is processed or written twice, whenever the last run stopped.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path
from typing import Any, TextIO

from quotegraph.errors import InputError
from quotegraph.filters import Deduper, FilterOptions, rejection
from quotegraph.ingest.base import Record, ReadOptions
from quotegraph.ingest.walk import Walk
from quotegraph.model import Article, Extraction
from quotegraph.progress import Progress
from quotegraph.sinks import AppendLog, JsonlSink, Sink

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per worker: the workers are the parallelism


@dataclass(frozen=True)
class BatchOptions:
    workers: int = 1
    model: str = "rules"
    min_confidence: float = 0.0
    max_seconds: float | None = 300.0  # per article; None for no limit
    read: ReadOptions = field(default_factory=ReadOptions)
    filters: FilterOptions = field(default_factory=FilterOptions)
    in_flight_per_worker: int = 8  # articles queued per worker: enough to keep it busy
    max_window: int = 10_000  # records waiting to be written, extracted or not
    commit_seconds: float = 1.0  # a kill loses at most this much finished work
    commit_articles: int = 20  # three fsyncs per commit: cheap next to 20 extractions
    recycle_after: int | None = 2000  # a worker is replaced after this many articles (caps any growth)


@dataclass
class Summary:
    """What a run did. Counts are for this run; ``*_before`` are from earlier runs it resumed."""

    read: int = 0
    extracted: int = 0
    statements: int = 0
    failed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    done_before: int = 0
    failed_before: int = 0
    files: int = 0
    ignored_files: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    errors_path: str = ""

    @property
    def any_failed(self) -> bool:
        return self.failed + self.failed_before > 0

    def to_json(self) -> dict[str, Any]:
        return {
            "read": self.read, "extracted": self.extracted, "statements": self.statements,
            "failed": self.failed, "skipped": dict(sorted(self.skipped.items())),
            "done_before": self.done_before, "failed_before": self.failed_before,
            "files": self.files, "ignored_files": self.ignored_files,
            "seconds": round(self.seconds, 2), "interrupted": self.interrupted, "errors": self.errors_path,
        }

    def format(self) -> str:
        skipped = sum(self.skipped.values())
        reasons = ", ".join(f"{reason} {n:,}" for reason, n in sorted(self.skipped.items()))
        rate = self.extracted / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"articles read: {self.read:,} from {self.files:,} files"
            + (f" ({self.ignored_files:,} files of no known format passed over)" if self.ignored_files else ""),
            f"extracted: {self.extracted:,} ({self.statements:,} statements found) in {self.seconds:.1f} s, {rate:.2f} articles/s",
            f"skipped: {skipped:,}" + (f" ({reasons})" if reasons else ""),
            f"failed: {self.failed:,}" + (f" (see {self.errors_path})" if self.failed else ""),
        ]
        if self.done_before or self.failed_before:
            lines.append(f"done in an earlier run: {self.done_before:,} ({self.failed_before:,} of them failed)")
        if self.interrupted:
            lines.append("interrupted: run the same command again to continue where this run stopped")
        return "\n".join(lines)


# --- the worker side -------------------------------------------------------------------------

class ArticleTimeout(BaseException):
    """The article took longer than its time budget (a BaseException, so no ``except Exception``
    inside the pipeline can swallow it)."""


class _Stop(Exception):
    """Ctrl-C or SIGTERM arrived; raised only at points where sink, errors and ledger agree."""


class WorkerLoadError(InputError):
    """The workers could not load the model: every article would fail, so the batch stops."""


_worker_pipeline: Any = None
_worker_problem: str | None = None
_worker_budget: float | None = None


def _on_alarm(signum: int, frame: Any) -> None:
    raise ArticleTimeout()


def _init_worker(model: str, min_confidence: float, max_seconds: float | None) -> None:
    """Load the pipeline once per worker. A failure is kept and reported per article, not raised:
    a pool whose initializer raises respawns workers forever."""
    global _worker_pipeline, _worker_problem, _worker_budget
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGALRM, _on_alarm)
    _worker_budget = max_seconds
    try:
        from quotegraph.pipeline import Pipeline

        _worker_pipeline = Pipeline(model=model, min_confidence=min_confidence)
        _worker_pipeline(Article(text="Jane Smith said the talks went well."))  # load everything lazy now
    except Exception as exc:  # noqa: BLE001 - reported for every article instead
        _worker_problem = f"the worker could not load model '{model}': {type(exc).__name__}: {exc}"


def _extract(article: Article) -> tuple[Extraction | None, str | None, str | None]:
    """(extraction, None, None) or (None, error, traceback)."""
    if _worker_problem is not None:
        return None, _worker_problem, "load"
    try:
        if _worker_budget:
            signal.setitimer(signal.ITIMER_REAL, _worker_budget)
        try:
            return _worker_pipeline(article), None, None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except ArticleTimeout:
        return None, f"took longer than the time budget of {_worker_budget:g} s", None
    except Exception as exc:  # noqa: BLE001 - one bad article must not stop the batch
        return None, f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=6)


# --- the ledger ------------------------------------------------------------------------------

def _digest(key: str) -> bytes:
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).digest()


class Ledger:
    """``<out>.ledger``: one line per finished article, ``status<TAB>sink<TAB>errors<TAB>key``.

    ``sink`` and ``errors`` are the checkpoints of the commit that made the article durable.
    A line cut short by a kill is ignored and cut off.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done: set[bytes] = set()
        self.ok = self.failed = 0
        self.sink_checkpoint = self.errors_checkpoint = 0
        complete = 0
        if path.exists():
            with path.open("rb") as stream:
                for raw in stream:
                    if not raw.endswith(b"\n"):
                        break
                    status, sink_cp, errors_cp, key = raw[:-1].decode("utf-8").split("\t", 3)
                    self.done.add(_digest(key))
                    self.ok += status == "ok"
                    self.failed += status == "failed"
                    self.sink_checkpoint, self.errors_checkpoint = int(sink_cp), int(errors_cp)
                    complete += len(raw)
        self.log = AppendLog(path)
        self.log.rollback(complete)

    def __contains__(self, key: str) -> bool:
        return _digest(key) in self.done

    def add(self, status: str, sink_checkpoint: int, errors_checkpoint: int, key: str) -> None:
        self.log.append(f"{status}\t{sink_checkpoint}\t{errors_checkpoint}\t{key}")

    def commit(self) -> None:
        self.log.commit()

    def close(self) -> None:
        self.log.close()


# --- the parent side -------------------------------------------------------------------------

@dataclass
class _Entry:
    """One record waiting its turn to be written, in input order."""

    record: Record
    status: str  # "extract", "skip", "failed", "done"
    reason: str | None = None
    result: AsyncResult[Any] | None = None
    submitted: float = 0.0
    input_bytes: int = 0  # how far through the input the readers were when it was read: for progress


class _Runner:
    def __init__(self, walk: Walk, sink: Sink, errors: AppendLog, ledger: Ledger, options: BatchOptions,
                 progress: Progress) -> None:
        self.walk, self.sink, self.errors, self.ledger = walk, sink, errors, ledger
        self.options, self.progress = options, progress
        self.summary = Summary(done_before=ledger.ok + ledger.failed, failed_before=ledger.failed)
        self.dedup = Deduper()
        self.window: deque[_Entry] = deque()
        self.in_flight = 0
        self.uncommitted: list[tuple[str, str]] = []  # (status, key) written since the last commit
        self.last_commit = time.monotonic()
        self.pool: Pool | None = None
        self.bytes_done = 0  # input bytes up to the last record written: the progress fraction
        self.stop_requested = False

    def _request_stop(self, signum: int, frame: Any) -> None:
        """A signal only sets a flag: raising at an arbitrary point could split a write from its
        ledger entry (a line made durable whose key the ledger never lists)."""
        self.stop_requested = True

    def _check_stop(self) -> None:
        if self.stop_requested:
            raise _Stop()

    # the pool
    def _start_pool(self) -> None:
        opts = self.options
        self.pool = multiprocessing.get_context().Pool(
            processes=opts.workers, initializer=_init_worker,
            initargs=(opts.model, opts.min_confidence, opts.max_seconds), maxtasksperchild=opts.recycle_after,
        )

    def _restart_pool(self) -> None:
        """A worker died or hung: start a fresh pool and resubmit what was in flight."""
        assert self.pool is not None
        self.pool.terminate()
        self.pool.join()
        self._start_pool()
        for entry in self.window:
            if entry.status == "extract" and entry.result is not None and not entry.result.ready():
                self._submit(entry)

    def _submit(self, entry: _Entry) -> None:
        assert entry.record.article is not None
        if self.pool is None:  # started at the first article to extract: a finished run resumes at once
            self._start_pool()
        assert self.pool is not None
        entry.result = self.pool.apply_async(_extract, (entry.record.article,))
        entry.submitted = time.monotonic()

    # the loop
    def classify(self, record: Record) -> _Entry:
        if record.skip:
            return _Entry(record, "skip", record.skip)
        if record.error is not None or record.article is None:
            return _Entry(record, "done" if record.key in self.ledger else "failed", record.error)
        reason = rejection(record.article, self.options.filters) or self.dedup.check(record.article)
        if reason:
            return _Entry(record, "skip", reason)
        if record.key in self.ledger:
            return _Entry(record, "done")
        return _Entry(record, "extract")

    def run(self) -> Summary:
        start = time.monotonic()
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, self._request_stop)
        try:
            for record in self.walk.records():
                self._check_stop()
                entry = self.classify(record)
                entry.input_bytes = self.walk.bytes_read
                if entry.status == "extract":
                    self._submit(entry)
                    self.in_flight += 1
                self.window.append(entry)
                while self._full():
                    self._drain(block=True)
                self._drain(block=False)
            while self.window:
                self._drain(block=True)
            self._commit()
        except _Stop:
            self.summary.interrupted = True
            self._commit()  # everything already written becomes durable and is not done again
        except BaseException:
            # no commit: whatever was written since the last one is rolled back by the next run
            self.summary.interrupted = True  # stop the workers now, below
            raise
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            if self.pool is not None:
                if self.summary.interrupted:
                    self.pool.terminate()
                else:
                    self.pool.close()
                self.pool.join()
            self.summary.files, self.summary.ignored_files = self.walk.files, self.walk.ignored_files
            self.summary.seconds = time.monotonic() - start
            shown = self.bytes_done if self.summary.interrupted else self.walk.bytes_read
            self.progress.update(self.summary.read, self.summary.extracted, shown, force=True)
            self.progress.close()
        return self.summary

    def _full(self) -> bool:
        return (self.in_flight >= self.options.workers * self.options.in_flight_per_worker
                or len(self.window) >= self.options.max_window)

    def _drain(self, block: bool) -> None:
        """Write out finished entries from the head of the window; wait for the head if ``block``."""
        while self.window:
            self._check_stop()
            head = self.window[0]
            if head.status == "extract":
                assert head.result is not None
                if not head.result.ready():
                    if not block:
                        break
                    self._wait(head)
                    continue
            self.window.popleft()
            self._finish(head)
            block = False  # one finished entry makes room; keep writing what is ready
        self.progress.update(self.summary.read, self.summary.extracted, self.bytes_done)
        if (len(self.uncommitted) >= self.options.commit_articles
                or time.monotonic() - self.last_commit >= self.options.commit_seconds):
            self._commit()

    def _wait(self, head: _Entry) -> None:
        """Wait for the head result; a worker that died or hung past the budget costs one article."""
        assert head.result is not None
        budget = self.options.max_seconds
        head.result.wait(timeout=1.0)
        if head.result.ready() or budget is None:
            return
        if time.monotonic() - head.submitted > budget * 2 + 60:
            self.window.popleft()
            self._finish(head, lost=f"no answer from the worker after {time.monotonic() - head.submitted:.0f} s "
                                    "(it crashed or hung)")
            self._restart_pool()

    def _finish(self, entry: _Entry, lost: str | None = None) -> None:
        record = entry.record
        self.summary.read += 1
        self.bytes_done = entry.input_bytes
        if entry.status == "skip":
            self.summary.skipped[entry.reason or "?"] += 1
        elif entry.status == "done":
            pass
        elif entry.status == "failed":
            self._fail(record, "read", entry.reason or "unreadable")
        else:
            self.in_flight -= 1
            if lost is not None:
                self._fail(record, "extract", lost)
                return
            assert entry.result is not None
            extraction, error, trace = entry.result.get()
            if trace == "load":
                raise WorkerLoadError(error or "the worker could not load the model")
            if extraction is None:
                self._fail(record, "extract", error or "failed", trace)
                return
            self.sink.write(record.key, extraction)
            self.summary.extracted += 1
            self.summary.statements += len(extraction.attributions)
            self.uncommitted.append(("ok", record.key))

    def _fail(self, record: Record, stage: str, error: str, trace: str | None = None) -> None:
        import json

        article = record.article
        line: dict[str, Any] = {
            "key": record.key, "source": record.source, "unit": record.unit, "position": record.position,
            "stage": stage, "error": error,
        }
        if article is not None:
            line.update(article_id=article.id, url=article.url)
        if trace:
            line["traceback"] = trace
        self.errors.append(json.dumps(line, ensure_ascii=False))
        self.summary.failed += 1
        self.uncommitted.append(("failed", record.key))

    def _commit(self) -> None:
        """Sink and errors durable first, then the ledger that points at them."""
        sink_cp = self.sink.commit()
        errors_cp = self.errors.commit()
        for status, key in self.uncommitted:
            self.ledger.add(status, sink_cp, errors_cp, key)
        self.ledger.commit()
        self.uncommitted.clear()
        self.last_commit = time.monotonic()


def default_errors_path(out: Path) -> Path:
    """``news.jsonl`` -> ``news.errors.jsonl``, beside it."""
    name = out.name
    stem = name[: -len(".jsonl")] if name.endswith(".jsonl") else name
    return out.with_name(f"{stem}.errors.jsonl")


def ledger_path(out: Path) -> Path:
    return out.with_name(out.name + ".ledger")


def run_batch(
    paths: Sequence[str | Path],
    out: str | Path,
    options: BatchOptions = BatchOptions(),
    *,
    errors: str | Path | None = None,
    sink: Sink | None = None,
    progress_stream: TextIO | None = None,
    progress: bool = True,
    tty: bool | None = None,
) -> Summary:
    """Extract every article under ``paths`` into ``out`` (JSON lines unless ``sink`` is given).

    Resumes a run over the same ``out`` that was interrupted or killed. Raises InputError for
    bad usage (missing inputs, an ``out`` that no ingest run wrote).
    """
    if options.workers < 1:
        raise InputError("--workers must be at least 1")
    out = Path(out)
    errors_path = Path(errors) if errors else default_errors_path(out)
    ledger_file = ledger_path(out)
    if out.is_dir():
        raise InputError(f"{out}: is a folder; --out takes a file")
    if not ledger_file.exists() and out.exists() and out.stat().st_size > 0:
        raise InputError(f"{out}: exists and was not written by 'quotegraph ingest' (no {ledger_file.name}); "
                         "remove it or choose another --out")
    walk = Walk(paths, options.read, exclude=(out, errors_path, ledger_file))
    ledger = Ledger(ledger_file)  # created before the outputs, so a fresh start is recognised as ours
    sink = sink or JsonlSink(out)
    error_log = AppendLog(errors_path)
    try:
        sink.rollback(ledger.sink_checkpoint)
        error_log.rollback(ledger.errors_checkpoint)
        shown = Progress(progress_stream or sys.stderr, walk.total_bytes, tty=tty, enabled=progress)
        summary = _Runner(walk, sink, error_log, ledger, options, shown).run()
    finally:
        sink.close()
        error_log.close()
        ledger.close()
    summary.errors_path = str(errors_path)
    return summary


__all__ = ["BatchOptions", "Ledger", "Summary", "default_errors_path", "ledger_path", "run_batch"]
