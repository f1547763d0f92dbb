"""Scraper damage for evaluation: reproducible, and the gold moves with the text."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from quotegraph.eval.damage import Damaged, Edit, damage_article, scraper_edits, with_damage
from quotegraph.eval.polnear import GoldArticle, GoldAttribution
from quotegraph.model import Span

TEXT = ("Senator Jane Okafor said on Tuesday that the bridge would reopen in the spring. "
        "The mayor disagreed with her in a long statement on Wednesday night.\n\n"
        '"We are not done yet, and we will not be done for a long time," the mayor told reporters '
        "outside City Hall after the meeting.\n\nOthers were not so sure about any of it at all.\n")


def _gold() -> GoldArticle:
    def at(phrase: str) -> Span:
        start = TEXT.index(phrase)
        return Span.of(TEXT, start, start + len(phrase))

    quote = '"We are not done yet, and we will not be done for a long time,"'
    return GoldArticle("a1", TEXT, "x1", (
        GoldAttribution(content=at("the bridge would reopen in the spring."), source=at("Senator Jane Okafor"), cue=at("said")),
        GoldAttribution(content=at(quote), source=at("the mayor"), cue=at("told reporters")),
    ))


def test_pieces_keep_exactly_the_characters_that_survive() -> None:
    rng = random.Random(7)
    for _ in range(200):
        edits = []
        for _ in range(rng.randint(0, 6)):
            a = rng.randrange(len(TEXT))
            b = min(len(TEXT), a + rng.randint(0, 12))
            edits.append(Edit(a, b, rng.choice(["", "", "X\n\n"])))
        damaged = Damaged(TEXT, edits)
        a = rng.randrange(len(TEXT))
        b = rng.randint(a + 1, len(TEXT))
        kept = [i for i in range(a, b) if damaged.position[i] >= 0]
        piece = damaged.piece(a, b)
        if not kept:
            assert piece is None
            continue
        assert piece is not None
        # every kept character lands where the map says, in order
        assert all(damaged.text[damaged.position[i]] == TEXT[i] for i in kept)
        assert piece == (damaged.position[kept[0]], damaged.position[kept[-1]] + 1)


def test_damage_is_reproducible_and_moves_the_gold() -> None:
    gold = _gold()
    first, again, other = damage_article(gold, 1), damage_article(gold, 1), damage_article(gold, 2)
    assert first == again
    assert first.text != TEXT and other.text != first.text
    for damaged in (first, other):
        for moved in damaged.attributions:
            for span in (moved.content, moved.source, moved.cue):
                if span is not None:
                    assert damaged.text[span.start : span.end] == span.text or span.pieces
                    assert span.text.strip() == span.text


def test_dropped_link_words_glue_their_neighbours() -> None:
    text = "one two three four five six seven eight nine ten eleven twelve"
    for seed in range(50):
        edits = [e for e in scraper_edits(text, random.Random(seed)) if e.text == "" and e.end - e.start > 1]
        if edits:
            damaged = Damaged(text, edits).text
            assert len(damaged.split()) < len(text.split())  # words gone and two neighbours glued
            assert "  " not in damaged
            return
    raise AssertionError("no dropped link in 50 seeds at the module's rate")


def test_eval_damage_from_the_cli_scores_the_damaged_text(tmp_path: Path) -> None:
    (tmp_path / "mini" / "text").mkdir(parents=True)
    (tmp_path / "mini" / "attributions").mkdir()
    gold = _gold()
    (tmp_path / "mini" / "text" / "a1.txt").write_text(TEXT, encoding="utf-8")
    lines: list[str] = []
    for k, g in enumerate(gold.attributions, start=1):
        ids = []
        for role in ("Content", "Source", "Cue", "Attribution"):
            span = getattr(g, role.lower(), None) or g.cue
            ids.append(f"T{len(lines) + 1}")
            lines.append(f"{ids[-1]}\t{role} {span.start} {span.end}\t{span.text}")
        lines.append(f"E{k}\tAttribution:{ids[3]} Source:{ids[1]} Cue:{ids[2]} Content:{ids[0]}")
    (tmp_path / "mini" / "attributions" / "a1_x1.ann").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def run(*args: str) -> dict:
        done = subprocess.run([sys.executable, "-m", "quotegraph", "eval", "polnear", "--data", str(tmp_path),
                               "--split", "mini", "--json", "--quiet", *args], capture_output=True, timeout=300)
        assert done.returncode in (0, 2) and "Traceback" not in done.stderr.decode(), done.stderr.decode()
        return json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr.decode()}

    seed = next(s for s in range(100) if damage_article(gold, s).text != TEXT)
    damaged = damage_article(gold, seed).text
    predictions = tmp_path / "pred.jsonl"
    live = run("--damage", str(seed), "--predictions", str(predictions))
    assert live["scores"]["content"]["overlap"]["tp"] >= 1
    for row in map(json.loads, predictions.read_text(encoding="utf-8").splitlines()):
        for attribution in row["attributions"]:
            for start, end in attribution["content"]:
                assert damaged[start:end].strip() == damaged[start:end] != ""
    # the saved offsets are into the damaged text: scoring them again needs the same damage
    assert run("--damage", str(seed), "--score", str(predictions))["scores"] == live["scores"]


def test_training_damage_replaces_a_reproducible_share_of_the_articles() -> None:
    articles = [GoldArticle(f"a{i}", _gold().text, "x1", _gold().attributions) for i in range(200)]
    assert with_damage(articles, 0.0, 3) == articles
    mixed = with_damage(articles, 0.5, 3)
    assert mixed == with_damage(articles, 0.5, 3) and mixed != with_damage(articles, 0.5, 4)
    changed = [m for m, a in zip(mixed, articles) if m.text != a.text]
    assert 60 <= len(changed) <= 140  # about half; an article whose draw did no damage stays as it was
    assert all(m == damage_article(a, 3) for m, a in zip(mixed, articles) if m.text != a.text)
    assert all(m.name == a.name for m, a in zip(mixed, articles))
    with pytest.raises(ValueError, match="between 0 and 1"):
        with_damage(articles, 1.5, 3)


def test_train_rejects_a_damaged_fraction_outside_zero_to_one(tmp_path: Path) -> None:
    for split in ("train", "dev"):
        (tmp_path / split / "text").mkdir(parents=True)
    done = subprocess.run([sys.executable, "-m", "quotegraph", "train", "--model", "fast", "--train", str(tmp_path / "train"),
                           "--dev", str(tmp_path / "dev"), "--out", str(tmp_path / "out"), "--damaged-fraction", "1.5"],
                          capture_output=True, timeout=120)
    err = done.stderr.decode()
    assert done.returncode != 0 and "Traceback" not in err
    assert "--damaged-fraction must be between 0 and 1" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
