"""Where a batch's extractions go. A sink is anything with the :class:`Sink` methods.

The batch runner writes extractions in input order and calls ``commit`` now and then; only after
``commit`` returns does it record the committed articles in its resume ledger, together with the
checkpoint ``commit`` returned. On a resumed run it calls ``rollback(checkpoint)`` with the last
checkpoint the ledger holds, so anything written after it (by a run that was killed before its
ledger caught up) is thrown away and written again exactly once. ``JsonlSink`` is the sink for
now; the store (issue 5) adds a database sink behind the same protocol, where ``commit`` is a
transaction commit.
A sink may also have ``write_line(line: bytes)`` taking :func:`jsonl_line`'s bytes; the batch
then has its workers serialise extractions and hands the sink bytes instead of extractions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Protocol

from quotegraph.errors import InputError
from quotegraph.model import Extraction


class Sink(Protocol):
    def write(self, key: str, extraction: Extraction) -> None:
        """Add one article's extraction (``key`` identifies the article across runs)."""

    def commit(self) -> int:
        """Make everything written so far durable; return a checkpoint to roll back to."""

    def rollback(self, checkpoint: int) -> None:
        """Discard anything written after ``checkpoint`` (0: everything). Called before any write."""

    def close(self) -> None: ...


class AppendLog:
    """An append-only file of lines whose durable length is the checkpoint.

    Lines are appended through a buffer; ``commit`` flushes and fsyncs and returns the file's
    length, and ``rollback`` truncates the file to a length some earlier ``commit`` returned, so a
    half-written last line from a killed run can never survive.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = self.path.open("ab")

    def append(self, line: str) -> None:
        self._file.write(line.encode("utf-8") + b"\n")

    def append_bytes(self, line: bytes) -> None:
        """:meth:`append` for a line already encoded (UTF-8, no newline)."""
        self._file.write(line)
        self._file.write(b"\n")

    def commit(self) -> int:
        self._file.flush()
        os.fsync(self._file.fileno())
        return self._file.tell()

    def rollback(self, checkpoint: int) -> None:
        self._file.flush()
        size = self.path.stat().st_size
        if checkpoint > size:
            raise InputError(f"{self.path}: shorter ({size:,} bytes) than its resume ledger says ({checkpoint:,}); "
                             "it was changed after the run that wrote it, so it cannot be resumed")
        if checkpoint < size:
            self._file.truncate(checkpoint)
            self._file.seek(checkpoint)
            self.commit()

    def close(self) -> None:
        self._file.close()


def jsonl_line(key: str, extraction: Extraction) -> bytes:
    """One line of :class:`JsonlSink`'s output, UTF-8, without the newline."""
    return json.dumps({"key": key, **extraction.to_json()}, ensure_ascii=False).encode("utf-8")


class JsonlSink:
    """One JSON line per article: ``{"key": ..., "article": ..., "attributions": ..., ...}``.

    The line is :meth:`Extraction.to_json` with the article's resume key in front, so the
    output can be read back with ``Extraction.from_json`` and matched to its input.
    """

    def __init__(self, path: str | Path) -> None:
        self.log = AppendLog(Path(path))

    def write(self, key: str, extraction: Extraction) -> None:
        self.log.append_bytes(jsonl_line(key, extraction))

    def write_line(self, line: bytes) -> None:
        """Write a line :func:`jsonl_line` made elsewhere: batch workers serialise their results,
        so the batch's parent process, which shares the CPU with them, only copies bytes."""
        self.log.append_bytes(line)

    def commit(self) -> int:
        return self.log.commit()

    def rollback(self, checkpoint: int) -> None:
        self.log.rollback(checkpoint)

    def close(self) -> None:
        self.log.close()
