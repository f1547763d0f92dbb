"""The shipped models are found from a checkout, and every file of them goes into a wheel
(pyproject's data-files, read by quotegraph.models.shipped_model_dir after an install)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from quotegraph.models import shipped_model_dir

ROOT = Path(__file__).resolve().parents[1]


def test_a_checkout_finds_its_models() -> None:
    assert (shipped_model_dir("fast") / "fast.npz").is_file()
    assert (shipped_model_dir("accurate") / "model.safetensors").is_file()


def test_every_model_file_is_in_the_wheel() -> None:
    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    for name in ("fast", "accurate"):
        listed = set(data_files[f"share/quotegraph/models/{name}"])
        on_disk = {f"models/{name}/{p.name}" for p in (ROOT / "models" / name).iterdir() if p.is_file()}
        assert listed == on_disk
