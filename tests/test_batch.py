"""`quotegraph ingest` end to end: real processes, real files, real kills.

A mixed folder (WARC, feed, JSONL, HTML) with skips of every kind and two failing articles in
the middle, run with two workers; then a run interrupted with Ctrl-C, killed with SIGKILL, and
finished: every article must be in the output exactly once.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from ingest_samples import DATA, FRENCH, LINK_LIST, TEASER, article, write_warc
from quotegraph.model import Extraction
from quotegraph.progress import Progress


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "quotegraph", *args], capture_output=True, text=True, timeout=timeout)


def jsonl(path: Path, rows: list[object]) -> None:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")


def read_lines(path: Path) -> list[dict]:
    raw = path.read_text(encoding="utf-8")
    assert raw == "" or raw.endswith("\n"), "a half-written last line"
    return [json.loads(line) for line in raw.splitlines()]


def test_mixed_folder_two_workers_skips_counted_and_failures_do_not_stop_the_batch(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_warc(inputs / "crawl.warc.gz", gzipped=True)
    shutil.copy(DATA / "feed.xml", inputs / "feed.xml")
    shutil.copy(DATA / "page.html", inputs / "page.html")  # the same article as the WARC's first page
    giant = "\n\n".join(article(i % 100) for i in range(400))  # far over the per-article time budget
    jsonl(inputs / "news.jsonl", [
        {"text": article(0), "url": "https://n.example/0"},
        {"text": article(1), "url": "https://n.example/1"},
        "{broken json",
        {"text": giant, "url": "https://n.example/giant"},
        {"text": article(2), "url": "https://n.example/0/"},  # same URL as the first
        {"text": article(0), "url": "https://n.example/copy"},  # same text as the first
        {"text": FRENCH, "url": "https://n.example/fr"},
        {"text": TEASER, "url": "https://n.example/teaser"},
        {"text": LINK_LIST, "url": "https://n.example/links"},
        {"text": article(3), "url": "https://n.example/3"},
    ])
    out = tmp_path / "out" / "quotes.jsonl"
    # the rules model (spaCy's parser): the giant article takes it far over the 3 s budget
    done = run_cli("ingest", str(inputs), "--out", str(out), "--workers", "2", "--max-seconds", "3", "--json",
                   "--model", "rules")
    assert done.returncode == 1, done.stderr  # some articles failed
    summary = json.loads(done.stdout)
    assert summary["read"] == 19 and summary["files"] == 4
    assert summary["extracted"] == 7 and summary["failed"] == 2
    assert summary["skipped"] == {"duplicate-text": 2, "duplicate-url": 1, "http-status": 1, "language": 1,
                                  "no-sentences": 1, "not-html": 2, "too-short": 2}
    rows = read_lines(out)
    assert len(rows) == 7 and summary["statements"] == sum(len(r["attributions"]) for r in rows) > 0
    news = str((inputs / "news.jsonl").resolve())
    # written in input order, including the article after the two failures
    assert [r["key"] for r in rows][-3:] == [f"{news}#line:1", f"{news}#line:2", f"{news}#line:10"]
    extractions = [Extraction.from_json(r) for r in rows]
    ferry = next(e for e in extractions if e.article.url == "https://courier.example/news/ferry")
    assert "Marta Okafor" in {s.name for s in ferry.speakers}  # a speaker whose name was link text
    assert ferry.article.publisher == "The Millbrook Courier"
    errors = read_lines(out.with_name("quotes.errors.jsonl"))
    assert [(e["source"], e["unit"], e["position"], e["stage"]) for e in errors] == [
        (news, "line", 3, "read"), (news, "line", 4, "extract")]
    assert "time budget of 3 s" in errors[1]["error"] and errors[1]["url"] == "https://n.example/giant"
    assert "quotegraph ingest: 100%" in done.stderr  # plain progress lines when not on a terminal
    # run again: nothing to do, nothing written twice, still says that articles failed
    again = run_cli("ingest", str(inputs), "--out", str(out), "--workers", "2", "--json")
    assert again.returncode == 1
    assert json.loads(again.stdout)["done_before"] == 9 and len(read_lines(out)) == 7


def _start(*args: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as stream:
        return subprocess.Popen([sys.executable, "-m", "quotegraph", *args], stdout=stream, stderr=subprocess.STDOUT,
                                start_new_session=True)  # its own process group: the signal reaches its workers too


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _wait_for_lines(process: subprocess.Popen[bytes], ledger: Path, at_least: int) -> None:
    deadline = time.monotonic() + 240
    while _lines(ledger) < at_least:
        assert process.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_interrupted_and_killed_runs_resume_without_duplicates(tmp_path: Path) -> None:
    total = 200
    source = tmp_path / "news.jsonl"
    jsonl(source, [{"text": article(i), "url": f"https://n.example/{i}"} for i in range(total)])
    out = tmp_path / "quotes.jsonl"
    ledger = tmp_path / "quotes.jsonl.ledger"
    args = ("ingest", str(source), "--out", str(out), "--workers", "1", "--no-progress")

    # Ctrl-C: the run stops, says how to go on, keeps what it finished
    first = _start(*args, log=tmp_path / "first.log")
    _wait_for_lines(first, ledger, 3)
    os.killpg(first.pid, signal.SIGINT)
    assert first.wait(timeout=60) == 130
    assert "interrupted: run the same command again" in (tmp_path / "first.log").read_text()
    after_first = _lines(ledger)
    assert 3 <= after_first < total and len(read_lines(out)) == after_first

    # SIGKILL, the parent and its worker at once: no chance to clean up
    second = _start(*args, log=tmp_path / "second.log")
    _wait_for_lines(second, ledger, after_first + 3)
    os.killpg(second.pid, signal.SIGKILL)
    second.wait(timeout=60)
    killed_at = _lines(ledger)
    assert killed_at < total, "the run finished before it was killed"
    with out.open("ab") as stream:  # as if the kill had landed in the middle of writing a line
        stream.write(b'{"key": "half a line')

    third = subprocess.run([sys.executable, "-m", "quotegraph", *args, "--json"], capture_output=True, text=True, timeout=300)
    assert third.returncode == 0, third.stderr
    summary = json.loads(third.stdout)
    assert summary["done_before"] == killed_at and summary["extracted"] == total - killed_at
    keys = [row["key"] for row in read_lines(out)]
    expected = [f"{source.resolve()}#line:{n}" for n in range(1, total + 1)]
    assert keys == expected  # every article exactly once, in input order
    assert _lines(ledger) == total


def test_usage_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    source = tmp_path / "news.jsonl"
    jsonl(source, [{"text": article(1)}])
    missing = run_cli("ingest", str(tmp_path / "nope"), "--out", str(tmp_path / "o.jsonl"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no such file" in missing.stderr
    foreign = tmp_path / "mine.jsonl"
    foreign.write_text("my own notes\n")
    clash = run_cli("ingest", str(source), "--out", str(foreign))
    assert clash.returncode == 2 and "was not written by 'quotegraph ingest'" in clash.stderr
    assert foreign.read_text() == "my own notes\n"
    workers = run_cli("ingest", str(source), "--out", str(tmp_path / "o.jsonl"), "--workers", "0")
    assert workers.returncode == 2
    model = run_cli("ingest", str(source), "--out", str(tmp_path / "m.jsonl"), "--model", "no-such-model", "--no-progress")
    assert model.returncode == 2 and "no-such-model" in model.stderr and model.stderr.count("\n") == 1


def test_progress_bar_on_a_terminal() -> None:
    screen = io.StringIO()
    bar = Progress(screen, total_bytes=1000, tty=True, interval=0)
    bar.update(10, 9, 250)
    bar.update(40, 38, 1000)
    bar.close()
    text = screen.getvalue()
    assert text.startswith("\r[######") and "25%" in text and "100%" in text and "ETA" in text and "/s" in text
    assert text.endswith("\n") and text.count("\r") == 2


def test_duplicates_are_decided_in_input_order_whichever_worker_screens_them(tmp_path: Path) -> None:
    """Workers screen articles (filters, dedup keys) in parallel; the parent must still decide
    duplicates exactly as one pass in input order would: what a rejected or duplicate article
    carried (its URL, its text) is not remembered, a copy is caught when the two copies went to
    different workers, and the counts match one worker's and a resumed run's."""
    from quotegraph.batch import BatchOptions, run_batch

    rows = [
        ({"text": article(0), "url": "https://n.example/a"}, None),
        ({"text": TEASER, "url": "https://n.example/b"}, "too-short"),
        ({"text": article(1), "url": "https://n.example/b/"}, None),  # the teaser's URL was not remembered
        ({"text": article(0).upper(), "url": "https://n.example/c"}, "duplicate-text"),  # copy of line 1, case aside
        ({"text": article(2), "url": "https://n.example/c"}, None),  # line 4's URL was not remembered
        ({"text": article(3), "url": "HTTPS://N.EXAMPLE/a#top"}, "duplicate-url"),  # line 1's URL
        ({"text": article(3), "url": "https://n.example/d"}, None),  # line 6's text was not remembered
        ({"text": article(1).replace(", ", " ,  "), "url": "https://n.example/e"}, "duplicate-text"),  # line 3
        ({"text": article(4), "url": "https://n.example/a", "language": "fr"}, "language"),  # rejected before dedup
        ({"text": LINK_LIST, "url": "https://n.example/f"}, "no-sentences"),
        ({"text": FRENCH, "url": "https://n.example/g"}, "language"),
        ({"text": article(4), "url": "https://n.example/h"}, None),  # line 9 was not remembered
        ({"text": article(2), "url": "https://n.example/i"}, "duplicate-text"),  # line 5, far from it
    ]
    source = tmp_path / "news.jsonl"
    jsonl(source, [row for row, _ in rows])
    key = f"{source.resolve()}#line:"
    expected_keys = [f"{key}{n}" for n, (_, reason) in enumerate(rows, 1) if reason is None]
    expected_skips = {reason: sum(1 for _, r in rows if r == reason) for _, reason in rows if reason}

    results = {}
    for workers, chunk in ((2, 1), (2, 3), (1, 8)):  # chunk 1: neighbouring lines go to different workers
        out = tmp_path / f"w{workers}-c{chunk}.jsonl"
        summary = run_batch([source], out, BatchOptions(workers=workers, chunk_articles=chunk), progress=False)
        assert dict(summary.skipped) == expected_skips, (workers, chunk)
        assert summary.extracted == len(expected_keys) and summary.failed == 0
        assert [row["key"] for row in read_lines(out)] == expected_keys
        results[workers, chunk] = out.read_bytes()
        again = run_batch([source], out, BatchOptions(workers=workers, chunk_articles=chunk), progress=False)
        assert (again.extracted, again.done_before, dict(again.skipped)) == (0, len(expected_keys), expected_skips)
    assert len(set(results.values())) == 1  # the same output, byte for byte


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    if int(stat.read().rsplit(b")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def test_a_worker_killed_mid_run_costs_at_most_its_article_and_is_replaced(tmp_path: Path) -> None:
    total = 120
    source = tmp_path / "news.jsonl"
    jsonl(source, [{"text": article(i), "url": f"https://n.example/{i}"} for i in range(total)])
    out = tmp_path / "quotes.jsonl"
    ledger = tmp_path / "quotes.jsonl.ledger"
    run = _start("ingest", str(source), "--out", str(out), "--workers", "2", "--no-progress", "--json",
                 log=tmp_path / "run.log")
    _wait_for_lines(run, ledger, 3)
    workers = _children(run.pid)
    assert len(workers) == 2, workers
    os.kill(workers[0], signal.SIGKILL)  # as the out-of-memory killer would
    assert run.wait(timeout=240) in (0, 1)
    summary = json.loads((tmp_path / "run.log").read_text().splitlines()[-1])
    assert summary["extracted"] + summary["failed"] == total and summary["failed"] <= 1
    errors = read_lines(out.with_name("quotes.errors.jsonl"))
    assert len(errors) == summary["failed"]
    assert all("worker process stopped (exit code -9)" in e["error"] for e in errors)
    failed = {e["key"] for e in errors}
    keys = [row["key"] for row in read_lines(out)]
    assert keys == [k for k in (f"{source.resolve()}#line:{n}" for n in range(1, total + 1)) if k not in failed]
    assert _lines(ledger) == total
