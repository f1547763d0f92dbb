"""The web app: a JSON API under ``/api`` and server-rendered pages, over one store.

``create_app(store_target, token=None, model="rules")`` builds it; ``quotegraph serve`` runs it
with uvicorn. Everything is read-only except ``POST /api/articles`` (and saving from the
extract page), which needs the operator's token. The app is a thin layer: the store answers
the questions, the pipeline extracts, ``render`` and ``chart`` turn results into plain data the
templates print (always escaped).
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quotegraph.errors import InputError, NotFoundError
from quotegraph.model import Article, Extraction
from quotegraph.store import Store, open_store

MAX_BODY_BYTES = 2_000_000  # a news article is a few kB; a request body this big is not one
MAX_PAGE = 100  # statements / speakers per API page
MAX_OFFSET = 10_000  # deep pages cost a scan; narrow the search instead

# No script runs on any page (there is none to run): an article's text that slipped through
# escaping still could not execute. Styles come from our own stylesheet only.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {"content-security-policy": CSP, "x-content-type-options": "nosniff",
                    "referrer-policy": "no-referrer", "x-frame-options": "DENY"}


class Service:
    """What the routes share: the store (one connection, used by one request at a time), the
    pipeline (loaded on first use) and the operator's token."""

    def __init__(self, store: Store, *, token: str | None, model: str, pipeline: Any = None) -> None:
        self.store = store
        self.token = token or None
        self.model = model
        self._pipeline = pipeline
        self._store_lock = threading.RLock()
        self._pipeline_lock = threading.Lock()

    @contextmanager
    def reading(self) -> Iterator[Store]:
        """The store, for one request. Requests run in a thread pool; the connection is not shared
        between them, so they take turns (reads are milliseconds)."""
        with self._store_lock:
            yield self.store

    def extract(self, article: Article) -> Extraction:
        with self._pipeline_lock:  # spaCy pipelines are not safe to share between threads
            if self._pipeline is None:
                from quotegraph.pipeline import Pipeline

                self._pipeline = Pipeline(model=self.model)
            return self._pipeline(article)

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


def create_app(store_target: str | Path, token: str | None = None, model: str = "rules", *,
               aliases: str | Path | None = None, pipeline: Any = None, max_body: int = MAX_BODY_BYTES) -> FastAPI:
    """The app over the store at ``store_target`` (a SQLite path or postgresql:// URL).

    ``token`` enables saving articles (``POST /api/articles``, the extract page's save);
    ``model`` is the extraction model; ``pipeline`` may pass one already loaded (tests, demos).
    """
    from quotegraph.serve import api, pages

    store = open_store(store_target, aliases=aliases)
    service = Service(store, token=token, model=model, pipeline=pipeline)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        with service.reading() as s:
            s.close()

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


__all__ = ["CSP", "MAX_BODY_BYTES", "MAX_OFFSET", "MAX_PAGE", "Service", "create_app", "read_token", "templates"]
