"""Evaluation against annotated corpora (PolNeAR): a gold reader, a scorer and a runner."""
