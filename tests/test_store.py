"""The store on both backends: idempotent transactional ingest, search filters, ranking, paging,
search by meaning, and a crash mid-batch."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from store_fixtures import backend, extraction, store, store_target  # noqa: F401 (fixtures)

from quotegraph.errors import InputError
from quotegraph.model import Kind
from quotegraph.store import SearchQuery, Store, open_store
from quotegraph.store.sink import StoreSink

SPEAKERS = [("Sergey Lavrov", "Russia"), ("Rex Tillerson", "America"), ("Nikki Haley", "America")]


def _fill(store: Store, n: int = 30) -> None:
    """n articles, each one statement: speakers, outlets, dates, kinds and confidences cycle."""
    for i in range(n):
        name, place = SPEAKERS[i % 3]
        quote = f"Statement number {i} about chemical weapons and {place} policy in Syria" if i % 2 == 0 else \
            f"Remark number {i} on trade tariffs and the economy of {place}"
        text = f'{name} said: "{quote}." Moscow Washington Damascus Syria Russia.'
        store.add(f"k{i}", extraction(text, [(name, quote)], key_date=f"2017-{1 + i % 12:02d}-{1 + i:02d}",
                                      publisher=("RT", "CNN", "BBC")[i % 3 if i % 5 else 0],
                                      kind=Kind.DIRECT if i % 4 else Kind.INDIRECT, confidence=0.5 + (i % 5) / 10))


def test_reopening_applies_no_migration_twice(store_target: str, tmp_path: Path) -> None:
    first = open_store(store_target, aliases=tmp_path / "a.tsv")
    first.close()
    again = open_store(store_target, aliases=tmp_path / "a.tsv")
    try:
        assert again.migrate() == []
        assert again._all("SELECT version FROM schema_migrations ORDER BY version") == [(1,), (2,), (3,)]
    finally:
        again.close()


def test_filters_and_paging(store: Store) -> None:
    _fill(store)
    chem = store.search(SearchQuery("chemical weapons", limit=100))
    assert len(chem.hits) == 15 and not chem.has_more
    assert all("chemical weapons" in h.content for h in chem.hits)
    lavrov = store.search(SearchQuery("chemical weapons", speaker="Lavrov", limit=100)).hits
    assert lavrov and all(h.speaker == "Sergey Lavrov" for h in lavrov)
    assert {h.id for h in store.search(SearchQuery("chemical", speaker="Sergei Lavrov", limit=100)).hits} == \
        {h.id for h in lavrov}
    dated = store.search(SearchQuery("chemical", since="2017-03-01", until="2017-06-30", limit=100)).hits
    assert dated and all("2017-03-01" <= (h.first_date or "") <= "2017-06-30" for h in dated)
    assert all(h.kind == "indirect" for h in store.search(SearchQuery("number", kind="indirect", limit=100)).hits)
    confident = store.search(SearchQuery("number", min_confidence=0.85, limit=100)).hits
    assert confident and all(h.confidence >= 0.85 for h in confident)
    bbc = store.search(SearchQuery("number", outlet="BBC", limit=100)).hits
    assert bbc and all(store.statement(h.id).occurrences[0].outlet == "BBC" for h in bbc)
    # filters only, no words: newest first
    recent = store.search(SearchQuery(speaker="Haley", limit=100)).hits
    assert [h.first_date for h in recent] == sorted((h.first_date for h in recent), reverse=True)
    # pages: disjoint, together the whole result, has_more on all but the last
    pages = [store.search(SearchQuery("number", limit=7, offset=o)) for o in (0, 7, 14, 21, 28)]
    ids = [h.id for p in pages for h in p.hits]
    assert len(ids) == len(set(ids)) == 30
    assert [p.has_more for p in pages] == [True, True, True, True, False]


def test_ranking_prefers_more_matching_text(store: Store) -> None:
    quotes = ["Sanctions hurt farmers and sanctions hurt workers and sanctions hurt everyone here",
              "The sanctions debate continues in the committee this week and next week too"]
    for i, q in enumerate(quotes):
        store.add(f"r{i}", extraction(f'Rex Tillerson said: "{q}."', [("Rex Tillerson", q)]))
    assert store.search(SearchQuery("sanctions")).hits[0].content.startswith("Sanctions hurt")


@pytest.mark.parametrize("query", ['"unbalanced', "chemical OR weapons", "NEAR(a b)", "content:x", "a* AND -b",
                                   "'; DROP TABLE statements; --", "(((", "a\"b\"c", "ü ö ä", "*", ")"])
def test_user_syntax_never_breaks_or_injects(store: Store, query: str) -> None:
    _fill(store, 3)
    store.search(SearchQuery(query))  # no exception
    try:
        store.search(SearchQuery(query, speaker=query))
    except InputError as exc:  # a speaker value without a name in it is refused in one line
        assert "no name" in str(exc)
    assert store.counts()["statements"] == 3


def test_bad_filters_are_input_errors(store: Store) -> None:
    with pytest.raises(InputError):
        store.search(SearchQuery("x", since="last week"))
    with pytest.raises(InputError):
        store.search(SearchQuery("x", kind="rumour"))
    with pytest.raises(InputError):
        store.statement(999)


def test_reingest_is_idempotent_and_a_changed_article_replaces_its_statements(store: Store) -> None:
    quote = "Our position on the treaty has not changed at all since last year"
    text = f'Rex Tillerson said: "{quote}." Washington.'
    ex = extraction(text, [("Rex Tillerson", quote)], key_date="2017-05-01", publisher="CNN")
    assert store.add("a", ex).status == "added"
    assert store.add("a", ex).status == "unchanged"
    assert store.counts() == {"articles": 1, "statements": 1, "occurrences": 1, "speakers": 1}
    new_quote = "We will withdraw from the treaty within the next six months"
    new_text = f'Rex Tillerson said: "{new_quote}." Washington.'
    assert store.add("a", extraction(new_text, [("Rex Tillerson", new_quote)])).status == "replaced"
    assert store.counts() == {"articles": 1, "statements": 1, "occurrences": 1, "speakers": 1}
    assert store.search(SearchQuery("treaty")).hits[0].content == new_quote
    assert store.search(SearchQuery("position")).hits == []


def test_a_failing_article_leaves_nothing_behind(store: Store) -> None:
    sink = StoreSink(store)
    good = extraction('Rex Tillerson said: "One good statement here about trade and the economy."',
                      [("Rex Tillerson", "One good statement here about trade and the economy.")])
    sink.write("good", good)
    bad = extraction('Nikki Haley said: "A statement that will fail halfway through being stored."',
                     [("Nikki Haley", "A statement that will fail halfway through being stored.")])
    original = store._add_occurrence

    def explode(*args, **kwargs):  # type: ignore[no-untyped-def]
        original(*args, **kwargs)
        raise RuntimeError("disk on fire")

    store._add_occurrence = explode  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        sink.write("bad", bad)
    store._add_occurrence = original  # type: ignore[method-assign]
    sink.commit()
    assert store.counts() == {"articles": 1, "statements": 1, "occurrences": 1, "speakers": 1}


CRASHER = textwrap.dedent('''
    import os, sys
    sys.path.insert(0, {tests!r})
    from store_fixtures import extraction
    from quotegraph.store import open_store
    from quotegraph.store.sink import StoreSink
    sink = StoreSink(open_store({target!r}, aliases={aliases!r}))
    for i in range(int(sys.argv[1])):
        q = f"Statement number {{i}} on the budget and the deficit this year"
        sink.write(f"k{{i}}", extraction(f'Rex Tillerson said: "{{q}}." Washington.', [("Rex Tillerson", q)]))
        if i % 4 == 3:
            sink.commit()
        if i == int(sys.argv[2]):
            os._exit(9)   # killed mid-batch, mid-transaction
    sink.close()
''')


def test_crash_mid_batch_then_rerun_completes_without_duplicates(store_target: str, tmp_path: Path) -> None:
    script = tmp_path / "crash.py"
    script.write_text(CRASHER.format(tests=str(Path(__file__).parent), target=store_target,
                                     aliases=str(tmp_path / "a.tsv")))
    crashed = subprocess.run([sys.executable, str(script), "10", "5"], capture_output=True, text=True)
    assert crashed.returncode == 9, crashed.stderr
    store = open_store(store_target, aliases=tmp_path / "a.tsv")
    try:
        assert store.counts()["articles"] == 4  # the committed batch only, whole
        assert store.counts()["statements"] == 4
    finally:
        store.close()
    done = subprocess.run([sys.executable, str(script), "10", "99"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    store = open_store(store_target, aliases=tmp_path / "a.tsv")
    try:
        assert store.counts() == {"articles": 10, "statements": 10, "occurrences": 10, "speakers": 1}
    finally:
        store.close()


def test_search_by_meaning_with_minilm(store: Store) -> None:
    """The real model: a paraphrase is found though it shares almost no words with the query."""
    store.embed_at_ingest = True
    quotes = [("Sergey Lavrov", "They showed us no proof whatsoever of what happened there"),
              ("Rex Tillerson", "Tariffs on steel imports will rise by ten percent next month"),
              ("Nikki Haley", "The children of Syria deserve to grow up in peace and safety")]
    for i, (name, q) in enumerate(quotes):
        store.add(f"m{i}", extraction(f'{name} said: "{q}." Moscow Syria.', [(name, q)]))
    hits = store.similar("no evidence was presented", SearchQuery(limit=3)).hits
    assert hits[0].content.startswith("They showed us no proof")
    assert hits[0].score > hits[1].score
    only = store.similar("no evidence was presented", SearchQuery(speaker="Haley")).hits
    assert [h.speaker for h in only] == ["Nikki Haley"]
    # cached by text: the same quote again is not embedded again
    before = store._one("SELECT count(*) FROM embeddings")[0]  # type: ignore[index]
    store.add("m9", extraction(f'Sergei Lavrov said: "{quotes[0][1]}." Moscow.', [("Sergei Lavrov", quotes[0][1])]))
    assert store._one("SELECT count(*) FROM embeddings")[0] == before  # type: ignore[index]


def test_similarity_index_ivf_finds_nearest_after_training(store: Store) -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(3000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with store.transaction():
        store.vectors.add(list(range(1, 3001)), vectors)
    assert store.vectors.maybe_retrain()
    assert store._one("SELECT count(*) FROM ivf_centroids")[0] == 54  # type: ignore[index]
    query = vectors[123] + 0.05 * rng.normal(size=384).astype(np.float32)
    query /= np.linalg.norm(query)
    assert store.vectors.search(query, k=1)[0][0] == 124


def _clustered(rng: Any, n: int, centres: int = 40) -> Any:
    """n unit vectors around a few random centres (numpy arrays), like topics of statements."""
    import numpy as np

    middle = rng.normal(size=(centres, 384)).astype(np.float32)
    vectors = middle[rng.integers(0, centres, size=n)] + 0.8 * rng.normal(size=(n, 384)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_similarity_index_tails_are_packed_and_search_is_exact(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries added after training wait in a tail, get packed into their list, and are all found."""
    import numpy as np

    from quotegraph.store import vector

    monkeypatch.setattr(vector, "TAIL_MAX", 8)  # ~22 new entries per list: most lists get packed
    rng = np.random.default_rng(2)
    vectors = _clustered(rng, 3600)
    with store.transaction():
        store.vectors.add(list(range(1, 2501)), vectors[:2500])
    assert store.vectors.maybe_retrain()
    for start in range(2500, 3600, 50):  # ingest-sized batches after training
        with store.transaction():
            store.vectors.add(list(range(start + 1, start + 51)), vectors[start : start + 50])
    with store.transaction():  # re-adding known hashes changes nothing
        store.vectors.add([1, 2, 3], vectors[:3])
    assert store.vectors.count() == 3600
    lists = store._all_binary("SELECT hashes FROM ivf_lists")
    packed = np.concatenate([np.frombuffer(h, dtype="<i8") for (h,) in lists])
    tail = [int(r[0]) for r in store._all("SELECT text_hash FROM ivf_tail")]
    assert sorted([*packed.tolist(), *tail]) == list(range(1, 3601))  # every entry exactly once
    assert len(packed) > 2500  # some tails were packed ...
    per_list = store._all("SELECT list_id, count(*) FROM ivf_tail GROUP BY list_id")
    assert all(n < 8 for _, n in per_list)  # ... and no tail outgrew its limit
    n_lists = store._one("SELECT count(*) FROM ivf_centroids")[0]  # type: ignore[index]
    queries = _clustered(np.random.default_rng(3), 5)
    for query in queries:
        exact = np.argsort(-(vectors @ query))[:10] + 1
        found = store.vectors.search(query, k=10, nprobe=n_lists)  # every list: must equal brute force
        assert [h for h, _ in found] == exact.tolist()
        assert all(abs(score - float(vectors[h - 1] @ query)) < 1e-5 for h, score in found)  # exact cosines
        assert store.vectors.search(query, k=10)[0][0] == exact[0]


def test_similarity_index_is_rebuilt_when_a_migration_asks(store: Store) -> None:
    """A store from before the packed index keeps its embeddings; the first search rebuilds the index."""
    import numpy as np

    vectors = _clustered(np.random.default_rng(4), 300)
    with store.transaction():
        store.vectors.add(list(range(1, 301)), vectors)
        store._run("DELETE FROM ivf_lists")
        store._run("DELETE FROM ivf_tail")
        store.set_meta("ivf_rebuild", "1")
    reader = open_store(store.url if store.backend == "postgres" else store.path, read_only=True)  # type: ignore[attr-defined]
    try:  # a read-only connection cannot rebuild: it searches exactly
        assert reader.vectors.search(vectors[7], k=2)[0] == (8, pytest.approx(1.0, abs=1e-5))
        assert reader.get_meta("ivf_rebuild") == "1"
    finally:
        reader.close()
    assert store.vectors.search(vectors[7], k=1) == [(8, pytest.approx(1.0, abs=1e-5))]
    assert store.get_meta("ivf_rebuild") is None and store.vectors.count() == 300
