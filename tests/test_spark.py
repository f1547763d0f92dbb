"""quotegraph on Spark, in local mode (`local[2]`): the real CLI, a real JVM, real Parquet files.

One mixed input (a gzipped WARC crawl and a JSONL dump of invented articles, with duplicates, a
broken line, a French article and one article far over the time budget) is run through
`quotegraph spark ... --merge` once, and through `quotegraph ingest` (file and store) once; the
tests compare what they wrote. PySpark, pyarrow and Java are required: a missing one fails here.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ingest_samples import FRENCH, article, write_warc
from quotegraph.errors import InputError
from quotegraph.filters import Deduper, text_fingerprint
from quotegraph.model import Article, Extraction
from quotegraph.spark.job import JobOptions, first_of_duplicates, run_extract
from quotegraph.spark.read import url_key
from quotegraph.spark.session import get_session
from quotegraph.store import SearchQuery, open_store

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # read when the session starts, in the fixture

BUDGET = "5"  # seconds per article: the giant article runs far over it, the others far under
# The rules model, spaCy's parser behind it: the giant article takes it minutes (the fast model
# would finish it within the budget, and the budget is what these runs test).
MODEL = ("--model", "rules")
# The same quotation, cut short, in an article of its own: a near-duplicate the merge must join.
TRUNCATED = (
    "The Millbrook council met again on Friday to hear from residents about the ferry timetable, a week "
    "after the vote that settled the matter for the winter.\n\n"
    "Marta Okafor, who chairs the committee, repeated her case. \"Residents have waited long enough for a "
    "decision,\" Okafor said.\n\n"
    "Nobody at the meeting asked for the vote to be held again. The next review of the timetable is due in "
    "the autumn, when the council will publish the number of passengers on the late sailings."
)


def run_cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    return subprocess.run([sys.executable, "-m", "quotegraph", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, check=False)


def table(folder: Path, name: str) -> list[dict]:
    return pq.read_table(folder / name).to_pylist()


def canonical_rows(rows: list[dict]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The input, one `quotegraph spark --merge` run, and `quotegraph ingest` into a file and into a store."""
    root = tmp_path_factory.mktemp("spark")
    inputs = root / "in"
    inputs.mkdir()
    write_warc(inputs / "crawl.warc.gz", gzipped=True)
    giant = "\n\n".join(article(i % 100) for i in range(400))
    lines = [
        {"text": article(0), "url": "https://n.example/0", "date": "2024-03-01"},
        {"text": article(144), "url": "https://n.example/144", "date": "2024-02-10"},  # Marta Okafor's quote again
        {"text": TRUNCATED, "url": "https://other.example/t", "date": "2024-04-02", "publisher": "Other Gazette"},
        "{broken json",
        {"text": giant, "url": "https://n.example/giant"},
        {"text": article(5), "url": "https://n.example/0/"},  # the same URL as the first line
        {"text": article(0), "url": "https://n.example/copy"},  # the same text as the first line
        {"text": FRENCH, "url": "https://n.example/fr"},
        {"text": article(3), "url": "https://n.example/3"},
    ]
    (inputs / "news.jsonl").write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in lines),
                                       encoding="utf-8")
    out = root / "out"
    spark = run_cli("spark", str(inputs), "--output", str(out), "--master", "local[2]", "--max-seconds", BUDGET,
                    "--merge", "--json", *MODEL)
    ingest_out = root / "ingest.jsonl"
    ingest = run_cli("ingest", str(inputs), "--out", str(ingest_out), "--workers", "2", "--max-seconds", BUDGET,
                     "--json", "--no-progress", *MODEL)
    ingest_db = run_cli("ingest", str(inputs), "--db", str(root / "ingest.db"), "--no-embed", "--workers", "2",
                        "--max-seconds", BUDGET, "--json", "--no-progress", *MODEL)
    return {"root": root, "inputs": inputs, "out": out, "spark": spark, "ingest": ingest, "ingest_out": ingest_out,
            "ingest_db": ingest_db}


@pytest.fixture(scope="module")
def session():  # type: ignore[no-untyped-def]
    spark = get_session("local[2]", config={"spark.ui.showConsoleProgress": "false"})
    yield spark
    spark.stop()


