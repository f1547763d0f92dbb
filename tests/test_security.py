"""Web security (issue 8) over a real store, SQLite and PostgreSQL: hostile search syntax and
filter values never break a query or reach SQL as code, write endpoints need the exact token
(compared in constant time), every page escapes what articles contain, the server listens on
loopback unless told otherwise, and oversized input is refused with a clear error."""

from __future__ import annotations

import hmac
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from serve_fixtures import TOKEN, XSS_ARTICLE, extractions, fill, pipeline  # noqa: F401 (fixtures)
from store_fixtures import backend, extraction, store_target  # noqa: F401 (fixtures)

from quotegraph.cli import build_parser
from quotegraph.errors import InputError
from quotegraph.model import Extraction
from quotegraph.pipeline import Pipeline
from quotegraph.serve.app import EXTRACT_QUEUE, MAX_ARTICLE_CHARS, MAX_BODY_BYTES, create_app
from quotegraph.store import SearchQuery, Store, open_store
from quotegraph.store.base import MAX_TERMS, search_terms

# Search text that is syntax to FTS5, tsquery or SQL; none of it may act as syntax.
HOSTILE_QUERIES = [
    '"', '""', '"unbalanced', "*", "vote*", "^vote", "-vote", "+vote", "NEAR(vote budget)", "NEAR(", "vote NEAR budget",
    "AND OR NOT", "vote OR fishing", "vote NOT budget", "content:vote", "speaker_keys:spk1", "{content speaker_keys}: vote",
    "(((", ")))", "(vote", "vote)", "'; DROP TABLE statements; --", "\" OR 1=1 --", "vote'", "vote\\", "%", "_",
    "a\x00b", "vote\x00", "x" * 10_000, "vote " * 2_000, "日本語 ﬁsh Ελλάδα", "vote 💥", "@@ vote", "vote:*", "vote:A",
    "!vote", "vote & budget", "vote | budget", "<->", "vote <-> budget", "\u202evote", "\t\n\r",
]


def plain(text: str) -> str:
    """The same search written without any syntax: the words, phrases quoted."""
    return " ".join('"' + " ".join(t) + '"' for t in search_terms(text))


def hostile_extractions() -> list[tuple[str, Extraction]]:
    """Articles whose metadata and speaker names are markup, attribute breakers and script links."""
    text = ('At the harbour on Monday the council met again. "We will vote on the budget on Friday," said the '
            'harbour master. "Nobody can stop the fishing fleet," she added.')
    first = extraction(text, [('Ana "onmouseover="alert(1)" <script>alert(2)</script> Ruiz',
                               '"We will vote on the budget on Friday,"')],
                       key_date="2024-05-02", publisher='" onmouseover="alert(3)', url="javascript:alert(4)")
    first = replace(first, article=replace(first.article, title="<script>alert(5)</script> ' onmouseover='alert(6)"))
    second = extraction(text, [("Bo <img src=x onerror=alert(7)> Lind", '"Nobody can stop the fishing fleet,"')],
                        key_date="2024-05-03", publisher='"><script>alert(8)</script>',
                        url='https://evil.example/a"onmouseover="alert(9)')
    second = replace(second, article=replace(second.article, title='"><img src=x onerror=alert(10)>'))
    return [("test/hostile-1", first), ("test/hostile-2", second)]


@pytest.fixture
def filled(store_target: str, tmp_path: Path, extractions: list[tuple[str, Extraction]]) -> str:
    fill(store_target, tmp_path / "aliases.tsv", [*extractions, *hostile_extractions()])
    return store_target


@pytest.fixture
def client(filled: str, tmp_path: Path, pipeline: Pipeline) -> Iterator[TestClient]:
    app = create_app(filled, token=TOKEN, aliases=tmp_path / "aliases.tsv", pipeline=pipeline)
    with TestClient(app, raise_server_exceptions=False) as c:  # a crash shows up as a 500 to assert on
        yield c


@pytest.fixture
def store(filled: str, tmp_path: Path) -> Iterator[Store]:
    s = open_store(filled, aliases=tmp_path / "aliases.tsv")
    try:
        yield s
    finally:
        s.close()


