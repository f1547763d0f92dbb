"""Crash safety of `quotegraph ingest --db`: SIGKILL at random points, many times, then finish.

A real `quotegraph ingest` process writes into a real SQLite store and is killed with SIGKILL
(parent and worker at once, no chance to clean up) at seeded random moments: during start-up and
schema creation, while reading, while extracting, in the middle of a store transaction. The same
command is then run again until it completes. The store must then hold exactly what one clean,
uninterrupted run writes: every article once, the same statements, occurrences and speakers, no
statement without its article, and a ledger and errors file that agree with it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from ingest_samples import TEASER, article

ARTICLES = 60
KILLS = 10


def make_inputs(folder: Path) -> None:
    """A JSONL dump with a broken line and a teaser among the articles, and a few text files."""
    folder.mkdir()
    lines = [json.dumps({"text": text(i), "url": f"https://n.example/{i}"}) for i in range(ARTICLES)]
    lines.insert(7, "{not json")  # fails: an errors-file line and a ledger entry
    lines.insert(20, json.dumps({"text": TEASER}))  # skipped: in neither
    (folder / "dump.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for i in range(ARTICLES, ARTICLES + 4):
        (folder / f"story-{i}.txt").write_text(text(i), encoding="utf-8")


def text(i: int) -> str:
    return article(i) + "\n\n" + article(i + 101)  # two stories: ~1,200 characters, ~10 statements


def command(inputs: Path, db: Path) -> list[str]:
    # the rules model: ~0.2 s an article, so the kills land all through the work (the fast model
    # finishes these 65 articles in about as long as three kills take)
    return [sys.executable, "-m", "quotegraph", "ingest", str(inputs), "--db", str(db), "--no-embed", "--no-progress",
            "--json", "--model", "rules"]


def snapshot(db: Path) -> dict[str, object]:
    """What the store holds, by content (row ids may differ between stores)."""
    with sqlite3.connect(db) as conn:
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        keys = [k for (k,) in conn.execute("SELECT key FROM articles")]
        per_article: dict[str, list[tuple[object, ...]]] = {}
        for row in conn.execute(
            "SELECT a.key, o.content_start, o.content_end, o.content_text, o.source_text, o.cue_text, o.kind, "
            "o.match, s.content, sp.name FROM occurrences o JOIN articles a ON a.id = o.article_id "
            "JOIN statements s ON s.id = o.statement_id LEFT JOIN speakers sp ON sp.id = s.speaker_id "
            "ORDER BY a.key, o.content_start, o.content_end"
        ):
            per_article.setdefault(row[0], []).append(tuple(row[1:]))
        return {
            "keys": Counter(keys),
            "extractions": {k: e for k, e in conn.execute("SELECT key, extraction FROM articles")},
            "occurrences": per_article,
            "statements": Counter(conn.execute("SELECT content, kind, n_occurrences, n_outlets FROM statements")),
            "speakers": Counter(r for (r,) in conn.execute("SELECT name FROM speakers")),
            "orphan_statements": one("SELECT count(*) FROM statements s WHERE NOT EXISTS "
                                     "(SELECT 1 FROM occurrences o WHERE o.statement_id = s.id)"),
            "orphan_occurrences": one("SELECT count(*) FROM occurrences o WHERE NOT EXISTS "
                                      "(SELECT 1 FROM articles a WHERE a.id = o.article_id) OR NOT EXISTS "
                                      "(SELECT 1 FROM statements s WHERE s.id = o.statement_id)"),
            "orphan_links": one("SELECT count(*) FROM speaker_links l WHERE NOT EXISTS "
                                "(SELECT 1 FROM articles a WHERE a.id = l.article_id)"),
            "statement_rows": one("SELECT count(*) FROM statements"),
            "integrity": one("PRAGMA integrity_check"),
            "fts": _fts_check(conn),
        }


def _fts_check(conn: sqlite3.Connection) -> str:
    """FTS5's own check that the full-text index matches the statements table."""
    try:
        conn.execute("INSERT INTO statement_fts(statement_fts) VALUES ('integrity-check')")
    except sqlite3.DatabaseError as exc:
        return f"broken: {exc}"
    return "ok"


def ledger_entries(db: Path) -> list[tuple[str, str]]:
    raw = db.with_name(db.name + ".ingest.jsonl.ledger").read_text(encoding="utf-8")
    assert raw.endswith("\n")
    return [(line.split("\t")[0], line.split("\t", 3)[3]) for line in raw.splitlines()]


