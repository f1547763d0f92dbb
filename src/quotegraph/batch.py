"""Run extraction over many articles: in worker processes, streaming, resumable.

The parent process reads records (``ingest.walk``), sends the articles in chunks to worker
processes, which screen them (``filters``: language, length, dedup keys), decides in input order
which are duplicates or already done (set lookups only), has the workers extract the rest and
writes the results *in input order* to a :class:`~quotegraph.sinks.Sink`. The parent is kept
light because it shares the CPU with the workers. Each worker loads its
:class:`~quotegraph.pipeline.Pipeline` once and gives every article a time budget, so one slow
or broken article becomes one line in the errors file, never a stopped batch; a worker that dies
costs the article it was extracting and is replaced.

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
from multiprocessing.connection import Connection, wait
from pathlib import Path
from queue import SimpleQueue
from typing import Any, TextIO

from quotegraph.budget import OverBudget, time_budget
from quotegraph.budget import install as install_budget
from quotegraph.errors import InputError
from quotegraph.filters import Deduper, FilterOptions, Screening, screen
from quotegraph.ingest.base import Record, ReadOptions
from quotegraph.ingest.walk import Walk
from quotegraph.model import Article
from quotegraph.progress import Progress
from quotegraph.sinks import AppendLog, JsonlSink, Sink, jsonl_line
from quotegraph.models import DEFAULT_MODEL

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per worker: the workers are the parallelism


@dataclass(frozen=True)
class BatchOptions:
    workers: int = 1
    model: str = DEFAULT_MODEL
    min_confidence: float = 0.0
    max_seconds: float | None = 300.0  # per article; None for no limit
    read: ReadOptions = field(default_factory=ReadOptions)
    filters: FilterOptions = field(default_factory=FilterOptions)
    chunk_articles: int = 8  # articles sent to a worker at once: few messages, little idle time
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
#
# A worker is a process with one duplex pipe to the parent. It gets chunks of articles, screens
# them (filters and dedup keys: the per-article work that needs nothing of the rest of the
# batch) and sends the screenings back; the parent looks the keys up in input order, so dedup
# decides exactly as in one process, and tells the worker which articles of the chunk to extract
# (a duplicate is never extracted). A second thread in the worker takes every message as it
# comes and screens at once, so the next chunk is decided while the current one is extracted:
# the worker never waits for the parent, and the parent's sends never wait for the worker.
# Results come back one message per article, already serialised when the sink takes JSON lines.
# The parent runs no threads and does little per article: on a machine with as many cores as
# workers, every CPU millisecond it spends is taken from a worker.

class _Stop(Exception):
    """Ctrl-C or SIGTERM arrived; raised only at points where sink, errors and ledger agree."""


class WorkerLoadError(InputError):
    """The workers could not load the model: every article would fail, so the batch stops."""


# One article's outcome from a worker: ("ok", JSON line bytes or Extraction, statements),
# ("failed", error, traceback or None) or ("load", why the model did not load, None).
_Result = tuple[str, Any, Any]


@dataclass(frozen=True)
class _WorkerSettings:
    model: str
    min_confidence: float
    max_seconds: float | None  # per article
    filters: FilterOptions
    lines: bool  # serialise results as the JSONL sink's lines (it has ``write_line``)


class _Extractor:
    """A worker's pipeline, loaded at its first article to extract (a resumed run whose articles
    are all done only screens them). A load failure is kept and reported for every article, so
    the parent stops the batch with one clear error."""

    def __init__(self, settings: _WorkerSettings) -> None:
        self.settings = settings
        self.pipeline: Any = None
        self.problem: str | None = None

    def _load(self) -> None:
        try:
            from quotegraph.pipeline import Pipeline

            self.pipeline = Pipeline(model=self.settings.model, min_confidence=self.settings.min_confidence)
            self.pipeline(Article(text="Jane Smith said the talks went well."))  # load everything lazy now, off the budget
        except Exception as exc:  # noqa: BLE001 - reported for every article instead
            self.problem = f"the worker could not load model '{self.settings.model}': {type(exc).__name__}: {exc}"

    def __call__(self, key: str, article: Article) -> _Result:
        if self.pipeline is None and self.problem is None:
            self._load()
        if self.problem is not None:
            return "load", self.problem, None
        budget = self.settings.max_seconds
        try:
            with time_budget(budget):
                extraction = self.pipeline(article)
            payload = jsonl_line(key, extraction) if self.settings.lines else extraction
            return "ok", payload, len(extraction.attributions)
        except OverBudget:
            return "failed", f"took longer than the time budget of {budget:g} s", None
        except Exception as exc:  # noqa: BLE001 - one bad article must not stop the batch
            return "failed", f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=6)


def _receive(conn: Connection, parent: int) -> Any:
    """The parent's next message; None when it says stop or is gone (a killed parent closes
    nothing, so the worker looks for it now and then instead of waiting forever)."""
    while not conn.poll(5.0):
        if os.getppid() != parent:
            return None
    try:
        return conn.recv()
    except (EOFError, OSError):
        return None


_WAKE = ("wake",)  # queued by the reader thread when it left screenings to send


def _worker_main(conn: Connection, inherited: list[Connection], settings: _WorkerSettings, parent: int) -> None:
    """Extract what the reader thread queues, one result message per article, until told to stop.
    Only this thread sends (screenings first, before each article): the reader thread then
    never waits for anything but the parent's next message, so a parent sending a large chunk
    is never stuck behind a worker stuck sending to it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    install_budget()  # the time budget: signals reach the main thread only
    for other in inherited:  # forked copies of the parent's pipe ends: the parent's death must show
        other.close()
    queue: SimpleQueue[Any] = SimpleQueue()
    outbox: deque[Any] = deque()
    threading.Thread(target=_worker_reader, args=(conn, parent, settings, queue, outbox), daemon=True).start()
    extract = _Extractor(settings)
    while (item := queue.get()) is not None:
        while outbox:
            conn.send(outbox.popleft())
        if item is not _WAKE:
            conn.send(("result", extract(*item)))


