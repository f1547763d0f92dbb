"""A process and all its descendants, read from Linux /proc: what the benchmarks measure, since
``ingest --workers N`` and ``serve --workers N`` do their work in child processes."""

from __future__ import annotations

import os


def descendants(root: int) -> list[int]:
    """``root`` and every process below it, now (empty when /proc cannot be read)."""
    children: dict[int, list[int]] = {}
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants, now."""
    total = 0
    for pid in descendants(root):
        try:
            with open(f"/proc/{pid}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def tree_cpu_seconds(root: int) -> float | None:
    """User + system CPU seconds so far of ``root`` and all its descendants; None without /proc
    or when ``root`` is gone."""
    total, seen = 0.0, False
    for pid in descendants(root):
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            seen = seen or pid == root
        except (OSError, IndexError, ValueError):
            continue
    return total if seen else None
