"""A real server in a background thread and a real browser: for the browser tests and the
screenshots command. The browser is the system's Chromium (Debian's ``chromium``), driven by
Playwright; no browser is ever downloaded."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from quotegraph.errors import QuotegraphError

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@contextmanager
def background_server(app: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port; yields the base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise QuotegraphError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


def chromium_path() -> str:
    """The system Chromium: $QUOTEGRAPH_CHROMIUM, /usr/bin/chromium, or chromium on PATH."""
    for candidate in (os.environ.get("QUOTEGRAPH_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.exists(candidate):
            return candidate
    raise QuotegraphError("Chromium is not installed (Debian: apt-get install chromium); set $QUOTEGRAPH_CHROMIUM "
                          "to use another build")


@contextmanager
def browser() -> Iterator[Any]:
    """A headless Chromium (Playwright's sync API)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise QuotegraphError("the browser needs playwright: pip install -e '.[web]'") from exc
    path = chromium_path()
    with sync_playwright() as p:
        chrome = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chrome
        finally:
            chrome.close()


__all__ = ["CHROMIUM_ARGS", "background_server", "browser", "chromium_path"]
