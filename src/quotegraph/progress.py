"""A progress display for long batches: a redrawn bar on a terminal, plain lines otherwise.

Progress is measured in input bytes, the one total known before reading starts (a WARC or JSONL
file's article count is not), so the ETA comes from how far the readers are through the input;
the rate is in articles.
"""

from __future__ import annotations

import time
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """Call ``update`` as often as you like; it draws only every ``interval`` seconds."""

    def __init__(self, stream: TextIO, total_bytes: int, *, tty: bool | None = None,
                 interval: float | None = None, enabled: bool = True, label: str = "quotegraph ingest") -> None:
        self.stream = stream
        self.label = label
        self.total = max(total_bytes, 1)
        self.tty = stream.isatty() if tty is None else tty
        self.interval = interval if interval is not None else (0.2 if self.tty else 10.0)
        self.enabled = enabled
        self.start = time.monotonic()
        self._last = self.start
        self._drawn = False

    def line(self, articles: int, extracted: int, bytes_read: int) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        fraction = min(bytes_read / self.total, 1.0)
        rate = articles / elapsed
        eta = _clock(elapsed * (1 - fraction) / fraction) if fraction > 0 else "?"
        return (f"{fraction:4.0%}  {articles:,} articles ({extracted:,} extracted)  {rate:.1f}/s  "
                f"elapsed {_clock(elapsed)}  ETA {eta}")

    def update(self, articles: int, extracted: int, bytes_read: int, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        text = self.line(articles, extracted, bytes_read)
        if self.tty:
            width = 24
            filled = int(width * min(bytes_read / self.total, 1.0))
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {text}\x1b[K")
            self._drawn = True
        else:
            self.stream.write(f"{self.label}: {text}\n")
        self.stream.flush()

    def close(self) -> None:
        """End the redrawn line so the summary starts on a fresh one."""
        if self.enabled and self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
