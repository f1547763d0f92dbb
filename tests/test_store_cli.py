"""The store commands: ingest --db, search, speakers, show, export — thin wrappers, checked end to end."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from store_fixtures import backend, extraction, store_target  # noqa: F401 (fixtures)

from quotegraph.cli import main
from quotegraph.store import open_store

QUOTE = "There is no evidence that chemical weapons were used by the government in Syria"


@pytest.fixture
def filled(store_target: str, tmp_path: Path) -> list[str]:
    aliases = tmp_path / "aliases.tsv"
    store = open_store(store_target, aliases=aliases)
    background = " Moscow Kremlin Syria Russia Damascus."
    store.add("rt-1", extraction(f'Sergey Lavrov said: "{QUOTE}."' + background, [("Sergey Lavrov", QUOTE)],
                                 key_date="2017-04-13", url="https://www.rt.com/news/1"))
    store.add("tass-1", extraction(f'Sergei Lavrov said: "{QUOTE}".' + background, [("Sergei Lavrov", QUOTE)],
                                   key_date="2017-04-12", url="https://tass.com/politics/1"))
    store.add("cnn-1", extraction('Rex Tillerson said: "Russia has failed to keep its commitments on Syria."',
                                  [("Rex Tillerson", "Russia has failed to keep its commitments on Syria.")],
                                  key_date="2017-04-14", publisher="CNN"))
    store.close()
    return ["--db", store_target, "--aliases", str(aliases)]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().out


def test_search_formats(filled: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["search", "chemical weapons", "--speaker", "Lavrov", "--since", "2017-01-01", *filled], capsys)
    assert code == 0 and "Sergey Lavrov" in out and "2017-04-12" in out
    code, out = run(["search", "chemical weapons", "--format", "json", *filled], capsys)
    hits = json.loads(out)["hits"]
    assert len(hits) == 1 and hits[0]["occurrences"] == 2 and hits[0]["outlets"] == 2
    code, out = run(["search", "Syria", "--format", "csv", "--limit", "1", *filled], capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 1 and rows[0]["content"]
    assert main(["search", "x", "--since", "yesterday", *filled]) == 2


def test_show_speakers_and_merge(filled: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = run(["search", "chemical", "--format", "json", *filled], capsys)
    statement_id = json.loads(out)["hits"][0]["id"]
    code, out = run(["show", str(statement_id), *filled], capsys)
    assert "2 occurrence(s) in 2 outlet(s)" in out and "rt.com" in out and "tass.com" in out
    code, out = run(["show", str(statement_id), "--format", "json", *filled], capsys)
    assert {o["article_key"] for o in json.loads(out)["occurrences"]} == {"rt-1", "tass-1"}
    code, out = run(["speakers", "--top", "5", *filled], capsys)
    assert "Sergey Lavrov (Sergei Lavrov)" in out and "Rex Tillerson" in out
    code, out = run(["speakers", "explain", "Lavrov", *filled], capsys)
    assert "transliteration" in out
    code, out = run(["speakers", "merge", "Rex Tillerson", "Sergey Lavrov", "--note", "a test", *filled], capsys)
    assert code == 0 and "merged" in out
    code, out = run(["speakers", "--format", "json", *filled], capsys)
    assert len(json.loads(out)) == 1
    assert "same\tRex Tillerson\tSergey Lavrov" in Path(filled[3]).read_text()
    assert main(["speakers", "merge", "only-one", *filled]) == 2


def test_exports(filled: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = run(["export", "--format", "jsonl", *filled], capsys)
    records = [json.loads(line) for line in out.splitlines()]
    wire = next(r for r in records if r["numOccurrences"] == 2)
    assert set(wire) >= {"quoteID", "quotation", "speaker", "qids", "date", "numOccurrences", "probas", "urls"}
    assert wire["date"] == "2017-04-12 00:00:00" and wire["speaker"] == "Sergey Lavrov"
    assert sorted(wire["urls"]) == ["https://tass.com/politics/1", "https://www.rt.com/news/1"]
    code, out = run(["export", "--format", "csv", *filled], capsys)
    assert len(list(csv.DictReader(io.StringIO(out)))) == 2
    import pyarrow.parquet as pq

    assert main(["export", "--format", "parquet", "--out", str(tmp_path / "q.parquet"), *filled]) == 0
    assert pq.read_table(tmp_path / "q.parquet").num_rows == 2
    assert main(["export", "--format", "brat", "--out", str(tmp_path / "brat"), *filled]) == 0
    from quotegraph.eval.polnear import parse_ann

    text = (tmp_path / "brat" / "000001.txt").read_text()
    gold = parse_ann((tmp_path / "brat" / "000001.ann").read_text(), text)
    assert len(gold) == 1


def test_ingest_into_the_store(backend: str, store_target: str, tmp_path: Path,  # noqa: F811
                               capsys: pytest.CaptureFixture[str]) -> None:
    """The real pipeline end to end: folder -> ingest --db -> search; a second run adds nothing."""
    news = tmp_path / "news"
    news.mkdir()
    body = ("Russian Foreign Minister Sergey Lavrov said on Thursday that there was no evidence that the Syrian "
            "government had used chemical weapons. \"We demand an objective investigation,\" Lavrov told "
            "reporters in Moscow. The Kremlin said talks with Washington would continue next week.\n\n"
            "The United States launched missiles at a Syrian air base after the attack in Idlib province, which "
            "killed dozens of civilians. Officials in Washington blamed the government of Bashar al-Assad for the "
            "attack, while Moscow and Damascus rejected the accusation and called for an inquiry.\n\n"
            "Diplomats at the United Nations in New York said a vote on a new resolution was expected soon, but "
            "that Russia would most likely block any text that named the Syrian government as responsible.\n")
    (news / "a.txt").write_text("date 2017-04-13\n\n" + body)
    (news / "b.txt").write_text("date 2017-04-14\n\n" + body.replace("Thursday", "Friday") + "More text follows.\n")
    argv = ["ingest", str(news), "--db", store_target, "--no-progress", "--no-embed",
            "--out", str(tmp_path / "run.jsonl")]
    assert main(argv) == 0
    store = open_store(store_target, aliases=tmp_path / "a.tsv")
    try:
        first = store.counts()
        assert first["articles"] == 2 and first["statements"] >= 1
        hits = store.search(__import__("quotegraph.store", fromlist=["SearchQuery"]).SearchQuery(
            "objective investigation", speaker="Lavrov")).hits
        assert hits and hits[0].occurrences == 2
    finally:
        store.close()
    capsys.readouterr()
    assert main(argv) == 0
    store = open_store(store_target, aliases=tmp_path / "a.tsv")
    try:
        assert store.counts() == first
    finally:
        store.close()
