"""The speaker scorer's name comparison and outcome rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quotegraph.errors import InputError
from quotegraph.eval.speakers import judge, normalise_name, read_gold
from quotegraph.model import Speaker


@pytest.mark.parametrize(
    "a, b",
    [
        ("The New York Post", "New York Post"),
        ("Mrs. Clinton", "clinton"),
        ("James O’Neill", "James O'Neill"),
        ("Sen. Lindsey Graham", "Lindsey Graham"),
        ("Donald Trump's campaign", "Donald Trump campaign"),
    ],
)
def test_names_that_compare_equal(a: str, b: str) -> None:
    assert normalise_name(a) == normalise_name(b)


def test_different_people_stay_different() -> None:
    assert normalise_name("Bill Clinton") != normalise_name("Hillary Clinton")


def test_judge_outcomes() -> None:
    named = Speaker("s1", "Hillary Clinton")
    unnamed = Speaker("s2", "a source", named=False)
    assert judge("Hillary Clinton", named) == "correct"
    assert judge(None, unnamed) == "correct"
    assert judge(None, None) == "correct"
    assert judge(None, named) == "wrong_name"
    assert judge("Bill Clinton", named) == "wrong_name"
    assert judge("Hillary Clinton", unnamed) == "missing"
    assert judge("Hillary Clinton", None) == "missing"


def test_read_gold_groups_by_article_and_rejects_bad_lines(tmp_path: Path) -> None:
    good = tmp_path / "gold.jsonl"
    rows = [
        {"doc": "a", "source": [[0, 5]], "mention": "Trump", "speaker": "Donald Trump", "type": "surname"},
        {"doc": "b", "source": [[3, 5]], "mention": "he", "speaker": None, "type": "pronoun"},
        {"doc": "a", "source": [[9, 11]], "mention": "he", "speaker": "Donald Trump", "type": "pronoun"},
    ]
    good.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    gold = read_gold(good)
    assert [r["mention"] for r in gold["a"]] == ["Trump", "he"]
    assert gold["a"][0]["source"] == [(0, 5)]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"doc": "a"}\n', encoding="utf-8")
    with pytest.raises(InputError):
        read_gold(bad)
