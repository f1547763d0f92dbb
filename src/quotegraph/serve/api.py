"""The JSON API under ``/api``: statements, speakers, articles, extraction and (with the
operator's token) ingest of one article. The response models are the OpenAPI description."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict
from datetime import date as Date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from quotegraph.errors import InputError
from quotegraph.model import Article, Extraction
from quotegraph.serve.app import MAX_ARTICLE_CHARS, MAX_OFFSET, MAX_PAGE, Service
from quotegraph.serve.render import damage_kinds, safe_url
from quotegraph.store.base import SearchQuery

router = APIRouter(prefix="/api", tags=["api"])
bearer = HTTPBearer(auto_error=False, description="the operator's token (`--token-file` or $QUOTEGRAPH_TOKEN)")


async def service(request: Request) -> Service:
    """The app's service. Async on purpose: FastAPI runs a plain function dependency in the
    thread pool, a second wait in its queue for every API request."""
    return request.app.state.service  # type: ignore[no-any-return]


# --- models ----------------------------------------------------------------------------------

class Hit(BaseModel):
    id: int
    content: str
    speaker: str | None
    speaker_id: int | None
    kind: str
    confidence: float
    first_date: str | None
    occurrences: int
    outlets: int
    score: float


class FacetValue(BaseModel):
    value: str
    count: int
    id: int | None = Field(None, description="the speaker's id (speaker facet only)")


class Facets(BaseModel):
    total: int = Field(description="statements matching the search")
    speakers: list[FacetValue]
    outlets: list[FacetValue]
    months: list[FacetValue] = Field(description="month of first report, YYYY-MM, newest first")
    sampled: int | None = Field(None, description="set when more statements match than this: the speaker, outlet "
                                                  "and month counts are then over the most recently added this many")


class StatementsPage(BaseModel):
    hits: list[Hit]
    offset: int
    limit: int
    has_more: bool
    next_offset: int | None
    facets: Facets | None = None


class SpeakerInfo(BaseModel):
    id: int
    name: str
    title: str | None
    qid: str | None
    named: bool
    statements: int
    occurrences: int
    aliases: list[str]


class Occurrence(BaseModel):
    article_id: int | None
    article_key: str
    url: str | None
    title: str | None
    date: str | None
    outlet: str | None
    source: str | None
    cue: str | None
    content: str
    start: int
    end: int
    pieces: list[list[int]] | None
    kind: str
    confidence: float
    match: str = Field(description="how it joined the statement: new, exact, near-duplicate …, truncated …")
    context: str


class StatementDetail(BaseModel):
    statement: Hit
    speaker: SpeakerInfo | None
    occurrences: list[Occurrence] = Field(description="every article that carried it, earliest first")


class SpeakersPage(BaseModel):
    speakers: list[SpeakerInfo]
    offset: int
    limit: int
    has_more: bool


class OutletCount(BaseModel):
    outlet: str
    statements: int


class WeekCount(BaseModel):
    week: str = Field(description="the Monday of the ISO week")
    outlet: str
    statements: int


class CoSpeaker(BaseModel):
    id: int
    name: str
    articles: int = Field(description="articles quoting both")


class SpeakerDetail(BaseModel):
    speaker: SpeakerInfo
    outlets: list[OutletCount]
    timeline: list[WeekCount]
    undated: int
    co_quoted: list[CoSpeaker]


class SpanModel(BaseModel):
    start: int
    end: int
    text: str
    pieces: list[list[int]] | None = None


class LinkModel(BaseModel):
    mention: SpanModel
    antecedent: SpanModel
    rule: str


class ResolutionModel(BaseModel):
    method: str
    chain: list[LinkModel]


class SpeakerRef(BaseModel):
    id: str
    name: str
    title: str | None
    named: bool


class AttributionModel(BaseModel):
    source: SpanModel | None
    cue: SpanModel | None
    content: SpanModel
    kind: str
    confidence: float
    speaker_id: str | None
    speaker: SpeakerRef | None
    resolution: ResolutionModel
    rule: str
    damage: list[str] = Field(description="scraper damage touching the statement: glued, hole, header, credit")
    statement_id: int | None = Field(None, description="the store's statement (stored articles only)")
    store_speaker_id: int | None = Field(None, description="the store's speaker (stored articles only)")


class ArticleSpeaker(BaseModel):
    id: str
    name: str
    title: str | None
    named: bool
    mentions: list[SpanModel]


class DamageModel(BaseModel):
    kind: str
    start: int
    end: int
    note: str


class ArticleMeta(BaseModel):
    title: str | None = None
    url: str | None = None
    date: str | None = None
    author: str | None = None
    publisher: str | None = None
    credit: str | None = None


class ArticleDetail(BaseModel):
    id: int
    key: str
    url: str | None
    title: str | None
    date: str | None
    author: str | None
    publisher: str | None
    outlet: str | None
    text: str
    attributions: list[AttributionModel]
    speakers: list[ArticleSpeaker]
    damage: list[DamageModel]


class ExtractRequest(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_ARTICLE_CHARS, description="the article, plain text")
    title: str | None = Field(None, max_length=1000)
    url: str | None = Field(None, max_length=2000, description="http(s) only")
    date: str | None = Field(None, max_length=40, description="ISO date, YYYY-MM-DD")
    author: str | None = Field(None, max_length=1000)
    publisher: str | None = Field(None, max_length=1000)


class ExtractResult(BaseModel):
    article: ArticleMeta
    attributions: list[AttributionModel]
    speakers: list[ArticleSpeaker]
    damage: list[DamageModel]


class IngestRequest(ExtractRequest):
    key: str | None = Field(None, max_length=500, description="identity in the store (default: from the URL, "
                                                              "else the text's hash); the same key again replaces")


class IngestResult(BaseModel):
    key: str
    article_id: int
    status: Literal["added", "unchanged", "replaced"]
    statements_new: int
    statements_merged: int
    attributions: int


# --- helpers shared with the pages -----------------------------------------------------------

def article_from_request(body: ExtractRequest) -> Article:
    """The request's text and metadata as an Article, checked like a file on the command line."""
    from quotegraph.ingest.text import article_from_text, decode_text

    for name in ("text", *ArticleMeta.model_fields, *(("key",) if isinstance(body, IngestRequest) else ())):
        check_string(name, getattr(body, name, None))
    text = decode_text(body.text.encode("utf-8"), "text", max_chars=MAX_ARTICLE_CHARS)
    if body.url is not None and body.url.strip() and safe_url(body.url) is None:
        raise InputError("url: only http:// and https:// links are accepted")
    date = (body.date or "").strip() or None
    if date is not None:
        try:
            Date.fromisoformat(date[:10])
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ].*)?", date):
                raise ValueError
        except ValueError:
            raise InputError(f"date: expected a date like 2024-03-31, got {date!r}") from None
    base = article_from_text(text)
    return Article(text=text, title=_clean(body.title), url=_clean(body.url), date=date or base.date,
                   author=_clean(body.author) or base.author, publisher=_clean(body.publisher), credit=base.credit)