def _worker_reader(conn: Connection, parent: int, settings: _WorkerSettings, queue: SimpleQueue[Any],
                   outbox: deque[Any]) -> None:
    """The worker's second thread. Messages in: ``("screen", n, [(key, article), ...])`` (screened
    at once), ``("extract", n, [index, ...])`` (queue those articles of chunk n), ``("take", n,
    [(key, article), ...])`` (queue them unscreened: their first worker died), None (stop once
    the queue is done)."""
    chunks: dict[int, list[tuple[str, Article]]] = {}
    try:
        while (message := _receive(conn, parent)) is not None:
            kind, number, items = message
            if kind == "screen":
                chunks[number] = items
                outbox.append(("screened", [screen(article, settings.filters) for _, article in items]))
                queue.put(_WAKE)
            elif kind == "extract":
                chunk = chunks.pop(number)
                for index in items:
                    queue.put(chunk[index])
            else:
                for item in items:
                    queue.put(item)
    finally:
        queue.put(None)


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

@dataclass(eq=False)
class _Entry:
    """One record waiting its turn to be written, in input order."""

    record: Record
    status: str  # "screen" (not yet decided), "extract", "skip", "failed", "done", "lost" (its worker died)
    reason: str | None = None
    screening: Screening | None = None  # from a worker
    result: _Result | None = None  # from a worker
    owner: _Worker | None = None  # the worker holding it, while one does
    attempts: int = 0  # times sent to a worker
    input_bytes: int = 0  # how far through the input the readers were when it was read: for progress


@dataclass(eq=False)
class _Chunk:
    number: int
    entries: list[_Entry]


