"""The HTML pages: search, statement, speaker, article, extract. Server-rendered, no script.

Routes gather plain data from the store and ``render``/``chart`` and hand it to a template;
the templates escape every value (autoescape), so nothing from an article becomes markup.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from quotegraph.errors import InputError
from quotegraph.model import Extraction
from quotegraph.serve import render
from quotegraph.serve.api import (
    ExtractRequest,
    article_from_request,
    default_key,
    store_extraction,
)
from quotegraph.serve.app import MAX_ARTICLE_CHARS, MAX_OFFSET, Service
from quotegraph.serve.chart import timeline_chart
from quotegraph.store import base as store_base
from quotegraph.store.base import SearchQuery, search_terms

router = APIRouter(include_in_schema=False)
PER_PAGE = 20
MAX_PAGE_NUMBER = MAX_OFFSET // PER_PAGE


def _service(request: Request) -> Service:
    return request.app.state.service  # type: ignore[no-any-return]


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    env = request.app.state.templates
    base = request.scope.get("root_path", "").rstrip("/")
    html = env.get_template(template).render(base=base, can_save=_service(request).can_save, **context)
    return HTMLResponse(html, status_code=status)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return page(request, "error.html", status, status_code=status, message=message, title="Not found"
                if status == 404 else "Cannot do that")


def _page_number(value: str | None) -> int:
    try:
        number = int(value or 1)
    except ValueError:
        number = 1
    return min(max(number, 1), MAX_PAGE_NUMBER)


def _confidence(value: str | None) -> float:
    try:
        number = float(value or 0)
    except ValueError:
        raise InputError(f"minimum confidence: expected a number from 0 to 1, got {value!r}") from None
    if not 0.0 <= number <= 1.0:
        raise InputError(f"minimum confidence: expected a number from 0 to 1, got {value!r}")
    return number


def _hit_rows(store: Any, hits: list[Any], terms: list[list[str]]) -> list[dict[str, Any]]:
    outlets = store.statement_outlets([h.id for h in hits])
    return [{"hit": h, "runs": render.mark_terms(" ".join(h.content.split()), terms),
             "outlets": outlets.get(h.id, [])} for h in hits]


# --- search ----------------------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse)
def search_page(request: Request, q: str = "", speaker: str = "", outlet: str = "", since: str = "",
                until: str = "", kind: str = "", min_confidence: str = "") -> HTMLResponse:
    params = {"q": q.strip()[:500], "speaker": speaker.strip()[:200], "outlet": outlet.strip()[:200],
              "since": since.strip(), "until": until.strip(), "kind": kind if kind in ("direct", "indirect", "mixed")
              else "", "min_confidence": min_confidence.strip()}
    number = _page_number(request.query_params.get("page"))
    error, rows, facets, has_more = None, [], None, False
    try:
        query = SearchQuery(text=params["q"], speaker=params["speaker"] or None, outlet=params["outlet"] or None,
                            since=params["since"] or None, until=params["until"] or None, kind=params["kind"] or None,
                            min_confidence=_confidence(params["min_confidence"]), limit=PER_PAGE,
                            offset=(number - 1) * PER_PAGE)
        with _service(request).reading() as store:
            result = store.search(query)
            facets = store.facets(query)
            rows = _hit_rows(store, result.hits, search_terms(params["q"]))
        has_more = result.has_more
    except InputError as exc:
        error = str(exc)
    links = {
        "speakers": [(f, render.query_string(params, speaker=f"#{f.id}")) for f in (facets.speakers if facets else [])],
        "outlets": [(f, render.query_string(params, outlet=f.value)) for f in (facets.outlets if facets else [])],
        "months": [(f, render.query_string(params, since=f"{f.value}-01", until=_month_end(f.value)))
                   for f in (facets.months if facets else [])],
        "clear": {name: render.query_string(params, **{name: ""}) for name in params},
        "prev": render.query_string(params, page=number - 1) if number > 1 else None,
        "next": render.query_string(params, page=number + 1) if has_more else None,
    }
    return page(request, "search.html", 400 if error else 200, title="Search", params=params, rows=rows,
                facets=facets, links=links, error=error, page_number=number, per_page=PER_PAGE,
                rank_window=store_base.RANK_WINDOW,
                speaker_label=_speaker_label(request, params["speaker"]))


def _month_end(month: str) -> str:
    from calendar import monthrange

    year, mon = int(month[:4]), int(month[5:7])
    return f"{month}-{monthrange(year, mon)[1]:02d}"


def _speaker_label(request: Request, value: str) -> str:
    """'#12' shown as the speaker's name in the active filters."""
    if value.startswith("#") and value[1:].isdigit():
        try:
            with _service(request).reading() as store:
                return store.speaker(int(value[1:])).name
        except InputError:
            return value
    return value


# --- statement -------------------------------------------------------------------------------

