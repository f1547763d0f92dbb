"""Reading plain-text articles: decoding checks, header metadata, files and stdin."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from quotegraph.errors import InputError
from quotegraph.ingest import (
    MAX_ARTICLE_BYTES,
    article_from_text,
    decode_text,
    read_text_file,
    read_text_stream,
)

SCRAPED = (
    "date 2017-04-13 © Jane Doe / Agency\n\n\n\n"
    "Minister Ivan Petrov said after talks in Berlin. \"We are sure this will work,\" the Foreign\n"
    "Minister said, adding, thatAt the same time.\n"
)


def test_decode_plain_utf8() -> None:
    assert decode_text("Petrov sagte: „Ja“ — ñ".encode()) == "Petrov sagte: „Ja“ — ñ"


def test_decode_strips_a_leading_bom_only() -> None:
    assert decode_text(b"\xef\xbb\xbfHello \xe2\x80\x9cworld\xe2\x80\x9d") == "Hello “world”"


def test_decode_keeps_line_endings_and_tabs() -> None:
    assert decode_text(b"a\r\nb\tc\n") == "a\r\nb\tc\n"


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n"])
def test_decode_rejects_empty_input(data: bytes) -> None:
    with pytest.raises(InputError, match="empty") as info:
        decode_text(data, "a.txt")
    assert str(info.value).startswith("a.txt: ")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04\x00\x00binary zip header",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"text with a NUL\x00 in it",
        bytes(range(1, 32)) * 4 + b"some letters",
    ],
)
def test_decode_rejects_binary_data(data: bytes) -> None:
    with pytest.raises(InputError, match="binary"):
        decode_text(data, "x.bin")


def test_decode_rejects_utf16_with_a_hint() -> None:
    with pytest.raises(InputError, match="UTF-16"):
        decode_text("Hello".encode("utf-16"), "x.txt")


def test_decode_reports_the_byte_offset_of_invalid_utf8() -> None:
    with pytest.raises(InputError, match=r"not valid UTF-8 at byte 6$"):
        decode_text(b"abc\xc3\xa9d\xff rest", "latin.txt")
    with pytest.raises(InputError, match=r"at byte 5$"):  # offset counts the BOM
        decode_text(b"\xef\xbb\xbfab\xe9", "bom.txt")


def test_decode_rejects_oversize_input_saying_size_and_limit() -> None:
    with pytest.raises(InputError) as info:
        decode_text(b"x" * 2_001, "big.txt", max_bytes=2_000)
    message = str(info.value)
    assert "2,001" in message and "2,000" in message
    assert decode_text(b"x" * 2_000, max_bytes=2_000) == "x" * 2_000
    assert MAX_ARTICLE_BYTES == 10_000_000


def test_input_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        decode_text(b"")


def test_article_from_text_reads_header_and_keeps_text() -> None:
    article = article_from_text(SCRAPED, id="petrov", path="/tmp/petrov.txt")
    assert article.text == SCRAPED
    assert article.id == "petrov" and article.path == "/tmp/petrov.txt"
    assert article.date == "2017-04-13"
    assert article.credit == "Jane Doe / Agency"
    assert read_text_stream(io.BytesIO(b"Text."), "<stdin>").id == "stdin"
    assert read_text_stream(io.BytesIO(b"Text."), "feed/petrov.txt").id == "petrov"
    assert article.author is None


def test_article_from_text_with_byline() -> None:
    article = article_from_text("By Jane Doe\nApril 13, 2017\n\nThe minister said.")
    assert (article.author, article.date, article.credit) == ("Jane Doe", "2017-04-13", None)


def test_article_without_header_has_no_metadata() -> None:
    article = article_from_text("By the time he arrived, the talks were over.")
    assert (article.date, article.credit, article.author) == (None, None, None)


def test_read_text_file(tmp_path: Path) -> None:
    path = tmp_path / "petrov-talks.txt"
    path.write_bytes(b"\xef\xbb\xbf" + SCRAPED.encode())
    article = read_text_file(path)
    assert article.id == "petrov-talks"
    assert article.path == str(path)
    assert article.text == SCRAPED
    assert article.date == "2017-04-13"


def test_read_text_file_errors_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_text_file(tmp_path / "missing.txt")
    with pytest.raises(InputError, match="cannot read"):
        read_text_file(tmp_path)  # a directory
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * 1_000)
    with pytest.raises(InputError, match=r"5,000 bytes is over the limit of 100 bytes"):
        read_text_file(big, max_bytes=100)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"caf\xe9")
    with pytest.raises(InputError, match="bad.txt: not valid UTF-8 at byte 3"):
        read_text_file(bad)


def test_read_text_stream_for_stdin() -> None:
    article = read_text_stream(io.BytesIO(SCRAPED.encode()), "-")
    assert article.id == "stdin" and article.path is None
    assert article.text == SCRAPED
    assert article.credit == "Jane Doe / Agency"


def test_read_text_stream_errors() -> None:
    with pytest.raises(InputError, match="<stdin>: the input is empty"):
        read_text_stream(io.BytesIO(b""), "-")
    with pytest.raises(InputError, match="more than 10 bytes"):
        read_text_stream(io.BytesIO(b"x" * 50), "-", max_bytes=10)
