"""The web app: a JSON API under ``/api`` and server-rendered pages, over one store.

``create_app(store_target, token=None, model="fast")`` builds it; ``quotegraph serve`` runs it
with uvicorn. Everything is read-only except ``POST /api/articles`` (and saving from the
extract page), which needs the operator's token. The app is a thin layer: the store answers
the questions, the pipeline extracts, ``render`` and ``chart`` turn results into plain data the
templates print (always escaped).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import queue
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quotegraph.errors import InputError, NotFoundError
from quotegraph.model import Article, Extraction
from quotegraph.store import Store, open_store
from quotegraph.models import DEFAULT_MODEL

MAX_BODY_BYTES = 2_000_000  # a news article is a few kB; a request body this big is not one
MAX_PAGE = 100  # statements / speakers per API page
MAX_OFFSET = 10_000  # deep pages cost a scan; narrow the search instead
# One article sent for extraction. The longest PolNeAR article is 22,068 characters; the rules
# model takes ~7 s of CPU and 0.7 GB for 100,000, 101 s and 3.6 GB for 1,000,000 (the batch
# limit; docs/reliability.md), which no anonymous request should cost.
MAX_ARTICLE_CHARS = 100_000
EXTRACT_QUEUE = 4  # extractions running or waiting (one runs at a time); more get 503 at once
READERS = 4  # read-only store connections: that many requests query the store at once
ADMITTED = READERS + EXTRACT_QUEUE  # requests handled at once per process; the rest wait in order

# No script runs on any page (there is none to run): an article's text that slipped through
# escaping still could not execute. Styles come from our own stylesheet only.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {"content-security-policy": CSP, "x-content-type-options": "nosniff",
                    "referrer-policy": "no-referrer", "x-frame-options": "DENY"}


class Busy(Exception):
    """Too many extractions already running or waiting: answered 503, so that requests waiting
    for the pipeline never fill the thread pool the read-only pages need."""


class Service:
    """What the routes share: the store, the pipeline (loaded on first use) and the operator's token.

    The store is one writing connection (ingest, and search by meaning, which may embed), used
    by one request at a time, and a few read-only connections that pages and API reads take
    turns on: SQLite and PostgreSQL both answer several readers at once, and a slow search does
    not hold up the others.
    """

    def __init__(self, store: Store, *, token: str | None, model: str, pipeline: Any = None,
                 readers: list[Store] | None = None) -> None:
        self.store = store
        self.readers = readers or []
        self._idle: queue.SimpleQueue[Store] = queue.SimpleQueue()
        for reader in self.readers:
            self._idle.put(reader)
        self.token = token or None
        self.model = model
        self._pipeline = pipeline
        self._store_lock = threading.RLock()
        self._pipeline_lock = threading.Lock()
        self._extract_slots = threading.BoundedSemaphore(EXTRACT_QUEUE)

    @contextmanager
    def reading(self) -> Iterator[Store]:
        """A read-only store connection for one request (requests run in a thread pool; a
        connection serves one of them at a time). Without readers, the writing connection."""
        if not self.readers:
            with self.writing() as store:
                yield store
            return
        store = self._idle.get()
        try:
            yield store
        finally:
            self._idle.put(store)

    @contextmanager
    def writing(self) -> Iterator[Store]:
        """The writing connection, for one request at a time."""
        with self._store_lock:
            yield self.store

    def close(self) -> None:
        with self._store_lock:
            for store in [self.store, *self.readers]:
                store.close()

    def extract(self, article: Article) -> Extraction:
        if not self._extract_slots.acquire(blocking=False):
            raise Busy(f"{EXTRACT_QUEUE} extractions are already running or waiting; try again shortly")
        try:
            with self._pipeline_lock:  # spaCy pipelines are not safe to share between threads
                if self._pipeline is None:
                    from quotegraph.pipeline import Pipeline

                    self._pipeline = Pipeline(model=self.model)
                return self._pipeline(article)
        finally:
            self._extract_slots.release()

    @property
    def can_save(self) -> bool:
        return self.token is not None

    def token_ok(self, given: str | None) -> bool:
        """Constant-time comparison; no token configured means nothing can be saved."""
        if self.token is None or not given:
            return False
        return hmac.compare_digest(given.encode("utf-8"), self.token.encode("utf-8"))

    def require_token(self, given: str | None) -> None:
        if self.token is None:
            raise HTTPException(403, "saving is disabled: the server was started without a token")
        if not self.token_ok(given):
            raise HTTPException(401, "a valid token is needed to save articles",
                                headers={"WWW-Authenticate": "Bearer"})


class Admission:
    """Pure ASGI middleware: at most ``limit`` requests inside the app at once; the others wait
    first come, first served.

    Without it, every request is handed to the thread pool at once and 50 of them share the
    GIL: some finish in milliseconds while others wait seconds (under 50 clients without pause,
    p99 was 7x p50). A slot goes straight to the oldest waiter, so no late request overtakes."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.free = limit
        self.waiting: deque[asyncio.Future[None]] = deque()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.free > 0 and not self.waiting:
            self.free -= 1
        else:
            turn = asyncio.get_running_loop().create_future()
            self.waiting.append(turn)
            try:
                await turn  # resolved by a leaving request, which hands over its slot
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():
                    self._leave()  # the slot arrived as the client went: pass it on
                else:
                    self.waiting.remove(turn)
                raise
        try:
            await self.app(scope, receive, send)
        finally:
            self._leave()

    def _leave(self) -> None:
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.free += 1


