"""Every batch reader on real-format files, and the language / news / duplicate filters.

The WARC archives are written with warcio, the gzip files with gzip; the HTML page and feeds are
small files written for the project (tests/data/ingest/README.md). No article text is copied.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from ingest_samples import FRENCH, LINK_LIST, PAGE, TEASER, article, write_warc
from quotegraph.errors import InputError
from quotegraph.filters import Deduper, english_ratio, rejection
from quotegraph.ingest.base import JsonlFields, ReadOptions, Record
from quotegraph.ingest.html import fragment_text
from quotegraph.ingest.walk import Walk, detect, read_paths
from quotegraph.model import Article

DATA = Path(__file__).resolve().parent / "data" / "ingest"


def articles(records: list[Record]) -> list[Article]:
    return [r.article for r in records if r.article is not None]


# --- plain text -----------------------------------------------------------------------------

def test_txt_reader_keeps_text_and_reads_header(tmp_path: Path) -> None:
    text = "date 2024-03-14 © Jane Doe / Agency\n\n" + article(1)
    (tmp_path / "story.txt").write_text(text, encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"   \n")
    records = list(read_paths([tmp_path]))
    assert [Path(r.source).name for r in records] == ["empty.txt", "story.txt"]
    assert records[0].article is None and "empty" in (records[0].error or "")
    story = records[1].article
    assert story is not None and story.text == text and story.id == "story"
    assert story.date == "2024-03-14" and story.credit and "Jane Doe" in story.credit


# --- HTML -----------------------------------------------------------------------------------

def test_html_page_main_text_without_navigation_or_ads_keeps_link_text() -> None:
    (record,) = list(read_paths([PAGE]))
    page = record.article
    assert page is not None and record.unit == "file"
    # link text inside the article survives, with its spaces
    assert "Marta Okafor, who chairs the council's transport committee, said" in page.text
    assert "The operator, Bluewater Ferries, had argued" in page.text
    for boilerplate in ("ADVERTISEMENT", "cookies", "Related stories", "Subscribe", "All rights reserved", "Sponsored"):
        assert boilerplate not in page.text
    # paragraphs are separated by a blank line, as the extractor's quote rules expect
    assert "\n\nThe operator" in page.text
    assert page.title == "Harbour council approves new ferry timetable"
    assert page.author == "Priya Natarajan"
    assert page.date == "2024-03-14"
    assert page.publisher == "The Millbrook Courier"
    assert page.url == "https://courier.example/news/2024/03/ferry-timetable"
    assert page.language == "en"


def test_html_without_article_text_is_an_error_or_filtered(tmp_path: Path) -> None:
    empty = tmp_path / "empty.html"
    empty.write_text("<!doctype html><html><head><title>x</title></head><body></body></html>")
    (record,) = list(read_paths([empty]))
    assert record.article is None and record.error == "no article text found in the HTML"
    menu = tmp_path / "menu.htm"
    menu.write_text("<!doctype html><html><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav></body></html>")
    (record,) = list(read_paths([menu]))
    assert record.article is not None and rejection(record.article) == "too-short"  # counted as skipped, not dropped


def test_fragment_text_keeps_links_and_paragraphs() -> None:
    html = '<p>The mayor, <a href="/p/x">Ana Ruiz</a>, said<br>it was fine.</p><ul><li>one</li><li>two</li></ul><script>bad()</script>'
    assert fragment_text(html) == "The mayor, Ana Ruiz, said\n\nit was fine.\n\none\n\ntwo"


# --- WARC -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name,gzipped", [("crawl.warc.gz", True), ("crawl.warc", False)])
def test_warc_reads_html_responses_only_with_record_url_and_date(tmp_path: Path, name: str, gzipped: bool) -> None:
    path = tmp_path / name
    write_warc(path, gzipped)
    assert detect(path) is not None and detect(path).kind == "warc"  # type: ignore[union-attr]
    records = list(read_paths([path]))
    assert [r.skip for r in records] == [None, "not-html", "http-status", None, "not-html"]
    assert all(r.unit == "offset" for r in records)
    offsets = [r.position for r in records]
    assert offsets == sorted(set(offsets)) and offsets[0] > 0  # byte offsets of distinct records
    ferry, library = articles(records)
    assert ferry.url == "https://courier.example/news/ferry"  # the record's URL, not the page's canonical one
    assert ferry.date == "2024-03-14"  # the page's own publication date
    assert "Marta Okafor, who chairs" in ferry.text and "ADVERTISEMENT" not in ferry.text
    assert library.url == "https://courier.example/news/library"
    assert library.date == "2024-05-02T11:30:00Z"  # no date on the page: when it was fetched
    assert "Home" not in library.text and "Contact us" not in library.text
    assert ferry.id.startswith("urn:uuid:")


def test_truncated_warc_gives_its_articles_then_one_error(tmp_path: Path) -> None:
    whole = tmp_path / "whole.warc.gz"
    write_warc(whole, gzipped=True)
    data = whole.read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) // 2])  # inside the 404 response
    records = list(read_paths([cut]))
    assert records[-1].error and "archive" in records[-1].error
    assert len({r.key for r in records}) == len(records)  # the error has a key of its own
    assert articles(records)  # what came before the damage is read


# --- feeds ----------------------------------------------------------------------------------

def test_rss_feed_entries_with_full_content_and_metadata() -> None:
    records = list(read_paths([DATA / "feed.xml"]))
    assert [r.position for r in records] == [0, 1, 2] and all(r.unit == "entry" for r in records)
    library, buses, teaser = articles(records)
    assert library.title == "Library to open on Sunday afternoons"
    assert library.url == "https://gazette.example/news/library-sundays"
    assert library.author == "Owen Hale"
    assert library.date == "2024-04-02T08:15:00Z"
    assert library.publisher == "The Eastwater Gazette"
    assert library.language == "en-gb"
    assert library.credit == "Photo: Sana Qureshi / Gazette"
    assert "Lucia Moreno, the head librarian, said" in library.text  # link text kept
    assert "\n\n\"Sunday" not in library.text and "\n\nLucia Moreno" in library.text  # one paragraph per <p>
    assert "Ingrid Berg" in buses.text
    assert teaser.text == "Cars will be banned from the square. Read more."  # only a teaser: the filter will skip it
    assert rejection(teaser) == "too-short"
    assert rejection(library) is None


def test_atom_feed(tmp_path: Path) -> None:
    (record,) = list(read_paths([DATA / "atom.xml"]))
    entry = record.article
    assert entry is not None
    assert entry.url == "https://weekly.example/flood-wall" and entry.author == "Declan Byrne"
    assert entry.publisher == "Kestrel Bay Weekly" and entry.date == "2024-04-05T12:00:00Z"
    assert "Yuki Sato, said the wall" in entry.text
    assert entry.language == "en"


def test_gzipped_feed_is_sniffed(tmp_path: Path) -> None:
    path = tmp_path / "download.gz"
    path.write_bytes(gzip.compress((DATA / "feed.xml").read_bytes()))
    assert len(articles(list(read_paths([path])))) == 3


# --- JSONL ----------------------------------------------------------------------------------

def test_jsonl_gz_with_configured_fields_and_a_bad_line(tmp_path: Path) -> None:
    lines = [
        json.dumps({"body": article(1), "meta": {"link": "https://a.example/1", "lang": "en"}, "headline": "One",
                    "byline": ["Ana Ruiz", "Ben Cole"], "site": "A News", "published": "2024-01-02", "uid": "a-1"}),
        "",
        "{not json",
        json.dumps({"body": "", "meta": {}}),
        json.dumps(["a", "list"]),
        json.dumps({"body": article(2), "meta": {"link": "https://a.example/2"}}),
    ]
    path = tmp_path / "dump.jsonl.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8")))
    fields = JsonlFields(text="body", url="meta.link", language="meta.lang", title="headline", author="byline",
                         publisher="site", date="published", id="uid")
    records = list(read_paths([path], ReadOptions(jsonl=fields)))
    assert [r.position for r in records] == [1, 3, 4, 5, 6]  # line numbers; the blank line is passed over
    first, bad_json, no_text, not_object, second = records
    assert first.article == Article(text=article(1), id="a-1", url="https://a.example/1", title="One", date="2024-01-02",
                                    author="Ana Ruiz, Ben Cole", publisher="A News", language="en", path=first.source)
    assert bad_json.error and "JSONDecodeError" in bad_json.error
    assert no_text.error and "no text in field 'body'" in no_text.error
    assert not_object.error and "JSON object" in not_object.error
    assert second.article is not None and second.article.id == "dump:6" and second.article.title is None


# --- folders and dispatch -------------------------------------------------------------------

def test_folder_walk_is_recursive_sorted_and_counts_unknown_files(tmp_path: Path) -> None:
    (tmp_path / "b" / "deep").mkdir(parents=True)
    (tmp_path / "a.txt").write_text(article(1), encoding="utf-8")
    (tmp_path / "b" / "deep" / "page.HTM").write_bytes(PAGE.read_bytes())
    (tmp_path / "b" / "lines.dat").write_text(json.dumps({"text": article(2)}) + "\n", encoding="utf-8")  # sniffed
    (tmp_path / "b" / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (tmp_path / "notes.xml").write_text("<?xml version='1.0'?><config><a>1</a></config>")  # XML, not a feed
    (tmp_path / ".hidden.txt").write_text(article(3), encoding="utf-8")
    walk = Walk([tmp_path])
    records = list(walk.records())
    names = [Path(r.source).relative_to(tmp_path).as_posix() for r in records]
    assert names == ["a.txt", "b/lines.dat", "b/deep/page.HTM"]  # a folder's files, then its subfolders
    assert walk.files == 3 and walk.ignored_files == 2
    assert walk.bytes_read == walk.total_bytes == sum(
        p.stat().st_size for p in tmp_path.rglob("*") if p.is_file() and not p.name.startswith("."))


def test_named_file_of_unknown_format_or_missing_is_a_usage_error(tmp_path: Path) -> None:
    odd = tmp_path / "photo.png"
    odd.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(InputError, match="not a format"):
        Walk([odd])
    with pytest.raises(InputError, match="no such file"):
        Walk([tmp_path / "missing.jsonl"])


# --- filters --------------------------------------------------------------------------------

def test_language_filter_by_declaration_and_by_stopwords() -> None:
    assert english_ratio(article(1)) > 0.3
    assert english_ratio(FRENCH) < 0.1
    assert rejection(Article(text=FRENCH)) == "language"
    assert rejection(Article(text=article(1), language="de")) == "language"
    assert rejection(Article(text=article(1), language="en-US")) is None


def test_news_likeness_filter() -> None:
    assert rejection(Article(text=TEASER)) == "too-short"
    assert rejection(Article(text=LINK_LIST)) == "no-sentences"
    assert rejection(Article(text=article(5))) is None


def test_duplicates_by_normalised_url_and_by_normalised_text() -> None:
    seen = Deduper()
    assert seen.check(Article(text=article(1), url="https://News.example/a/")) is None
    assert seen.check(Article(text=article(2), url="https://news.example/a#comments")) == "duplicate-url"
    assert seen.check(Article(text=article(2), url="https://news.example/b")) is None
    shouted = "  " + article(1).upper().replace(",", " ,").replace("\n\n", "\n") + " "
    assert seen.check(Article(text=shouted, url="https://mirror.example/a")) == "duplicate-text"
    assert seen.check(Article(text=article(3))) is None
