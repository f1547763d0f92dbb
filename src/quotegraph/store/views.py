"""Read-only views over the store for people browsing it (the web app): facet counts for a
search, a speaker's statements per week and outlet, who is quoted alongside whom, and one article
with its attributions tied to the store's statements and speakers.

A mixin of :class:`quotegraph.store.base.Store`, kept apart from ingest and search: everything
here only reads, and all SQL is the shared, parameterised kind both backends run.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date as Date
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from quotegraph.errors import InputError, NotFoundError
from quotegraph.model import Extraction

if TYPE_CHECKING:
    from quotegraph.store.base import SearchQuery, SpeakerInfo

UNKNOWN_OUTLET = "(unknown outlet)"
# Facet counts read every matching statement; past this many matches they are counted over the
# most recently added this many (the total stays exact). A common word matches ~100,000 of a
# million statements, which would take seconds to count by speaker and outlet.
FACET_SAMPLE = 1000


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet and how many matching statements have it; ``id`` for speakers."""

    value: str
    count: int
    id: int | None = None


@dataclass(frozen=True)
class Facets:
    total: int
    speakers: list[FacetValue]
    outlets: list[FacetValue]
    months: list[FacetValue]  # "2017-04", newest first
    sampled: int | None = None  # counts are over the most recently added this many matches

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "sampled": self.sampled,
                **{name: [{k: v for k, v in vars(f).items() if v is not None} for f in getattr(self, name)]
                   for name in ("speakers", "outlets", "months")}}


@dataclass(frozen=True)
class Timeline:
    """Distinct statements a speaker was reported with, per ISO week (its Monday) and outlet."""

    counts: dict[tuple[str, str], int]  # (week Monday, outlet) -> statements
    outlets: list[str]  # most statements first
    totals: dict[str, int]  # outlet -> distinct statements, dated or not
    undated: int  # occurrences with no date (not in the counts)

    def weeks(self) -> list[str]:
        """Every week from the first to the last with a statement, gaps included."""
        if not self.counts:
            return []
        days = sorted({Date.fromisoformat(w) for w, _ in self.counts})
        out, day = [], days[0]
        while day <= days[-1]:
            out.append(day.isoformat())
            day += timedelta(days=7)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"outlets": [{"outlet": o, "statements": self.totals[o]} for o in self.outlets], "undated": self.undated,
                "weeks": [{"week": w, "outlet": o, "statements": n} for (w, o), n in sorted(self.counts.items())]}


@dataclass(frozen=True)
class CoSpeaker:
    id: int
    name: str
    articles: int  # articles quoting both


@dataclass(frozen=True)
class ArticleView:
    """A stored article, its extraction, and where each attribution went in the store."""

    id: int
    key: str
    url: str | None
    title: str | None
    date: str | None
    author: str | None
    publisher: str | None
    outlet: str | None
    extraction: Extraction
    statement_ids: dict[int, int] = field(default_factory=dict)  # attribution index -> statement id
    speaker_ids: dict[str, int] = field(default_factory=dict)  # article speaker id -> store speaker id

    @property
    def text(self) -> str:
        return self.extraction.article.text

    def to_json(self) -> dict[str, Any]:
        attributions = []
        for i, a in enumerate(self.extraction.attributions):
            record = a.to_json()
            record["statement_id"] = self.statement_ids.get(i)
            record["store_speaker_id"] = self.speaker_ids.get(a.speaker_id) if a.speaker_id else None
            attributions.append(record)
        return {"id": self.id, "key": self.key, "url": self.url, "title": self.title, "date": self.date,
                "author": self.author, "publisher": self.publisher, "outlet": self.outlet, "text": self.text,
                "attributions": attributions, "speakers": [s.to_json() for s in self.extraction.speakers],
                "damage": [d.to_json() for d in self.extraction.damage]}


def week_of(day: str) -> str:
    """The Monday of an ISO date's week."""
    d = Date.fromisoformat(day[:10])
    return (d - timedelta(days=d.weekday())).isoformat()


