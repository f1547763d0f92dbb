"""`quotegraph serve`: starts a real server on a store; bad usage is one line and exit status 2."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from serve_fixtures import TOKEN, extractions, fill, pipeline  # noqa: F401 (fixtures)

from quotegraph.model import Extraction


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "quotegraph", *args], capture_output=True, text=True, timeout=120,
                          env=env)


@pytest.mark.parametrize("args, message", [
    (["--port", "0"], "--port"),
    (["--port", "70000"], "--port"),
    (["--model", "huge"], "unknown model"),
    (["--workers", "0"], "--workers"),
    (["--token-file", "{empty}"], "token file is empty"),
    (["--token-file", "{missing}"], "No such file"),
])
def test_bad_usage_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    args = [a.format(empty=empty, missing=tmp_path / "missing.txt") for a in args]
    r = run("serve", "--db", str(tmp_path / "s.db"), *args)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and message in r.stderr and "Traceback" not in r.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(url: str, data: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=json.dumps(data).encode() if data is not None else None, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_runs_a_server_with_the_token_from_the_environment(tmp_path: Path, workers: int,
                                                                   extractions: list[tuple[str, Extraction]]) -> None:
    """With two worker processes, an article saved through one is found through either."""
    db = tmp_path / "store.db"
    fill(str(db), tmp_path / "store.aliases.tsv", extractions[:3])
    port = _free_port()
    env = {**os.environ, "QUOTEGRAPH_TOKEN": TOKEN}
    proc = subprocess.Popen([sys.executable, "-m", "quotegraph", "serve", "--db", str(db), "--port", str(port),
                             "--workers", str(workers)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, page = _request(base + "/api/statements?q=fishermen")
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.2)
        assert status == 200 and page["hits"] and all("fishermen" in h["content"] for h in page["hits"])
        text = 'Mayor Lucia Moreno said: "The ferry will run all winter." Ferries matter to everyone on the island.'
        assert _request(base + "/api/articles", {"text": text}, token="nope")[0] == 401
        status, saved = _request(base + "/api/articles", {"text": text}, token=TOKEN)
        assert status == 201 and saved["status"] == "added"
        for _ in range(4):  # a new connection each time: with two workers, either may answer
            assert _request(base + "/api/statements?q=ferry")[1]["hits"][0]["speaker"] == "Lucia Moreno"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "saving articles enabled" in err and f"127.0.0.1:{port}" in err
    assert ("2 worker processes" in err) == (workers == 2)