def statement_key(key: str, att: dict) -> tuple:
    def span(s: dict | None) -> tuple | None:
        return (s["start"], s["end"], s["text"]) if s else None

    return (key, span(att["content"]), span(att["source"]), span(att["cue"]), att["kind"])


def test_statements_equal_what_ingest_produces(runs: dict) -> None:
    spark, ingest = runs["spark"], runs["ingest"]
    assert spark.returncode == 1, spark.stderr[-3000:]  # one article failed: exit status 1, as ingest
    assert ingest.returncode == 1, ingest.stderr
    got, want = json.loads(spark.stdout), json.loads(ingest.stdout)
    for field in ("read", "extracted", "statements", "failed", "skipped", "files"):
        assert got[field] == want[field], field
    assert got["skipped"]["duplicate-url"] == 1 and got["skipped"]["duplicate-text"] == 1
    expected = sorted(statement_key(line["key"], att)
                      for line in map(json.loads, runs["ingest_out"].read_text().splitlines())
                      for att in line["attributions"])
    rows = table(runs["out"], "statements")
    found = sorted(statement_key(r["article_key"], {
        "content": {"start": r["content_start"], "end": r["content_end"], "text": r["content_text"]},
        "source": {"start": r["source_start"], "end": r["source_end"], "text": r["source_text"]}
        if r["source_text"] is not None else None,
        "cue": {"start": r["cue_start"], "end": r["cue_end"], "text": r["cue_text"]} if r["cue_text"] is not None else None,
        "kind": r["kind"]}) for r in rows)
    assert len(expected) > 20
    assert found == expected
    # the articles table holds each extraction whole: the same as ingest wrote, line for line
    ingested = {line["key"]: line for line in map(json.loads, runs["ingest_out"].read_text().splitlines())}
    from quotegraph.spark.tables import rebuild

    for row in table(runs["out"], "articles"):
        line = ingested[row["key"]]
        assert rebuild(row).to_json() == {k: v for k, v in line.items() if k != "key"}


def test_failures_go_to_the_errors_table_with_their_position(runs: dict) -> None:
    errors = {r["key"]: r for r in table(runs["out"], "errors")}
    ingest_errors = [json.loads(x) for x in (runs["root"] / "ingest.errors.jsonl").read_text().splitlines()]
    assert sorted(errors) == sorted(e["key"] for e in ingest_errors)
    news = str((runs["inputs"] / "news.jsonl").resolve())
    broken, giant = errors[f"{news}#line:4"], errors[f"{news}#line:5"]
    assert broken["stage"] == "read" and "JSONDecodeError" in broken["error"] and broken["position"] == 4
    assert giant["stage"] == "extract" and f"time budget of {BUDGET} s" in giant["error"]
    assert giant["url"] == "https://n.example/giant"
    skipped = Counter(r["reason"] for r in table(runs["out"], "skipped"))
    assert skipped == Counter(json.loads(runs["ingest"].stdout)["skipped"])


def test_rerun_on_the_same_input_writes_the_same_tables(runs: dict, session) -> None:  # type: ignore[no-untyped-def]
    out = runs["out"]
    before = {name: canonical_rows(table(out, name)) for name in ("articles", "statements", "speakers", "errors",
                                                                   "skipped")}
    summary = run_extract(session, [str(runs["inputs"])], str(out), JobOptions(max_seconds=float(BUDGET), model=MODEL[1]),
                          quiet=True)
    assert summary.extracted == json.loads(runs["spark"].stdout)["extracted"]
    for name, rows in before.items():
        assert canonical_rows(table(out, name)) == rows, name
    ids = [r["id"] for r in table(out, "statements")]
    assert len(set(ids)) == len(ids)


