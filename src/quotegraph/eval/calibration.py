"""Does a confidence of 0.8 mean 80% right? Precision of predicted attributions per confidence band.

Each predicted attribution is judged right or wrong with the attribution-level criteria of
:mod:`quotegraph.eval.score` (content AND cue AND source match one gold attribution, one-to-one):
once with OVERLAP matching (the statement is about right) and once with EXACT matching (every
boundary is right). The table groups predictions by confidence band; the sweep shows what
``--min-confidence T`` would give on the same articles (attribution-level precision, recall, F1),
so a user can pick the trade between missing statements and wrong ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from quotegraph.eval.score import (HasElements, Score, Triple, _triples, attribution_candidates, greedy_matched,
                                   triple, triple_key)

BANDS = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
THRESHOLDS = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass
class Judged:
    confidence: float
    exact: bool
    overlap: bool


@dataclass
class Calibration:
    """Collects judged predictions article by article; formats the band table and the sweep."""

    judged: list[Judged] = field(default_factory=list)
    gold: int = 0

    def add(self, text: str, gold: Iterable[HasElements], predicted: Sequence[Any]) -> None:
        gold_triples = _triples(text, gold)
        self.gold += len(gold_triples)
        pred_triples: list[tuple[float, Triple]] = []
        seen: set[tuple[Any, ...]] = set()
        # the most confident copy of a duplicated prediction is the one that counts
        for attribution in sorted(predicted, key=lambda a: -float(getattr(a, "confidence", 1.0))):
            found = triple(text, attribution)
            if found is not None and triple_key(found) not in seen:
                seen.add(triple_key(found))
                pred_triples.append((float(getattr(attribution, "confidence", 1.0)), found))
        exact_candidates, overlap_candidates = attribution_candidates([t for _, t in pred_triples], gold_triples)
        exact, overlap = greedy_matched(exact_candidates), greedy_matched(overlap_candidates)
        for index, (confidence, _) in enumerate(pred_triples):
            self.judged.append(Judged(confidence, index in exact, index in overlap))

    def bands(self) -> list[dict[str, Any]]:
        rows = []
        for low, high in zip(BANDS, BANDS[1:]):
            inside = [j for j in self.judged if low <= j.confidence < high or (high == 1.0 and j.confidence == 1.0)]
            rows.append({
                "band": f"{low:.1f}-{high:.1f}",
                "predictions": len(inside),
                "mean_confidence": _mean([j.confidence for j in inside]),
                "precision_overlap": _mean([float(j.overlap) for j in inside]),
                "precision_exact": _mean([float(j.exact) for j in inside]),
            })
        return rows

    def sweep(self) -> list[dict[str, Any]]:
        rows = []
        for threshold in THRESHOLDS:
            kept = [j for j in self.judged if j.confidence >= threshold]
            row: dict[str, Any] = {"min_confidence": threshold, "predictions": len(kept)}
            for mode in ("overlap", "exact"):
                right = sum(getattr(j, mode) for j in kept)
                score = Score(tp=right, fp=len(kept) - right, fn=self.gold - right)
                row[mode] = {"precision": round(score.precision, 3), "recall": round(score.recall, 3),
                             "f1": round(score.f1, 3)}
            rows.append(row)
        return rows

    def to_json(self) -> dict[str, Any]:
        return {"gold_attributions": self.gold, "bands": self.bands(), "min_confidence": self.sweep()}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)

    def format_table(self) -> str:
        lines = ["calibration: precision of predicted attributions per confidence band",
                 f"{'band':<9} {'n':>6} {'mean conf':>9} {'P overlap':>9} {'P exact':>8}"]
        for row in self.bands():
            if row["predictions"]:
                lines.append(f"{row['band']:<9} {row['predictions']:>6} {row['mean_confidence']:>9.3f} "
                             f"{row['precision_overlap']:>9.3f} {row['precision_exact']:>8.3f}")
        lines.append("")
        lines.append("--min-confidence: attribution-level P / R / F1 of what is kept")
        lines.append(f"{'min':<5} {'kept':>6}   {'overlap P/R/F1':<20} {'exact P/R/F1':<20}")
        for row in self.sweep():
            o, e = row["overlap"], row["exact"]
            lines.append(f"{row['min_confidence']:<5.1f} {row['predictions']:>6}   "
                         f"{o['precision']:.3f}/{o['recall']:.3f}/{o['f1']:.3f}      "
                         f"{e['precision']:.3f}/{e['recall']:.3f}/{e['f1']:.3f}")
        return "\n".join(lines)


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 3) if values else 0.0