def table_counts(target: str, aliases: Path) -> dict[str, int]:
    """Rows per table, read on a fresh connection: the tables are all there and unchanged."""
    s = open_store(target, aliases=aliases)
    try:
        names = ("articles", "statements", "occurrences", "speakers", "speaker_aliases", "speaker_links", "meta")
        return {name: int(s._one(f"SELECT count(*) FROM {name}")[0]) for name in names}  # type: ignore[index]
    finally:
        s.close()


def ids(hits: list) -> list[int]:
    return [h["id"] if isinstance(h, dict) else h.id for h in hits]


def one_line_error(r: Any) -> str:
    """The detail of a 400: one line, no traceback."""
    detail = r.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and "Traceback" not in detail, detail
    return detail


# --- hostile search text ---------------------------------------------------------------------

def test_search_syntax_from_users_is_only_words_in_the_store(store: Store, filled: str, tmp_path: Path) -> None:
    before = table_counts(filled, tmp_path / "aliases.tsv")
    everything = store.search(SearchQuery(limit=100))
    assert everything.hits
    for text in HOSTILE_QUERIES:
        query = SearchQuery(text=text, limit=100)
        page = store.search(query)
        facets = store.facets(query)
        # the same statements as the bare words: the syntax did nothing
        assert ids(page.hits) == ids(store.search(SearchQuery(text=plain(text), limit=100)).hits), text
        assert facets.total >= len(page.hits)
        if not search_terms(text):
            assert ids(page.hits) == ids(everything.hits), text
    # what the words find is what they should: every hit has every word (FTS stems, so compare stems)
    vote = store.search(SearchQuery(text="vote*", limit=100))
    assert vote.hits and all("vot" in h.content.lower() for h in vote.hits)
    assert store.search(SearchQuery(text="vote OR zebra")).hits == []  # OR is a word here, and so is zebra
    drop = store.search(SearchQuery(text="'; DROP TABLE statements; --"))
    assert drop.hits == []
    assert table_counts(filled, tmp_path / "aliases.tsv") == before


def test_too_many_search_terms_is_a_clear_error(store: Store) -> None:
    words = " ".join(f"w{i}" for i in range(MAX_TERMS + 1))
    with pytest.raises(InputError, match="at most 64"):
        store.search(SearchQuery(text=words))
    # repeats are one term: a 10,000-character query of one word is fine
    assert store.search(SearchQuery(text="vote " * 2_000)).hits
    assert store.search(SearchQuery(text=" ".join(f"w{i}" for i in range(MAX_TERMS)))).hits == []


@pytest.mark.parametrize("query", [
    SearchQuery(speaker="#99999999999999999999999"), SearchQuery(speaker="#" + "9" * 5000),
    SearchQuery(limit=2**63), SearchQuery(offset=2**63 - 1), SearchQuery(min_confidence=float("nan")),
    SearchQuery(min_confidence=2.0), SearchQuery(outlet="Harbour\x00Herald"), SearchQuery(since="2024-02-30"),
    SearchQuery(until="'; DROP TABLE statements; --"), SearchQuery(kind="direct' OR '1'='1"),
    SearchQuery(speaker="' OR 1=1 --"),
])
def test_hostile_filters_in_the_store_are_input_errors_or_nothing(store: Store, query: SearchQuery) -> None:
    try:
        page = store.search(query)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert page.hits == []  # a speaker id no row has, a name no speaker has


def test_ids_beyond_64_bits_are_not_found(store: Store) -> None:
    from quotegraph.errors import NotFoundError

    for look_up in (store.statement, store.speaker, store.article):
        for big in (2**63, 10**30, -(2**63) - 1):
            with pytest.raises(NotFoundError):
                look_up(big)
    assert store.find_speakers("#99999999999999999999999") == []


