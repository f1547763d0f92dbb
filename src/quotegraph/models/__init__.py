"""The trained extraction models (``fast``, ``accurate``) and which model a run uses by default.

Kept free of imports so that the CLI and other light modules can name the models without
loading spaCy, numpy or torch."""

import sys
from pathlib import Path

MODEL_NAMES = ("rules", "fast", "accurate")
# fast: better exact and overlap scores than the rules on PolNeAR dev, in precision and recall,
# the same speaker resolution, ~10x the speed (docs/benchmarks.md).
DEFAULT_MODEL = "fast"


def shipped_model_dir(name: str) -> Path:
    """The folder of a model shipped with quotegraph: the checkout's ``models/<name>`` (an
    install from the repository, editable or not run from it), else where a wheel puts it,
    ``<prefix>/share/quotegraph/models/<name>`` (pyproject's data-files)."""
    checkout = Path(__file__).resolve().parents[3] / "models" / name
    if checkout.is_dir():
        return checkout
    installed = Path(sys.prefix) / "share" / "quotegraph" / "models" / name
    return installed if installed.is_dir() else checkout
