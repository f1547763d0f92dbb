"""The JSON API over a real store, SQLite and PostgreSQL, filled by the real pipeline; the OpenAPI
description; the token, size limits and headers; pages escape what articles contain."""

from __future__ import annotations

import calendar
import datetime
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate
from serve_fixtures import TOKEN, XSS_ARTICLE, extractions, fill, pipeline  # noqa: F401 (fixtures)
from store_fixtures import backend, store_target  # noqa: F401 (fixtures)

from quotegraph.model import Extraction
from quotegraph.pipeline import Pipeline
from quotegraph.serve.app import create_app
from quotegraph.store import base as store_base


@pytest.fixture
def client(store_target: str, tmp_path: Path, extractions: list[tuple[str, Extraction]],
           pipeline: Pipeline) -> Iterator[TestClient]:
    fill(store_target, tmp_path / "aliases.tsv", extractions)
    app = create_app(store_target, token=TOKEN, aliases=tmp_path / "aliases.tsv", pipeline=pipeline)
    with TestClient(app) as c:
        yield c


def all_hits(client: TestClient, **params: object) -> list[dict]:
    hits, offset = [], 0
    while True:
        page = client.get("/api/statements", params={**params, "limit": 100, "offset": offset}).json()
        hits += page["hits"]
        if not page["has_more"]:
            return hits
        offset = page["next_offset"]


def speaker_id(client: TestClient, name: str) -> int:
    found = client.get("/api/speakers", params={"name": name}).json()["speakers"]
    assert len(found) == 1, found
    return int(found[0]["id"])


# --- statements -----------------------------------------------------------------------------

def test_search_words_filters_and_facets(client: TestClient) -> None:
    page = client.get("/api/statements", params={"q": "agreement", "facets": "true"}).json()
    assert page["hits"] and all("agreement" in h["content"].lower() for h in page["hits"])
    facets = page["facets"]
    assert facets["total"] == len(page["hits"])
    # each speaker's facet count is what filtering by that speaker finds
    for f in facets["speakers"]:
        hits = all_hits(client, q="agreement", speaker=f"#{f['id']}")
        assert len(hits) == f["count"] and all(h["speaker_id"] == f["id"] for h in hits)
    for f in facets["outlets"]:
        assert len(all_hits(client, q="agreement", outlet=f["value"])) == f["count"]
    for f in facets["months"]:
        last = calendar.monthrange(int(f["value"][:4]), int(f["value"][5:]))[1]
        hits = all_hits(client, q="agreement", since=f"{f['value']}-01", until=f"{f['value']}-{last}")
        assert len(hits) == f["count"] and all(h["first_date"].startswith(f["value"]) for h in hits)
    assert sum(f["count"] for f in facets["months"]) == facets["total"]
    varga = all_hits(client, speaker="Varga")
    assert varga and {h["speaker"] for h in varga} == {"Elena Varga"}
    direct = all_hits(client, kind="direct")
    assert direct and all(h["kind"] == "direct" for h in direct)
    assert all(h["confidence"] >= 0.9 for h in all_hits(client, min_confidence=0.9))
    march = all_hits(client, since="2024-03-01", until="2024-03-31")
    assert march and all("2024-03-01" <= h["first_date"] <= "2024-03-31" for h in march)


