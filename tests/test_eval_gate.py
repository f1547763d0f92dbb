"""Evaluation gate: the rule extractor must keep its PolNeAR dev scores (floors a little
under the measured numbers in docs/benchmarks.md), so an accuracy regression fails CI. The
trained models have their own gates (test_fast_model.py, test_accurate_model.py)."""

from __future__ import annotations

import os
from pathlib import Path

from quotegraph.eval.run import evaluate_polnear
from quotegraph.ingest.text import article_from_text
from quotegraph.pipeline import Pipeline

POLNEAR = Path(os.environ.get("QUOTEGRAPH_POLNEAR", Path(__file__).resolve().parents[2] / "shared" / "data" / "polnear"))

# measured 2026-12-07 (with signed quotations): overlap 0.692 / 0.671 / 0.670, exact 0.635 / 0.613 /
# 0.465, attribution overlap 0.615
FLOORS = {
    ("source", "overlap"): 0.66,
    ("cue", "overlap"): 0.65,
    ("content", "overlap"): 0.65,
    ("source", "exact"): 0.61,
    ("cue", "exact"): 0.59,
    ("content", "exact"): 0.44,
    ("attribution", "overlap"): 0.59,
}


def test_rules_extractor_keeps_its_dev_scores() -> None:
    pipeline = Pipeline(model="rules")
    report = evaluate_polnear(POLNEAR, "dev", extractor=lambda text: pipeline(article_from_text(text)), progress=False)
    assert report.articles == 84
    missed = {
        f"{level}/{mode}": round(report.score(level, mode).f1, 3)
        for (level, mode), floor in FLOORS.items()
        if report.score(level, mode).f1 < floor
    }
    assert not missed, f"below the floor: {missed}"
