"""The store: one interface, two backends (SQLite, PostgreSQL), all shared logic here.

The backends differ only in how they connect, run migrations and do full-text search; every
other statement is plain SQL both understand (written with ``?`` placeholders, translated for
psycopg). Ingesting an article is one transaction (a savepoint inside a batch transaction), and
is idempotent by article key: the same extraction again changes nothing, a changed one replaces
the old one's statements. Speaker merges and quote dedup happen at ingest
(``speakers.py``, ``dedup.py``); user corrections are replayed over the articles they touch.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date as Date, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from quotegraph.errors import InputError, NotFoundError
from quotegraph.model import Attribution, Extraction, Speaker
from quotegraph.store import dedup
from quotegraph.store import speakers as sp
from quotegraph.store.vector import VectorIndex
from quotegraph.store.views import ReadViews

KINDS = ("direct", "indirect", "mixed")
NEAR_CANDIDATES = 5
MAX_TERMS = 64  # words and phrases in one search; each costs an index look-up (PostgreSQL: ~2 ms)
# Relevance is scored match by match: a common word matches ~65,000 of a million statements and
# scoring them all takes ~60 ms a search. Past this many matches, the most recently added this
# many are ranked (the search page says so); filters apply before the window.
RANK_WINDOW = 5000
CONTEXT_CHARS = 160


# --- results ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SearchQuery:
    """What to look for; every filter is optional. ``text`` is words and "quoted phrases"."""

    text: str = ""
    speaker: str | None = None
    outlet: str | None = None
    since: str | None = None  # ISO date, inclusive
    until: str | None = None  # ISO date, inclusive
    kind: str | None = None
    min_confidence: float = 0.0
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True)
class Hit:
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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Page:
    hits: list[Hit]
    offset: int
    limit: int
    has_more: bool


@dataclass(frozen=True)
class Occurrence:
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
    match: str
    context: str


@dataclass(frozen=True)
class SpeakerInfo:
    id: int
    name: str
    title: str | None
    qid: str | None
    named: bool
    statements: int = 0
    occurrences: int = 0
    aliases: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StatementView:
    hit: Hit
    speaker: SpeakerInfo | None
    occurrences: list[Occurrence]

    def to_json(self) -> dict[str, Any]:
        return {"statement": self.hit.to_json(), "speaker": asdict(self.speaker) if self.speaker else None,
                "occurrences": [asdict(o) for o in self.occurrences]}


@dataclass(frozen=True)
class IngestResult:
    status: str  # added, unchanged, replaced
    statements_new: int = 0
    statements_merged: int = 0


# --- helpers ---------------------------------------------------------------------------------

def outlet_of(url: str | None, publisher: str | None) -> str | None:
    """The outlet an article ran in: its publisher, else its web host without www."""
    if publisher and publisher.strip():
        return publisher.strip()
    if url:
        host = urlsplit(url).hostname or ""
        return host.removeprefix("www.") or None
    return None


def iso_date(value: str | None) -> str | None:
    """The date part of an ISO date or datetime; None for anything else."""
    if value and re.match(r"\d{4}-\d{2}-\d{2}", value):
        return value[:10]
    return None


def storable_id(value: int) -> bool:
    """Whether a row id fits a 64-bit integer column: anything larger names no row (and SQLite
    refuses to even bind it), so look-ups answer "not found" instead of failing."""
    return -(2**63) <= value < 2**63


def _check_page(q: SearchQuery) -> None:
    if q.limit < 1 or q.offset < 0:
        raise InputError("--limit must be at least 1 and --offset at least 0")
    if not storable_id(q.offset + q.limit + 1):
        raise InputError("--limit and --offset must add up to less than 2**63")


def _check_date(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        return Date.fromisoformat(value).isoformat()
    except ValueError:
        raise InputError(f"{name}: expected a date like 2017-01-31, got {value!r}") from None


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def search_terms(text: str) -> list[list[str]]:
    """User search text as phrases of plain words: ``chemical "no evidence"`` -> [[chemical], [no, evidence]].

    Only word characters survive, so nothing a user types can change the query's syntax. A
    repeated term is kept once (all terms are required, so repeating one changes nothing).
    """
    terms: dict[tuple[str, ...], None] = {}
    for match in re.finditer(r'"([^"]*)"|([^\s"]+)', text):
        words = re.findall(r"\w+", match.group(1) if match.group(1) is not None else match.group(2))
        if words:
            terms[tuple(w.lower() for w in words)] = None
    return [list(t) for t in terms]


# --- the store -------------------------------------------------------------------------------

class Store(ReadViews):
    """A quote store. Open one with :func:`quotegraph.store.open_store`."""

    backend = "abstract"
    placeholder = "?"

    def __init__(self, conn: Any, *, aliases: Path | None = None, embed: bool = False, read_only: bool = False) -> None:
        self.conn = conn
        self.alias_path = aliases
        self.embed_at_ingest = embed
        self.read_only = read_only
        self._embedder: Any = None
        self._depth = 0
        self._savepoints = 0
        self.vectors = VectorIndex(self)
        if read_only:
            # A second connection for reading only (the web app's readers): the database refuses
            # writes on it, and it neither migrates nor syncs corrections (the writer did).
            self._refuse_writes()
            self.corrections = sp.Corrections([])
            return
        self.migrate()
        self.corrections = self._load_corrections()

    # -- backend hooks ------------------------------------------------------------------------

    def _cursor_execute(self, sql: str, params: Sequence[Any]) -> Any:
        raise NotImplementedError

    def _refuse_writes(self) -> None:
        """Make this connection read-only in the database itself."""
        raise NotImplementedError

    def _cursor_executemany(self, sql: str, rows: list[Sequence[Any]]) -> None:
        raise NotImplementedError

    def _run_script(self, script: str) -> None:
        raise NotImplementedError

    def _fts_add(self, statement_id: int, content: str, keys: str) -> None:
        """Index a statement's content and speaker tokens (PostgreSQL: a generated column)."""

    def _fts_remove(self, statement_id: int, content: str, keys: str) -> None:
        """Drop a statement from the full-text index before its row changes or goes."""

    def _text_search(self, terms: list[list[str]], speaker_tokens: list[str]
                     ) -> tuple[str, str, list[Any], str, list[Any]]:
        """(FROM clause, WHERE condition, its params, score expression (lower is better), its params)."""
        raise NotImplementedError

    def _index_rank(self, terms: list[list[str]], speaker_tokens: list[str], scored: bool = True
                    ) -> tuple[str, list[Any]] | None:
        """A subquery ``SELECT id, score`` (lower is better; 0 unless ``scored``) of the statements
        matching the words and speaker tokens, read from the text index alone; None when the
        backend has no such shortcut."""
        return None

    def close(self) -> None:
        self.conn.close()

    # -- SQL helpers ------------------------------------------------------------------------

    def _sql(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def _run(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cursor_execute(self._sql(sql), params)

    def _many(self, sql: str, rows: list[Sequence[Any]]) -> None:
        if rows:
            self._cursor_executemany(self._sql(sql), rows)

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._run(sql, params).fetchall())

    def _one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        return self._run(sql, params).fetchone()

    # Appended to a SELECT that reads rows the transaction will rewrite (PostgreSQL: FOR UPDATE;
    # SQLite needs nothing, its writers are serialised).
    lock_rows = ""

    def _all_binary(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Like :meth:`_all`, for rows of large blobs (PostgreSQL: binary results, no hex decoding)."""
        return self._all(sql, params)

    def _one_binary(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        rows = self._all_binary(sql, params)
        return rows[0] if rows else None

    def _insert_id(self, sql: str, params: Sequence[Any]) -> int:
        row = self._one(sql + " RETURNING id", params)
        assert row is not None
        return int(row[0])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A transaction, or a savepoint inside one: all of it or none of it."""
        if self._depth == 0:
            self._run("BEGIN")
            name = None
        else:
            self._savepoints += 1
            name = f"sp{self._savepoints}"
            self._run(f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            self._run("ROLLBACK" if name is None else f"ROLLBACK TO SAVEPOINT {name}")
            if name is not None:
                self._run(f"RELEASE SAVEPOINT {name}")
            raise
        self._depth -= 1
        self._run("COMMIT" if name is None else f"RELEASE SAVEPOINT {name}")

    def begin(self) -> None:
        """Open a long transaction (a batch); :meth:`commit` ends it. Used by the ingest sink."""
        if self._depth == 0:
            self._run("BEGIN")
            self._depth = 1

    def commit(self) -> None:
        if self._depth == 1:
            self._run("COMMIT")
            self._depth = 0

    def rollback(self) -> None:
        if self._depth == 1:
            self._run("ROLLBACK")
            self._depth = 0

    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._run("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                  (key, value))

    # -- migrations ---------------------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply the numbered SQL files in ``schema/<backend>/`` not yet applied; return their names."""
        self._run_script("CREATE TABLE IF NOT EXISTS schema_migrations "
                         "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        done = {int(r[0]) for r in self._all("SELECT version FROM schema_migrations")}
        applied = []
        folder = resources.files("quotegraph.store") / "schema" / self.backend
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            match = re.match(r"(\d+)_.*\.sql$", entry.name)
            if not match or int(match.group(1)) in done:
                continue
            with self.transaction():
                self._run_script(entry.read_text(encoding="utf-8"))
                self._run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                          (int(match.group(1)), entry.name, _now()))
            applied.append(entry.name)
        return applied

    # -- ingest -------------------------------------------------------------------------------

    def add(self, key: str, extraction: Extraction) -> IngestResult:
        """Store one article's extraction, in one transaction; idempotent by ``key``."""
        payload = json.dumps(extraction.to_json(), ensure_ascii=False, sort_keys=True)
        payload_hash = _sha(payload)
        with self.transaction():
            row = self._one("SELECT id, extraction_hash FROM articles WHERE key = ?", (key,))
            if row and row[1] == payload_hash:
                return IngestResult("unchanged")
            status = "added"
            if row:
                self._remove_article(int(row[0]))
                status = "replaced"
            return self._insert_article(key, extraction, payload, payload_hash, status)

    def _insert_article(self, key: str, extraction: Extraction, payload: str, payload_hash: str,
                        status: str) -> IngestResult:
        a = extraction.article
        outlet = outlet_of(a.url, a.publisher)
        article_id = self._insert_id(
            "INSERT INTO articles (key, content_hash, extraction_hash, url, title, date, author, publisher, outlet, "
            "language, path, text, extraction, ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, _sha(a.text), payload_hash, a.url, a.title, a.date, a.author, a.publisher, outlet, a.language,
             a.path, a.text, payload, _now()))
        context = sp.context_terms(a.text)
        used = {att.speaker_id for att in extraction.attributions}
        local_to_store: dict[str, int] = {}
        for speaker in extraction.speakers:
            if speaker.id in used:
                local_to_store[speaker.id] = self._link_speaker(article_id, key, speaker, context)
        date = iso_date(a.date)
        new_texts: list[tuple[int, str]] = []
        new = merged = 0
        for att in extraction.attributions:
            speaker_id = local_to_store.get(att.speaker_id) if att.speaker_id else None
            result = self._add_occurrence(article_id, att, speaker_id, date, outlet)
            if result == "new":
                new += 1
            elif result is not None:
                merged += 1
            if result == "new":
                new_texts.append((0, att.content.text))
        if self.embed_at_ingest and new_texts:
            self._embed_texts([t for _, t in new_texts])
        elif new_texts:
            self.set_meta("embeddings_pending", "1")
        return IngestResult(status, new, merged)

    def _remove_article(self, article_id: int, keep_speakers: bool = False) -> None:
        """Take an article's occurrences out of their statements (dropping emptied ones), then the article.

        Speakers left with no article are dropped too, unless ``keep_speakers`` (a replay, which
        re-links the same articles and should keep speaker ids stable; it drops orphans at the end).
        """
        touched = [int(r[0]) for r in self._all(
            "SELECT DISTINCT statement_id FROM occurrences WHERE article_id = ?", (article_id,))]
        speakers = [int(r[0]) for r in self._all(
            "SELECT DISTINCT speaker_id FROM speaker_links WHERE article_id = ?", (article_id,))]
        self._run("DELETE FROM occurrences WHERE article_id = ?", (article_id,))
        for statement_id in touched:
            self._refresh_statement(statement_id)
        self._run("DELETE FROM speaker_links WHERE article_id = ?", (article_id,))
        if not keep_speakers:
            self._drop_orphans(speakers)
        self._run("DELETE FROM articles WHERE id = ?", (article_id,))

    def _drop_orphans(self, speaker_ids: Sequence[int]) -> None:
        for speaker_id in speaker_ids:
            if not self._one("SELECT 1 FROM speaker_links WHERE speaker_id = ? LIMIT 1", (speaker_id,)):
                self._run("DELETE FROM speaker_aliases WHERE speaker_id = ?", (speaker_id,))
                self._run("DELETE FROM speakers WHERE id = ?", (speaker_id,))

    def _refresh_statement(self, statement_id: int) -> None:
        """Recompute a statement's summary from its occurrences; delete it when none are left."""
        row = self._one("SELECT count(*), min(date), max(confidence), count(DISTINCT outlet) FROM occurrences "
                        "WHERE statement_id = ?", (statement_id,))
        assert row is not None
        if int(row[0]) == 0:
            old = self._one("SELECT content, speaker_keys FROM statements WHERE id = ?", (statement_id,))
            if old:
                self._fts_remove(statement_id, old[0], old[1])
            self._run("DELETE FROM statement_prints WHERE statement_id = ?", (statement_id,))
            self._run("DELETE FROM statements WHERE id = ?", (statement_id,))
            return
        self._run("UPDATE statements SET n_occurrences = ?, first_date = ?, confidence = ?, n_outlets = ? WHERE id = ?",
                  (int(row[0]), row[1], float(row[2]), int(row[3]), statement_id))

    # -- speakers at ingest -------------------------------------------------------------------

    def _candidates(self, sql: str, params: Sequence[Any]) -> list[sp.Candidate]:
        return [sp.Candidate(int(r[0]), r[1], r[2], Counter(json.loads(r[3])), bool(r[4]))
                for r in self._all(sql, params)]

    def _link_speaker(self, article_id: int, article_key: str, speaker: Speaker, context: Counter[str]) -> int:
        """Tie an article's speaker to a store speaker (new or merged) and record why."""
        own = set(sp.name_words(speaker.name))
        context = Counter({t: c for t, c in context.items() if t not in own})
        canonical = self.corrections.canonical_name(speaker.name) if speaker.named else None
        if speaker.named and self.corrections.is_apart(speaker.name, article_key):
            decision = sp.Decision(None, "user-apart", f"user correction: '{speaker.name}' in {article_key} "
                                                       "is someone else")
            speaker_id = self._new_speaker(speaker.name, speaker.title, context, named=True, apart=True)
        elif canonical is not None:
            found = self._all("SELECT DISTINCT a.speaker_id FROM speaker_aliases a JOIN speakers s ON s.id = a.speaker_id "
                              "WHERE a.alias_key = ? ORDER BY a.speaker_id LIMIT 1",
                              (sp.Corrections.key(canonical),))
            how = f"user correction: '{speaker.name}' is '{canonical}'"
            decision = sp.Decision(int(found[0][0]) if found else None, "user-same", how)
            speaker_id = decision.speaker_id or self._new_speaker(canonical, speaker.title, context, named=True)
            self._add_alias(speaker_id, canonical)
        else:
            cols = "SELECT DISTINCT s.id, s.name, s.title, s.context, s.named FROM speakers s"
            words = sp.name_words(speaker.name)
            by_full = by_surname = []
            if speaker.named and len(words) >= 2:
                by_full = self._candidates(f"{cols} JOIN speaker_aliases a ON a.speaker_id = s.id "
                                           "WHERE a.alias_key = ? ORDER BY s.id LIMIT 20", (sp.name_key(speaker.name),))
            elif speaker.named and words:
                by_surname = self._candidates(f"{cols} WHERE s.surname_key = ? AND s.named = 1 ORDER BY s.id LIMIT 20",
                                              (sp.surname_key(speaker.name),))
            decision = sp.decide(speaker.name, speaker.title, speaker.named, context, by_full, by_surname)
            if decision.speaker_id is None:
                speaker_id = self._new_speaker(speaker.name, speaker.title, context, named=speaker.named)
            else:
                speaker_id = decision.speaker_id
                self._grow_speaker(speaker_id, speaker, context)
        if speaker.named:
            self._add_alias(speaker_id, speaker.name)
            qid = self.corrections.qids.get(sp.Corrections.key(speaker.name))
            if qid:
                self._run("UPDATE speakers SET qid = ? WHERE id = ?", (qid, speaker_id))
        self._run("INSERT INTO speaker_links (article_id, local_id, speaker_id, name, title, rule, explanation) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)",
                  (article_id, speaker.id, speaker_id, speaker.name, speaker.title, decision.rule, decision.explanation))
        return speaker_id

    def _new_speaker(self, name: str, title: str | None, context: Counter[str], *, named: bool,
                     apart: bool = False) -> int:
        name_key = sp.name_key(name) if named else ""
        surname = sp.surname_key(name) if named else ""
        if apart:  # a user split: never a merge candidate for anyone else
            name_key, surname = f"{name_key}|apart", f"{surname}|apart"
        return self._insert_id(
            "INSERT INTO speakers (name, name_key, surname_key, title, named, context, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (name, name_key, surname, title, int(named), json.dumps(dict(context)), _now()))

    def _grow_speaker(self, speaker_id: int, speaker: Speaker, context: Counter[str]) -> None:
        """A merged mention adds its context, and a fuller name or a title when it has one."""
        row = self._one("SELECT name, title, context FROM speakers WHERE id = ?", (speaker_id,))
        assert row is not None
        merged = Counter(json.loads(row[2]))
        merged.update(context)
        kept = dict(merged.most_common(sp.CONTEXT_TERMS_PER_SPEAKER))
        name = speaker.name if len(sp.name_words(speaker.name)) > len(sp.name_words(row[0])) else row[0]
        self._run("UPDATE speakers SET name = ?, title = ?, context = ? WHERE id = ?",
                  (name, speaker.title or row[1], json.dumps(kept), speaker_id))

    def _add_alias(self, speaker_id: int, alias: str) -> None:
        key = sp.Corrections.key(alias)
        if self._one("SELECT name_key FROM speakers WHERE id = ?", (speaker_id,))[0].endswith("|apart"):  # type: ignore[index]
            key += "|apart"
        self._run("INSERT INTO speaker_aliases (speaker_id, alias, alias_key) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                  (speaker_id, alias, key))

    def _speaker_keys(self, speaker_id: int | None) -> str:
        if speaker_id is None:
            return sp.speaker_tokens(None, [])
        names = [r[0] for r in self._all("SELECT alias FROM speaker_aliases WHERE speaker_id = ?", (speaker_id,))]
        row = self._one("SELECT name, named FROM speakers WHERE id = ?", (speaker_id,))
        if row and row[1]:
            names.insert(0, row[0])
        return sp.speaker_tokens(speaker_id, names)

    # -- statements at ingest -----------------------------------------------------------------

    def _add_occurrence(self, article_id: int, att: Attribution, speaker_id: int | None, date: str | None,
                        outlet: str | None) -> str | None:
        """Join the attribution to its statement (exact or near duplicate) or start a new one.

        Returns "new", the merge reason, or None when the attribution has no words or repeats a
        span already stored for this article.
        """
        text = att.content.text
        canon = dedup.canonical(text)
        if not canon:
            return None
        scope = speaker_id or 0
        norm = dedup.norm_hash(text)
        statement_id: int | None = None
        reason = "exact"
        row = self._one("SELECT id FROM statements WHERE scope = ? AND norm_hash = ? ORDER BY id LIMIT 1", (scope, norm))
        prints = dedup.fingerprints(canon)
        if row:
            statement_id = int(row[0])
        elif len(canon.split()) >= dedup.MIN_NEAR_WORDS and prints:
            marks = ", ".join("?" for _ in prints)
            candidates = self._all(
                f"SELECT p.statement_id, count(*) AS shared FROM statement_prints p WHERE p.scope = ? "
                f"AND p.print IN ({marks}) GROUP BY p.statement_id ORDER BY shared DESC, p.statement_id "
                f"LIMIT {NEAR_CANDIDATES}", (scope, *prints))
            for candidate_id, _ in candidates:
                other = self._one("SELECT canon FROM statements WHERE id = ?", (candidate_id,))
                verdict = dedup.near_duplicate(canon, other[0]) if other else None
                if verdict and verdict.same:
                    statement_id, reason = int(candidate_id), verdict.reason
                    break
        c = att.content
        pieces = json.dumps([list(p) for p in c.pieces]) if c.pieces else None
        occurrence = (
            article_id, att.speaker_id, c.start, c.end, pieces,
            att.source.start if att.source else None, att.source.end if att.source else None,
            att.cue.start if att.cue else None, att.cue.end if att.cue else None,
            att.source.text if att.source else None, att.cue.text if att.cue else None, text,
            att.kind.value, float(att.confidence), att.rule, date, outlet)
        if self._one("SELECT 1 FROM occurrences WHERE article_id = ? AND content_start = ? AND content_end = ?",
                     (article_id, c.start, c.end)):
            return None
        if statement_id is None:
            keys = self._speaker_keys(speaker_id)
            statement_id = self._insert_id(
                "INSERT INTO statements (scope, speaker_id, content, norm_hash, canon, embed_hash, kind, confidence, "
                "first_date, n_occurrences, n_outlets, speaker_keys) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?)",
                (scope, speaker_id, text, norm, canon, dedup.text_hash(text), att.kind.value, float(att.confidence),
                 date, keys))
            self._fts_add(statement_id, text, keys)
            self._many("INSERT INTO statement_prints (scope, print, statement_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                       [(scope, p, statement_id) for p in prints])
            reason = "new"
        else:
            old = self._one("SELECT content, speaker_keys FROM statements WHERE id = ?", (statement_id,))
            assert old is not None
            if len(canon.split()) > len(dedup.canonical(old[0]).split()):  # keep the fullest version as its text
                self._fts_remove(statement_id, old[0], old[1])
                self._run("UPDATE statements SET content = ?, canon = ? WHERE id = ?", (text, canon, statement_id))
                self._fts_add(statement_id, text, old[1])
                self._many("INSERT INTO statement_prints (scope, print, statement_id) VALUES (?, ?, ?) "
                           "ON CONFLICT DO NOTHING", [(scope, p, statement_id) for p in prints])
        self._run(
            "INSERT INTO occurrences (statement_id, article_id, local_speaker, content_start, content_end, pieces, "
            "source_start, source_end, cue_start, cue_end, source_text, cue_text, content_text, kind, confidence, "
            "rule, date, outlet, match) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (statement_id, *occurrence, reason))
        self._run(
            "UPDATE statements SET n_occurrences = n_occurrences + 1, "
            "first_date = CASE WHEN first_date IS NULL OR CAST(? AS TEXT) < first_date THEN CAST(? AS TEXT) "
            "ELSE first_date END, "
            "confidence = CASE WHEN CAST(? AS DOUBLE PRECISION) > confidence THEN CAST(? AS DOUBLE PRECISION) ELSE confidence END, "
            "n_outlets = (SELECT count(DISTINCT outlet) FROM occurrences WHERE statement_id = ?) WHERE id = ?",
            (date, date, float(att.confidence), float(att.confidence), statement_id, statement_id))
        return reason

    # -- embeddings ---------------------------------------------------------------------------

    def embedder(self) -> Any:
        if self._embedder is None:
            from quotegraph.store.embed import default_embedder

            self._embedder = default_embedder()
        return self._embedder

    def _embed_texts(self, texts: list[str]) -> None:
        """Embed the texts not cached yet (by text hash) and add them to the similarity index."""
        by_hash = {dedup.text_hash(t): t for t in texts}
        marks = ", ".join("?" for _ in by_hash)
        have = {int(r[0]) for r in self._all(f"SELECT text_hash FROM embeddings WHERE text_hash IN ({marks})",
                                             list(by_hash))}
        missing = [(h, t) for h, t in by_hash.items() if h not in have]
        if missing:
            vectors = self.embedder().embed([" ".join(t.split()) for _, t in missing])
            self.vectors.add([h for h, _ in missing], vectors)

    def embed_missing(self, batch: int = 256) -> int:
        """Embed every statement stored without an embedding (ingested with embeddings off)."""
        done = 0
        while True:
            rows = self._all("SELECT s.content FROM statements s WHERE NOT EXISTS "
                             "(SELECT 1 FROM embeddings e WHERE e.text_hash = s.embed_hash) "
                             f"ORDER BY s.id LIMIT {batch}")
            if not rows:
                break
            with self.transaction():
                self._embed_texts([r[0] for r in rows])
            done += len(rows)
        with self.transaction():
            self.set_meta("embeddings_pending", "0")
        self.vectors.maybe_retrain()
        return done

    def finish_ingest(self) -> None:
        """After a batch: keep the similarity index's lists balanced."""
        if self.embed_at_ingest:
            self.vectors.maybe_retrain()

    # -- search -------------------------------------------------------------------------------

    def _filters(self, q: SearchQuery) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        if q.kind:
            if q.kind not in KINDS:
                raise InputError(f"--kind: expected one of {', '.join(KINDS)}, got {q.kind!r}")
            where.append("s.kind = ?")
            params.append(q.kind)
        if not 0.0 <= q.min_confidence <= 1.0:  # also NaN
            raise InputError(f"--min-confidence: expected a number from 0 to 1, got {q.min_confidence}")
        if q.min_confidence:
            where.append("s.confidence >= ?")
            params.append(float(q.min_confidence))
        since, until = _check_date(q.since, "--since"), _check_date(q.until, "--until")
        if since:
            where.append("s.first_date >= ?")
            params.append(since)
        if until:
            where.append("s.first_date < ?")
            params.append((Date.fromisoformat(until) + timedelta(days=1)).isoformat())
        if q.outlet:
            if "\x00" in q.outlet:  # PostgreSQL text cannot hold NUL, so no outlet has one
                raise InputError("--outlet: contains a NUL character")
            where.append("EXISTS (SELECT 1 FROM occurrences o WHERE o.statement_id = s.id AND o.outlet = ?)")
            params.append(q.outlet)
        return where, params

    _HIT_COLUMNS = ("s.id, s.content, sp.name, s.speaker_id, s.kind, s.confidence, s.first_date, s.n_occurrences, "
                    "s.n_outlets")

    def _match(self, q: SearchQuery) -> tuple[str, list[str], list[Any], str, list[Any], str]:
        """The statements a query's words and filters select, as SQL shared by search and facets:
        (FROM clause, WHERE conditions, their params, score expression, its params, ORDER BY)."""
        terms = search_terms(q.text)
        if len(terms) > MAX_TERMS:
            raise InputError(f"the search has {len(terms)} different words and phrases; at most {MAX_TERMS} are used "
                             "together")
        speaker_tokens = sp.query_tokens(q.speaker) if q.speaker else []
        if q.speaker and not speaker_tokens:
            raise InputError(f"--speaker: {q.speaker!r} has no name in it")
        where, params = self._filters(q)
        score, score_params, order = "0", [], "s.first_date DESC NULLS LAST, s.id"
        source = "statements s"
        if terms or speaker_tokens:
            source, condition, match_params, text_score, text_score_params = self._text_search(terms, speaker_tokens)
            where.insert(0, condition)
            params = [*match_params, *params]
            if terms:
                score, score_params, order = text_score, text_score_params, "10, s.id"
        return source, where, params, score, score_params, order

    def _ranked(self, q: SearchQuery, scored: bool = True) -> tuple[str, list[Any]] | None:
        """The backend's index-only ranking (``_index_rank``) when the words (and speaker) are the
        search's only conditions; None otherwise. Unscored: only which statements match."""
        terms = search_terms(q.text)
        if not terms or q.kind or q.min_confidence or q.since or q.until or q.outlet:
            return None
        return self._index_rank(terms, sp.query_tokens(q.speaker) if q.speaker else [], scored)

    def search(self, q: SearchQuery) -> Page:
        """Statements matching words and filters, best first, one page at a time."""
        _check_page(q)
        source, where, params, score, score_params, order = self._match(q)
        ranked = self._ranked(q)
        if ranked is not None:  # rank in the index, then read only the page's rows
            sub, sub_params = ranked
            sql = (f"SELECT {self._HIT_COLUMNS}, r.score FROM (SELECT id, score FROM ({sub} ORDER BY id DESC LIMIT "
                   f"{int(RANK_WINDOW)}) w ORDER BY score, id LIMIT ? OFFSET ?) r "
                   "JOIN statements s ON s.id = r.id LEFT JOIN speakers sp ON sp.id = s.speaker_id "
                   "ORDER BY r.score, s.id")
            rows = self._all(sql, [*sub_params, q.limit + 1, q.offset])
        else:
            base = (f"SELECT {self._HIT_COLUMNS}, {score} AS score FROM {source} LEFT JOIN speakers sp ON sp.id = s.speaker_id"
                    + (f" WHERE {' AND '.join(where)}" if where else ""))
            if search_terms(q.text):  # ranked by relevance: within the newest RANK_WINDOW matches
                sql = (f"SELECT * FROM ({base} ORDER BY s.id DESC LIMIT {int(RANK_WINDOW)}) w "
                       "ORDER BY score, id LIMIT ? OFFSET ?")
            else:
                sql = f"{base} ORDER BY {order} LIMIT ? OFFSET ?"
            rows = self._all(sql, [*score_params, *params, q.limit + 1, q.offset])
        hits = [self._hit(r, abs(float(r[9] or 0))) for r in rows[: q.limit]]
        return Page(hits, q.offset, q.limit, len(rows) > q.limit)

    def similar(self, text: str, q: SearchQuery = SearchQuery()) -> Page:
        """Statements that say what ``text`` says, in any words: nearest embeddings, then the filters."""
        _check_page(q)
        if self.get_meta("embeddings_pending") == "1":
            self.embed_missing()
        vec = self.embedder().embed([text])[0]
        want = q.offset + q.limit + 1
        nearest = self.vectors.search(vec, k=max(50, want * 4))
        if not nearest:
            return Page([], q.offset, q.limit, False)
        score_of = dict(nearest)
        where, params = self._filters(q)
        if q.speaker:
            tokens = sp.query_tokens(q.speaker)
            ids = self._speaker_ids(tokens)
            where.append(f"s.speaker_id IN ({', '.join('?' for _ in ids) or 'NULL'})")
            params.extend(ids)
        # Nearest texts first; a text carried by many speakers' statements can fill the page alone,
        # so statements are fetched per text, in score order, until the page (and one more) is full.
        rows: list[tuple[Any, ...]] = []
        for text_hash, _ in nearest:
            rows.extend(self._all(f"SELECT {self._HIT_COLUMNS}, s.embed_hash FROM statements s "
                                  f"LEFT JOIN speakers sp ON sp.id = s.speaker_id WHERE s.embed_hash = ?"
                                  + "".join(f" AND {w}" for w in where) + " ORDER BY s.id LIMIT ?",
                                  [text_hash, *params, want - len(rows)]))
            if len(rows) >= want:
                break
        page = rows[q.offset : q.offset + q.limit]
        return Page([self._hit(r, score_of[int(r[9])]) for r in page], q.offset, q.limit, len(rows) > q.offset + q.limit)

    def _speaker_ids(self, tokens: list[str]) -> list[int]:
        ids: set[int] = set()
        for token in tokens:
            if token.startswith("spk"):
                if len(token) <= 22 and storable_id(int(token[3:])):  # longer: no such row
                    ids.add(int(token[3:]))
            elif token.startswith("sur"):
                ids.update(int(r[0]) for r in self._all("SELECT id FROM speakers WHERE surname_key = ?", (token[3:],)))
                ids.update(int(r[0]) for r in self._all("SELECT speaker_id FROM speaker_aliases WHERE alias_key = ?",
                                                        (token[3:],)))
            else:
                ids.update(int(r[0]) for r in self._all("SELECT speaker_id FROM speaker_aliases WHERE alias_key = ?",
                                                        (token[3:].replace("0", " "),)))
        return sorted(ids)

    @staticmethod
    def _hit(r: Sequence[Any], score: float) -> Hit:
        return Hit(int(r[0]), r[1], r[2], int(r[3]) if r[3] is not None else None, r[4], float(r[5]), r[6],
                   int(r[7]), int(r[8]), round(score, 4))

    # -- look-ups -----------------------------------------------------------------------------

    def statement(self, statement_id: int) -> StatementView:
        if not storable_id(statement_id):
            raise NotFoundError(f"no statement {statement_id}")
        row = self._one(f"SELECT {self._HIT_COLUMNS}, 0 FROM statements s LEFT JOIN speakers sp "
                        "ON sp.id = s.speaker_id WHERE s.id = ?", (statement_id,))
        if row is None:
            raise NotFoundError(f"no statement {statement_id}")
        hit = self._hit(row, 0.0)
        speaker = self.speaker(hit.speaker_id) if hit.speaker_id is not None else None
        occurrences = []
        for r in self._all(
                "SELECT a.key, a.url, a.title, o.date, o.outlet, o.source_text, o.cue_text, o.content_text, "
                "o.content_start, o.content_end, o.pieces, o.kind, o.confidence, o.match, a.text FROM occurrences o "
                "JOIN articles a ON a.id = o.article_id WHERE o.statement_id = ? ORDER BY o.date, o.id",
                (statement_id,)):
            start, end, text = int(r[8]), int(r[9]), r[14]
            context = text[max(0, start - CONTEXT_CHARS) : end + CONTEXT_CHARS]
            occurrences.append(Occurrence(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], start, end,
                                          json.loads(r[10]) if r[10] else None, r[11], float(r[12]), r[13],
                                          " ".join(context.split())))
        return StatementView(hit, speaker, occurrences)

    def speaker(self, speaker_id: int) -> SpeakerInfo:
        if not storable_id(speaker_id):
            raise NotFoundError(f"no speaker #{speaker_id}")
        row = self._one("SELECT id, name, title, qid, named FROM speakers WHERE id = ?", (speaker_id,))
        if row is None:
            raise NotFoundError(f"no speaker #{speaker_id}")
        counts = self._one("SELECT count(*), coalesce(sum(n_occurrences), 0) FROM statements WHERE speaker_id = ?",
                           (speaker_id,))
        aliases = [r[0] for r in self._all("SELECT alias FROM speaker_aliases WHERE speaker_id = ? ORDER BY alias",
                                           (speaker_id,))]
        return SpeakerInfo(int(row[0]), row[1], row[2], row[3], bool(row[4]), int(counts[0]), int(counts[1]), aliases)  # type: ignore[index]

    def top_speakers(self, top: int = 20) -> list[SpeakerInfo]:
        """Named speakers with the most statements."""
        rows = self._all("SELECT sp.id, sp.name, sp.title, sp.qid, count(*), sum(s.n_occurrences) FROM statements s "
                         "JOIN speakers sp ON sp.id = s.speaker_id WHERE sp.named = 1 "
                         "GROUP BY sp.id, sp.name, sp.title, sp.qid ORDER BY count(*) DESC, sp.id LIMIT ?", (top,))
        out = []
        for r in rows:
            aliases = [a[0] for a in self._all("SELECT alias FROM speaker_aliases WHERE speaker_id = ? ORDER BY alias",
                                               (r[0],))]
            out.append(SpeakerInfo(int(r[0]), r[1], r[2], r[3], True, int(r[4]), int(r[5]), aliases))
        return out

    def find_speakers(self, name: str) -> list[SpeakerInfo]:
        """Speakers a name or ``#id`` refers to (full name, surname, or any alias)."""
        return [self.speaker(i) for i in self._speaker_ids(sp.query_tokens(name))
                if self._one("SELECT 1 FROM speakers WHERE id = ?", (i,))]

    def explain(self, speaker_id: int) -> list[dict[str, Any]]:
        """Every article mention tied to this speaker, with the rule and reason."""
        return [{"article": r[0], "name": r[1], "title": r[2], "rule": r[3], "explanation": r[4]}
                for r in self._all("SELECT a.key, l.name, l.title, l.rule, l.explanation FROM speaker_links l "
                                   "JOIN articles a ON a.id = l.article_id WHERE l.speaker_id = ? ORDER BY a.id",
                                   (speaker_id,))]

    def counts(self) -> dict[str, int]:
        return {table: int(self._one(f"SELECT count(*) FROM {table}")[0])  # type: ignore[index]
                for table in ("articles", "statements", "occurrences", "speakers")}

    # -- corrections --------------------------------------------------------------------------

    def _load_corrections(self) -> sp.Corrections:
        """The alias file wins when it exists (it is what users edit); else the copy kept in the store."""
        if self.alias_path is not None and self.alias_path.exists():
            items = sp.read_alias_file(self.alias_path)
            stored = [sp.Correction(r[0], r[1], r[2], r[3]) for r in
                      self._all("SELECT action, a, b, note FROM speaker_corrections ORDER BY id")]
            if items != stored:
                with self.transaction():
                    self._run("DELETE FROM speaker_corrections")
                    self._many("INSERT INTO speaker_corrections (action, a, b, note) VALUES (?, ?, ?, ?)",
                               [(c.action, c.a, c.b, c.note) for c in items])
            return sp.Corrections(items)
        stored = [sp.Correction(r[0], r[1], r[2], r[3]) for r in
                  self._all("SELECT action, a, b, note FROM speaker_corrections ORDER BY id")]
        if stored and self.alias_path is not None:
            for c in stored:
                sp.append_alias_file(self.alias_path, c)
        return sp.Corrections(stored)

    def _resolve_name(self, name: str) -> list[str]:
        """A name as given, or the names of speaker ``#id``."""
        if re.fullmatch(r"#\d+", name.strip()):
            info = self.speaker(int(name.strip()[1:]))
            return [info.name, *info.aliases]
        return [name]

    def correct(self, correction: sp.Correction) -> int:
        """Record a user correction (alias file and store) and replay the articles it touches."""
        if self.alias_path is not None:
            sp.append_alias_file(self.alias_path, correction)
        names = [correction.a] + ([correction.b] if correction.action == "same" else [])
        keys = {sp.Corrections.key(n) for n in names} - {""}
        affected: set[int] = set()
        for key in keys:
            affected.update(int(r[0]) for r in self._all(
                "SELECT DISTINCT l.article_id FROM speaker_links l JOIN speaker_aliases a ON a.speaker_id = l.speaker_id "
                "WHERE a.alias_key = ?", (key,)))
        if correction.action == "apart":
            affected = {int(r[0]) for r in self._all("SELECT id FROM articles WHERE key = ?", (correction.b,))}
            if not affected:
                raise InputError(f"no article with key {correction.b!r} in the store")
        with self.transaction():
            self._run("INSERT INTO speaker_corrections (action, a, b, note) VALUES (?, ?, ?, ?)",
                      (correction.action, correction.a, correction.b, correction.note))
            self.corrections = sp.Corrections([*self.corrections.items, correction])
            if correction.action == "qid":
                for key in keys:
                    self._run("UPDATE speakers SET qid = ? WHERE id IN (SELECT speaker_id FROM speaker_aliases "
                              "WHERE alias_key = ?)", (correction.b, key))
            else:
                self.replay(sorted(affected))
        return len(affected)

    def merge_speakers(self, canonical: str, other: str, note: str = "") -> int:
        """``canonical`` and ``other`` are one person; returns how many articles were replayed."""
        a, b = self._resolve_name(canonical)[0], self._resolve_name(other)
        count = 0
        for name in b:
            if sp.Corrections.key(name) != sp.Corrections.key(a):
                count += self.correct(sp.Correction("same", a, name, note))
        return count

    def split_speaker(self, name: str, article_key: str, note: str = "") -> int:
        """In ``article_key``, ``name`` is someone else than the store speaker it was merged into."""
        return self.correct(sp.Correction("apart", self._resolve_name(name)[0], article_key, note))

    def set_qids(self, table: dict[str, str]) -> int:
        """Map speakers to Wikidata ids from a user table {name: Qid}; returns how many speakers got one."""
        changed = 0
        for name, qid in table.items():
            if not re.fullmatch(r"Q\d+", qid):
                raise InputError(f"{qid!r} is not a Wikidata id")
            self.correct(sp.Correction("qid", name, qid))
            changed += len(self._speaker_ids(sp.query_tokens(name)))
        return changed

    def replay(self, article_ids: list[int]) -> None:
        """Re-ingest stored articles from their saved extraction (after a correction)."""
        touched: set[int] = set()
        with self.transaction():
            for article_id in article_ids:
                row = self._one("SELECT key, extraction, extraction_hash FROM articles WHERE id = ?", (article_id,))
                if row is None:
                    continue
                touched.update(int(r[0]) for r in self._all(
                    "SELECT speaker_id FROM speaker_links WHERE article_id = ?", (article_id,)))
                self._remove_article(article_id, keep_speakers=True)
                self._insert_article(row[0], Extraction.from_json(json.loads(row[1])), row[1], row[2], "replaced")
                new_id = self._one("SELECT id FROM articles WHERE key = ?", (row[0],))
                touched.update(int(r[0]) for r in self._all(
                    "SELECT speaker_id FROM speaker_links WHERE article_id = ?", (new_id[0],)))  # type: ignore[index]
            self._drop_orphans(sorted(touched))
            # Speakers that gained or lost aliases: refresh their statements' speaker search tokens.
            for speaker_id in sorted(touched):
                if self._one("SELECT 1 FROM speakers WHERE id = ?", (speaker_id,)):
                    self._refresh_speaker_keys(speaker_id)

    def _refresh_speaker_keys(self, speaker_id: int) -> None:
        keys = self._speaker_keys(speaker_id)
        for sid, content, old in self._all("SELECT id, content, speaker_keys FROM statements WHERE speaker_id = ?",
                                           (speaker_id,)):
            if old != keys:
                self._fts_remove(int(sid), content, old)
                self._run("UPDATE statements SET speaker_keys = ? WHERE id = ?", (keys, sid))
                self._fts_add(int(sid), content, keys)

    # -- export -------------------------------------------------------------------------------

    def iter_statements(self, batch: int = 2000) -> Iterator[dict[str, Any]]:
        """Every statement with its speaker and occurrences, in id order, a batch at a time."""
        last = 0
        while True:
            rows = self._all(
                "SELECT s.id, s.content, s.kind, s.confidence, s.first_date, s.n_occurrences, s.n_outlets, "
                "sp.id, sp.name, sp.qid, sp.named FROM statements s LEFT JOIN speakers sp ON sp.id = s.speaker_id "
                "WHERE s.id > ? ORDER BY s.id LIMIT ?", (last, batch))
            if not rows:
                return
            ids = [int(r[0]) for r in rows]
            marks = ", ".join("?" for _ in ids)
            occ: dict[int, list[dict[str, Any]]] = {}
            for o in self._all(
                    "SELECT o.statement_id, a.key, a.url, o.date, o.outlet, o.content_start, o.content_end, "
                    f"o.confidence FROM occurrences o JOIN articles a ON a.id = o.article_id WHERE o.statement_id IN ({marks}) "
                    "ORDER BY o.statement_id, o.id", ids):
                occ.setdefault(int(o[0]), []).append(
                    {"article": o[1], "url": o[2], "date": o[3], "outlet": o[4], "start": o[5], "end": o[6],
                     "confidence": float(o[7])})
            for r in rows:
                yield {"id": int(r[0]), "content": r[1], "kind": r[2], "confidence": float(r[3]), "first_date": r[4],
                       "occurrences": int(r[5]), "outlets": int(r[6]), "speaker_id": r[7], "speaker": r[8],
                       "qid": r[9], "speaker_named": bool(r[10]) if r[10] is not None else None,
                       "mentions": occ.get(int(r[0]), [])}
            last = ids[-1]

    def iter_articles(self) -> Iterator[tuple[str, Extraction]]:
        last = 0
        while True:
            rows = self._all("SELECT id, key, extraction FROM articles WHERE id > ? ORDER BY id LIMIT 200", (last,))
            if not rows:
                return
            for r in rows:
                yield r[1], Extraction.from_json(json.loads(r[2]))
            last = int(rows[-1][0])


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


__all__ = ["Hit", "IngestResult", "Occurrence", "Page", "SearchQuery", "SpeakerInfo", "StatementView", "Store",
           "outlet_of", "search_terms", "storable_id"]