def test_search_page_says_when_only_the_newest_matches_were_ranked(client: TestClient,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    total = client.get("/api/statements", params={"q": "agreement", "facets": "true"}).json()["facets"]["total"]
    assert total > 1
    assert "Best first among" not in client.get("/", params={"q": "agreement"}).text
    monkeypatch.setattr(store_base, "RANK_WINDOW", total - 1)
    assert f"Best first among the {total - 1} most recently added" in client.get("/", params={"q": "agreement"}).text


def test_paging_is_disjoint_and_capped(client: TestClient) -> None:
    everything = all_hits(client)
    pages, offset = [], 0
    while offset is not None:
        page = client.get("/api/statements", params={"limit": 7, "offset": offset}).json()
        pages.append(page)
        offset = page["next_offset"]
    ids = [h["id"] for p in pages for h in p["hits"]]
    assert len(ids) == len(set(ids)) == len(everything) > 14
    assert [p["has_more"] for p in pages] == [True] * (len(pages) - 1) + [False]
    assert client.get("/api/statements", params={"limit": 101}).status_code == 422
    assert client.get("/api/statements", params={"limit": 0}).status_code == 422
    assert client.get("/api/statements", params={"offset": 10_001}).status_code == 422


def test_bad_filters_are_one_line_400s(client: TestClient) -> None:
    r = client.get("/api/statements", params={"since": "last week"})
    assert r.status_code == 400 and "since" in r.json()["detail"] and "\n" not in r.json()["detail"]
    assert client.get("/api/statements", params={"kind": "rumour"}).status_code == 422
    assert client.get("/api/statements", params={"speaker": "!!!"}).status_code == 400
    for query in ['"unbalanced', "'; DROP TABLE statements; --", "NEAR(a b)", "((("]:
        assert client.get("/api/statements", params={"q": query}).status_code == 200
    assert client.get("/api/statements").json()["hits"]  # still there


def test_search_by_meaning(client: TestClient) -> None:
    page = client.get("/api/statements", params={"similar": "we refuse to accept a deal that ruins the fishing "
                                                             "industry", "limit": 3}).json()
    assert page["hits"][0]["content"].startswith('"We will not sign an agreement')


def test_one_statement_has_every_occurrence_earliest_first(client: TestClient) -> None:
    hit = all_hits(client, q='"will not sign"')[0]
    view = client.get(f"/api/statements/{hit['id']}").json()
    assert view["statement"]["id"] == hit["id"] and view["speaker"]["name"] == "Elena Varga"
    occurrences = view["occurrences"]
    assert [o["outlet"] for o in occurrences] == ["Harbour Herald", "Valley Times"]
    assert [o["date"] for o in occurrences] == sorted(o["date"] for o in occurrences)
    for o in occurrences:  # each links to its article, and the offsets point at the quote there
        article = client.get(f"/api/articles/{o['article_id']}").json()
        assert article["key"] == o["article_key"]
        assert article["text"][o["start"]:o["end"]] == o["content"]
    assert client.get("/api/statements/999999").status_code == 404


# --- speakers -------------------------------------------------------------------------------

def test_speakers_list_and_one_speaker(client: TestClient) -> None:
    listed = client.get("/api/speakers", params={"limit": 100}).json()["speakers"]
    counts = [s["statements"] for s in listed]
    assert counts == sorted(counts, reverse=True) and listed[0]["name"] == "Elena Varga"
    assert all(s["named"] for s in listed)
    first_two = client.get("/api/speakers", params={"limit": 2}).json()
    assert first_two["has_more"] and [s["id"] for s in first_two["speakers"]] == [s["id"] for s in listed[:2]]
    varga = speaker_id(client, "Varga")
    detail = client.get(f"/api/speakers/{varga}").json()
    assert detail["speaker"]["name"] == "Elena Varga" and "Elena Varga" in detail["speaker"]["aliases"]
    assert detail["speaker"]["statements"] == len(all_hits(client, speaker=f"#{varga}"))
    # the timeline counts her statements per week and outlet: weeks are Mondays, outlets add up
    weeks = detail["timeline"]
    assert weeks and all(datetime.date.fromisoformat(w["week"]).weekday() == 0 for w in weeks)
    assert {w["outlet"] for w in weeks} == {"Harbour Herald", "Valley Times", "North Wire"}
    first = min(weeks, key=lambda w: w["week"])
    assert first["week"] == "2024-03-04"
    by_outlet = {o["outlet"]: o["statements"] for o in detail["outlets"]}
    assert sum(by_outlet.values()) >= detail["speaker"]["statements"]
    co = {c["name"]: c["articles"] for c in detail["co_quoted"]}
    assert co["Joanna Brill"] >= 3 and "Amir Haddad" in co and "Elena Varga" not in co
    assert client.get("/api/speakers/999999").status_code == 404


# --- articles -------------------------------------------------------------------------------

def test_one_article_with_its_attributions(client: TestClient) -> None:
    hit = all_hits(client, q='"numbers come from scientists"')[0]
    occurrence = client.get(f"/api/statements/{hit['id']}").json()["occurrences"][0]
    article = client.get(f"/api/articles/{occurrence['article_id']}").json()
    assert article["title"] == "Nordland rejects draft fisheries deal" and article["outlet"] == "Harbour Herald"
    text = article["text"]
    by_source = {}
    for a in article["attributions"]:
        for part in ("source", "cue", "content"):
            if a[part]:
                assert text[a[part]["start"]:a[part]["end"]] == a[part]["text"]
        if a["statement_id"] is not None:
            stored = client.get(f"/api/statements/{a['statement_id']}").json()
            assert any(o["article_id"] == article["id"] and o["start"] == a["content"]["start"]
                       for o in stored["occurrences"])
        by_source[a["source"]["text"] if a["source"] else None] = a
    she = by_source["She"]
    assert she["speaker"]["name"] == "Elena Varga" and she["resolution"]["method"] == "pronoun"
    assert she["store_speaker_id"] == speaker_id(client, "Elena Varga")
    assert client.get("/api/articles/999999").status_code == 404


# --- extract and ingest ---------------------------------------------------------------------

TEXT = ('The mayor of Oakmere, Priya Natarajan, opened the new library on Saturday. "Books are the cheapest '
        'holiday there is," Natarajan said. She added that the library would open on Sundays.')


def test_extract_returns_attributions_and_stores_nothing(client: TestClient) -> None:
    before = client.get("/api/statements", params={"limit": 100}).json()["hits"]
    r = client.post("/api/extract", json={"text": TEXT, "title": "Library opens", "date": "2024-06-01"})
    assert r.status_code == 200
    body = r.json()
    assert body["article"]["title"] == "Library opens" and body["article"]["date"] == "2024-06-01"
    names = {a["speaker"]["name"] for a in body["attributions"]}
    assert names == {"Priya Natarajan"}
    for a in body["attributions"]:
        assert TEXT[a["content"]["start"]:a["content"]["end"]] == a["content"]["text"]
        assert a["statement_id"] is None
    assert client.get("/api/statements", params={"limit": 100}).json()["hits"] == before
    assert all_hits(client, q="cheapest") == []


@pytest.mark.parametrize("body, status", [
    ({"text": ""}, 422), ({"text": "   \n "}, 400), ({"text": "a\x00b" * 100}, 400), ({}, 422),
    ({"text": TEXT, "date": "yesterday"}, 400), ({"text": TEXT, "url": "javascript:alert(1)"}, 400),
])
def test_extract_refuses_bad_input(client: TestClient, body: dict, status: int) -> None:
    r = client.post("/api/extract", json=body)
    assert r.status_code == status, r.text
    if status == 400:
        assert "\n" not in r.json()["detail"]


def test_ingest_needs_the_token_and_is_idempotent(client: TestClient) -> None:
    body = {"text": TEXT, "url": "https://oakmere-post.example/library", "publisher": "Oakmere Post",
            "date": "2024-06-01"}
    assert client.post("/api/articles", json=body).status_code == 401
    assert client.post("/api/articles", json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post("/api/articles", json={}, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert all_hits(client, q="cheapest") == []
    auth = {"Authorization": f"Bearer {TOKEN}"}
    first = client.post("/api/articles", json=body, headers=auth)
    assert first.status_code == 201, first.text
    saved = first.json()
    assert saved["status"] == "added" and saved["key"] == "web:https://oakmere-post.example/library"
    assert saved["statements_new"] >= 2
    again = client.post("/api/articles", json=body, headers=auth)
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    hits = all_hits(client, q="cheapest")
    assert len(hits) == 1 and hits[0]["speaker"] == "Priya Natarajan"
    article = client.get(f"/api/articles/{saved['article_id']}").json()
    assert article["outlet"] == "Oakmere Post" and article["text"] == TEXT


def test_without_a_token_the_server_is_read_only(store_target: str, tmp_path: Path, pipeline: Pipeline) -> None:
    with TestClient(create_app(store_target, token=None, aliases=tmp_path / "a.tsv", pipeline=pipeline)) as c:
        r = c.post("/api/articles", json={"text": TEXT}, headers={"Authorization": "Bearer anything"})
        assert r.status_code == 403 and "token" in r.json()["detail"]
        assert c.post("/api/extract", json={"text": TEXT}).status_code == 200


def test_request_bodies_are_capped(store_target: str, tmp_path: Path, pipeline: Pipeline) -> None:
    app = create_app(store_target, token=TOKEN, aliases=tmp_path / "a.tsv", pipeline=pipeline, max_body=10_000)
    with TestClient(app) as c:
        big = {"text": "The mayor said the plan would work. " * 400}
        assert c.post("/api/extract", json=big).status_code == 413
        data = json.dumps(big).encode()

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
            for i in range(0, len(data), 1000):
                yield data[i:i + 1000]

        r = c.post("/api/extract", content=chunks(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413
        assert c.post("/api/extract", json={"text": TEXT}).status_code == 200


# --- the OpenAPI description ----------------------------------------------------------------

def test_openapi_description_is_valid_and_complete(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    validate(spec)  # raises on an invalid OpenAPI document
    paths = spec["paths"]
    assert set(paths) == {"/api/statements", "/api/statements/{statement_id}", "/api/speakers",
                          "/api/speakers/{speaker_id}", "/api/articles/{article_id}", "/api/extract", "/api/articles"}
    assert set(paths["/api/articles"]) == {"post"} and set(paths["/api/extract"]) == {"post"}
    params = {p["name"]: p for p in paths["/api/statements"]["get"]["parameters"]}
    assert {"q", "similar", "speaker", "outlet", "since", "until", "kind", "min_confidence", "limit", "offset",
            "facets"} <= set(params)
    assert params["limit"]["schema"]["maximum"] == 100
    schemas = spec["components"]["schemas"]
    for path, item in paths.items():
        for method, op in item.items():
            ok = op["responses"].get("200") or op["responses"].get("201")
            ref = ok["content"]["application/json"]["schema"]["$ref"]
            assert ref.split("/")[-1] in schemas, (path, method)
    assert paths["/api/articles"]["post"]["security"] == [{"HTTPBearer": []}]
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert {"hits", "has_more", "next_offset"} <= set(schemas["StatementsPage"]["properties"])
    assert client.get("/docs").status_code == 404  # no documentation UI from a CDN


# --- pages: escaping and headers ------------------------------------------------------------

def test_pages_show_markup_in_articles_as_text(client: TestClient) -> None:
    hit = all_hits(client, q="budget")[0]
    occurrence = client.get(f"/api/statements/{hit['id']}").json()["occurrences"][0]
    article_id = occurrence["article_id"]
    for path in (f"/articles/{article_id}", f"/statements/{hit['id']}", "/?q=budget", "/?q=vote",
                 f"/speakers/{hit['speaker_id']}"):
        r = client.get(path)
        assert r.status_code == 200, path
        html = r.text
        assert "<script" not in html and "<img" not in html and "<b>" not in html and "<i>" not in html, path
        assert "javascript:" not in html.replace("window.__xss", ""), path
    page = client.get(f"/articles/{article_id}").text
    assert "&lt;script&gt;window.__xss = 1; alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;html&lt;/b&gt;" in page and "&lt;i&gt;Greyhaven&lt;/i&gt; Gazette" in page
    assert "onerror=&#39;window.__xss=2&#39;" in page
    assert XSS_ARTICLE["url"] not in page  # a javascript: URL is never a link
    r = client.post("/extract", data={"text": XSS_ARTICLE["text"], "title": "<script>x</script>"})
    assert r.status_code == 200 and "<script" not in r.text and "&lt;script&gt;window.__xss" in r.text


def test_pages_send_a_script_free_content_policy(client: TestClient) -> None:
    for path in ("/", "/speakers", "/extract", "/api/statements"):
        r = client.get(path)
        assert r.status_code == 200
        policy = r.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy
        assert r.headers["x-content-type-options"] == "nosniff"


def test_missing_things_are_404_pages(client: TestClient) -> None:
    for path in ("/statements/999999", "/speakers/999999", "/articles/999999"):
        r = client.get(path)
        assert r.status_code == 404 and "text/html" in r.headers["content-type"] and "no " in r.text
    r = client.get("/", params={"since": "<script>"})
    assert r.status_code == 400 and "&lt;script&gt;" in r.text and "<script>" not in r.text