def test_hostile_search_text_on_the_command_line(filled: str, tmp_path: Path) -> None:
    env = {**os.environ, "QUOTEGRAPH_ALIASES": str(tmp_path / "aliases.tsv")}
    for text in ["'; DROP TABLE statements; --", 'NEAR(vote "', "x" * 10_000, "vote*)(", "日本語 vote"]:
        r = subprocess.run([sys.executable, "-m", "quotegraph", "search", "--db", filled, "--format", "json", text],
                           capture_output=True, text=True, timeout=120, env=env)
        assert r.returncode == 0, r.stderr
        hits = json.loads(r.stdout)["hits"]
        store = open_store(filled, aliases=tmp_path / "aliases.tsv")
        try:
            assert ids(hits) == ids(store.search(SearchQuery(text=plain(text))).hits), text
        finally:
            store.close()
    r = subprocess.run([sys.executable, "-m", "quotegraph", "search", "--db", filled, "--limit",
                        "99999999999999999999", "vote"], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_hostile_search_text_over_http(client: TestClient, store: Store, filled: str, tmp_path: Path) -> None:
    before = table_counts(filled, tmp_path / "aliases.tsv")
    for text in HOSTILE_QUERIES:
        r = client.get("/api/statements", params={"q": text, "limit": 100, "facets": "true"})
        if len(text) > 500:
            assert r.status_code == 422, text  # the API's limit on q
            continue
        assert r.status_code == 200, (text, r.text)
        assert ids(r.json()["hits"]) == ids(store.search(SearchQuery(text=plain(text), limit=100)).hits), text
        page = client.get("/", params={"q": text})
        assert page.status_code == 200, (text, page.text[:300])
        audit(page.text, text)
    for raw in ("%ED%A0%80", "%FF%FE", "%00", "%C0%80", "%25%27%22"):  # bytes that are not UTF-8, NUL
        for path in ("/api/statements?q=", "/?q=", "/api/statements?outlet=", "/?speaker=", "/api/speakers?name="):
            assert client.get(f"{path}vote{raw}").status_code < 500, (path, raw)
    assert table_counts(filled, tmp_path / "aliases.tsv") == before


# --- hostile filters ---------------------------------------------------------------------------

FILTERS = {
    "speaker": ["!!!", "#", "#-1", "#99999999999999999999999", "' OR 1=1 --", "x" * 201, "a\x00b", "#١٢٣", "日本"],
    "outlet": ["' OR '1'='1", "a\x00b", "x" * 201, "%", "_"],
    "since": ["2024-13-01", "2024-02-30", "'; DROP TABLE statements; --", "99999-01-01", "0000-00-00", "a\x00b"],
    "until": ["yesterday", "2024-01-01T00:00:00", "-1"],
    "kind": ["rumour", "direct' OR '1'='1", ""],
    "min_confidence": ["nan", "inf", "-inf", "-1", "2", "1e309", "abc", "0x1"],
    "limit": ["-1", "0", "101", "99999999999999999999", "abc", "1.5"],
    "offset": ["-1", "10001", "99999999999999999999", "abc"],
    "facets": ["maybe", "1; DROP TABLE statements"],
    "page": ["-5", "abc", "99999999999999999999", "0"],
}


def test_hostile_filters_are_4xx_never_500(client: TestClient, filled: str, tmp_path: Path) -> None:
    before = table_counts(filled, tmp_path / "aliases.tsv")
    for name, values in FILTERS.items():
        for value in values:
            r = client.get("/api/statements", params={name: value})
            assert r.status_code in (200, 400, 422), (name, value, r.status_code, r.text[:300])
            if r.status_code == 400:
                one_line_error(r)
            if r.status_code == 200 and name in ("speaker", "outlet"):
                assert r.json()["hits"] == [], (name, value)  # a quote in a value never widens the search
            page = client.get("/", params={name: value})
            assert page.status_code in (200, 400), (name, value, page.status_code)
            audit(page.text, f"{name}={value}")
    for path in ("/api/speakers", "/speakers"):
        for value in ("#99999999999999999999999", "' OR 1=1 --", "a\x00b", "x" * 201):
            assert client.get(path, params={"name": value, "page": value}).status_code in (200, 400, 422)
    for path in ("/api/statements/", "/statements/", "/api/speakers/", "/speakers/", "/api/articles/", "/articles/"):
        for value in ("99999999999999999999", "9223372036854775808", "-9223372036854775809", "-1", "0"):
            assert client.get(path + value).status_code == 404, (path, value)
        for value in ("abc", "1e3", "1;DROP TABLE articles", "١٢"):
            assert client.get(path + value).status_code == 422, (path, value)
    assert table_counts(filled, tmp_path / "aliases.tsv") == before


# --- the token ---------------------------------------------------------------------------------

TEXT = ('The mayor of Oakmere, Priya Natarajan, opened the new library on Saturday. "Books are the cheapest '
        'holiday there is," Natarajan said.')


def near_misses(token: str) -> list[str]:
    """Tokens a guesser might send: one character changed (each position), cut, extended, re-cased."""
    out = [token[:i] + chr(ord(token[i]) ^ 1) + token[i + 1:] for i in range(len(token))]
    return [*out, token[:-1], token + "x", token.upper(), " " + token + "x", token * 2, "", "null", "é" + token[1:]]


def test_write_endpoints_refuse_any_token_but_the_right_one(client: TestClient, filled: str, tmp_path: Path) -> None:
    before = table_counts(filled, tmp_path / "aliases.tsv")
    body = {"text": TEXT, "url": "https://oakmere.example/library"}
    assert client.post("/api/articles", json=body).status_code == 401
    for wrong in near_misses(TOKEN):
        r = client.post("/api/articles", json=body, headers={"Authorization": f"Bearer {wrong}".encode()})
        assert r.status_code in (401, 403), wrong
        r = client.post("/extract", data={"text": TEXT, "save": "1", "token": wrong})
        assert r.status_code == 401 and "not saved" in r.text, wrong
    for headers in ({"Authorization": f"Basic {TOKEN}"}, {"Authorization": TOKEN}, {"X-Token": TOKEN},
                    {"Cookie": f"token={TOKEN}"}):
        assert client.post("/api/articles", json=body, headers=headers).status_code == 401, headers
    assert client.post(f"/api/articles?token={TOKEN}", json=body).status_code == 401
    assert table_counts(filled, tmp_path / "aliases.tsv") == before  # nothing was written
    r = client.post("/api/articles", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 201 and r.json()["status"] == "added"


def test_the_token_is_compared_in_constant_time(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check goes through hmac.compare_digest (observed, not replaced) with the token as sent."""
    seen: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def observed(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", observed)
    wrong = TOKEN[:-1] + ("x" if TOKEN[-1] != "x" else "y")
    assert client.post("/api/articles", json={"text": TEXT},
                       headers={"Authorization": f"Bearer {wrong}"}).status_code == 401
    assert client.post("/extract", data={"text": TEXT, "save": "1", "token": wrong}).status_code == 401
    assert seen == [(wrong.encode(), TOKEN.encode())] * 2
    source = (Path(sys.modules["quotegraph.serve.app"].__file__)).read_text(encoding="utf-8")
    assert not re.search(r"(given|token)\s*==\s*(self\.)?token|==\s*given", source)  # no plain comparison anywhere


def test_without_a_token_nothing_can_be_written(filled: str, tmp_path: Path, pipeline: Pipeline) -> None:
    before = table_counts(filled, tmp_path / "aliases.tsv")
    app = create_app(filled, token=None, aliases=tmp_path / "aliases.tsv", pipeline=pipeline)
    with TestClient(app, raise_server_exceptions=False) as c:
        for auth in ("", "Bearer ", "Bearer None", "Bearer null", f"Bearer {TOKEN}"):
            r = c.post("/api/articles", json={"text": TEXT}, headers={"Authorization": auth} if auth else {})
            assert r.status_code in (401, 403), auth
        assert c.post("/extract", data={"text": TEXT, "save": "1", "token": ""}).status_code == 403
    assert table_counts(filled, tmp_path / "aliases.tsv") == before


def test_reads_go_through_connections_the_database_keeps_read_only(client: TestClient, filled: str,
                                                                    tmp_path: Path) -> None:
    before = table_counts(filled, tmp_path / "aliases.tsv")
    service = client.app.state.service  # type: ignore[attr-defined]
    assert len(service.readers) >= 2
    for reader in service.readers:
        for sql in ("DELETE FROM statements", "DROP TABLE articles", "UPDATE speakers SET name = 'x'"):
            with pytest.raises(Exception, match="(?i)read.?only"):
                reader._run(sql)
    assert table_counts(filled, tmp_path / "aliases.tsv") == before
    assert client.get("/api/statements", params={"q": "vote"}).json()["hits"]  # the readers still read


# --- escaping ----------------------------------------------------------------------------------

class Audit(HTMLParser):
    """Everything in a page that could run script: script-capable tags, event handler attributes,
    links to anything but http(s) or this site."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "img", "iframe", "object", "embed", "base", "meta") and not (
                tag == "meta" and {n for n, _ in attrs} <= {"charset", "name", "content"}):
            self.problems.append(f"<{tag} {attrs}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("srcdoc", "formaction"):
                self.problems.append(f"{tag} {name}={value!r}")
            if name in ("href", "src", "action") and value is not None:
                if urlsplit(value.strip()).scheme not in ("", "http", "https"):
                    self.problems.append(f"{tag} {name}={value!r}")


def audit(html: str, where: str) -> None:
    parser = Audit()
    parser.feed(html)
    parser.close()
    assert parser.problems == [], (where, parser.problems)
    assert "<script" not in html.lower(), where


def test_every_page_type_escapes_hostile_articles(client: TestClient, store: Store) -> None:
    hostile = store.search(SearchQuery(text="budget Friday", limit=100)).hits + \
        store.search(SearchQuery(text="fishing fleet", limit=100)).hits
    assert hostile
    checked = 0
    for hit in hostile:
        view = client.get(f"/api/statements/{hit.id}").json()
        article_ids = {o["article_id"] for o in view["occurrences"]}
        pages: list[tuple[str, dict[str, str]]] = [
            (f"/statements/{hit.id}", {}), *((f"/articles/{a}", {}) for a in article_ids), ("/speakers", {}),
            ("/", {"q": hit.content[:40]}), ("/", {"q": "budget", "speaker": hit.speaker or ""}),
            *(("/", {"outlet": o["outlet"]}) for o in view["occurrences"] if o["outlet"])]
        if hit.speaker_id is not None:
            pages += [(f"/speakers/{hit.speaker_id}", {}), ("/", {"speaker": f"#{hit.speaker_id}"})]
        for path, params in pages:
            r = client.get(path, params=params)
            assert r.status_code == 200, (path, params, r.status_code)
            audit(r.text, f"{path} {params}")
            checked += 1
    assert checked >= 10
    # what was in the articles is on the pages, as text; the javascript: URL is not a link
    for key, shown in (("test/hostile-1", "&lt;script&gt;alert(5)&lt;/script&gt;"),
                       ("test/hostile-2", "&#34;&gt;&lt;img src=x onerror=alert(10)&gt;")):
        html = client.get(f"/articles/{store.article_ids([key])[key]}").text
        assert shown in html, key
    assert "javascript:alert(4)" not in client.get(f"/articles/{store.article_ids(['test/hostile-1'])['test/hostile-1']}").text
    # the other page types, with hostile input echoed back
    for path, data in [("/extract", {"text": XSS_ARTICLE["text"], "title": '"><script>alert(1)</script>',
                                     "publisher": '" onmouseover="alert(2)', "url": "javascript:alert(3)"}),
                       ("/extract", {"text": XSS_ARTICLE["text"], "url": 'https://x.example/"onmouseover="alert(4)'}),
                       ("/extract", {"text": "", "date": '"><script>alert(5)</script>'})]:
        r = client.post(path, data=data)
        assert r.status_code in (200, 400), r.text[:300]
        audit(r.text, f"POST {path} {data}")
    for path in ['/?q="><script>alert(1)</script>', "/?q=%22%20onmouseover%3D%22alert(1)", "/?since=<script>",
                 "/?speaker=<img src=x onerror=alert(1)>", "/statements/999999", "/articles/999999",
                 "/speakers/999999", "/extract", "/?outlet=javascript:alert(1)"]:
        r = client.get(path)
        assert r.status_code in (200, 400, 404)
        audit(r.text, path)


# --- size limits and malformed bodies ------------------------------------------------------------

def test_oversized_articles_are_refused_with_a_clear_json_error(client: TestClient, filled: str,
                                                                tmp_path: Path) -> None:
    before = table_counts(filled, tmp_path / "aliases.tsv")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    long_text = "The mayor said the plan would work. " * (MAX_ARTICLE_CHARS // 36 + 1)
    assert len(long_text) > MAX_ARTICLE_CHARS and len(long_text.encode()) < MAX_BODY_BYTES
    for path in ("/api/extract", "/api/articles"):
        started = time.monotonic()
        r = client.post(path, json={"text": long_text}, headers=auth)
        assert r.status_code == 422, r.text[:300]
        assert time.monotonic() - started < 10  # refused before the pipeline runs
        detail = r.json()["detail"][0]
        assert detail["loc"] == ["body", "text"] and f"{MAX_ARTICLE_CHARS}" in detail["msg"]
        assert len(r.content) < 2_000  # the refused text is not echoed back whole
        huge = json.dumps({"text": "x" * (MAX_BODY_BYTES + 1)})
        r = client.post(path, content=huge, headers={**auth, "Content-Type": "application/json"})
        assert r.status_code == 413 and "bytes" in r.json()["detail"]
    r = client.post("/extract", data={"text": long_text})
    assert r.status_code == 400 and f"{MAX_ARTICLE_CHARS:,}" in r.text
    assert table_counts(filled, tmp_path / "aliases.tsv") == before


@pytest.mark.parametrize("field", ["text", "title", "url", "date", "author", "publisher", "key"])
def test_unstorable_strings_are_400_not_500(client: TestClient, field: str) -> None:
    """A lone surrogate (valid JSON, invalid Unicode) or a NUL (PostgreSQL refuses it) in any field."""
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    for bad in ("a\\ud800b", "a\\u0000b"):
        value = json.dumps(TEXT + " ")[:-1] + bad + '"' if field == "text" else f'"{bad}"'
        body = '{"text": ' + (value if field == "text" else json.dumps(TEXT)) + \
            ("" if field == "text" else f', "{field}": {value}') + "}"
        for path in ("/api/extract", "/api/articles") if field != "key" else ("/api/articles",):
            r = client.post(path, content=body, headers=auth)
            assert r.status_code in (400, 422), (path, field, bad, r.status_code, r.text[:200])
            if r.status_code == 400:
                assert field in one_line_error(r)
    # over a length limit and not valid Unicode: the 422 that echoes the input must still encode
    r = client.post("/api/extract", content='{"text": "ok", "date": "\\ud800' + "x" * 40 + '"}',
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["input"] == "\ud800" + "x" * 40


def test_extraction_beyond_the_queue_is_503_at_once(client: TestClient) -> None:
    slots = client.app.state.service._extract_slots  # type: ignore[attr-defined]
    for _ in range(EXTRACT_QUEUE):
        assert slots.acquire(blocking=False)  # as if that many extractions were running or waiting
    try:
        r = client.post("/api/extract", json={"text": TEXT})
        assert r.status_code == 503 and "try again" in r.json()["detail"] and r.headers["retry-after"]
        r = client.post("/extract", data={"text": TEXT})
        assert r.status_code == 503 and "try again" in r.text
        assert client.get("/api/statements", params={"q": "vote"}).status_code == 200  # reads go on
    finally:
        for _ in range(EXTRACT_QUEUE):
            slots.release()
    assert client.post("/api/extract", json={"text": TEXT}).status_code == 200


# --- where the server listens --------------------------------------------------------------------

def test_the_default_host_is_loopback() -> None:
    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1"


def _listening(port: int) -> list[str]:
    """Addresses with a listening TCP socket on ``port`` (Linux /proc/net)."""
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                if width == 8:
                    found.append(socket.inet_ntop(socket.AF_INET, raw[::-1]))
                else:
                    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                    found.append(socket.inet_ntop(socket.AF_INET6, words))
    return found


def test_serve_without_host_listens_on_loopback_only(tmp_path: Path, extractions: list[tuple[str, Extraction]]
                                                     ) -> None:
    db = tmp_path / "store.db"
    fill(str(db), tmp_path / "store.aliases.tsv", extractions[:2])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen([sys.executable, "-m", "quotegraph", "serve", "--db", str(db), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/statements", timeout=10) as r:
                    assert r.status == 200
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.2)
        addresses = _listening(port)
        assert addresses == ["127.0.0.1"], addresses
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "reachable from other machines" not in err