class _Worker:
    """One worker process and what it holds, in the order it answers: chunks it owes screenings
    for, chunks waiting for the decisions of earlier articles, and ``todo``, the articles it was
    told to extract and owes results for."""

    def __init__(self, ctx: Any, settings: _WorkerSettings, others: list[Connection]) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        inherited = [self.conn, *others] if ctx.get_start_method() == "fork" else []
        self.process = ctx.Process(target=_worker_main, args=(child, inherited, settings, os.getpid()), daemon=True)
        self.process.start()
        child.close()
        self.screening: deque[_Chunk] = deque()
        self.deciding: list[_Chunk] = []
        self.todo: deque[_Entry] = deque()
        self.chunks = 0  # chunks sent: their numbers
        self.heard = time.monotonic()  # last message from it (or work given when it owed none): a hung worker is silent
        self.extracted = 0
        self.retiring = False  # extracted its share (``recycle_after``): gets no more work, replaced when done

    @property
    def load(self) -> int:
        return sum(len(c.entries) for c in self.screening) + sum(len(c.entries) for c in self.deciding) + len(self.todo)

    @property
    def owes(self) -> bool:
        return bool(self.screening or self.todo)

    def send(self, message: Any) -> None:
        """Waits at most while the worker's reader thread screens a chunk: it takes every message
        as it comes and never sends. A dead worker's broken pipe is ignored here: its sentinel
        reports the death."""
        if not self.owes:
            self.heard = time.monotonic()
        try:
            self.conn.send(message)
        except OSError:
            pass

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            self.send(None)
        self.conn.close()


