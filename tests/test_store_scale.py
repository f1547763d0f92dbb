"""How the store stays fast on large stores without changing answers: a search whose only
conditions are its words is ranked in the text index (SQLite) and must give exactly what the
general query gives; past RANK_WINDOW matches, relevance ranks the most recently added of them;
facet counts past FACET_SAMPLE matches are taken over the most recently added matches, and say
so. Both backends."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from store_fixtures import backend, extraction, store_target  # noqa: F401 (fixtures)

from quotegraph.store import SearchQuery, Store, base, open_store, views

WORDS = ["harbour", "budget", "vote", "fishing", "fleet", "council", "winter", "ferry", "school", "bridge"]
NAMES = ["Ana Ruiz", "Bo Lind", "Cy Marsh", "Di Okafor"]


@pytest.fixture
def store(store_target: str, tmp_path: Path) -> Iterator[Store]:
    s = open_store(store_target, aliases=tmp_path / "aliases.tsv")
    with s.transaction():
        for i in range(60):
            name = NAMES[i % len(NAMES)]
            words = " ".join(WORDS[(i * k) % len(WORDS)] for k in (1, 3, 7)) + " " + "extra " * (i % 5)
            quote = f'"The {words}matters number {i}," '
            text = f"{quote}{name} said on day {i}."
            s.add(f"a/{i}", extraction(text, [(name, quote.strip())], key_date=f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
                                       publisher=f"Outlet {i % 3}"))
    try:
        yield s
    finally:
        s.close()


def general(store: Store, q: SearchQuery) -> list[tuple[int, float]]:
    """The same search through the general path: a filter every statement passes disables the shortcut."""
    page = store.search(replace(q, since="1900-01-01"))
    return [(h.id, h.score) for h in page.hits]


@pytest.mark.parametrize("q", [SearchQuery(text="budget"), SearchQuery(text="vote fishing", limit=5, offset=3),
                               SearchQuery(text="budget", speaker="Ruiz"), SearchQuery(text='"fishing fleet"'),
                               SearchQuery(text="nothingmatches")])
def test_index_ranking_gives_the_general_answer(store: Store, q: SearchQuery) -> None:
    fast = store.search(q)
    assert [(h.id, h.score) for h in fast.hits] == general(store, q)
    assert fast.has_more == store.search(replace(q, since="1900-01-01")).has_more


def test_facets_past_the_sample_size_count_the_newest_matches(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    q = SearchQuery(text="budget")
    every = store.search(replace(q, limit=100)).hits
    exact = store.facets(q)
    assert exact.sampled is None and exact.total == len(every) > 6
    assert sum(f.count for f in exact.speakers) == len(every)
    monkeypatch.setattr(views, "FACET_SAMPLE", 6)
    for query in (q, SearchQuery(), SearchQuery(text="budget", outlet="Outlet 1")):
        matches = store.search(replace(query, limit=100)).hits
        facets = store.facets(query)
        if len(matches) <= 6:
            assert facets.sampled is None
            continue
        newest = sorted(matches, key=lambda h: h.id, reverse=True)[:6]
        assert facets.total == len(matches) and facets.sampled == 6
        assert {f.id: f.count for f in facets.speakers} == dict(Counter(h.speaker_id for h in newest))
        assert {f.value: f.count for f in facets.months} == dict(Counter(h.first_date[:7] for h in newest))
        assert facets.to_json()["sampled"] == 6


def test_past_the_rank_window_the_newest_matches_are_ranked(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    q = SearchQuery(text="budget", limit=100)
    every = store.search(q).hits
    assert len(every) > 8
    monkeypatch.setattr(base, "RANK_WINDOW", 8)
    newest = sorted(every, key=lambda h: h.id, reverse=True)[:8]
    expected = [(h.id, h.score) for h in sorted(newest, key=lambda h: (h.score, h.id))]
    # scores are stored lower-is-better in the index and shown as their absolute value
    best_first = store.search(q).hits
    assert {h.id for h in best_first} == {h.id for h in newest}
    assert [(h.id, h.score) for h in best_first] == general(store, q)
    assert sorted(h.score for h in best_first) == sorted(s for _, s in expected)
    first_page = store.search(replace(q, limit=3))
    assert [h.id for h in first_page.hits] == [h.id for h in best_first[:3]] and first_page.has_more
