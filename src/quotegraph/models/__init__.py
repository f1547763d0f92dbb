"""The trained extraction models (``fast``, ``accurate``) and which model a run uses by default.

Kept free of imports so that the CLI and other light modules can name the models without
loading spaCy, numpy or torch."""

MODEL_NAMES = ("rules", "fast", "accurate")
# fast: better exact and overlap scores than the rules on PolNeAR dev, in precision and recall,
# the same speaker resolution, ~10x the speed (docs/benchmarks.md).
DEFAULT_MODEL = "fast"
