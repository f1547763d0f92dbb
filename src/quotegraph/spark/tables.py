"""The tables the Spark job writes, and how one article's extraction becomes their rows.

Plain Python (no Spark import), so the row functions run in executors and are tested alone.
Every id is derived from the article key (``digest``), never from a counter or the order
tasks ran in: a re-run over the same input writes the same rows.

- ``articles``: one row per extracted article — its metadata and text, counts, and the
  extraction (attributions, speakers, damage; JSON) that ``quotegraph load`` stores.
- ``statements``: one row per attribution, with character offsets into the article text.
- ``speakers``: one row per speaker of an article (in-article resolution), with counts.
- ``errors``: one row per record that could not be read or extracted (stage ``read`` or ``extract``).
- ``skipped``: one row per record passed over, with the reason (``filters.SKIP_REASONS``, or a
  reader's reason such as ``not-html``).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from typing import Any

from quotegraph.model import Article, Extraction
from quotegraph.spark.read import digest
from quotegraph.store.base import iso_date, outlet_of

# (name, type) with types in Spark's DDL: turned into a StructType by the job.
ARTICLES = [
    ("key", "string"), ("article_id", "string"), ("file_index", "int"), ("position", "bigint"), ("unit", "string"),
    ("source", "string"), ("id", "string"), ("url", "string"), ("title", "string"), ("date", "string"),
    ("author", "string"), ("publisher", "string"), ("credit", "string"), ("language", "string"), ("path", "string"),
    ("outlet", "string"), ("text", "string"), ("statements", "int"), ("speakers", "int"),
    ("damage", "array<string>"), ("extraction", "string"),
]
STATEMENTS = [
    ("id", "string"), ("article_key", "string"), ("article_id", "string"), ("index", "int"),
    ("content_start", "int"), ("content_end", "int"), ("content_text", "string"),
    ("content_pieces", "array<array<int>>"), ("source_start", "int"), ("source_end", "int"),
    ("source_text", "string"), ("cue_start", "int"), ("cue_end", "int"), ("cue_text", "string"),
    ("kind", "string"), ("confidence", "double"), ("rule", "string"), ("speaker_id", "string"),
    ("speaker_name", "string"), ("speaker_title", "string"), ("speaker_named", "boolean"),
    ("resolution", "string"), ("date", "string"), ("url", "string"), ("outlet", "string"),
    ("file_index", "int"), ("position", "bigint"),
]
SPEAKERS = [
    ("article_key", "string"), ("article_id", "string"), ("speaker_id", "string"), ("name", "string"),
    ("title", "string"), ("named", "boolean"), ("mentions", "int"), ("statements", "int"),
]
ERRORS = [
    ("key", "string"), ("source", "string"), ("unit", "string"), ("position", "bigint"), ("stage", "string"),
    ("error", "string"), ("article_id", "string"), ("url", "string"), ("traceback", "string"),
]
SKIPPED = [("key", "string"), ("source", "string"), ("unit", "string"), ("position", "bigint"), ("reason", "string")]


def ddl(columns: list[tuple[str, str]]) -> str:
    """The schema as a DDL string (``createDataFrame`` takes one)."""
    return ", ".join(f"`{name}` {kind}" for name, kind in columns)


def extraction_payload(extraction: Extraction) -> str:
    """The extraction without its article (the article is in the row's own columns)."""
    data = extraction.to_json()
    del data["article"]
    return json.dumps(data, ensure_ascii=False)


def rebuild(row: dict[str, Any]) -> Extraction:
    """The Extraction an ``articles`` row holds: its article columns plus its extraction payload."""
    parts = Extraction.from_json({"article": {"text": ""}, **json.loads(row["extraction"])})
    return replace(parts, article=Article(**{name: row.get(name) for name in Article.__dataclass_fields__}))


def article_row(key: str, file_index: int, position: int, unit: str, source: str,
                extraction: Extraction) -> tuple[Any, ...]:
    a = extraction.article
    return (key, digest(key), file_index, position, unit, source, a.id, a.url, a.title, a.date, a.author,
            a.publisher, a.credit, a.language, a.path, outlet_of(a.url, a.publisher), a.text,
            len(extraction.attributions), len(extraction.speakers), sorted({d.kind for d in extraction.damage}),
            extraction_payload(extraction))


def statement_rows(key: str, file_index: int, position: int, extraction: Extraction) -> list[tuple[Any, ...]]:
    a = extraction.article
    outlet, date = outlet_of(a.url, a.publisher), iso_date(a.date)
    rows = []
    for index, att in enumerate(extraction.attributions):
        speaker = extraction.speaker(att.speaker_id)
        c, s, q = att.content, att.source, att.cue
        rows.append((
            digest(f"{key}#{index}"), key, digest(key), index, c.start, c.end, c.text,
            [list(p) for p in c.pieces] if c.pieces else None,
            s.start if s else None, s.end if s else None, s.text if s else None,
            q.start if q else None, q.end if q else None, q.text if q else None,
            att.kind.value, float(att.confidence), att.rule, att.speaker_id,
            speaker.name if speaker else None, speaker.title if speaker else None,
            speaker.named if speaker else None, att.resolution.method.value, date, a.url, outlet,
            file_index, position,
        ))
    return rows


def speaker_rows(key: str, extraction: Extraction) -> list[tuple[Any, ...]]:
    said = Counter(att.speaker_id for att in extraction.attributions)
    return [(key, digest(key), s.id, s.name, s.title, s.named, len(s.mentions), said.get(s.id, 0))
            for s in extraction.speakers]


__all__ = ["ARTICLES", "ERRORS", "SKIPPED", "SPEAKERS", "STATEMENTS", "article_row", "ddl", "extraction_payload",
           "rebuild", "speaker_rows", "statement_rows"]
