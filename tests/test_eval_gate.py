"""Evaluation gate: the shipped extractor must keep its PolNeAR dev scores (floors a little
under the measured numbers in docs/benchmarks.md), so an accuracy regression fails CI."""

from __future__ import annotations

import os
from pathlib import Path

from quotegraph.eval.run import evaluate_polnear

POLNEAR = Path(os.environ.get("QUOTEGRAPH_POLNEAR", Path(__file__).resolve().parents[2] / "shared" / "data" / "polnear"))

# measured 2026-11-29: overlap 0.684 / 0.663 / 0.665, exact 0.626 / 0.605 / 0.456
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
    report = evaluate_polnear(POLNEAR, "dev", progress=False)
    assert report.articles == 84
    missed = {
        f"{level}/{mode}": round(report.score(level, mode).f1, 3)
        for (level, mode), floor in FLOORS.items()
        if report.score(level, mode).f1 < floor
    }
    assert not missed, f"below the floor: {missed}"