def test_quotations_merge_across_articles_as_the_store_does(runs: dict) -> None:
    out, root = runs["out"], runs["root"]
    assert json.loads(runs["spark"].stdout)["merge"]["quotations"] > 0
    lines = [json.loads(x) for part in sorted((out / "quotations.jsonl").glob("part-*")) for x in part.read_text().splitlines()]
    marta = [q for q in lines if q["speaker"] == "Marta Okafor" and "Residents have waited" in q["quotation"]]
    assert len(marta) == 1, marta  # twice verbatim, once cut short: one quotation
    q = marta[0]
    assert q["numOccurrences"] == 3 and q["numOutlets"] == 2
    assert q["date"] == "2024-02-10 00:00:00"  # the earliest
    assert set(q["urls"]) == {"https://n.example/0", "https://n.example/144", "https://other.example/t"}
    assert q["quotation"].strip('"').rstrip(",").endswith("working lives")  # the fullest version
    parquet = {r["quoteID"]: r for r in table(out, "quotations")}
    assert set(parquet) == {x["quoteID"] for x in lines} and len(parquet) == len(lines)
    # the same quotations as the store builds from the same articles (quotegraph ingest --db, then export)
    assert runs["ingest_db"].returncode == 1, runs["ingest_db"].stderr
    exported = run_cli("export", "--db", str(root / "ingest.db"), "--format", "jsonl")
    assert exported.returncode == 0, exported.stderr
    store = [json.loads(x) for x in exported.stdout.splitlines()]
    def shape(q: dict) -> tuple:
        return q["quotation"], q["speaker"], q["numOccurrences"], str(q["date"]), q["kind"], tuple(sorted(q["urls"]))

    assert sorted(map(shape, lines)) == sorted(map(shape, store))
    assert set(store[0]) <= set(lines[0])  # every field of `quotegraph export --format jsonl`
    speakers = {r["name"]: r for r in table(out, "speakers_merged") if r["named"]}
    hers = [o for q in lines if q["speaker"] == "Marta Okafor" for o in q["occurrences"]]
    assert speakers["Marta Okafor"]["articles"] == len({o["article"] for o in hers}) >= 3
    assert speakers["Marta Okafor"]["occurrences"] == len(hers)


def test_load_into_a_store_then_search(runs: dict) -> None:
    db = runs["root"] / "loaded.db"
    first = run_cli("load", str(runs["out"]), "--db", str(db), "--no-embed", "--json", "--no-progress")
    assert first.returncode == 0, first.stderr
    loaded = json.loads(first.stdout)
    assert loaded["added"] == json.loads(runs["spark"].stdout)["extracted"]
    again = json.loads(run_cli("load", str(runs["out"]), "--db", str(db), "--no-embed", "--json", "--no-progress").stdout)
    assert again["unchanged"] == loaded["added"] and again["added"] == 0  # re-running adds nothing
    store = open_store(db)
    reference = open_store(runs["root"] / "ingest.db")
    try:
        assert store.counts() == reference.counts()
        hits = store.search(SearchQuery(text="residents waited decision", speaker="Marta Okafor")).hits
        assert [h.occurrences for h in hits] == [3] and hits[0].speaker == "Marta Okafor"
        assert sorted(k for k, _ in store.iter_articles()) == sorted(k for k, _ in reference.iter_articles())
    finally:
        store.close()
        reference.close()
    missing = run_cli("load", str(runs["root"] / "nothing"), "--db", str(db))
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1, missing.stderr