def kill_at_random(cmd: list[str], ledger: Path, rng: random.Random, per_article: float, log: Path) -> int | None:
    """Start the command, SIGKILL it (and its workers) at a random moment; the ledger length then,
    or None when it finished before the kill.

    A third of the kills land anywhere in the first seconds (start-up, store creation, the first
    articles); the rest once the run has committed its first article, within the next few
    articles (``per_article``: seconds one takes here, start-up included), mostly inside an open
    store transaction.
    """
    with log.open("ab") as stream:
        process = subprocess.Popen(cmd, stdout=stream, stderr=stream, start_new_session=True)
    try:
        if rng.random() < 0.3:
            deadline = time.monotonic() + rng.uniform(0.1, 3.0)
        else:
            before = _lines(ledger)
            start = time.monotonic()
            while _lines(ledger) == before and process.poll() is None and time.monotonic() - start < 120:
                time.sleep(0.005)
            deadline = time.monotonic() + rng.uniform(0.0, 10 * per_article)
        while time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.005)
        if process.poll() is not None:
            return None
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        return _lines(ledger)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=60)


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_sigkill_at_random_points_then_rerun_stores_every_article_exactly_once(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    make_inputs(inputs)

    clean_db = tmp_path / "clean.db"
    clean = subprocess.run(command(inputs, clean_db), capture_output=True, text=True, timeout=300)
    assert clean.returncode == 1, clean.stderr  # 1: the broken line failed, the rest went in
    summary = json.loads(clean.stdout)
    assert summary["extracted"] == ARTICLES + 4 and summary["failed"] == 1 and summary["skipped"] == {"too-short": 1}
    expected = snapshot(clean_db)
    assert expected["statement_rows"] > ARTICLES  # there is something to lose
    per_article = summary["seconds"] / summary["extracted"]

    db = tmp_path / "killed.db"
    ledger = db.with_name(db.name + ".ingest.jsonl.ledger")
    rng = random.Random(20240501)
    killed_at = []
    for _ in range(KILLS):
        at = kill_at_random(command(inputs, db), ledger, rng, per_article, tmp_path / "killed.log")
        if at is None:
            break
        killed_at.append(at)
    print(f"killed {len(killed_at)} runs, with this many ledger lines each: {killed_at}")
    assert len(killed_at) >= 8, f"only {len(killed_at)} runs were killed before the work ran out"
    assert len(set(killed_at)) >= 4, f"the kills landed at too few places: {killed_at}"

    for _ in range(3):  # a re-run finishes what is left
        final = subprocess.run(command(inputs, db), capture_output=True, text=True, timeout=300)
        if final.returncode != 130:
            break
    assert final.returncode == 1, final.stderr
    assert "Traceback" not in final.stderr
    resumed = json.loads(final.stdout)
    assert resumed["done_before"] + resumed["extracted"] + resumed["failed"] == ARTICLES + 4 + 1

    got = snapshot(db)
    assert got["integrity"] == "ok"
    assert got["keys"] == expected["keys"] and set(got["keys"].values()) == {1}  # every article, exactly once
    assert got["extractions"] == expected["extractions"]
    assert got["occurrences"] == expected["occurrences"]  # each article's statements, as a clean run has them
    assert got["statements"] == expected["statements"]
    assert got["speakers"] == expected["speakers"]
    assert got["orphan_statements"] == got["orphan_occurrences"] == got["orphan_links"] == 0
    assert got["fts"] == expected["fts"] == "ok"

    # the ledger lists each article once; its ok keys are the stored ones, its failures the errors file's
    entries = ledger_entries(db)
    keys = [key for _, key in entries]
    assert len(keys) == len(set(keys)) == ARTICLES + 4 + 1
    assert {key for status, key in entries if status == "ok"} == set(expected["keys"])
    errors = [json.loads(line) for line in db.with_name(db.name + ".ingest.errors.jsonl").read_text().splitlines()]
    assert [e["key"] for e in errors] == [key for status, key in entries if status == "failed"]
    assert len(errors) == 1 and errors[0]["key"].endswith("dump.jsonl#line:8")

    # the narrowest window: the store committed, the kill came before the ledger said so
    lines = ledger.read_bytes().splitlines(keepends=True)
    ledger.write_bytes(b"".join(lines[:-12]))
    again = subprocess.run(command(inputs, db), capture_output=True, text=True, timeout=300)
    assert again.returncode == 1 and json.loads(again.stdout)["extracted"] == 12, again.stderr
    after = snapshot(db)
    assert {k: after[k] for k in expected if k != "fts"} == {k: got[k] for k in expected if k != "fts"}
    assert after["fts"] == "ok" and len(ledger_entries(db)) == ARTICLES + 4 + 1
