"""Statements whose format fixes every boundary, added behind any extractor: signed quotations
(``signed.py``) and transcript turns (``transcript.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quotegraph.extractors.signed import SIGNED_RULE, add_signed
from quotegraph.extractors.transcript import TRANSCRIPT_RULE, add_transcript

if TYPE_CHECKING:
    from quotegraph.clean import Cleaned
    from quotegraph.model import Attribution

FORMATTED_RULES = (SIGNED_RULE, TRANSCRIPT_RULE)
"""The ``rule`` of every attribution that ``add_formatted`` adds."""


def add_formatted(cleaned: Cleaned, attributions: list[Attribution]) -> list[Attribution]:
    """``attributions`` plus the signed quotations and transcript turns none of them covers."""
    return add_transcript(cleaned, add_signed(cleaned, attributions))
