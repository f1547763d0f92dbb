"""End to end in a real browser: Debian's Chromium driven by Playwright against a real uvicorn
server over a real SQLite store filled by the real pipeline. No browser is downloaded; a missing
Chromium or Playwright fails these tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_fixtures import TOKEN, XSS_ARTICLE, extractions, fill, pipeline  # noqa: F401 (fixtures)

from quotegraph.model import Extraction
from quotegraph.pipeline import Pipeline
from quotegraph.serve.app import create_app
from quotegraph.serve.live import background_server, browser
from quotegraph.store import SearchQuery, open_store

PASTED = ("The harbour master of Kestrel Bay, Owen Hale, closed the old pier on Thursday.\n\n"
          "\"The timber is rotten and nobody should walk on it,\" Hale said. He added that repairs would take a year.")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, extractions: list[tuple[str, Extraction]],
         pipeline: Pipeline) -> Iterator[dict[str, Any]]:
    folder: Path = tmp_path_factory.mktemp("site")
    db, aliases = str(folder / "store.db"), folder / "aliases.tsv"
    fill(db, aliases, extractions)
    store = open_store(db, aliases=aliases)
    try:
        ids = {
            "varga": store.find_speakers("Elena Varga")[0].id,
            "markup": store.article_ids([XSS_ARTICLE["key"]])[XSS_ARTICLE["key"]],
            "herald": store.article_ids(["demo/herald-2024-03-04-fisheries"])["demo/herald-2024-03-04-fisheries"],
            "sign": store.search(SearchQuery('"will not sign"')).hits[0].id,
        }
    finally:
        store.close()
    app = create_app(db, token=TOKEN, aliases=aliases, pipeline=pipeline)
    with background_server(app) as base:
        yield {"base": base, **ids}


@pytest.fixture(scope="module")
def chrome() -> Iterator[Any]:
    with browser() as b:
        yield b


@pytest.fixture
def page(chrome: Any) -> Iterator[Any]:
    context = chrome.new_context(viewport={"width": 1200, "height": 900})
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    p.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    yield p
    context.close()
    assert errors == []  # no script error, no alert() from an article


def test_search_and_see_results(page: Any, site: dict) -> None:
    page.goto(site["base"] + "/")
    page.fill("input[name=q]", "agreement")
    page.click("form.search button[type=submit]")
    page.wait_for_url("**/?q=agreement*")
    hits = page.locator("li.hit")
    assert hits.count() >= 3
    for i in range(hits.count()):
        assert "agreement" in hits.nth(i).locator("mark.term").first.inner_text().lower()
    assert page.locator(".facets").get_by_text("Elena Varga").is_visible()
    # a speaker facet narrows the results to that speaker
    page.locator(".facets a", has_text="Amir Haddad").click()
    page.wait_for_load_state()
    assert {page.locator("li.hit .who").nth(i).inner_text() for i in range(page.locator("li.hit").count())} == \
        {"Amir Haddad"}
    assert page.locator(".active .chip").first.inner_text().startswith("speaker: Amir Haddad")


def test_open_an_article_and_see_the_highlighted_quote(page: Any, site: dict) -> None:
    page.goto(f"{site['base']}/statements/{site['sign']}")
    assert page.locator("ol.occurrences > li").count() == 2
    assert page.locator("ol.occurrences .outlet").first.inner_text() == "Harbour Herald"  # earliest first
    page.locator("ol.occurrences a", has_text="Nordland rejects draft fisheries deal").click()
    page.wait_for_url(f"**/articles/{site['herald']}")
    quote = page.locator(".article-text mark.hl-content", has_text="We will not sign an agreement")
    assert quote.count() == 1 and quote.is_visible()
    colours = {role: page.locator(f".article-text mark.hl-{role}").first.evaluate(
        "e => getComputedStyle(e).backgroundColor") for role in ("source", "cue", "content")}
    assert len(set(colours.values())) == 3  # source, cue and content in distinct colours
    assert page.locator(".article-text mark.hl-source", has_text="She").count() == 1
    card = page.locator("li.card", has_text="the quotas offered by the Ostrian side")
    assert "“She” → Elena Varga" in card.inner_text() and "paragraph 1" in card.inner_text()


def test_open_a_speaker_page_with_its_chart(page: Any, site: dict) -> None:
    page.goto(f"{site['base']}/speakers/{site['varga']}")
    assert page.locator("h1").inner_text() == "Elena Varga"
    chart = page.locator("svg.timeline")
    assert chart.is_visible() and chart.bounding_box()["height"] > 100
    bars = chart.locator("rect")
    assert bars.count() >= 7  # at least one bar per week with statements
    assert "week of 2024-03-04" in bars.first.locator("title").text_content()
    legend = page.locator(".chart-legend").inner_text()
    assert all(outlet in legend for outlet in ("Harbour Herald", "Valley Times", "North Wire"))
    assert page.locator("ul.co a", has_text="Joanna Brill").is_visible()
    assert page.locator("li.hit").count() >= 10


def test_paste_an_article_and_see_it_extracted_then_save_it(page: Any, site: dict) -> None:
    page.goto(site["base"] + "/extract")
    page.fill("textarea[name=text]", PASTED)
    page.click("form.extract button[type=submit]")
    page.wait_for_selector(".article-text")
    assert page.locator(".article-text mark.hl-content", has_text="The timber is rotten").is_visible()
    assert page.locator("li.card").count() == 2
    assert "Owen Hale" in page.locator("li.card").first.inner_text()
    # saving needs the token: a wrong one is refused and nothing is stored
    page.check("input[name=save]")
    page.fill("input[name=token]", "wrong")
    page.click("form.extract button[type=submit]")
    assert "Wrong or missing token" in page.locator(".error").inner_text()
    page.goto(site["base"] + "/?q=timber")
    assert page.locator("li.hit").count() == 0
    page.goto(site["base"] + "/extract")
    page.fill("textarea[name=text]", PASTED)
    page.check("input[name=save]")
    page.fill("input[name=token]", TOKEN)
    page.click("form.extract button[type=submit]")
    page.wait_for_url("**/articles/*")
    assert page.locator(".article-text mark.hl-content", has_text="The timber is rotten").is_visible()
    page.goto(site["base"] + "/?q=timber")
    assert page.locator("li.hit .who").first.inner_text() == "Owen Hale"


def _assert_markup_is_text(page: Any) -> None:
    assert page.evaluate("typeof window.__xss") == "undefined"
    text = page.locator(".article-text")
    assert "<script>window.__xss = 1; alert(1)</script>" in text.inner_text()
    assert "<b>html</b>" in text.inner_text()
    assert page.get_by_text("<b>html</b>", exact=False).first.is_visible()
    for tag in ("script", "b", "i", "img"):
        assert page.locator(f"main {tag}").count() == 0, tag
    assert page.locator("script").count() == 0


def test_an_article_with_script_and_html_is_shown_as_text(page: Any, site: dict) -> None:
    page.goto(f"{site['base']}/articles/{site['markup']}")
    _assert_markup_is_text(page)
    assert page.locator("h1").inner_text() == XSS_ARTICLE["title"]
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.locator(".article-text mark.hl-content", has_text="<img src=x").count() == 1
    # the same text pasted into the extract page comes back as text too
    page.goto(site["base"] + "/extract")
    page.fill("textarea[name=text]", XSS_ARTICLE["text"])
    page.click("form.extract button[type=submit]")
    page.wait_for_selector(".article-text")
    _assert_markup_is_text(page)


@pytest.mark.parametrize("path", ["/?q=agreement", "/articles/{herald}", "/speakers/{varga}", "/statements/{sign}",
                                  "/extract"])
def test_pages_fit_a_phone(chrome: Any, site: dict, path: str) -> None:
    context = chrome.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        p = context.new_page()
        p.goto(site["base"] + path.format(**site))
        assert p.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        size = p.locator("main").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 14
    finally:
        context.close()
