"""Quote dedup: exact copies, near-duplicates (edited, truncated) merge; different quotes never do."""

from __future__ import annotations

import pytest
from store_fixtures import backend, extraction, store, store_target  # noqa: F401 (fixtures)

from quotegraph.store import Store
from quotegraph.store.dedup import canonical, fingerprints, near_duplicate

QUOTE = "We have seen no evidence that the government used chemical weapons against its own people"


def test_canonical_ignores_marks_case_and_spacing() -> None:
    assert canonical("“We  won’t — ever…” ") == canonical('"we won\'t - ever"')


@pytest.mark.parametrize("other, same", [
    (QUOTE, True),
    (QUOTE.replace("seen", "found"), True),                           # a word changed
    (QUOTE.split(" against")[0], True),                               # truncated end
    (QUOTE.replace("We have seen ", ""), True),                       # truncated start
    (QUOTE.replace("no evidence", "evidence"), False),                # negation dropped
    (QUOTE.replace("seen no", "not seen any"), False),
    ("We have seen no evidence that the rebels used chemical weapons in Idlib last week", False),
    ("The government used chemical weapons against its own people, the report said clearly", False),
])
def test_near_duplicate_verdicts(other: str, same: bool) -> None:
    assert near_duplicate(canonical(QUOTE), canonical(other)).same is same


def test_numbers_and_short_quotes_never_near_merge() -> None:
    assert not near_duplicate(canonical("At least 50 people were killed in the attack on Monday"),
                              canonical("At least 5 people were killed in the attack on Monday")).same
    assert not near_duplicate(canonical("This is wrong"), canonical("This is right")).same


def test_truncated_quote_shares_a_fingerprint() -> None:
    assert fingerprints(canonical(QUOTE)) & fingerprints(canonical(QUOTE.split(" against")[0]))


def _carry(store: Store, key: str, outlet: str, date: str, quote: str, speaker: str = "Nikki Haley") -> None:
    text = f'{speaker}, the US ambassador, said: "{quote}." The Security Council met in New York on Syria.'
    store.add(key, extraction(text, [(speaker, quote)], key_date=date, publisher=outlet,
                              url=f"https://{outlet.lower()}.example/{key}"))


def test_wire_copy_becomes_one_statement_with_many_occurrences(store: Store) -> None:
    _carry(store, "a", "Reuters", "2017-04-06", QUOTE)
    _carry(store, "b", "CNN", "2017-04-05", QUOTE)                         # exact copy, earlier
    _carry(store, "c", "BBC", "2017-04-07", QUOTE.replace("seen", "found"))  # a word changed
    _carry(store, "d", "Fox", "2017-04-08", QUOTE.split(" against")[0])      # truncated
    _carry(store, "e", "Reuters", "2017-04-08", QUOTE.replace("no evidence", "evidence"))  # different
    counts = store.counts()
    assert counts["statements"] == 2 and counts["occurrences"] == 5
    hits = store.search(store_query("evidence")).hits
    assert sorted(h.occurrences for h in hits) == [1, 4]
    merged = store.statement(next(h.id for h in hits if h.occurrences == 4))
    assert merged.hit.first_date == "2017-04-05"
    assert merged.hit.outlets == 4
    assert merged.hit.content == QUOTE  # the fullest version is the statement's text
    matches = sorted(o.match.split(":")[0] for o in merged.occurrences)
    assert matches == ["exact", "near-duplicate", "new", "truncated"]
    for o in merged.occurrences:
        text = store._one("SELECT text FROM articles WHERE key = ?", (o.article_key,))[0]  # type: ignore[index]
        assert text[o.start:o.end] == o.content


def store_query(text: str):  # type: ignore[no-untyped-def]
    from quotegraph.store import SearchQuery

    return SearchQuery(text=text, kind="direct")


def test_same_words_from_different_speakers_stay_apart(store: Store) -> None:
    _carry(store, "a", "Reuters", "2017-04-06", QUOTE, speaker="Nikki Haley")
    _carry(store, "b", "CNN", "2017-04-06", QUOTE, speaker="Rex Tillerson")
    assert store.counts()["statements"] == 2
