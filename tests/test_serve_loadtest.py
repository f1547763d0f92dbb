"""The load test command (`python -m quotegraph.serve.loadtest`): it starts a real server in
another process, drives it from this one, stops at the request count or the time limit, and
reports throughput, latency percentiles and errors. The measured run on a million statements
is in docs/reliability.md; here a small store keeps it quick."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from serve_fixtures import extractions, fill, pipeline  # noqa: F401 (fixtures)

from quotegraph.model import Extraction
from quotegraph.serve.loadtest import MIX, percentile


@pytest.fixture
def small_store(tmp_path: Path, extractions: list[tuple[str, Extraction]]) -> Path:
    db = tmp_path / "store.db"
    fill(str(db), tmp_path / "store.aliases.tsv", extractions)
    return db


def loadtest(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "quotegraph.serve.loadtest", *args], capture_output=True, text=True,
                          timeout=300)


def test_stops_at_the_request_count_and_reports_every_page_type(small_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    r = loadtest("--db", str(small_store), "--clients", "8", "--requests", "300", "--seconds", "120", "--warmup", "0",
                 "--max-p99-ms", "0", "--json", str(out))
    assert r.returncode == 0, r.stderr
    result = json.loads(out.read_text())
    overall = result["overall"]
    assert overall["requests"] == 300 and overall["errors"] == 0 and result["started_server"]
    assert set(result["pages"]) == set(MIX)
    assert sum(p["requests"] for p in result["pages"].values()) == 300
    assert 0 < overall["p50_ms"] <= overall["p90_ms"] <= overall["p99_ms"] <= overall["max_ms"]
    assert overall["req_per_s"] == pytest.approx(300 / result["seconds"], rel=0.05)
    assert "overall" in r.stdout and "p99 ms" in r.stdout
    assert "127.0.0.1" in result["url"]


def test_stops_at_the_time_limit_and_fails_on_a_missed_target(small_store: Path) -> None:
    started = time.monotonic()
    r = loadtest("--db", str(small_store), "--clients", "4", "--requests", "10000000", "--seconds", "3",
                 "--warmup", "0", "--max-p99-ms", "0.001")
    assert time.monotonic() - started < 120  # startup, 3 s of load, shutdown
    assert r.returncode == 1 and "FAILED: p99" in r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("overall"))
    assert 0 < int(line.split()[1]) < 10_000_000


def test_think_time_paces_the_clients(small_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    r = loadtest("--db", str(small_store), "--clients", "3", "--seconds", "4", "--think", "0.5", "--warmup", "0",
                 "--max-p99-ms", "0", "--json", str(out))
    assert r.returncode == 0, r.stderr
    result = json.loads(out.read_text())
    # each client: a start within 1 s, then a request about every 0.5 s plus its latency, so about 8
    # each (without think time, hundreds in 4 s)
    assert 3 <= result["overall"]["requests"] <= 3 * 16 and result["think_s"] == 0.5
    assert len(result["slowest"]) == min(10, result["overall"]["requests"])


def test_errors_are_counted_and_fail_the_run(small_store: Path, tmp_path: Path) -> None:
    """Against a server that is not quotegraph's, every request it cannot answer is an error."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        out = tmp_path / "r.json"
        r = loadtest("--db", str(small_store), "--url", f"http://127.0.0.1:{port}", "--clients", "2", "--requests",
                     "20", "--warmup", "0", "--json", str(out))
    finally:
        server.terminate()
        server.wait(timeout=30)
    result = json.loads(out.read_text())
    # a directory listing answers "/" (the search pages); everything else is a 404
    missing = sum(p["requests"] for kind, p in result["pages"].items() if not kind.startswith("search page"))
    assert result["overall"]["requests"] == 20 and result["overall"]["errors"] == missing > 0
    assert r.returncode == 1 and f"{missing} errors (allowed 0)" in r.stderr
    assert not result["started_server"] and all(key.endswith("404") for key in result["errors"])


def test_bad_arguments_are_one_line(tmp_path: Path) -> None:
    r = loadtest("--db", str(tmp_path / "empty.db"), "--clients", "0")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--clients" in r.stderr
    r = loadtest("--db", str(tmp_path / "empty.db"))
    assert r.returncode == 2 and "empty" in r.stderr and "Traceback" not in r.stderr


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50 and percentile(values, 0.99) == 99 and percentile(values, 1.0) == 100
    assert percentile([7.0], 0.99) == 7.0
