"""Screenshots of every page, for the docs: ``python -m quotegraph.serve.screenshots --out docs/screenshots``.

Builds the demo store (invented articles, real pipeline) in a temporary folder, serves it on a
free loopback port, and saves a PNG of each page from the system's headless Chromium.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from quotegraph.errors import QuotegraphError
from quotegraph.models import DEFAULT_MODEL

EXTRACT_SAMPLE = (
    "The mayor of Port Alder, Ingrid Castell, opened the new fish market on Saturday.\n\n"
    "\"This market belongs to the people who work the sea,\" Castell said at the opening. "
    "She added that the harbour would stay open to visitors all summer.\n\n"
    "A stallholder said business had doubled in the first hour."
)
DEMO_ARTICLE = "demo/herald-2024-03-04-fisheries"
DAMAGED_ARTICLE = "demo/valley-2024-04-16-passed"


def take(out: Path, *, model: str = DEFAULT_MODEL, width: int = 1200, phone: bool = True,
         progress: bool = True) -> list[Path]:
    """Save the PNGs into ``out``; returns their paths."""
    from quotegraph.serve.app import create_app
    from quotegraph.serve.demo import build_demo_store
    from quotegraph.serve.live import background_server, browser
    from quotegraph.store import SearchQuery, open_store

    def say(line: str) -> None:
        if progress:
            print(line, file=sys.stderr, flush=True)

    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="quotegraph-shots-") as tmp:
        db, aliases = Path(tmp) / "demo.db", Path(tmp) / "aliases.tsv"
        say("building the demo store …")
        build_demo_store(db, model=model, aliases=aliases)
        store = open_store(db, aliases=aliases)
        try:
            ids = store.article_ids([DEMO_ARTICLE, DAMAGED_ARTICLE])
            speaker = store.find_speakers("Elena Varga")[0].id
            statement = store.search(SearchQuery('"will not sign"', limit=1)).hits[0].id
        finally:
            store.close()
        pages = [("search", "/?q=agreement"), ("article", f"/articles/{ids[DEMO_ARTICLE]}"),
                 ("article-damaged", f"/articles/{ids[DAMAGED_ARTICLE]}"), ("speaker", f"/speakers/{speaker}"),
                 ("statement", f"/statements/{statement}")]
        app = create_app(db, token=None, model=model, aliases=aliases)
        with background_server(app) as base, browser() as chrome:
            desktop = chrome.new_page(viewport={"width": width, "height": 800}, device_scale_factor=1)
            for name, path in pages:
                desktop.goto(base + path)
                saved.append(_shot(desktop, out / f"{name}.png", say))
            desktop.goto(base + "/extract")
            desktop.fill("textarea[name=text]", EXTRACT_SAMPLE)
            desktop.click("button[type=submit]")
            desktop.wait_for_selector(".article-text")
            saved.append(_shot(desktop, out / "extract.png", say))
            if phone:
                mobile = chrome.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1,
                                         is_mobile=True, has_touch=True)
                mobile.goto(base + pages[1][1])
                saved.append(_shot(mobile, out / "article-phone.png", say, full_page=False))
                mobile.goto(base + pages[0][1])
                saved.append(_shot(mobile, out / "search-phone.png", say, full_page=False))
    return saved


def _shot(page: object, path: Path, say: object, full_page: bool = True) -> Path:
    page.screenshot(path=str(path), full_page=full_page)  # type: ignore[attr-defined]
    say(f"saved {path} ({path.stat().st_size // 1024} kB)")  # type: ignore[operator]
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m quotegraph.serve.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshots", help="folder for the PNGs (default docs/screenshots)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"extraction model for the demo store (default {DEFAULT_MODEL})")
    parser.add_argument("--width", type=int, default=1200, help="desktop viewport width in pixels (default 1200)")
    parser.add_argument("--no-phone", action="store_true", help="skip the phone-width screenshots")
    args = parser.parse_args(argv)
    try:
        take(Path(args.out), model=args.model, width=args.width, phone=not args.no_phone)
    except QuotegraphError as exc:
        print(f"quotegraph: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