def check_string(name: str, value: str | None) -> None:
    """A field of a request that the store can keep: valid Unicode (JSON can carry lone
    surrogates, which no UTF-8 encoder accepts) and, except for the text (whose own check
    says more), no NUL characters (PostgreSQL text cannot hold them)."""
    if value is None:
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{name}: not valid Unicode (a lone surrogate)") from None
    if name != "text" and "\x00" in value:
        raise InputError(f"{name}: contains a NUL character")


def _clean(value: str | None) -> str | None:
    return value.strip() or None if value else None


def default_key(article: Article) -> str:
    if article.url:
        return f"web:{article.url}"
    return "web:sha256:" + hashlib.sha256(article.text.encode("utf-8")).hexdigest()[:24]


def attribution_records(extraction: Extraction, statement_ids: dict[int, int] | None = None,
                        speaker_ids: dict[str, int] | None = None) -> list[dict[str, Any]]:
    out = []
    for i, a in enumerate(extraction.attributions):
        record = a.to_json()
        speaker = extraction.speaker(a.speaker_id)
        record["speaker"] = ({"id": speaker.id, "name": speaker.name, "title": speaker.title, "named": speaker.named}
                             if speaker else None)
        record["damage"] = damage_kinds(extraction, a)
        record["statement_id"] = (statement_ids or {}).get(i)
        record["store_speaker_id"] = (speaker_ids or {}).get(a.speaker_id) if a.speaker_id else None
        out.append(record)
    return out


