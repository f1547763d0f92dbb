"""Fuzzing the batch readers with atheris: ``python -m quotegraph.fuzz READER --seconds N``.

Each target hands arbitrary bytes to one reader (text, html, warc, feed, jsonl) exactly as
``quotegraph ingest`` would: the bytes become a file with that format's suffix (``.gz`` added
when they start with the gzip magic), the file goes through :class:`~quotegraph.ingest.walk.Walk`
and every record is then filtered as the batch parent filters it. Whatever the bytes, reading
must end in records — an error record is the expected answer to a broken file — and every
article must be one the rest of the batch can take (:func:`check_records`). Anything raised
is a crash: libFuzzer stops, saves the input under the crashes folder and prints the traceback.

Fixed crashes are kept as regression inputs under ``tests/data/fuzz/<reader>/`` and replayed by
``tests/test_fuzz_regressions.py`` through :func:`read_bytes`, without atheris.

atheris comes with the ``fuzz`` extra: ``pip install -e '.[fuzz]'``.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import pickle
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from quotegraph.errors import InputError

if TYPE_CHECKING:  # imported in the functions: the fuzzer instruments them as they are imported
    from quotegraph.ingest.base import ReadOptions, Record

READERS = ("text", "html", "warc", "feed", "jsonl")
# the code whose branches guide the fuzzer: ours, and the parsers the readers hand bytes to
INSTRUMENTED = ["quotegraph", "feedparser", "feedparser_sgmllib", "warcio", "trafilatura", "htmldate", "courlan",
                "justext", "gzip", "_compression", "json", "email", "http", "html"]
SUFFIXES = {"text": ".txt", "html": ".html", "warc": ".warc", "feed": ".rss", "jsonl": ".jsonl"}
_GZIP_MAGIC = b"\x1f\x8b"


class FuzzFinding(AssertionError):
    """A reader broke one of the promises :func:`check_records` checks."""


def read_bytes(reader: str, data: bytes, folder: Path, options: ReadOptions | None = None) -> list[Record]:
    """Read ``data`` as ``quotegraph ingest`` reads a file of that format; check and return the records.

    Raises InputError only when ingest would refuse the file outright (a usage error, exit 2);
    raises FuzzFinding when a record breaks a promise; anything else is a crash.
    """
    from quotegraph.ingest.base import ReadOptions
    from quotegraph.ingest.walk import Walk

    options = options or ReadOptions()
    gzipped = data.startswith(_GZIP_MAGIC) and reader != "warc"  # warcio unzips archives itself
    path = folder / f"input{SUFFIXES[reader]}{'.gz' if gzipped else ''}"
    path.write_bytes(data)
    records = list(Walk([path], options).records())
    check_records(records, str(path.resolve()), options)
    return records


def check_records(records: Sequence[Record], source: str, options: ReadOptions) -> None:
    """What the batch relies on: one outcome per record, unique keys, articles it can filter,
    pickle for a worker and write as UTF-8 JSON."""
    from quotegraph.filters import Deduper, rejection

    keys = set()
    dedup = Deduper()
    for record in records:
        _expect(record.source == source, f"record from {record.source!r}")
        _expect(isinstance(record.position, int) and record.position >= 0, f"position {record.position!r}")
        _expect(record.key not in keys, f"two records with the key {record.key!r}: the ledger would skip one")
        keys.add(record.key)
        outcomes = [record.article is not None, record.error is not None, record.skip is not None]
        _expect(sum(outcomes) == 1, f"record with {outcomes} (article, error, skip)")
        if record.error is not None:
            _expect(isinstance(record.error, str) and record.error.strip() != "", f"error {record.error!r}")
            json.dumps(record.error, ensure_ascii=False).encode("utf-8")  # the errors file
            continue
        if record.article is None:
            continue
        article = record.article
        _expect(isinstance(article.text, str) and article.text.strip() != "", "article without text")
        _expect(len(article.text) <= options.max_chars,
                f"article of {len(article.text):,} characters, over the limit of {options.max_chars:,}")
        for name, value in article.to_json().items():
            _expect(isinstance(value, str), f"article.{name} is {type(value).__name__}")
        json.dumps(article.to_json(), ensure_ascii=False).encode("utf-8")  # what the sink writes
        pickle.loads(pickle.dumps(article))  # what goes to a worker
        rejection(article)
        dedup.check(article)


def _expect(condition: bool, problem: str) -> None:
    if not condition:
        raise FuzzFinding(problem)


# --- seeds: small files of every format, invented text only ---------------------------------------

_STORY = (
    "The Millbrook council voted 7 to 3 on Wednesday to add two evening ferry sailings.\n\n"
    "Marta Okafor, who chairs the committee, said the change would help late-shift workers. "
    "\u201cResidents have waited long enough,\u201d Okafor told the meeting.\n\n"
    "Opponents said the money should go to road repairs instead."
)


def _page(text: str) -> bytes:
    paragraphs = "".join(f"<p>{p}</p>" for p in text.split("\n\n"))
    return (f"<!DOCTYPE html><html lang='en'><head><title>Ferry vote</title>"
            f"<meta name='author' content='Jane Doe'></head><body><nav><a href='/'>Home</a></nav>"
            f"<article><h1>Ferry vote</h1>{paragraphs}</article><footer>Contact</footer></body></html>").encode("utf-8")


def _warc(gzipped: bool) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    stream = io.BytesIO()
    writer = WARCWriter(stream, gzip=gzipped)
    writer.write_record(writer.create_warcinfo_record("seed.warc", {"software": "quotegraph fuzz"}))
    for url, payload, kind, status in (
        ("https://courier.example/news/ferry", _page(_STORY), "text/html; charset=utf-8", "200 OK"),
        ("https://courier.example/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(16), "image/png", "200 OK"),
        ("https://courier.example/gone", _page("Gone."), "text/html", "404 Not Found"),
    ):
        headers = StatusAndHeaders(status, [("Content-Type", kind)], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(payload), http_headers=headers,
                                                      warc_headers_dict={"WARC-Date": "2024-05-01T10:00:00Z"}))
    return stream.getvalue()


def _rss() -> bytes:
    body = _STORY.replace("\n\n", "</p><p>").replace("&", "&amp;")
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0' xmlns:content='http://purl.org/rss/1.0/modules/content/'"
        " xmlns:media='http://search.yahoo.com/mrss/'><channel><title>Courier</title><language>en</language>"
        "<item><title>Ferry vote</title><link>https://courier.example/news/ferry</link>"
        "<pubDate>Wed, 01 May 2024 10:00:00 GMT</pubDate><author>jane@courier.example (Jane Doe)</author>"
        f"<media:credit>Photo Desk</media:credit><content:encoded><![CDATA[<p>{body}</p>]]></content:encoded></item>"
        "<item><title>Teaser</title><description>Council approves new ferry timetable.</description></item>"
        "</channel></rss>"
    ).encode("utf-8")


def _atom() -> bytes:
    return (
        "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom' xml:lang='en'>"
        "<title>Courier</title><entry><id>tag:courier.example,2024:1</id><title>Ferry vote</title>"
        "<updated>2024-05-01T10:00:00Z</updated><author><name>Jane Doe</name></author>"
        f"<content type='text'>{_STORY}</content></entry></feed>"
    ).encode("utf-8")


def _jsonl() -> bytes:
    lines = [
        {"id": "a1", "url": "https://courier.example/news/ferry", "title": "Ferry vote", "date": "2024-05-01",
         "author": ["Jane Doe", "Sam Roe"], "text": _STORY},
        {"text": "Short line."},
        [1, 2],
        {"text": None, "meta": {"url": "https://courier.example/x"}},
    ]
    return ("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n\n{broken\n").encode("utf-8")


def seeds(reader: str) -> dict[str, bytes]:
    """Starting inputs for one target: valid files and a few broken ones."""
    story = _STORY.encode("utf-8")
    if reader == "text":
        return {"story.txt": story, "header.txt": b"date 2017-04-13 \xc2\xa9 Jane Doe / Agency\n\n" + story,
                "bom.txt": b"\xef\xbb\xbf" + story, "latin1.txt": "caf\xe9 said".encode("latin-1"),
                "story.txt.gz": gzip.compress(story, mtime=0)}
    if reader == "html":
        return {"page.html": _page(_STORY), "empty.html": b"<html><body><nav>Home</nav></body></html>",
                "fragment.html": b"<p>He said <a href='/x'>Okafor</a> was right.</p>"}
    if reader == "warc":
        return {"crawl.warc": _warc(False), "crawl.warc.gz": _warc(True)}
    if reader == "feed":
        return {"feed.rss": _rss(), "feed.atom": _atom(), "feed.rss.gz": gzip.compress(_rss(), mtime=0)}
    if reader == "jsonl":
        return {"dump.jsonl": _jsonl(), "dump.jsonl.gz": gzip.compress(_jsonl(), mtime=0)}
    raise InputError(f"unknown reader '{reader}': choose one of {', '.join(READERS)}")


# tokens of each format that random mutation would rarely spell out (libFuzzer -dict)
DICTIONARIES: dict[str, list[bytes]] = {
    "text": [b"\xef\xbb\xbf", b"\xff\xfe", b"\x1f\x8b", b"date 2017-04-13 ", b"\xc2\xa9 ", b"By ", b"\r\n", b"\x00"],
    "html": [b"<html lang='en'>", b"<article>", b"</article>", b"<p>", b"</p>", b"<br>", b"<title>", b"<script>",
             b"<meta name='author' content='", b"<meta charset='", b"<meta property='og:url' content='",
             b"<time datetime='", b"<a href='", b"<![CDATA[", b"<!--", b"&#xD800;", b"&amp;", b"<table><tr><td>",
             b"<li>", b"<h1>", b"<body>", b"<head>", b"<script type='application/ld+json'>", b"\x1f\x8b"],
    "warc": [b"WARC/1.0\r\n", b"WARC-Type: response\r\n", b"WARC-Type: request\r\n", b"WARC-Type: revisit\r\n",
             b"Content-Length: ", b"WARC-Target-URI: ", b"WARC-Date: ", b"WARC-Record-ID: ", b"HTTP/1.1 200 OK\r\n",
             b"Content-Type: text/html\r\n", b"Content-Type: application/http; msgtype=response\r\n",
             b"Transfer-Encoding: chunked\r\n", b"Content-Encoding: gzip\r\n", b"Content-Encoding: br\r\n",
             b"WARC-Payload-Digest: sha1:", b"\r\n\r\n", b"\x1f\x8b\x08\x00"],
    "feed": [b"<rss version='2.0'>", b"<channel>", b"<item>", b"</item>", b"<entry>", b"</entry>",
             b"<feed xmlns='http://www.w3.org/2005/Atom'>", b"<content:encoded>", b"<content type='html'>",
             b"<media:credit>", b"<pubDate>", b"<updated>", b"<author><name>", b"<description>", b"<summary>",
             b"<![CDATA[", b"&#xD800;", b"&#99999999999;", b"&lt;p&gt;", b"xml:lang='", b"<language>",
             b"<?xml version='1.0' encoding='utf-16'?>", b"<rdf:RDF>", b"<dc:creator>", b"<link>", b"<guid>"],
    "jsonl": [b'{"text": "', b'"url": ', b'"meta": {', b'"author": [', b'"id": ', b"null", b"true", b"1e999",
              b"\\ud800", b"\\u0000", b"\\n", b"\n", b"\x1f\x8b\x08\x00", b"[", b"]"],
}


def _dictionary_line(token: bytes) -> str:
    return '"' + "".join(chr(b) if 32 <= b < 127 and b not in b'"\\' else f"\\x{b:02x}" for b in token) + '"'


# --- the command ----------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m quotegraph.fuzz",
        description="Fuzz one batch reader with atheris (libFuzzer) for a set time.")
    parser.add_argument("reader", choices=READERS)
    parser.add_argument("--seconds", type=int, default=60, help="how long to fuzz (default 60)")
    parser.add_argument("--corpus", metavar="DIR",
                        help="the growing corpus (default .fuzz/READER/corpus; seeded when empty)")
    parser.add_argument("--crashes", metavar="DIR", help="where crashing inputs go (default .fuzz/READER/crashes)")
    parser.add_argument("--max-len", type=int, default=16384, help="largest input tried, in bytes (default 16384)")
    parser.add_argument("--timeout", type=int, default=30, help="seconds one input may take before it counts as a hang")
    parser.add_argument("--rss-limit-mb", type=int, default=2048, help="memory one run may use (default 2048)")
    args, extra = parser.parse_known_args(argv)
    try:
        import atheris
    except ImportError:
        print("error: fuzzing needs atheris: pip install -e '.[fuzz]'", file=sys.stderr)
        return 2
    if args.seconds < 1:
        print("error: --seconds must be at least 1", file=sys.stderr)
        return 2
    base = Path(".fuzz") / args.reader
    corpus = Path(args.corpus) if args.corpus else base / "corpus"
    crashes = Path(args.crashes) if args.crashes else base / "crashes"
    corpus.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    if not any(corpus.iterdir()):
        for name, data in seeds(args.reader).items():
            (corpus / name).write_bytes(data)
    base.mkdir(parents=True, exist_ok=True)
    dictionary = base / "dict"
    dictionary.write_text("".join(_dictionary_line(t) + "\n" for t in DICTIONARIES[args.reader]))
    folder = base / "work"  # the one input file, rewritten for every run (atheris.Fuzz never returns)
    folder.mkdir(parents=True, exist_ok=True)
    with atheris.instrument_imports(include=INSTRUMENTED):  # coverage feedback from these only
        import feedparser  # noqa: F401
        import trafilatura  # noqa: F401
        import warcio.archiveiterator  # noqa: F401

        from quotegraph.ingest.base import ReadOptions
        from quotegraph.ingest.walk import Walk  # noqa: F401 - the readers, walk and base
        from quotegraph import filters  # noqa: F401
    options = ReadOptions()

    def one_input(data: bytes) -> None:
        try:
            read_bytes(args.reader, data, folder, options)
        except InputError:
            pass  # ingest would refuse the file in one line (exit 2): an answer, not a crash

    libfuzzer = [
        sys.argv[0], str(corpus), f"-max_total_time={args.seconds}", f"-artifact_prefix={crashes}/",
        f"-max_len={args.max_len}", f"-timeout={args.timeout}", f"-rss_limit_mb={args.rss_limit_mb}",
        f"-dict={dictionary}", "-print_final_stats=1", *extra,
    ]
    atheris.Setup(libfuzzer, one_input)
    atheris.Fuzz()  # exits the process: status 0 when time ran out, non-zero on a crash
    return 0


if __name__ == "__main__":
    sys.exit(main())
