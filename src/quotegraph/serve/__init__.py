"""The web app and HTTP API over the quote store (``quotegraph serve``); needs the ``web`` extra."""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path
from typing import Any

from quotegraph.errors import InputError, QuotegraphError

TOKEN_ENV = "QUOTEGRAPH_TOKEN"


def create_app(*args: Any, **kwargs: Any) -> Any:
    """See :func:`quotegraph.serve.app.create_app` (imported on call: FastAPI loads only when serving)."""
    from quotegraph.serve.app import create_app as build

    return build(*args, **kwargs)


def serve(db: str, *, host: str = "127.0.0.1", port: int = 8000, token_file: str | None = None,
          model: str = "rules", aliases: str | Path | None = None) -> int:
    """Run the web app with uvicorn until interrupted (``quotegraph serve``)."""
    if not 0 < port < 65536:
        raise InputError(f"--port: expected 1-65535, got {port}")
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
    app = build(db, token=token, model=model, aliases=aliases)
    saving = "saving articles enabled (token set)" if token else f"read-only (no --token-file or ${TOKEN_ENV})"
    where = f"[{host}]" if ":" in host else host
    print(f"quotegraph: serving {db} at http://{where}:{port}/ — {saving}", file=sys.stderr, flush=True)
    if not _loopback(host):
        print(f"quotegraph: warning: listening on {host}, reachable from other machines", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)
    return 0


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


__all__ = ["TOKEN_ENV", "create_app", "serve"]