class _Runner:
    def __init__(self, walk: Walk, sink: Sink, errors: AppendLog, ledger: Ledger, options: BatchOptions,
                 progress: Progress) -> None:
        self.walk, self.sink, self.errors, self.ledger = walk, sink, errors, ledger
        self.options, self.progress = options, progress
        self.summary = Summary(done_before=ledger.ok + ledger.failed, failed_before=ledger.failed)
        self.dedup = Deduper()
        self.window: deque[_Entry] = deque()
        self.pending: deque[_Entry] = deque()  # to screen, not yet sent to a worker
        self.undecided: deque[_Entry] = deque()  # sent or to send, in input order: dedup decides in this order
        self.redo: deque[_Entry] = deque()  # to extract, whose worker died before it could
        self.lines = callable(getattr(sink, "write_line", None))
        self.settings = _WorkerSettings(options.model, options.min_confidence, options.max_seconds,
                                        options.filters, self.lines)
        self.context = multiprocessing.get_context()
        self.workers: list[_Worker] = []
        self.retired: list[_Worker] = []
        self.uncommitted: list[tuple[str, str]] = []  # (status, key) written since the last commit
        self.last_commit = time.monotonic()
        self.bytes_done = 0  # input bytes up to the last record written: the progress fraction
        self.stop_requested = False

    def _request_stop(self, signum: int, frame: Any) -> None:
        """A signal only sets a flag: raising at an arbitrary point could split a write from its
        ledger entry (a line made durable whose key the ledger never lists)."""
        self.stop_requested = True

    def _check_stop(self) -> None:
        if self.stop_requested:
            raise _Stop()

    # the loop
    def classify(self, record: Record) -> _Entry:
        """What the reader alone settles; an article is screened by a worker and decided in :meth:`_decide`."""
        if record.skip:
            return _Entry(record, "skip", record.skip)
        if record.error is not None or record.article is None:
            return _Entry(record, "done" if record.key in self.ledger else "failed", record.error)
        return _Entry(record, "screen")

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
                self.window.append(entry)
                if entry.status == "screen":
                    self.pending.append(entry)
                    self.undecided.append(entry)
                while self._full():
                    self._pump(block=True)
                self._pump(block=False)
            while self.window:
                self._pump(block=True)
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
            self._stop_workers(kill=self.summary.interrupted)
            self.summary.files, self.summary.ignored_files = self.walk.files, self.walk.ignored_files
            self.summary.seconds = time.monotonic() - start
            shown = self.bytes_done if self.summary.interrupted else self.walk.bytes_read
            self.progress.update(self.summary.read, self.summary.extracted, shown, force=True)
            self.progress.close()
        return self.summary

    def _full(self) -> bool:
        return (len(self.pending) >= self.options.workers * self.options.chunk_articles
                or len(self.window) >= self.options.max_window)

    def _pump(self, block: bool) -> None:
        """Hand out work, take in what the workers sent, write what is ready at the head of the
        window; wait (a second at most, then look at Ctrl-C and hung workers) if ``block`` and
        the head is not ready."""
        self._check_stop()
        self._dispatch()
        self._receive(1.0 if block and not self._ready(self.window[0]) else 0.0)
        self._write()

    @staticmethod
    def _ready(entry: _Entry) -> bool:
        return entry.status not in ("screen", "extract") or entry.result is not None

    # the workers
    def _worker(self) -> _Worker | None:
        """The least loaded worker with room for another chunk (its current one and one more, so
        it never waits for work), starting and replacing workers as needed."""
        size = self.options.chunk_articles
        for worker in [w for w in self.workers if w.retiring and not w.load]:
            worker.stop()
            self.workers.remove(worker)
            self.retired.append(worker)
        if len(self.workers) < self.options.workers:
            self.workers.append(_Worker(self.context, self.settings, [w.conn for w in self.workers]))
        room = [w for w in self.workers if not w.retiring and w.load < 2 * size]
        return min(room, key=lambda w: w.load) if room else None

    def _dispatch(self) -> None:
        """Hand out chunks: articles to extract whose worker died first, then new ones to screen;
        a short chunk only to a worker about to run short of work (else fewer, fuller messages)."""
        size = self.options.chunk_articles
        while self.redo or self.pending:
            worker = self._worker()
            if worker is None or (not self.redo and len(self.pending) < size and worker.load >= size):
                return
            worker.chunks += 1
            if self.redo:
                entries = [self.redo.popleft() for _ in range(min(size, len(self.redo)))]
                worker.send(("take", worker.chunks, [(e.record.key, e.record.article) for e in entries]))
                worker.todo.extend(entries)
            else:
                entries = [self.pending.popleft() for _ in range(min(size, len(self.pending)))]
                worker.send(("screen", worker.chunks, [(e.record.key, e.record.article) for e in entries]))
                worker.screening.append(_Chunk(worker.chunks, entries))
            for entry in entries:
                entry.owner = worker
                entry.attempts += 1

    def _receive(self, timeout: float) -> None:
        """Take in the messages of workers that owe some, then hand out more work."""
        owing = [w for w in self.workers if w.owes]
        if owing:
            ready = set(wait([w.conn for w in owing] + [w.process.sentinel for w in owing], timeout))
            for worker in owing:
                if worker.conn in ready or worker.process.sentinel in ready:
                    self._take(worker)
            budget = self.options.max_seconds
            if budget is not None and timeout > 0:
                now = time.monotonic()
                for worker in [w for w in self.workers if w.owes and now - w.heard > budget * 2 + 60]:
                    worker.stop(kill=True)
                    self._died(worker, f"no answer from the worker after {now - worker.heard:.0f} s (it crashed or hung)")
        self._dispatch()

    def _take(self, worker: _Worker) -> None:
        limit = self.options.recycle_after
        while worker.owes:
            try:
                if not worker.conn.poll():
                    break
                kind, message = worker.conn.recv()
            except (EOFError, OSError):
                self._died(worker)
                return
            worker.heard = time.monotonic()
            if kind == "screened":
                chunk = worker.screening.popleft()
                for entry, screening in zip(chunk.entries, message):
                    entry.screening = screening
                worker.deciding.append(chunk)
                self._decide()
            else:
                entry = worker.todo.popleft()
                entry.result, entry.owner = message, None
                worker.extracted += 1
                worker.retiring = bool(limit and worker.extracted >= limit)
        if worker.owes and not worker.process.is_alive():
            self._died(worker)

    def _decide(self) -> None:
        """Dedup and the ledger, in input order, as far as screenings have come in; then tell each
        worker which articles of its decided chunks to extract."""
        while self.undecided:
            entry = self.undecided[0]
            if entry.status == "screen":
                if entry.screening is None:
                    break
                screening = entry.screening
                reason = screening.rejection or self.dedup.check_keys(screening.url_key, screening.text_key)
                if reason:
                    entry.status, entry.reason, entry.owner = "skip", reason, None
                elif entry.record.key in self.ledger:
                    entry.status, entry.owner = "done", None
                else:
                    entry.status = "extract"
                    if entry.owner is None:  # its worker died after screening it
                        self.redo.append(entry)
            self.undecided.popleft()
        for worker in self.workers:
            while worker.deciding and all(e.status != "screen" for e in worker.deciding[0].entries):
                chunk = worker.deciding.pop(0)
                chosen = [i for i, e in enumerate(chunk.entries) if e.status == "extract"]
                worker.send(("extract", chunk.number, chosen))
                worker.todo.extend(chunk.entries[i] for i in chosen)

    def _died(self, worker: _Worker, hung: str | None = None) -> None:
        """A worker died (killed by the kernel, a crash in C code) or hung (``hung``: why it was
        killed): the article it was extracting fails, as it may be what killed it; the rest of
        its work goes to other workers. Chunks it owed screenings for are screened again, once."""
        worker.process.join(timeout=10)

        def why(doing: str) -> str:
            return hung or f"the worker process stopped (exit code {worker.process.exitcode}) while {doing} it"

        if worker.todo:
            lost = worker.todo.popleft()
            lost.status, lost.reason, lost.owner = "lost", why("extracting"), None
        for entry in reversed(worker.todo):
            entry.owner = None
            self.redo.appendleft(entry)
        for chunk in worker.deciding:  # screened, not yet told what to extract: nothing was started
            for entry in chunk.entries:
                entry.owner = None
                if entry.status == "extract":
                    self.redo.append(entry)
        for chunk in reversed(worker.screening):  # no screenings came back
            for entry in reversed(chunk.entries):
                entry.owner = None
                if entry.attempts >= 2:
                    entry.status, entry.reason = "lost", why("screening")
                else:
                    self.pending.appendleft(entry)
        worker.screening, worker.deciding, worker.todo = deque(), [], deque()
        worker.conn.close()
        self.workers.remove(worker)
        self.retired.append(worker)
        self._decide()  # a chunk that failed to be screened no longer holds up the ones after it

    def _stop_workers(self, kill: bool) -> None:
        for worker in self.workers:
            worker.stop(kill=kill)
        for worker in self.workers + self.retired:
            worker.process.join(timeout=30)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
        self.workers, self.retired = [], []

    # the output
    def _write(self) -> None:
        """Write out finished entries from the head of the window, then commit if it is time."""
        while self.window and self._ready(self.window[0]):
            self._check_stop()
            self._finish(self.window.popleft())
        self.progress.update(self.summary.read, self.summary.extracted, self.bytes_done)
        if self.uncommitted and (len(self.uncommitted) >= self.options.commit_articles
                                 or time.monotonic() - self.last_commit >= self.options.commit_seconds):
            self._commit()  # never an empty one: its three fsyncs would make nothing durable

    def _finish(self, entry: _Entry) -> None:
        record = entry.record
        self.summary.read += 1
        self.bytes_done = entry.input_bytes
        if entry.status == "skip":
            self.summary.skipped[entry.reason or "?"] += 1
        elif entry.status == "done":
            pass
        elif entry.status == "failed":
            self._fail(record, "read", entry.reason or "unreadable")
        elif entry.status == "lost":
            self._fail(record, "extract", entry.reason or "its worker died")
        else:
            assert entry.result is not None
            kind, payload, extra = entry.result
            if kind == "load":
                raise WorkerLoadError(payload or "the worker could not load the model")
            if kind == "failed":
                self._fail(record, "extract", payload or "failed", extra)
                return
            if self.lines:
                self.sink.write_line(payload)  # type: ignore[attr-defined]
            else:
                self.sink.write(record.key, payload)
            self.summary.extracted += 1
            self.summary.statements += extra
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