def extraction_body(extraction: Extraction) -> dict[str, Any]:
    return {"speakers": [s.to_json() for s in extraction.speakers],
            "damage": [d.to_json() for d in extraction.damage]}


def authorised(svc: Service = Depends(service),
               credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Service:
    """The service, once the request's bearer token matches the operator's (checked before the body)."""
    svc.require_token(credentials.credentials if credentials else None)
    return svc


# --- routes ----------------------------------------------------------------------------------

@router.get("/statements", response_model=StatementsPage, summary="Search statements")
def search_statements(
    svc: Service = Depends(service),
    q: str = Query("", max_length=500, description='words and "quoted phrases", all required'),
    similar: str | None = Query(None, max_length=2000, description="statements saying this in any words "
                                                                    "(sentence embeddings); replaces q"),
    speaker: str | None = Query(None, max_length=200, description="a full name, a surname, or #id"),
    outlet: str | None = Query(None, max_length=200, description="carried by this outlet (publisher or web host)"),
    since: str | None = Query(None, description="first reported on or after (YYYY-MM-DD)"),
    until: str | None = Query(None, description="first reported on or before (YYYY-MM-DD)"),
    kind: Literal["direct", "indirect", "mixed"] | None = None,
    min_confidence: float = Query(0.0, ge=0.0, le=1.0),
    limit: int = Query(20, ge=1, le=MAX_PAGE),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    facets: bool = Query(False, description="also count matches by speaker, outlet and month"),
) -> dict[str, Any]:
    """The same search and filters as `quotegraph search`, one page at a time."""
    query = SearchQuery(text=q, speaker=speaker or None, outlet=outlet or None, since=since or None,
                        until=until or None, kind=kind, min_confidence=min_confidence, limit=limit, offset=offset)
    if similar:  # may embed statements stored without embeddings first: the writer
        with svc.writing() as store:
            page, counts = store.similar(similar, query), None
    else:
        with svc.reading() as store:
            page = store.search(query)
            counts = store.facets(query).to_json() if facets else None
    return {"hits": [h.to_json() for h in page.hits], "offset": page.offset, "limit": page.limit,
            "has_more": page.has_more, "next_offset": page.offset + page.limit if page.has_more else None,
            "facets": counts}


@router.get("/statements/{statement_id}", response_model=StatementDetail, summary="One statement",
            responses={404: {"description": "no such statement"}})
def get_statement(statement_id: int, svc: Service = Depends(service)) -> dict[str, Any]:
    """The statement, its speaker, and every article that carried it, earliest first."""
    with svc.reading() as store:
        view = store.statement(statement_id)
        ids = store.article_ids(sorted({o.article_key for o in view.occurrences}))
    occurrences = sorted(view.occurrences, key=lambda o: (o.date is None, o.date or "", o.outlet or ""))
    return {"statement": view.hit.to_json(), "speaker": asdict(view.speaker) if view.speaker else None,
            "occurrences": [{**asdict(o), "article_id": ids.get(o.article_key)} for o in occurrences]}


@router.get("/speakers", response_model=SpeakersPage, summary="List speakers")
def list_speakers(svc: Service = Depends(service),
                  name: str | None = Query(None, max_length=200, description="only speakers this name or #id "
                                                                              "refers to (any spelling, surname)"),
                  limit: int = Query(20, ge=1, le=MAX_PAGE), offset: int = Query(0, ge=0, le=MAX_OFFSET)
                  ) -> dict[str, Any]:
    """Named speakers, most statements first; or the speakers a name refers to."""
    with svc.reading() as store:
        if name:
            found = store.find_speakers(name)
            speakers, more = found[offset : offset + limit], len(found) > offset + limit
        else:
            speakers, more = store.speakers_page(limit, offset)
    return {"speakers": [asdict(s) for s in speakers], "offset": offset, "limit": limit, "has_more": more}


@router.get("/speakers/{speaker_id}", response_model=SpeakerDetail, summary="One speaker",
            responses={404: {"description": "no such speaker"}})
def get_speaker(speaker_id: int, svc: Service = Depends(service),
                top: int = Query(10, ge=1, le=MAX_PAGE, description="how many co-quoted speakers")) -> dict[str, Any]:
    """Aliases and counts, statements per week and outlet, and who is quoted alongside them."""
    with svc.reading() as store:
        info = store.speaker(speaker_id)
        timeline = store.speaker_timeline(speaker_id)
        co = store.co_quoted(speaker_id, top)
    data = timeline.to_json()
    return {"speaker": asdict(info), "outlets": data["outlets"], "timeline": data["weeks"], "undated": data["undated"],
            "co_quoted": [asdict(c) for c in co]}


@router.get("/articles/{article_id}", response_model=ArticleDetail, summary="One article",
            responses={404: {"description": "no such article"}})
def get_article(article_id: int, svc: Service = Depends(service)) -> dict[str, Any]:
    """The article's text and metadata, every attribution (with its statement and speaker in the
    store), the article's speakers and its damage flags."""
    with svc.reading() as store:
        view = store.article(article_id)
    return {"id": view.id, "key": view.key, "url": view.url, "title": view.title, "date": view.date,
            "author": view.author, "publisher": view.publisher, "outlet": view.outlet, "text": view.text,
            "attributions": attribution_records(view.extraction, view.statement_ids, view.speaker_ids),
            **extraction_body(view.extraction)}


@router.post("/extract", response_model=ExtractResult, summary="Extract attributions (nothing is stored)",
             responses={400: {"description": "unusable text"}, 413: {"description": "body too large"}})
def extract(body: ExtractRequest, svc: Service = Depends(service)) -> dict[str, Any]:
    """Text in, attributions out, with speakers resolved and damage flagged. Offsets are
    character offsets into `text` as sent, end exclusive."""
    extraction = svc.extract(article_from_request(body))
    meta = extraction.article.to_json()
    return {"article": {k: meta.get(k) for k in ArticleMeta.model_fields},
            "attributions": attribution_records(extraction), **extraction_body(extraction)}


@router.post("/articles", response_model=IngestResult, status_code=201, summary="Ingest one article (token)",
             responses={200: {"model": IngestResult,
                              "description": "the key was stored already (unchanged or replaced)"},
                        400: {"description": "unusable text"}, 401: {"description": "missing or wrong token"},
                        403: {"description": "the server has no token: saving is disabled"},
                        413: {"description": "body too large"}})
def ingest_article(body: IngestRequest, response: Response, svc: Service = Depends(authorised)) -> dict[str, Any]:
    """Extract one article and store it, like `quotegraph ingest --db`; idempotent by key."""
    article = article_from_request(body)
    key = (body.key or "").strip() or default_key(article)
    extraction = svc.extract(article)
    return store_extraction(svc, key, extraction, response)


def store_extraction(svc: Service, key: str, extraction: Extraction, response: Response | None = None
                     ) -> dict[str, Any]:
    with svc.writing() as store:
        result = store.add(key, extraction)
        article_id = store.article_ids([key])[key]
    if response is not None and result.status != "added":
        response.status_code = 200
    return {"key": key, "article_id": article_id, "status": result.status, "statements_new": result.statements_new,
            "statements_merged": result.statements_merged, "attributions": len(extraction.attributions)}


__all__ = ["article_from_request", "check_string", "attribution_records", "default_key", "router", "store_extraction"]