@router.get("/statements/{statement_id}", response_class=HTMLResponse)
def statement_page(request: Request, statement_id: int) -> HTMLResponse:
    with _service(request).reading() as store:
        view = store.statement(statement_id)
        ids = store.article_ids(sorted({o.article_key for o in view.occurrences}))
    occurrences = sorted(view.occurrences, key=lambda o: (o.date is None, o.date or "", o.outlet or ""))
    rows = [{"o": o, "article_id": ids.get(o.article_key), "url": render.safe_url(o.url),
             "runs": render.mark_quote(o.context, o.content)} for o in occurrences]
    return page(request, "statement.html", title=f"Statement {statement_id}", view=view, rows=rows,
                outlets=sorted({o.outlet for o in occurrences if o.outlet}))


# --- speakers --------------------------------------------------------------------------------

@router.get("/speakers", response_class=HTMLResponse)
def speakers_page(request: Request) -> HTMLResponse:
    number = _page_number(request.query_params.get("page"))
    per = 50
    with _service(request).reading() as store:
        speakers, more = store.speakers_page(per, (number - 1) * per)
    return page(request, "speakers.html", title="Speakers", speakers=speakers, page_number=number,
                prev=f"?page={number - 1}" if number > 1 else None, next=f"?page={number + 1}" if more else None)


@router.get("/speakers/{speaker_id}", response_class=HTMLResponse)
def speaker_page(request: Request, speaker_id: int) -> HTMLResponse:
    number = _page_number(request.query_params.get("page"))
    with _service(request).reading() as store:
        info = store.speaker(speaker_id)
        timeline = store.speaker_timeline(speaker_id)
        co = store.co_quoted(speaker_id, 10)
        result = store.search(SearchQuery(speaker=f"#{speaker_id}", limit=PER_PAGE, offset=(number - 1) * PER_PAGE))
        rows = _hit_rows(store, result.hits, [])
        mentions = store.explain(speaker_id)[:50]
    chart = timeline_chart(timeline)
    return page(request, "speaker.html", title=info.name, info=info, chart=chart, timeline=timeline, co=co,
                rows=rows, mentions=mentions, page_number=number,
                prev=f"?page={number - 1}" if number > 1 else None,
                next=f"?page={number + 1}" if result.has_more else None)


# --- article ---------------------------------------------------------------------------------

def _article_context(extraction: Extraction, statement_ids: dict[int, int] | None = None,
                     speaker_ids: dict[str, int] | None = None) -> dict[str, Any]:
    text = extraction.article.text
    starts = render.paragraph_starts(text)
    cards = []
    for i, a in enumerate(extraction.attributions):
        cards.append({"n": i + 1, "a": a, "why": render.explain(extraction, a, starts),
                      "statement_id": (statement_ids or {}).get(i),
                      "speaker_id": (speaker_ids or {}).get(a.speaker_id) if a.speaker_id else None})
    return {"segments": render.highlight(text, extraction.attributions, extraction.damage), "cards": cards,
            "damage": [{"d": d, "text": text[d.start:d.end], "paragraph": render.paragraph_of(starts, d.start)}
                       for d in extraction.damage]}


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article_page(request: Request, article_id: int) -> HTMLResponse:
    with _service(request).reading() as store:
        view = store.article(article_id)
    return page(request, "article.html", title=view.title or view.key, view=view, url=render.safe_url(view.url),
                **_article_context(view.extraction, view.statement_ids, view.speaker_ids))


# --- extract ---------------------------------------------------------------------------------

@router.get("/extract", response_class=HTMLResponse)
def extract_form(request: Request) -> HTMLResponse:
    return page(request, "extract.html", title="Extract", form={}, result=None, error=None)


@router.post("/extract", response_class=HTMLResponse)
def extract_submit(request: Request, text: str = Form(""), title: str = Form(""), url: str = Form(""),
                   date: str = Form(""), publisher: str = Form(""), save: str = Form(""),
                   token: str = Form("")) -> Response:
    svc = _service(request)
    form = {"text": text, "title": title, "url": url, "date": date, "publisher": publisher, "save": bool(save)}
    status, error, result = 200, None, None
    try:
        if len(text) > MAX_ARTICLE_CHARS:
            raise InputError(f"the text is {len(text):,} characters, over the limit of {MAX_ARTICLE_CHARS:,} "
                             "for one article")
        try:
            request_body = ExtractRequest(text=text or " ", title=title or None, url=url or None, date=date or None,
                                          publisher=publisher or None)
        except ValidationError as exc:  # a field over its length limit
            first = exc.errors()[0]
            raise InputError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
        article = article_from_request(request_body)
        if save:
            if not svc.can_save:
                status, error = 403, "Saving is disabled: the server was started without a token."
            elif not svc.token_ok(token):
                status, error = 401, "Wrong or missing token: the article was not saved."
        if error is None or status in (401, 403):
            extraction = svc.extract(article)
            result = _article_context(extraction)
            result["extraction"] = extraction
            if save and error is None:
                saved = store_extraction(svc, default_key(article), extraction)
                return RedirectResponse(f"{request.scope.get('root_path', '').rstrip('/')}/articles/"
                                        f"{saved['article_id']}", status_code=303)
    except InputError as exc:
        status, error = 400, str(exc)
    return page(request, "extract.html", status, title="Extract", form=form, result=result, error=error)


__all__ = ["error_page", "router"]
