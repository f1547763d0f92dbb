"""Inputs that once broke a batch reader, replayed through the fuzzing harness's own check.

Every file under tests/data/fuzz/<reader>/ is read exactly as `quotegraph ingest` reads a file of
that format (``quotegraph.fuzz.read_bytes``): it must give records — error records are fine —
and every record must keep the promises the batch relies on (``quotegraph.fuzz.check_records``).
tests/data/fuzz/README.md says where each input came from and what was fixed. The fuzzing
command itself is run for a few seconds per reader, with atheris from the ``fuzz`` extra.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from quotegraph.errors import InputError
from quotegraph.fuzz import READERS, FuzzFinding, check_records, read_bytes, seeds
from quotegraph.ingest.base import ReadOptions, Record

FUZZ = Path(__file__).resolve().parent / "data" / "fuzz"
CASES = sorted(p for reader in READERS for p in (FUZZ / reader).glob("*") if p.is_file())


def test_cases_are_named_by_reader() -> None:
    assert {p.name for p in FUZZ.iterdir() if p.is_dir()} <= set(READERS)
    assert len(CASES) >= 3


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_crashing_input_now_reads_cleanly(case: Path, tmp_path: Path) -> None:
    try:
        records = read_bytes(case.parent.name, case.read_bytes(), tmp_path)
    except InputError:
        return  # refused as a whole, in one line: what ingest does with an unreadable named file
    assert records, "a file gives at least one record"


def records_of(reader: str, name: str, tmp_path: Path) -> list[Record]:
    return read_bytes(reader, (FUZZ / reader / name).read_bytes(), tmp_path)


def test_corrupt_gzip_ends_in_one_error_record(tmp_path: Path) -> None:
    records = records_of("jsonl", "corrupt-deflate.jsonl.gz", tmp_path)
    assert records[-1].error and "unreadable past this point" in records[-1].error
    assert all(r.error is None for r in records[:-1])


def test_lone_surrogates_become_replacement_characters(tmp_path: Path) -> None:
    [record] = records_of("jsonl", "lone-surrogates.jsonl", tmp_path)
    article = record.article
    assert article is not None
    assert article.text == "He said \ufffd it, and \ufffd too."  # same length: offsets still hold
    assert article.url == "https://n.example/\ufffd" and article.title == "\ufffd"


def test_character_references_to_no_character_keep_the_feed(tmp_path: Path) -> None:
    records = records_of("feed", "bad-charrefs.rss", tmp_path)
    assert [r.article is not None for r in records] == [True, True]
    assert records[0].article.text.count("\ufffd") == 3


@pytest.mark.parametrize("reader", READERS)
def test_seeds_read_as_their_format(reader: str, tmp_path: Path) -> None:
    """The harness's seed files are real files of each format: most give articles."""
    articles = 0
    for name, data in seeds(reader).items():
        records = read_bytes(reader, data, tmp_path)
        articles += sum(r.article is not None for r in records)
    assert articles >= 2


def test_the_check_catches_broken_promises() -> None:
    source = "/x/in.jsonl"
    duplicate = [Record(source, 1, "line", error="bad"), Record(source, 1, "line", error="bad again")]
    with pytest.raises(FuzzFinding, match="two records with the key"):
        check_records(duplicate, source, ReadOptions())
    from quotegraph.model import Article

    too_long = [Record(source, 1, "line", article=Article(text="x" * 11))]
    with pytest.raises(FuzzFinding, match="over the limit"):
        check_records(too_long, source, ReadOptions(max_chars=10))
    surrogate = [Record(source, 1, "line", article=Article(text="said \ud800"))]
    with pytest.raises(UnicodeEncodeError):
        check_records(surrogate, source, ReadOptions())


@pytest.mark.parametrize("reader", ["jsonl", "feed"])
def test_fuzz_command_runs_for_a_set_time(reader: str, tmp_path: Path) -> None:
    """A short, seeded run (libFuzzer options pass through): the command works and finds nothing."""
    done = subprocess.run(
        [sys.executable, "-m", "quotegraph.fuzz", reader, "--seconds", "20", "--corpus", str(tmp_path / "corpus"),
         "--crashes", str(tmp_path / "crashes"), "-runs=300", "-seed=1"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "stat::number_of_executed_units" in done.stderr
    assert len(list((tmp_path / "corpus").iterdir())) >= len(seeds(reader))
    assert not list((tmp_path / "crashes").iterdir())


def test_file_name_that_is_not_utf8_gets_a_key_every_writer_accepts(tmp_path: Path) -> None:
    """A Latin-1 file name (bytes that are not UTF-8) once stopped `quotegraph ingest` with a
    traceback: its key could not be written to the ledger."""
    from ingest_samples import article
    from quotegraph.ingest.walk import read_paths

    folder = tmp_path / "in"
    folder.mkdir()
    with open(bytes(folder) + b"/caf\xe9.txt", "w", encoding="utf-8") as stream:
        stream.write(article(1))
    [record] = list(read_paths([folder]))
    assert record.source == f"{folder.resolve()}/caf\\xe9.txt"
    assert record.key.encode("utf-8") and record.article is not None and record.article.path == record.source
