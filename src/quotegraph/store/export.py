"""Writing a store out: Quotebank-style JSON lines, CSV, Parquet, or brat standoff per article.

The JSON lines use Quotebank's quotation-centric fields (quoteID, quotation, speaker, qids,
date, numOccurrences, probas, urls, phase) so existing Quotebank tooling reads them, plus
quotegraph's own (kind, outlets, occurrences with article keys and offsets).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from quotegraph.errors import InputError
from quotegraph.model import Extraction
from quotegraph.store.base import Store

FORMATS = ("jsonl", "csv", "parquet", "brat")
CSV_FIELDS = ("quoteID", "quotation", "speaker", "qids", "date", "numOccurrences", "numOutlets", "kind",
              "confidence", "urls")


def quotebank_record(statement: dict[str, Any]) -> dict[str, Any]:
    """One statement in Quotebank's shape (dates as 'YYYY-MM-DD 00:00:00', probas as [[name, p], ...])."""
    date = statement["first_date"]
    speaker = statement["speaker"] if statement["speaker_named"] else None
    confidence = round(statement["confidence"], 4)
    probas = [[speaker, confidence], ["None", round(1 - confidence, 4)]] if speaker else [["None", 1.0]]
    urls = list(dict.fromkeys(m["url"] for m in statement["mentions"] if m["url"]))
    return {
        "quoteID": f"{date or '0000-00-00'}-{statement['id']:06d}",
        "quotation": statement["content"],
        "speaker": speaker or "None",
        "qids": [statement["qid"]] if statement["qid"] else [],
        "date": f"{date} 00:00:00" if date else None,
        "numOccurrences": statement["occurrences"],
        "probas": probas,
        "urls": urls,
        "phase": "Q",  # quotegraph's own extraction, not a Quotebank phase
        "kind": statement["kind"],
        "numOutlets": statement["outlets"],
        "occurrences": statement["mentions"],
    }


def records(store: Store) -> Iterator[dict[str, Any]]:
    for statement in store.iter_statements():
        yield quotebank_record(statement)


def write_jsonl(store: Store, out: TextIO) -> int:
    n = 0
    for record in records(store):
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        n += 1
    return n


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    return {"quoteID": record["quoteID"], "quotation": record["quotation"], "speaker": record["speaker"],
            "qids": " ".join(record["qids"]), "date": record["date"], "numOccurrences": record["numOccurrences"],
            "numOutlets": record["numOutlets"], "kind": record["kind"], "confidence": record["probas"][0][1]
            if record["speaker"] != "None" else None, "urls": " ".join(record["urls"])}


def write_csv(store: Store, out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS)
    writer.writeheader()
    n = 0
    for record in records(store):
        writer.writerow(_flat(record))
        n += 1
    return n


def write_parquet(store: Store, path: Path, batch: int = 50_000) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise InputError("--format parquet needs pyarrow: pip install 'quotegraph[store]'") from exc
    schema = pa.schema([("quoteID", pa.string()), ("quotation", pa.string()), ("speaker", pa.string()),
                        ("qids", pa.list_(pa.string())), ("date", pa.string()), ("numOccurrences", pa.int64()),
                        ("numOutlets", pa.int64()), ("kind", pa.string()),
                        ("probas", pa.list_(pa.list_(pa.string()))), ("urls", pa.list_(pa.string()))])
    n = 0
    with pq.ParquetWriter(str(path), schema) as writer:
        rows: list[dict[str, Any]] = []
        for record in records(store):
            rows.append({k: record[k] for k in schema.names} | {"probas": [[str(x) for x in p] for p in record["probas"]]})
            if len(rows) >= batch:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                n, rows = n + len(rows), []
        if rows or n == 0:
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
            n += len(rows)
    return n


def brat_annotations(extraction: Extraction) -> str:
    """PolNeAR-style brat standoff: Source / Cue / Content text-bounds and one Attribution event each."""
    lines: list[str] = []
    t = 0
    for number, att in enumerate(extraction.attributions, 1):
        roles = []
        for role, span in (("Source", att.source), ("Cue", att.cue), ("Content", att.content)):
            if span is None:
                continue
            t += 1
            offsets = ";".join(f"{s} {e}" for s, e in span.offsets())
            text = " ".join(extraction.article.text[s:e] for s, e in span.offsets()).replace("\n", " ")
            lines.append(f"T{t}\t{role} {offsets}\t{text}")
            roles.append(f"{role}:T{t}")
        anchor = att.cue or att.content
        t += 1
        lines.append(f"T{t}\tAttribution {anchor.start} {anchor.end}\t"
                     f"{extraction.article.text[anchor.start:anchor.end]}".replace("\n", " "))
        event = "Attribution" if att.source else "Attribution-no-source"
        lines.append(f"E{number}\t{event}:T{t} " + " ".join(roles))
    return "\n".join(lines) + ("\n" if lines else "")


def write_brat(store: Store, folder: Path) -> int:
    """One ``<n>.txt`` + ``<n>.ann`` pair per article, and ``keys.tsv`` mapping n to the article key."""
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    with (folder / "keys.tsv").open("w", encoding="utf-8") as keys:
        for n, (key, extraction) in enumerate(store.iter_articles(), 1):
            (folder / f"{n:06d}.txt").write_text(extraction.article.text, encoding="utf-8")
            (folder / f"{n:06d}.ann").write_text(brat_annotations(extraction), encoding="utf-8")
            keys.write(f"{n:06d}\t{key}\n")
    return n


def export(store: Store, fmt: str, out: str | None, stdout: TextIO) -> int:
    """Write the store in ``fmt`` to ``out`` (a file, or a folder for brat; stdout for jsonl/csv when None)."""
    if fmt not in FORMATS:
        raise InputError(f"--format: expected one of {', '.join(FORMATS)}")
    if fmt in ("parquet", "brat") and not out:
        raise InputError(f"--format {fmt} needs --out")
    if fmt == "parquet":
        return write_parquet(store, Path(out))  # type: ignore[arg-type]
    if fmt == "brat":
        return write_brat(store, Path(out))  # type: ignore[arg-type]
    writer = write_jsonl if fmt == "jsonl" else write_csv
    if out:
        with open(out, "w", encoding="utf-8", newline="") as f:
            return writer(store, f)
    return writer(store, stdout)


__all__ = ["FORMATS", "brat_annotations", "export", "quotebank_record", "write_brat", "write_csv", "write_jsonl",
           "write_parquet"]
