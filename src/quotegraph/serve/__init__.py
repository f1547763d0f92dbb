"""The web app and HTTP API over the quote store (``quotegraph serve``); needs the ``web`` extra."""

from __future__ import annotations

import ipaddress
import json
import os
import sys
from pathlib import Path
from typing import Any

from quotegraph.errors import InputError, QuotegraphError
from quotegraph.models import DEFAULT_MODEL

TOKEN_ENV = "QUOTEGRAPH_TOKEN"
# How `serve --workers N` tells each worker process what to serve (the token goes in TOKEN_ENV).
WORKER_CONFIG_ENV = "QUOTEGRAPH_SERVE_CONFIG"


def create_app(*args: Any, **kwargs: Any) -> Any:
    """See :func:`quotegraph.serve.app.create_app` (imported on call: FastAPI loads only when serving)."""
    from quotegraph.serve.app import create_app as build

    return build(*args, **kwargs)


def serve(db: str, *, host: str = "127.0.0.1", port: int = 8000, token_file: str | None = None,
          model: str = DEFAULT_MODEL, aliases: str | Path | None = None, workers: int = 1) -> int:
    """Run the web app with uvicorn until interrupted (``quotegraph serve``).

    ``workers`` > 1 runs that many server processes on one socket: a Python process serves on
    one core at a time, so a busy server needs one per core."""
    if not 0 < port < 65536:
        raise InputError(f"--port: expected 1-65535, got {port}")
    if not 1 <= workers <= 64:
        raise InputError(f"--workers: expected 1-64, got {workers}")
    try:
        import uvicorn

        from quotegraph.serve.app import create_app as build
        from quotegraph.serve.app import read_token
    except ImportError as exc:
        raise QuotegraphError(f"quotegraph serve needs the web extra: pip install -e '.[web]' ({exc.name} is missing)"
                              ) from None
    from quotegraph.pipeline import MODELS

    if model not in MODELS:
        raise InputError(f"unknown model '{model}': choose one of {', '.join(MODELS)}")
    token = read_token(token_file, os.environ.get(TOKEN_ENV))
    app = build(db, token=token, model=model, aliases=aliases)  # with workers too: bad stores fail here, once
    saving = "saving articles enabled (token set)" if token else f"read-only (no --token-file or ${TOKEN_ENV})"
    where = f"[{host}]" if ":" in host else host
    print(f"quotegraph: serving {db} at http://{where}:{port}/ — {saving}"
          + (f", {workers} worker processes" if workers > 1 else ""), file=sys.stderr, flush=True)
    if not _loopback(host):
        print(f"quotegraph: warning: listening on {host}, reachable from other machines", file=sys.stderr)
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)
        return 0
    del app
    os.environ[WORKER_CONFIG_ENV] = json.dumps({"db": str(db), "model": model,
                                                "aliases": str(aliases) if aliases else None})
    if token:
        os.environ[TOKEN_ENV] = token
    else:
        os.environ.pop(TOKEN_ENV, None)
    uvicorn.run("quotegraph.serve:app_from_environment", factory=True, workers=workers, host=host, port=port,
                log_level="info", server_header=False)
    return 0


def app_from_environment() -> Any:
    """The app a ``serve --workers N`` worker process serves, configured by its parent."""
    from quotegraph.serve.app import create_app as build

    config = json.loads(os.environ[WORKER_CONFIG_ENV])
    return build(config["db"], token=os.environ.get(TOKEN_ENV) or None, model=config["model"],
                 aliases=config["aliases"])


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


__all__ = ["TOKEN_ENV", "app_from_environment", "create_app", "serve"]