class Guard:
    """Pure ASGI middleware: security headers on every response, and request bodies over ``limit``
    bytes refused with 413 — by Content-Length, or while reading a body sent without one."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = refused = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the app's answer to a body it never got whole: we answered already
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        async def refuse() -> None:
            nonlocal refused
            response = JSONResponse({"detail": f"request body over {self.limit:,} bytes"}, status_code=413)
            await response({"type": "http"}, _no_receive, guarded_send)
            refused = True

        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await refuse()
                return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    if started:  # pragma: no cover - no route answers before reading its body
                        raise RuntimeError("request body over the limit after the response started")
                    await refuse()
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, limited_receive, guarded_send)


class AsciiJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: a lone surrogate that came in with a request
    (JSON allows ``"\\ud800"``) can be echoed back instead of failing to encode."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def _validation_detail(errors: Any) -> list[dict[str, Any]]:
    """FastAPI's 422 detail, with each offending input cut to 200 characters (a refused
    100,000-character article is not sent back whole)."""
    out = []
    for error in jsonable_encoder(errors):
        value = error.get("input")
        if isinstance(value, str) and len(value) > 200:
            error["input"] = value[:200] + "…"
        elif isinstance(value, (dict, list)):
            error.pop("input")
        out.append(error)
    return out


async def _no_receive() -> Message:  # pragma: no cover - a refused request's body is never read
    return {"type": "http.disconnect"}


def templates() -> Environment:
    """Jinja with autoescape on for every template and string: user text is never markup."""
    env = Environment(loader=PackageLoader("quotegraph.serve", "templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    return env


def read_token(token_file: str | Path | None, env_value: str | None) -> str | None:
    """The operator's token: the first line of ``token_file``, else the environment value."""
    if token_file:
        lines = Path(token_file).read_text(encoding="utf-8").splitlines()
        token = lines[0].strip() if lines else ""
        if not token:
            raise InputError(f"{token_file}: the token file is empty")
        return token
    return env_value.strip() if env_value and env_value.strip() else None


def create_app(store_target: str | Path, token: str | None = None, model: str = DEFAULT_MODEL, *,
               aliases: str | Path | None = None, pipeline: Any = None, max_body: int = MAX_BODY_BYTES,
               readers: int = READERS) -> FastAPI:
    """The app over the store at ``store_target`` (a SQLite path or postgresql:// URL).

    ``token`` enables saving articles (``POST /api/articles``, the extract page's save);
    ``model`` is the extraction model; ``pipeline`` may pass one already loaded (tests, demos);
    ``readers`` is how many read-only connections serve reads side by side (0: the writer's).
    """
    from quotegraph.serve import api, pages

    store = open_store(store_target, aliases=aliases)  # first: it migrates a new store
    service = Service(store, token=token, model=model, pipeline=pipeline,
                      readers=[open_store(store_target, aliases=aliases, read_only=True) for _ in range(readers)])

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    app = FastAPI(title="quotegraph", version=_version(), lifespan=lifespan,
                  description="Who said what, about what, when: statements, speakers and articles in a quote "
                              "store. Read-only, except `POST /api/articles`, which needs the operator's token.",
                  docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.state.service = service
    app.state.templates = templates()
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=str(resources.files("quotegraph.serve") / "static")), name="static")

    app.add_middleware(Guard, limit=max_body)
    app.add_middleware(Admission, limit=ADMITTED)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Any:
        return AsciiJSONResponse({"detail": _validation_detail(exc.errors())}, status_code=422)

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> Any:
        if request.url.path.startswith("/api"):
            return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "10"})
        return pages.error_page(request, 503, str(exc))

    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError) -> Any:
        status = 404 if isinstance(exc, NotFoundError) else 400
        if request.url.path.startswith("/api"):
            return JSONResponse({"detail": str(exc)}, status_code=status)
        return pages.error_page(request, status, str(exc))

    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("quotegraph")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "0"


__all__ = ["CSP", "MAX_ARTICLE_CHARS", "MAX_BODY_BYTES", "MAX_OFFSET", "MAX_PAGE", "READERS", "Service", "create_app", "read_token", "templates"]