class ReadViews:
    """Store queries for browsing; mixed into ``Store`` (uses its ``_all``/``_one``/``_match``)."""

    _all: Any
    _one: Any
    _match: Any
    _ranked: Any

    def facets(self, q: SearchQuery, top: int = 10) -> Facets:
        """Counts of the statements a search matches, by speaker, outlet and month of first report.

        The total is exact; over ``FACET_SAMPLE`` matches, the other counts are taken over the
        ``FACET_SAMPLE`` most recently added (``sampled`` says so)."""
        source, where, params, *_ = self._match(q)
        cond = f" WHERE {' AND '.join(where)}" if where else ""
        ranked = self._ranked(q, scored=False)
        if ranked is not None:  # count in the text index alone
            total = int(self._one(f"SELECT count(*) FROM ({ranked[0]}) r", ranked[1])[0])
        else:
            total = int(self._one(f"SELECT count(*) FROM {source}{cond}", params)[0])
        sampled = None
        if ranked is not None:
            ids, id_params = f"SELECT id FROM ({ranked[0]}) r", list(ranked[1])
        else:
            ids, id_params = f"SELECT s.id FROM {source}{cond}", list(params)
        if total > FACET_SAMPLE:
            ids = f"{ids} ORDER BY id DESC LIMIT {int(FACET_SAMPLE)}"
            sampled = FACET_SAMPLE
        # Two passes over the (sampled) matches, counted here: each pass reads one row per match,
        # and three GROUP BY queries would read them three times.
        by_speaker: Counter[int] = Counter()
        by_month: Counter[str] = Counter()
        for speaker_id, first_date in self._all(f"SELECT s.speaker_id, s.first_date FROM statements s "
                                                f"WHERE s.id IN ({ids})", id_params):
            if speaker_id is not None:
                by_speaker[int(speaker_id)] += 1
            if first_date:
                by_month[first_date[:7]] += 1
        statements_per_outlet: dict[str, set[int]] = defaultdict(set)
        for statement_id, outlet in self._all(f"SELECT o.statement_id, o.outlet FROM occurrences o "
                                              f"WHERE o.outlet IS NOT NULL AND o.statement_id IN ({ids})", id_params):
            statements_per_outlet[outlet].add(int(statement_id))
        best = sorted(by_speaker.items(), key=lambda x: (-x[1], x[0]))[:top]
        names = self._speaker_names([i for i, _ in best])
        speakers = [FacetValue(names[i], n, i) for i, n in best if i in names]
        outlets = [FacetValue(o, len(v)) for o, v in
                   sorted(statements_per_outlet.items(), key=lambda x: (-len(x[1]), x[0]))[:top]]
        months = [FacetValue(m, by_month[m]) for m in sorted(by_month, reverse=True)[:top]]
        return Facets(total, speakers, outlets, months, sampled)

    def _speaker_names(self, ids: list[int]) -> dict[int, str]:
        """Names of a few speakers (a facet's top), by id."""
        if not ids:
            return {}
        return {int(r[0]): r[1] for r in self._all(
            f"SELECT id, name FROM speakers WHERE id IN ({', '.join('?' for _ in ids)})", ids)}

    def speaker_timeline(self, speaker_id: int) -> Timeline:
        """How often a speaker was reported, per week and outlet (weeks are ISO weeks, by article date)."""
        weekly: dict[tuple[str, str], set[int]] = defaultdict(set)
        per_outlet: dict[str, set[int]] = defaultdict(set)
        undated = 0
        for day, outlet, statement_id in self._all(
                "SELECT o.date, o.outlet, o.statement_id FROM occurrences o JOIN statements s ON s.id = o.statement_id "
                "WHERE s.speaker_id = ?", (speaker_id,)):
            name = outlet or UNKNOWN_OUTLET
            per_outlet[name].add(int(statement_id))
            if not day:
                undated += 1
                continue
            try:
                week = week_of(day)
            except ValueError:
                undated += 1
                continue
            weekly[(week, name)].add(int(statement_id))
        outlets = sorted(per_outlet, key=lambda o: (-len(per_outlet[o]), o))
        return Timeline({k: len(v) for k, v in weekly.items()}, outlets, {o: len(per_outlet[o]) for o in outlets},
                        undated)

    def co_quoted(self, speaker_id: int, top: int = 10) -> list[CoSpeaker]:
        """Named speakers quoted in the same articles as this one, most shared articles first."""
        return [CoSpeaker(int(r[0]), r[1], int(r[2])) for r in self._all(
            "SELECT other.speaker_id, sp.name, count(DISTINCT other.article_id) FROM speaker_links me "
            "JOIN speaker_links other ON other.article_id = me.article_id AND other.speaker_id <> me.speaker_id "
            "JOIN speakers sp ON sp.id = other.speaker_id "
            "WHERE me.speaker_id = ? AND sp.named = 1 GROUP BY other.speaker_id, sp.name "
            "ORDER BY count(DISTINCT other.article_id) DESC, other.speaker_id LIMIT ?", (speaker_id, top))]

    def speakers_page(self, limit: int = 20, offset: int = 0) -> tuple[list[SpeakerInfo], bool]:
        """Named speakers, most statements first, one page at a time (and whether more follow)."""
        from quotegraph.store.base import SpeakerInfo

        if limit < 1 or offset < 0:
            raise InputError("limit must be at least 1 and offset at least 0")
        rows = self._all("SELECT sp.id, sp.name, sp.title, sp.qid, count(*), sum(s.n_occurrences) FROM statements s "
                         "JOIN speakers sp ON sp.id = s.speaker_id WHERE sp.named = 1 "
                         "GROUP BY sp.id, sp.name, sp.title, sp.qid ORDER BY count(*) DESC, sp.id LIMIT ? OFFSET ?",
                         (limit + 1, offset))
        ids = [int(r[0]) for r in rows[:limit]]
        aliases: dict[int, list[str]] = defaultdict(list)
        if ids:
            marks = ", ".join("?" for _ in ids)
            for speaker_id, alias in self._all(f"SELECT speaker_id, alias FROM speaker_aliases WHERE speaker_id IN "
                                               f"({marks}) ORDER BY alias", ids):
                aliases[int(speaker_id)].append(alias)
        return ([SpeakerInfo(int(r[0]), r[1], r[2], r[3], True, int(r[4]), int(r[5]), aliases[int(r[0])])
                 for r in rows[:limit]], len(rows) > limit)

    def article(self, article_id: int) -> ArticleView:
        """One stored article with its extraction; each attribution tied to its statement and speaker."""
        from quotegraph.store.base import storable_id

        if not storable_id(article_id):
            raise NotFoundError(f"no article {article_id}")
        row = self._one("SELECT id, key, url, title, date, author, publisher, outlet, extraction FROM articles "
                        "WHERE id = ?", (article_id,))
        if row is None:
            raise NotFoundError(f"no article {article_id}")
        extraction = Extraction.from_json(json.loads(row[8]))
        by_offsets = {(int(r[0]), int(r[1])): int(r[2]) for r in self._all(
            "SELECT content_start, content_end, statement_id FROM occurrences WHERE article_id = ?", (article_id,))}
        statement_ids = {i: by_offsets[(a.content.start, a.content.end)]
                         for i, a in enumerate(extraction.attributions)
                         if (a.content.start, a.content.end) in by_offsets}
        speaker_ids = {r[0]: int(r[1]) for r in self._all(
            "SELECT local_id, speaker_id FROM speaker_links WHERE article_id = ?", (article_id,))}
        return ArticleView(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], row[7], extraction,
                           statement_ids, speaker_ids)

    def statement_outlets(self, statement_ids: list[int]) -> dict[int, list[str]]:
        """The outlets that carried each statement, earliest report first."""
        if not statement_ids:
            return {}
        marks = ", ".join("?" for _ in statement_ids)
        out: dict[int, list[str]] = defaultdict(list)
        for statement_id, outlet, _ in self._all(
                f"SELECT statement_id, outlet, min(date) FROM occurrences WHERE statement_id IN ({marks}) "
                "AND outlet IS NOT NULL GROUP BY statement_id, outlet "
                "ORDER BY statement_id, min(date) IS NULL, min(date), outlet", list(statement_ids)):
            out[int(statement_id)].append(outlet)
        return dict(out)

    def article_ids(self, keys: list[str]) -> dict[str, int]:
        """Article ids by ingest key (keys not in the store are left out)."""
        if not keys:
            return {}
        marks = ", ".join("?" for _ in keys)
        return {r[0]: int(r[1]) for r in self._all(f"SELECT key, id FROM articles WHERE key IN ({marks})", list(keys))}


__all__ = ["FACET_SAMPLE", "UNKNOWN_OUTLET", "ArticleView", "CoSpeaker", "FacetValue", "Facets", "ReadViews", "Timeline", "week_of"]
