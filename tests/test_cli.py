"""The command line end to end, as a user runs it: a real process, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "damaged.txt"


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "quotegraph", *args], input=stdin, capture_output=True, timeout=300)


def test_extract_jsonl_offsets_and_speakers_on_damaged_example() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    done = run_cli("extract", str(EXAMPLE))
    assert done.returncode == 0, done.stderr.decode()
    rows = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert rows
    for row in rows:
        for part in ("source", "cue", "content"):
            span = row[part]
            if span is None:
                continue
            pieces = span.get("pieces") or [[span["start"], span["end"]]]
            texts = [text[s:e] for s, e in pieces]
            assert " … ".join(texts) == span["text"]
    by_source = {row["source"]["text"]: row for row in rows if row["source"]}
    # a title-only speaker resolves to the person the article names with that title
    assert by_source["the top US diplomat"]["speaker"]["name"] == "Mark Ellison"
    assert by_source["He"]["speaker"]["name"] == "Mark Ellison"
    assert by_source["Petrov"]["speaker"]["name"] == "Ivan Petrov"
    # a speaker the article never names keeps its description, and nobody's name
    unnamed = by_source["the former diplomat"]["speaker"]
    assert unnamed["named"] is False and unnamed["name"] == "the former diplomat"
    # the glued "thatAt" does not merge the Foreign Minister's sentence with Petrov's
    glue = text.index("thatAt")
    for row in rows:
        assert not (row["content"]["start"] < glue < row["content"]["end"] and "Petrov noted" in row["content"]["text"])
    # header and credit are metadata, not statements
    assert all(row["content"]["start"] > text.index("Minister Ivan Petrov") for row in rows)


def test_extract_table_and_stdin() -> None:
    done = run_cli("extract", "-", "--format", "table", stdin=EXAMPLE.read_bytes())
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout.decode()
    assert "date 2017-04-13" in out and "Mark Ellison" in out and "glued" in out


def test_min_confidence_filters() -> None:
    all_rows = run_cli("extract", str(EXAMPLE)).stdout.decode().splitlines()
    strict = run_cli("extract", str(EXAMPLE), "--min-confidence", "0.95").stdout.decode().splitlines()
    assert 0 < len(strict) < len(all_rows)
    assert all(json.loads(line)["confidence"] >= 0.95 for line in strict)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"   \n\n  ", "empty"),
        (b"\x00\x01\x02binary\x00data" * 10, "binary"),
        (b"He said \xff\xfe that", "UTF-8"),
    ],
)
def test_bad_input_one_line_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    done = run_cli("extract", str(path))
    err = done.stderr.decode()
    assert done.returncode == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert message.lower() in err.lower()
    assert done.stdout == b""


def test_fifty_megabyte_file_is_refused_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as fh:
        fh.write(b"The minister said the talks went well. " * (50 * 1024 * 1024 // 39 + 1))
    done = run_cli("extract", str(path))
    err = done.stderr.decode()
    assert done.returncode == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "limit" in err


def test_missing_file_and_unbalanced_quotes(tmp_path: Path) -> None:
    done = run_cli("extract", str(tmp_path / "nope.txt"))
    assert done.returncode == 2 and "Traceback" not in done.stderr.decode()
    path = tmp_path / "odd.txt"
    path.write_text('He said "this never ends.\n\nShe said "neither does this" and "that.\n', encoding="utf-8")
    done = run_cli("extract", str(path))
    assert done.returncode == 0, done.stderr.decode()


def test_eval_on_a_polnear_layout_folder(tmp_path: Path) -> None:
    text = 'Smith said that taxes will rise next year. "We are ready," Jones said.'
    (tmp_path / "mini" / "text").mkdir(parents=True)
    (tmp_path / "mini" / "attributions").mkdir()
    (tmp_path / "mini" / "text" / "a1.txt").write_text(text, encoding="utf-8")
    ann = [
        "T1\tSource 0 5\tSmith",
        "T2\tCue 6 10\tsaid",
        "T3\tContent 11 41\tthat taxes will rise next year",
        "T4\tAttribution 6 10\tsaid",
        "E1\tAttribution:T4 Source:T1 Cue:T2 Content:T3",
    ]
    (tmp_path / "mini" / "attributions" / "a1_x1.ann").write_text("\n".join(ann) + "\n", encoding="utf-8")
    predictions = tmp_path / "pred.jsonl"
    done = run_cli("eval", "polnear", "--data", str(tmp_path), "--split", "mini", "--predictions", str(predictions), "--json", "--quiet")
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)
    assert report["scores"]["source"]["exact"]["tp"] == 1
    assert report["scores"]["content"]["exact"]["fn"] == 0
    assert report["scores"]["content"]["exact"]["fp"] == 1  # Jones's quote is not annotated here
    line = json.loads(predictions.read_text(encoding="utf-8"))
    assert line["doc"] == "a1" and len(line["attributions"]) == 2
    assert {a["rule"] for a in line["attributions"]} == {"fast-crf"}  # the default model
    done = run_cli("eval", "polnear", "--data", str(tmp_path), "--split", "mini", "--model", "rules",
                   "--predictions", str(predictions), "--quiet")
    assert done.returncode == 0, done.stderr.decode()
    rules = {a["rule"] for a in json.loads(predictions.read_text(encoding="utf-8"))["attributions"]}
    assert rules and "fast-crf" not in rules  # --model rules runs the rules, not the default model
    done = run_cli("eval", "polnear", "--data", str(tmp_path), "--split", "nope")
    assert done.returncode == 2 and "Traceback" not in done.stderr.decode()


def test_bench_reports_rates_for_a_folder_and_refuses_bad_threads(tmp_path: Path) -> None:
    texts = tmp_path / "texts"
    texts.mkdir()
    for name in ("a", "b", "c"):
        (texts / f"{name}.txt").write_bytes(EXAMPLE.read_bytes())
    done = run_cli("bench", "--model", "fast", "--texts", str(texts), "--json")
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout.decode())
    assert result["model"] == "fast" and result["threads"] == 1
    assert result["articles"] == 3 and result["statements"] > 0
    assert result["articles_per_second"] > 0 and result["peak_rss_mb"] > 0
    refused = run_cli("bench", "--model", "fast", "--texts", str(texts), "--threads", "0")
    assert refused.returncode != 0
    assert refused.stderr.decode().strip().count("\n") == 0 and "--threads" in refused.stderr.decode()
    empty = run_cli("bench", "--texts", str(tmp_path / "nowhere"))
    assert empty.returncode != 0 and "no such folder" in empty.stderr.decode()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--model", "accurate", "--average-every", "0"), "--average-every must be a positive"),
        (("--model", "accurate", "--lr-scale", "-1"), "--lr-scale must be positive"),
        (("--model", "fast", "--average-every", "50"), "only for --model accurate"),
    ],
)
def test_train_refuses_bad_schedule_options_in_one_line(tmp_path: Path, extra: tuple[str, ...], message: str) -> None:
    for split in ("train", "dev"):
        (tmp_path / split / "text").mkdir(parents=True)
    done = run_cli("train", "--train", str(tmp_path / "train"), "--dev", str(tmp_path / "dev"),
                   "--out", str(tmp_path / "out"), *extra)
    error = done.stderr.decode().strip()
    assert done.returncode != 0 and message in error and "\n" not in error
    assert not (tmp_path / "out").exists()  # refused before anything was written
