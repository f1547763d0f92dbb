"""Load test of ``quotegraph serve``: many concurrent clients in this process, the server in another.

    python -m quotegraph.serve.loadtest --db big.db --clients 50 --seconds 60
    python -m quotegraph.serve.loadtest --db big.db --url http://127.0.0.1:8000 --requests 20000

Without ``--url`` it starts ``quotegraph serve`` on a free loopback port in a child process and
stops it afterwards. Requests are drawn (seeded) from the store itself: search pages with a word
of a stored statement (alone, or with its speaker's full name or surname), the same searches
through the JSON API, and article and statement pages of random stored rows. Each client sends
its next request as soon as the last one is answered (or, with ``--think S``, after a pause of 0
to 2·S seconds, like a person reading the page; clients then also start at random times in the
first 2·S seconds instead of all at once), until ``--requests`` have been sent or
``--seconds`` have passed, whichever comes first. The report gives requests,
throughput and latency percentiles per page type and overall, and every error (a status other
than 2xx, a timeout, a broken connection); the exit status is 1 when errors exceed
``--max-errors`` or the overall p99 exceeds ``--max-p99-ms``.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from quotegraph.errors import InputError
from quotegraph.proctree import tree_cpu_seconds

# page type -> share of requests
MIX = {"search page": 0.25, "search page + speaker": 0.15, "api search": 0.20, "article page": 0.20,
       "statement page": 0.20}


@dataclass
class Sample:
    """What the requests are made of, drawn from the store before the run."""

    terms: list[tuple[str, str, str]]  # (word, speaker full name, surname)
    statements: list[int]
    articles: list[int]


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)  # (page type, status or exception)
    examples: list[str] = field(default_factory=list)
    slowest: list[tuple[float, float, str, str]] = field(default_factory=list)  # (ms, at s, page type, path)


def sample(db: str, n: int, seed: int) -> Sample:
    """Seeded words, speakers, statement and article ids from the store (read only)."""
    from quotegraph.store import open_store
    from quotegraph.store.speakers import name_words

    store = open_store(db)
    try:
        rng = random.Random(seed)
        top_s = store._one("SELECT max(id) FROM statements")[0]  # type: ignore[index]
        top_a = store._one("SELECT max(id) FROM articles")[0]  # type: ignore[index]
        if not top_s or not top_a:
            raise InputError(f"{db}: the store is empty; fill it first (python -m quotegraph.store.bench)")
        terms: list[tuple[str, str, str]] = []
        statements: list[int] = []
        articles: list[int] = []
        tries = 0
        while len(terms) < n and tries < n * 20:
            tries += 1
            row = store._one("SELECT s.id, s.content, sp.name, sp.named FROM statements s LEFT JOIN speakers sp "
                             "ON sp.id = s.speaker_id WHERE s.id >= ? ORDER BY s.id LIMIT 1", (rng.randint(1, top_s),))
            if not row:
                continue
            statements.append(int(row[0]))
            words = [w.strip('.,;:!?"“”‘’()') for w in row[1].split()]
            words = [w for w in words if len(w) >= 6 and w.isalpha()]
            names = name_words(row[2]) if row[2] and row[3] else []
            if words and len(names) >= 2:
                terms.append((rng.choice(words).lower(), row[2], names[-1]))
        while len(articles) < n:
            row = store._one("SELECT id FROM articles WHERE id >= ? ORDER BY id LIMIT 1", (rng.randint(1, top_a),))
            if row:
                articles.append(int(row[0]))
        if not terms:
            raise InputError(f"{db}: found no statements with a named speaker to search for")
        return Sample(terms, statements, articles)
    finally:
        store.close()


def next_request(rng: random.Random, s: Sample) -> tuple[str, str]:
    """(page type, path with query) for one request."""
    kind = rng.choices(list(MIX), weights=list(MIX.values()))[0]
    word, full, surname = rng.choice(s.terms)
    who = full if rng.random() < 0.5 else surname
    if kind == "search page":
        return kind, "/?" + urlencode({"q": word})
    if kind == "search page + speaker":
        return kind, "/?" + urlencode({"q": word, "speaker": who})
    if kind == "api search":
        params = {"q": word, **({"speaker": who} if rng.random() < 0.5 else {}), "limit": 20}
        return kind, "/api/statements?" + urlencode(params)
    if kind == "article page":
        return kind, f"/articles/{rng.choice(s.articles)}"
    return kind, f"/statements/{rng.choice(s.statements)}"


class Connection:
    """One client's keep-alive HTTP/1.1 connection, GET only. The load test runs on the server's
    machine, so its own CPU is taken from the server: httpx cost ~5 ms of CPU per request, a third
    of all CPU in a run; reading the response by hand costs a fraction of that."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, int]:
        """(status, body bytes) of ``GET path``; opens the connection when there is none."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode("ascii"))
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        headers = {k.strip().lower(): v.strip().lower() for k, _, v in (line.partition(":") for line in head[1:] if line)}
        if "content-length" in headers:
            size = len(await self.reader.readexactly(int(headers["content-length"])))
        elif headers.get("transfer-encoding") == "chunked":
            size = 0
            while chunk := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                size += len(await self.reader.readexactly(chunk + 2)) - 2
            await self.reader.readuntil(b"\r\n")
        else:
            size = len(await self.reader.read())
            headers["connection"] = "close"
        if headers.get("connection") == "close" or (head[0].startswith("HTTP/1.0")
                                                   and headers.get("connection") != "keep-alive"):
            self.close()
        return status, size

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def drive(base: str, s: Sample, clients: int, seconds: float, requests: int, seed: int,
                timeout: float, think: float = 0.0) -> tuple[Tally, float]:
    """Run ``clients`` closed-loop clients, each on its own connection; returns the tally and the
    wall time taken."""
    from urllib.parse import urlsplit

    where = urlsplit(base)
    if where.scheme != "http" or not where.hostname:
        raise InputError(f"--url: expected http://HOST:PORT, got {base!r}")
    tally = Tally()
    sent = 0
    began = time.perf_counter()
    deadline = began + seconds

    async def client(number: int) -> None:
        nonlocal sent
        rng = random.Random(seed * 1000 + number)
        connection = Connection(where.hostname or "127.0.0.1", where.port or 80)
        if think > 0:  # people arrive one by one, not all in the same millisecond
            await asyncio.sleep(rng.uniform(0, 2 * think))
        while sent < requests and time.perf_counter() < deadline:
            sent += 1  # one event loop: no lock needed
            kind, path = next_request(rng, s)
            detail = ""
            started = time.perf_counter()
            try:
                status, _ = await asyncio.wait_for(connection.get(path), timeout)
                outcome = None if 200 <= status < 300 else str(status)
            except asyncio.TimeoutError:
                outcome, detail = "timeout", f"no answer in {timeout:g} s"
                connection.close()
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, IndexError) as exc:
                outcome = "connection error"
                detail = f"{type(exc).__name__}: {exc}"
                connection.close()
            elapsed = (time.perf_counter() - started) * 1000
            tally.latencies[kind].append(elapsed)
            if len(tally.slowest) < 10 or elapsed > tally.slowest[0][0]:
                heapq.heappush(tally.slowest, (elapsed, round(started - began, 2), kind, path))
                if len(tally.slowest) > 10:
                    heapq.heappop(tally.slowest)
            if outcome is not None:
                tally.errors[(kind, outcome)] += 1
                if len(tally.examples) < 10:
                    tally.examples.append(f"{outcome} {path} at {started - began:.1f} s" + (f": {detail}" if detail else ""))
            if think > 0:
                await asyncio.sleep(min(rng.uniform(0, 2 * think), max(0.0, deadline - time.perf_counter())))
        connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return tally, time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of ``values`` (share 0.99 for p99)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))  # ceil
    return ordered[int(rank) - 1]


def summarise(tally: Tally, wall: float) -> dict[str, Any]:
    def stats(values: list[float], errors: int) -> dict[str, Any]:
        if not values:
            return {"requests": 0, "errors": errors, "req_per_s": 0.0, "p50_ms": 0.0, "p90_ms": 0.0, "p99_ms": 0.0,
                    "max_ms": 0.0}
        return {"requests": len(values), "errors": errors, "req_per_s": round(len(values) / wall, 1),
                "p50_ms": round(percentile(values, 0.50), 1), "p90_ms": round(percentile(values, 0.90), 1),
                "p99_ms": round(percentile(values, 0.99), 1), "max_ms": round(max(values), 1)}

    per_kind = {kind: stats(values, sum(n for (k, _), n in tally.errors.items() if k == kind))
                for kind, values in sorted(tally.latencies.items())}
    everything = [v for values in tally.latencies.values() for v in values]
    return {"seconds": round(wall, 3), "overall": stats(everything, sum(tally.errors.values())), "pages": per_kind,
            "errors": {f"{k} {o}": n for (k, o), n in sorted(tally.errors.items())}, "error_examples": tally.examples,
            "slowest": [{"ms": round(ms, 1), "at_s": at, "page": kind, "path": path}
                        for ms, at, kind, path in sorted(tally.slowest, reverse=True)]}


def table(result: dict[str, Any]) -> str:
    head = ("page type", "requests", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms")
    rows = [head] + [(kind, *(str(v[k]) for k in ("requests", "errors", "req_per_s", "p50_ms", "p90_ms", "p99_ms",
                                                   "max_ms")))
                     for kind, v in [*result["pages"].items(), ("overall", result["overall"])]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     for r in rows)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: str, log: Path, extra: list[str]) -> tuple[subprocess.Popen[bytes], str]:
    """``quotegraph serve`` on a free loopback port, in its own process; waits until it answers."""
    import httpx

    port = _free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "quotegraph", "serve", "--db", db, "--host", "127.0.0.1",
                                 "--port", str(port), *extra], stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(base + "/api/statements?limit=1", timeout=30).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise InputError(f"the server did not start: {tail[0]}")
        time.sleep(0.3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m quotegraph.serve.loadtest", description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True, help="the store (SQLite file or postgresql:// URL): requests are "
                        "drawn from it, and the server started on it unless --url is given")
    parser.add_argument("--url", help="a running server to test instead of starting one (e.g. http://127.0.0.1:8000)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--seconds", type=float, default=60, help="stop after this long (default 60)")
    parser.add_argument("--requests", type=int, default=100_000, help="or after this many requests (default 100,000)")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of requests first, not counted (default 5)")
    parser.add_argument("--think", type=float, default=0, metavar="S",
                        help="mean pause between a client's requests, uniform in 0..2S (default 0: none)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds before a request counts as failed")
    parser.add_argument("--sample", type=int, default=500, help="words/speakers and ids drawn from the store")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-p99-ms", type=float, default=500, help="fail when the overall p99 is above (0: no check)")
    parser.add_argument("--max-errors", type=int, default=0, help="fail when there are more errors than this")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--server-arg", action="append", default=[], metavar="ARG",
                        help="extra argument for the started server (repeatable)")
    args = parser.parse_args(argv)
    try:
        for name in ("clients", "requests", "sample"):
            if getattr(args, name) < 1:
                raise InputError(f"--{name}: expected at least 1")
        if not args.seconds > 0:
            raise InputError("--seconds: expected more than 0")
        if not args.think >= 0:
            raise InputError("--think: expected 0 or more seconds")
        return run(args)
    except InputError as exc:
        print(f"loadtest: error: {exc}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    s = sample(args.db, args.sample, args.seed)
    print(f"loadtest: {len(s.terms)} search terms, {len(s.statements)} statements, {len(s.articles)} articles "
          "drawn from the store", file=sys.stderr)
    proc = None
    workdir = tempfile.TemporaryDirectory(prefix="quotegraph-loadtest-")
    try:
        if args.url:
            base = args.url.rstrip("/")
        else:
            proc, base = start_server(args.db, Path(workdir.name) / "server.log", args.server_arg)
            print(f"loadtest: started quotegraph serve (pid {proc.pid}) at {base}", file=sys.stderr)
        if args.warmup > 0:
            asyncio.run(drive(base, s, args.clients, args.warmup, args.requests, args.seed + 1, args.timeout,
                              args.think))
        load_before = os.getloadavg()
        cpu_before = tree_cpu_seconds(proc.pid) if proc else None
        print(f"loadtest: {args.clients} clients" + (f" (think {args.think:g} s)" if args.think else "")
              + f", up to {args.requests:,} requests or {args.seconds:g} s", file=sys.stderr, flush=True)
        tally, wall = asyncio.run(drive(base, s, args.clients, args.seconds, args.requests, args.seed, args.timeout,
                                        args.think))
        cpu_after = tree_cpu_seconds(proc.pid) if proc else None
        result = summarise(tally, wall)
        result.update({"clients": args.clients, "think_s": args.think, "url": base, "started_server": proc is not None,
                       "load_average_before": [round(x, 2) for x in load_before],
                       "load_average_after": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()})
        if cpu_before is not None and cpu_after is not None:
            result["server_cpu_seconds"] = round(cpu_after - cpu_before, 1)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        workdir.cleanup()
    print(table(result))
    o = result["overall"]
    print(f"{o['requests']:,} requests in {result['seconds']} s: {o['req_per_s']} req/s, p50 {o['p50_ms']} ms, "
          f"p99 {o['p99_ms']} ms, {o['errors']} errors; load average {result['load_average_before'][0]} → "
          f"{result['load_average_after'][0]} on {result['cpus']} CPUs"
          + (f"; server CPU {result['server_cpu_seconds']} s" if "server_cpu_seconds" in result else ""))
    for example in result["error_examples"]:
        print(f"  error: {example}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    failed = []
    if o["errors"] > args.max_errors:
        failed.append(f"{o['errors']} errors (allowed {args.max_errors})")
    if args.max_p99_ms and o["p99_ms"] > args.max_p99_ms:
        failed.append(f"p99 {o['p99_ms']} ms over {args.max_p99_ms:g} ms")
    if failed:
        print("loadtest: FAILED: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