def test_duplicate_rule_is_ingests_first_come_rule_on_tangled_input(session) -> None:  # type: ignore[no-untyped-def]
    """Many articles sharing URLs and texts in chains: the rounds keep exactly what ingest's Deduper keeps."""
    rng = random.Random(7)
    articles = [Article(text=f"text number {rng.randrange(60)}", url=f"https://d.example/{rng.randrange(60)}"
                        if rng.random() < 0.8 else None) for _ in range(400)]
    dedup = Deduper()
    expected = {f"k{i}": dedup.check(a) for i, a in enumerate(articles)}
    rows = [(f"k{i}", i // 50, i % 50 * 3, url_key(a.url), text_fingerprint(a.text).hex()) for i, a in enumerate(articles)]
    frame = session.createDataFrame(rows, "key string, file_index int, position bigint, url_key string, text_key string")
    kept, dropped = first_of_duplicates(frame)
    got = {r["key"]: None for r in kept.collect()} | {r["key"]: r["reason"] for r in dropped.collect()}
    assert got == expected
    assert Counter(expected.values())[None] < 200 and {"duplicate-url", "duplicate-text"} <= set(expected.values())


def test_bad_usage_is_one_line_and_exit_2(tmp_path: Path, session) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="no such file or folder"):
        run_extract(session, [str(tmp_path / "missing")], str(tmp_path / "o"), quiet=True)
    (tmp_path / "notes.bin").write_bytes(b"\x00\x01binary")
    with pytest.raises(InputError, match="not a format quotegraph reads"):
        run_extract(session, [str(tmp_path / "notes.bin")], str(tmp_path / "o"), quiet=True)
    with pytest.raises(InputError, match="unknown model"):
        run_extract(session, [str(tmp_path)], str(tmp_path / "o"), JobOptions(model="huge"), quiet=True)
    done = run_cli("spark", str(tmp_path), "--output", str(tmp_path / "o"), "--max-seconds", "0")
    assert done.returncode == 2 and done.stderr.strip().splitlines() == ["quotegraph: error: --max-seconds must be more than 0"]


def test_extraction_rows_rebuild_the_extraction() -> None:
    from quotegraph.pipeline import Pipeline
    from quotegraph.spark.tables import ARTICLES, STATEMENTS, article_row, rebuild, statement_rows

    extraction = Pipeline()(Article(text=article(7), url="https://n.example/7", date="2024-01-02", id="a7"))
    row = dict(zip([c for c, _ in ARTICLES], article_row("k#line:1", 0, 1, "line", "/x", extraction), strict=True))
    assert rebuild(row) == extraction and isinstance(rebuild(row), Extraction)
    statements = [dict(zip([c for c, _ in STATEMENTS], r, strict=True)) for r in statement_rows("k#line:1", 0, 1, extraction)]
    assert [s["content_text"] for s in statements] == [a.content.text for a in extraction.attributions]
    assert all(s["date"] == "2024-01-02" and s["outlet"] == "n.example" for s in statements)


def test_file_names_with_glob_characters_are_read_as_themselves(tmp_path: Path, session) -> None:  # type: ignore[no-untyped-def]
    from quotegraph.spark.read import hadoop_path_list, list_inputs

    odd = tmp_path / "in" / "wire [1]{x}*.jsonl"
    odd.parent.mkdir()
    odd.write_text(json.dumps({"text": article(1)}) + "\n", encoding="utf-8")
    (tmp_path / "in" / "wire 2.jsonl").write_text(json.dumps({"text": article(2)}) + "\n", encoding="utf-8")
    (tmp_path / "in" / "_SUCCESS").write_text("")
    (tmp_path / "in" / ".hidden.jsonl").write_text("{}\n")
    files, passed_over = list_inputs(session, [str(tmp_path / "in")])
    assert [f.source for f in files] == [str((tmp_path / "in" / "wire 2.jsonl").resolve()), str(odd.resolve())]
    assert passed_over == 1  # _SUCCESS (hidden names are not counted, as in ingest)
    read = dict(session.sparkContext.binaryFiles(hadoop_path_list([f.uri for f in files])).collect())
    assert sorted(read) == sorted(f.uri for f in files) and read[files[1].uri] == odd.read_bytes()
    (tmp_path / "in" / "a,b.jsonl").write_text("{}\n")
    with pytest.raises(InputError, match="comma"):
        list_inputs(session, [str(tmp_path / "in")])


def test_a_model_that_does_not_load_is_one_line_not_a_stack_trace() -> None:
    from quotegraph.spark.job import MODEL_LOAD_MARK, executor_pipeline, job_error

    with pytest.raises(RuntimeError) as raised:
        executor_pipeline("huge", 0.0)  # what an executor raises: the task fails, the job stops
    assert str(raised.value).startswith(MODEL_LOAD_MARK)
    java = f"org.apache.spark.SparkException: Job aborted\n  File worker.py\n{raised.value}\n\tat org.apache.spark.x(y)"
    error = job_error(Exception(java))
    assert isinstance(error, InputError) and str(error).startswith("model could not be loaded: 'huge'")
    assert "\n" not in str(error)
