"""Size limits: an oversized article is refused with a one-line error, without being read whole.

Readers are handed streams that make their bytes as they are read (60 MB and more, never held
in memory by the test), so the tests see how much each reader reads and how much memory it
takes. The per-article time budget of a batch is tested end to end in test_batch.py
(``--max-seconds``: the slow article fails with "took longer than the time budget", the rest
of the batch is written).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from ingest_samples import article
from quotegraph.errors import InputError
from quotegraph.ingest.base import MAX_ARTICLE_CHARS, MAX_LINE_BYTES, ReadOptions
from quotegraph.ingest.feeds import feed_records
from quotegraph.ingest.html import MAX_HTML_BYTES, html_records
from quotegraph.ingest.jsonl import jsonl_records
from quotegraph.ingest.text import MAX_ARTICLE_BYTES, text_records
from quotegraph.ingest.warc import warc_records
from quotegraph.model import Article
from quotegraph.pipeline import Pipeline

MB = 1_000_000


class Generated(io.RawIOBase):
    """``head``, then ``fill`` repeated up to ``size`` bytes, then ``tail``: made as it is read."""

    def __init__(self, head: bytes, fill: bytes, size: int, tail: bytes = b"") -> None:
        self.head, self.fill, self.tail = head, fill, tail
        self.fill_end = len(head) + max(0, size - len(head))
        self.size = self.fill_end + len(tail)
        self.pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.size - self.pos)
        out = bytearray()
        while len(out) < n:
            p = self.pos + len(out)
            if p < len(self.head):
                out += self.head[p : p + n - len(out)]
            elif p < self.fill_end:
                offset = (p - len(self.head)) % len(self.fill)
                want = min(n - len(out), self.fill_end - p)
                repeated = self.fill * (want // len(self.fill) + 2)
                out += repeated[offset : offset + want]
            else:
                t = p - self.fill_end
                out += self.tail[t : t + n - len(out)]
        buffer[:n] = out
        self.pos += n
        return n


def peak_memory(run):  # type: ignore[no-untyped-def]
    """(result, peak bytes allocated by Python while running)."""
    tracemalloc.start()
    try:
        result = run()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_limits_are_what_the_documentation_says() -> None:
    assert (MAX_ARTICLE_CHARS, MAX_ARTICLE_BYTES, MAX_HTML_BYTES, MAX_LINE_BYTES) == (
        1_000_000, 10_000_000, 20_000_000, 16_000_000)
    assert ReadOptions().max_chars == MAX_ARTICLE_CHARS and Pipeline.max_chars == MAX_ARTICLE_CHARS


def test_sixty_megabyte_text_file_is_refused_after_reading_its_cap() -> None:
    stream = Generated(b"", b"The minister said the talks went well. ", 60 * MB)
    [record] = list(text_records(io.BufferedReader(stream), "/in/huge.txt", ReadOptions()))
    assert record.error == "/in/huge.txt: more than 10,000,000 bytes, over the limit for one article"
    assert stream.pos <= MAX_ARTICLE_BYTES + 64 * 1024


def test_text_over_the_character_limit_is_refused_in_characters(tmp_path: Path) -> None:
    text = "Zoë said the talks went well. " * 40  # 1,200 characters, more bytes
    [record] = list(text_records(io.BytesIO(text.encode()), "/in/long.txt", ReadOptions(max_chars=1_000)))
    assert record.error == "/in/long.txt: 1,200 characters is over the limit of 1,000 characters for one article"
    [ok] = list(text_records(io.BytesIO(text.encode()), "/in/long.txt", ReadOptions(max_chars=1_200)))
    assert ok.article is not None and ok.article.text == text


def test_endless_jsonl_line_is_skipped_without_holding_it() -> None:
    options = ReadOptions(max_line_bytes=MB)
    good = json.dumps({"text": article(1)}).encode() + b"\n"
    stream = Generated(b'{"text": "', b"word ", 60 * MB, tail=b'"}\n' + good)
    records, peak = peak_memory(lambda: list(jsonl_records(io.BufferedReader(stream), "/in/dump.jsonl", options)))
    assert [r.position for r in records] == [1, 2]
    assert records[0].error == f"line of {60 * MB + 3:,} bytes is over the limit of 1,000,000 bytes"
    assert records[1].article is not None and records[1].article.text == article(1)
    assert stream.pos == stream.size  # read to the end, past the long line
    assert peak < 8 * MB, f"{peak:,} bytes held while reading past a 60 MB line"


def test_jsonl_text_over_the_character_limit_is_an_error_for_its_line() -> None:
    lines = [json.dumps({"text": "x" * 1_001}), json.dumps({"text": article(2)})]
    records = list(jsonl_records(io.BytesIO("\n".join(lines).encode()), "/in/d.jsonl", ReadOptions(max_chars=1_000)))
    assert records[0].error == "ValueError: text of 1,001 characters is over the limit of 1,000"
    assert records[1].article is not None


def page(body: str) -> bytes:
    return f"<html lang='en'><body><article><h1>Story</h1><p>{body}</p></article></body></html>".encode()


def test_html_over_its_cap_is_refused_after_reading_the_cap() -> None:
    stream = Generated(b"<html><body><article><p>", b"The minister said the talks went well. ", 60 * MB)
    [record] = list(html_records(io.BufferedReader(stream), "/in/huge.html", ReadOptions()))
    assert record.error == "more than 20,000,000 bytes of HTML, over the limit for one page"
    assert stream.pos <= MAX_HTML_BYTES + 64 * 1024


def test_html_whose_article_text_is_over_the_character_limit() -> None:
    [record] = list(html_records(io.BytesIO(page(article(3))), "/in/p.html", ReadOptions(max_chars=300)))
    assert record.error and record.error.startswith("article text of ") and record.error.endswith("over the limit of 300")


def test_warc_record_over_the_html_cap_fails_alone(tmp_path: Path) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=False)
    for url, payload in (("https://n.example/huge", b"<html><body><p>" + b"word " * (21 * MB // 5)),
                         ("https://n.example/ok", page(article(4)))):
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(payload), http_headers=headers))
    buffer.seek(0)
    huge, ok = list(warc_records(buffer, "/in/crawl.warc", ReadOptions()))
    assert huge.error == "https://n.example/huge: more than 20,000,000 bytes of HTML, over the limit for one page"
    assert ok.article is not None and ok.article.url == "https://n.example/ok"


def test_feed_entry_over_the_character_limit_fails_alone() -> None:
    items = "".join(f"<item><title>{i}</title><description>{text}</description></item>"
                    for i, text in enumerate(["word " * 300, article(5)[:400]]))
    feed = f"<?xml version='1.0'?><rss version='2.0'><channel><title>C</title>{items}</channel></rss>".encode()
    long, short = list(feed_records(io.BytesIO(feed), "/in/f.rss", ReadOptions(max_chars=1_000)))
    assert long.error == "entry text of 1,499 characters is over the limit of 1,000"
    assert short.article is not None


def test_pipeline_refuses_text_over_its_limit() -> None:
    pipeline = Pipeline(max_chars=100)
    with pytest.raises(InputError, match=r"^article of 101 characters is over the limit of 100$"):
        pipeline(Article(text="x" * 101))


def test_spaces_inserted_at_glued_words_do_not_trip_spacys_own_limit() -> None:
    """A text at the article limit gets longer when clean splits glued words; the limit is ours."""
    text = "Smith said thatAt the meeting,Jones agreed.ThenThe talks ended."
    pipeline = Pipeline()
    saved = pipeline.nlp.max_length
    pipeline.nlp.max_length = len(text)
    try:
        assert len(pipeline.annotate(Article(text=text)).cleaned.text) > len(text)
    finally:
        pipeline.nlp.max_length = saved


def test_ingest_records_oversized_articles_as_failed_and_goes_on(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    with (inputs / "a-huge.txt").open("wb") as stream:  # 60 MB on disk
        chunk = b"The minister said the talks went well. " * 25_000
        for _ in range(60 * MB // len(chunk) + 1):
            stream.write(chunk)
    (inputs / "b-dump.jsonl").write_text(json.dumps({"text": "word " * 200_001}) + "\n", encoding="utf-8")
    (inputs / "c-story.txt").write_text(article(6), encoding="utf-8")
    out = tmp_path / "quotes.jsonl"
    done = subprocess.run([sys.executable, "-m", "quotegraph", "ingest", str(inputs), "--out", str(out), "--no-progress",
                           "--json"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert json.loads(done.stdout)["extracted"] == 1
    errors = [json.loads(line) for line in (tmp_path / "quotes.errors.jsonl").read_text().splitlines()]
    assert [Path(e["source"]).name for e in errors] == ["a-huge.txt", "b-dump.jsonl"]
    assert errors[0]["error"].endswith("a-huge.txt: more than 10,000,000 bytes, over the limit for one article")
    assert errors[1]["error"] == "ValueError: text of 1,000,005 characters is over the limit of 1,000,000"
    [row] = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["key"].endswith("c-story.txt#file:0")

    # --max-chars lowers the limit: now the story is too long as well
    again = subprocess.run([sys.executable, "-m", "quotegraph", "ingest", str(inputs / "c-story.txt"), "--out",
                            str(tmp_path / "short.jsonl"), "--max-chars", "300", "--no-progress", "--json"],
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 1
    [error] = [json.loads(line) for line in (tmp_path / "short.errors.jsonl").read_text().splitlines()]
    assert error["error"].endswith(f"{len(article(6)):,} characters is over the limit of 300 characters for one article")
