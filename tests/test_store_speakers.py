"""Cross-article speakers: variants merge, namesakes in unrelated contexts stay apart, corrections stick."""

from __future__ import annotations

from pathlib import Path

from store_fixtures import backend, extraction, store, store_target  # noqa: F401 (fixtures)

from quotegraph.store import Store, open_store
from quotegraph.store.speakers import name_key, read_alias_file

RUSSIA = ("Russia rejected the claims on Monday. Moscow said the Kremlin and the Syrian government in Damascus "
          "had no part in it; Syria and Russia called for an inquiry by the United Nations.")
SPORT = ("The Lakers beat the Celtics in Boston. Los Angeles played without James; the NBA fined the coach "
         "after the game at the Garden.")
WESTMINSTER = ("Parliament voted in London on Tuesday. Downing Street said Brexit talks with Brussels would "
               "resume, and the Conservatives and Labour traded blame in the Commons.")


def _said(store: Store, key: str, name: str, quote: str, background: str, title: str | None = None) -> int:
    text = f'{name} said: "{quote}" {background}'
    store.add(key, extraction(text, [(name, quote)], key_date="2017-04-10", publisher=key.split("-")[0],
                              titles={name: title} if title else None))
    return store.search(_q(quote)).hits[0].speaker_id  # type: ignore[return-value]


def _q(quote: str):  # type: ignore[no-untyped-def]
    from quotegraph.store import SearchQuery

    return SearchQuery(text=" ".join(quote.split()[:4]))


def test_name_keys_fold_transliterations() -> None:
    assert name_key("Sergey Lavrov") == name_key("Sergei Lavrov") == name_key("Mr. Sergei V. Lavrov")
    assert name_key("Dmitry Peskov") == name_key("Dmitrii Peskov") == name_key("Dmitriy Peskov")
    assert name_key("Aleksandr Novak") == name_key("Alexander Novak")
    assert name_key("Boris Johnson") != name_key("Magic Johnson")


def test_variants_merge_with_explanations(store: Store) -> None:
    a = _said(store, "rt-1", "Sergey Lavrov", "The strike was an act of aggression against a sovereign state.",
              RUSSIA, title="Foreign Minister")
    b = _said(store, "tass-2", "Sergei Lavrov", "We will not allow our partners to dictate terms to us.", RUSSIA)
    c = _said(store, "ria-3", "Lavrov", "Washington is playing a dangerous game in the region now.", RUSSIA)
    assert a == b == c
    links = store.explain(a)
    assert [link["rule"] for link in links] == ["new", "full-name", "surname-in-context"]
    assert "transliteration" in links[1]["explanation"]
    assert "syria" in links[2]["explanation"].lower() or "moscow" in links[2]["explanation"].lower()
    assert {"Sergey Lavrov", "Sergei Lavrov", "Lavrov"} <= set(store.speaker(a).aliases)
    # the speaker filter finds all three by surname, and by either spelling of the full name
    from quotegraph.store import SearchQuery

    assert len(store.search(SearchQuery(speaker="Lavrov")).hits) == 3
    assert len(store.search(SearchQuery(speaker="Sergei Lavrov")).hits) == 3


def test_namesakes_in_unrelated_contexts_stay_apart(store: Store) -> None:
    uk = _said(store, "bbc-1", "Boris Johnson", "We will take back control of our borders and our laws.", WESTMINSTER,
               title="Foreign Secretary")
    nba = _said(store, "espn-1", "Johnson", "We played hard on defence and it paid off in the end.", SPORT)
    assert uk != nba
    assert store.explain(nba)[0]["rule"] == "surname-no-context"
    magic = _said(store, "espn-2", "Magic Johnson", "The team has the talent to win it all this season.", SPORT)
    assert magic not in (uk, nba)
    # a second bare "Johnson" with two full-named Johnsons around is ambiguous: kept apart too
    again = _said(store, "sky-1", "Johnson", "The deal on the table is a good deal for the country.", WESTMINSTER)
    assert again not in (uk, magic)


def test_unnamed_speakers_never_merge(store: Store) -> None:
    for key in ("a-1", "b-2"):
        text = f'A senior official said: "The talks failed because of {key}." ' + RUSSIA
        store.add(key, extraction(text, [("A senior official", f"The talks failed because of {key}.")],
                                  unnamed={"A senior official"}))
    assert store.counts()["speakers"] == 2


def test_corrections_survive_reingesting(store_target: str, tmp_path: Path) -> None:
    aliases = tmp_path / "corrections.tsv"
    store = open_store(store_target, aliases=aliases)
    try:
        uk = _said(store, "bbc-1", "Boris Johnson", "We will take back control of our borders and our laws.",
                   WESTMINSTER)
        bare = _said(store, "sky-1", "Johnson", "Parliament must respect the result of the referendum now.", SPORT)
        assert uk != bare  # too little shared context to merge on its own
        store.merge_speakers("Boris Johnson", "Johnson", note="same man, sky-1 is about Brexit")
        assert store.search(_q("Parliament must respect the result")).hits[0].speaker_id == uk
        assert [c.action for c in read_alias_file(aliases)] == ["same"]
        # a wrong full-name merge, split back for one article
        _said(store, "local-1", "Boris Johnson", "The new bakery on Main Street will open next week.", SPORT)
        store.split_speaker("Boris Johnson", "local-1")
        baker = store.search(_q("The new bakery on")).hits[0].speaker_id
        assert baker != uk
        assert store.explain(baker)[0]["rule"] == "user-apart"
    finally:
        store.close()
    # re-ingest everything into a brand-new store with the same alias file: same grouping
    fresh_target = str(tmp_path / "fresh.db") if not store_target.startswith("postgres") else store_target
    if fresh_target == store_target:
        import psycopg

        url = store_target
        with psycopg.connect(url, autocommit=True) as conn:
            for table in ("occurrences", "statement_prints", "statements", "speaker_links", "speaker_aliases",
                          "speakers", "articles", "embeddings", "ivf_lists", "ivf_tail", "ivf_centroids",
                          "speaker_corrections"):
                conn.execute(f"DELETE FROM {table}")
    store = open_store(fresh_target, aliases=aliases)
    try:
        uk = _said(store, "bbc-1", "Boris Johnson", "We will take back control of our borders and our laws.",
                   WESTMINSTER)
        assert _said(store, "sky-1", "Johnson", "Parliament must respect the result of the referendum now.",
                     SPORT) == uk
        baker = _said(store, "local-1", "Boris Johnson", "The new bakery on Main Street will open next week.", SPORT)
        assert baker != uk
        # and re-ingesting the same article again changes nothing
        assert store.add("sky-1", extraction('Johnson said: "Parliament must respect the result of the referendum '
                                             'now." ' + SPORT, [("Johnson", "Parliament must respect the result of "
                                                                 "the referendum now.")], key_date="2017-04-10",
                                             publisher="sky")).status == "unchanged"
    finally:
        store.close()


def test_wikidata_ids_from_a_user_table(store: Store) -> None:
    a = _said(store, "rt-1", "Sergey Lavrov", "The strike was an act of aggression against a sovereign state.", RUSSIA)
    store.set_qids({"Sergei Lavrov": "Q172858"})
    assert store.speaker(a).qid == "Q172858"
