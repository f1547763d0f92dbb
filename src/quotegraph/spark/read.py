"""Inputs of the Spark job: which files, in which order, and the rows each file's bytes become.

Files are listed on the driver through Hadoop's FileSystem, so any path Spark reads works
(``/local``, ``file:``, ``hdfs://``, ``s3a://``). Their order is the order ``quotegraph ingest``
walks them in — the paths in the order given, a folder recursively with its own files (sorted by
name) before its subfolders, hidden names passed over — because the duplicate filter keeps the
*first* of two copies, and "first" must mean the same thing in both commands.

Executors get each file's bytes (``SparkContext.binaryFiles``) and run the same readers as
``quotegraph ingest`` (``ingest.walk.stream_records``) and the same filters on them, so a record
has the same key (source + position), the same article and the same skip reason either way.
For a local file the source is its resolved path, exactly as ``ingest`` writes it; for any other
file system it is the file's URI.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from quotegraph.errors import InputError
from quotegraph.filters import FilterOptions, normal_url, rejection, text_fingerprint
from quotegraph.ingest.base import Record, ReadOptions
from quotegraph.ingest.walk import detect_head, stream_records

# Record kinds in the rows of the read stage.
CANDIDATE, SKIPPED, ERROR, IGNORED = "candidate", "skipped", "error", "ignored"
_GLOB_CHARS = "\\{}[]*?"


@dataclass(frozen=True)
class InputFile:
    """One file to read: its place in the input order, its URI for Spark, its source name for keys."""

    index: int
    uri: str
    source: str
    size: int


def source_name(uri: str) -> str:
    """The ``source`` of a file's records: a local file's resolved path (as ``ingest`` has it), else its URI."""
    if uri.startswith("file:"):
        path = uri[len("file:"):]
        while path.startswith("//"):
            path = path[1:]
        return os.path.realpath(path)
    return uri


def hadoop_path_list(uris: Sequence[str]) -> str:
    """Many file URIs as the one comma-separated string ``binaryFiles`` takes, glob characters in
    names escaped so that every file is read as itself and nothing else (names with commas are
    refused by ``list_inputs``)."""
    escaped = []
    for uri in uris:
        scheme, sep, rest = uri.partition(":")
        rest = "".join("\\" + c if c in _GLOB_CHARS else c for c in rest)
        escaped.append(f"{scheme}{sep}{rest}" if sep else rest)
    return ",".join(escaped)


def list_inputs(spark: Any, paths: Sequence[str], exclude: Sequence[str] = ()) -> tuple[list[InputFile], int]:
    """Every input file under ``paths`` in ingest's walk order, and how many hidden/metadata files were passed over.

    A missing path, or a named file no reader knows, is an InputError (exit 2) before any work starts.
    Names starting with ``_`` are passed over inside folders (Hadoop's mark of job metadata such as
    ``_SUCCESS``; Hadoop's input formats refuse to read them).
    """
    sc = spark.sparkContext
    jvm = sc._jvm
    conf = sc._jsc.hadoopConfiguration()
    HPath = jvm.org.apache.hadoop.fs.Path
    excluded = [e.rstrip("/") for e in exclude]
    files: list[InputFile] = []
    seen: set[str] = set()
    passed_over = 0

    def add(status: Any) -> None:
        uri = status.getPath().toString()
        if uri in seen or any(uri == e or uri.startswith(e + "/") for e in excluded):
            return
        if "," in uri:  # Hadoop splits an input path list at commas, with no way to escape one
            raise InputError(f"{uri}: Spark's input formats cannot read a file whose name has a comma; rename it")
        seen.add(uri)
        files.append(InputFile(len(files), uri, source_name(uri), int(status.getLen())))

    def walk(fs: Any, folder: Any) -> None:
        nonlocal passed_over
        entries = sorted(fs.listStatus(folder), key=lambda s: s.getPath().getName())
        for status in entries:
            name = status.getPath().getName()
            if status.isFile():
                if name.startswith((".", "_")):
                    passed_over += not name.startswith(".")
                    continue
                add(status)
        for status in entries:
            name = status.getPath().getName()
            if status.isDirectory() and not name.startswith((".", "_")):
                if not any(status.getPath().toString() == e for e in excluded):
                    walk(fs, status.getPath())

    for raw in paths:
        try:
            path = HPath(raw)
            fs = path.getFileSystem(conf)
            if not fs.exists(path):
                raise InputError(f"{raw}: no such file or folder")
            status = fs.getFileStatus(path)
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - an unknown scheme or unreachable cluster: one line
            raise InputError(f"{raw}: cannot list: {_first_line(exc)}") from None
        if status.isDirectory():
            walk(fs, fs.makeQualified(path))
            continue
        name = status.getPath().getName()
        if name.startswith("_"):
            raise InputError(f"{raw}: Hadoop input formats do not read files whose names start with '_'; rename it")
        if detect_head(name, lambda: _head(jvm, fs, status.getPath())) is None:
            raise InputError(f"{raw}: not a format quotegraph reads (txt, html, warc, rss/atom, jsonl)")
        add(fs.getFileStatus(fs.makeQualified(path)))
    return files, passed_over


def _head(jvm: Any, fs: Any, path: Any, size: int = 4096) -> bytes:
    """The first bytes of a file, read through Hadoop (any file system)."""
    stream = fs.open(path)
    try:
        buffer = sc_new_bytes(jvm, size)
        n = jvm.org.apache.commons.io.IOUtils.read(stream, buffer)
        return bytes(jvm.java.util.Arrays.copyOf(buffer, n))
    finally:
        stream.close()


def sc_new_bytes(jvm: Any, size: int) -> Any:
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    assert gateway is not None
    return gateway.new_array(jvm.byte, size)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def digest(value: str) -> str:
    """A short stable id (hex) for a key: the same input gives the same id in every run."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def url_key(url: str | None) -> str | None:
    """What the duplicate filter compares URLs by (``filters.Deduper``), as hex."""
    if not url:
        return None
    return hashlib.blake2b(normal_url(url).encode("utf-8"), digest_size=16).hexdigest()


def record_row(record: Record, index: int, filters: FilterOptions) -> tuple[Any, ...]:
    """The read stage's row for one record: (file_index, position, unit, source, key, kind, reason,
    article JSON, url key, text key)."""
    base = (index, record.position, record.unit, record.source, record.key)
    if record.skip:
        return (*base, SKIPPED, record.skip, None, None, None)
    if record.error is not None or record.article is None:
        return (*base, ERROR, record.error or "unreadable", None, None, None)
    article = record.article
    reason = rejection(article, filters)
    if reason:
        return (*base, SKIPPED, reason, None, None, None)
    return (*base, CANDIDATE, None, json.dumps(article.to_json(), ensure_ascii=False), url_key(article.url),
            text_fingerprint(article.text).hex())


def file_rows(data: bytes, info: InputFile, options: ReadOptions, filters: FilterOptions) -> Iterator[tuple[Any, ...]]:
    """Every record of one file's bytes, as read-stage rows; a file of no known format is one IGNORED row."""
    form = detect_head(info.uri.rsplit("/", 1)[-1], data[:4096])
    if form is None:
        yield (info.index, 0, "file", info.source, f"{info.source}#file:0", IGNORED, None, None, None, None)
        return
    try:
        for record in stream_records(io.BytesIO(data), info.source, form, options):
            yield record_row(record, info.index, filters)
    except OSError as exc:
        yield record_row(Record(info.source, 0, "file", error=f"cannot read: {exc}"), info.index, filters)


__all__ = ["CANDIDATE", "ERROR", "IGNORED", "SKIPPED", "InputFile", "digest", "file_rows", "hadoop_path_list",
           "list_inputs", "record_row", "source_name", "url_key"]
