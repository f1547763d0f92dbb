"""Word lists the extraction rules use, loaded once from documented data files."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


def data_lines(filename: str) -> list[list[str]]:
    """The tab-separated fields of each non-comment line of a packaged data file."""
    text = resources.files("quotegraph.data").joinpath(filename).read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            rows.append([field.strip() for field in line.split("\t")])
    return rows


@dataclass(frozen=True)
class Verb:
    lemma: str
    kind: str  # speech, writing, cognition, evidence
    weight: float  # prior confidence with a clause or quotation as content
    object_weight: float  # prior confidence with a direct object as content (0: never)


@lru_cache(maxsize=1)
def reporting_verbs() -> dict[str, Verb]:
    verbs: dict[str, Verb] = {}
    for lemma, kind, weight, object_weight in data_lines("reporting_verbs.tsv"):
        verbs.setdefault(lemma, Verb(lemma, kind, float(weight), float(object_weight)))
    return verbs


@lru_cache(maxsize=1)
def source_phrases() -> dict[tuple[str, ...], float]:
    return {tuple(phrase.split()): float(weight) for phrase, weight in data_lines("source_phrases.tsv")}


@lru_cache(maxsize=1)
def cue_prepositions() -> dict[tuple[str, str], float]:
    """(verb lemma, preposition) pairs whose prepositional object is the content."""
    return {(verb, prep): float(weight) for verb, prep, weight in data_lines("cue_prepositions.tsv")}


@lru_cache(maxsize=1)
def infinitive_cues() -> frozenset[str]:
    """Verb lemmas whose content can be a to-infinitive ("vowed to ...")."""
    return frozenset(row[0] for row in data_lines("infinitive_cues.txt"))
