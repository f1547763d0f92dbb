"""The command line: a thin layer over the library. Validate, call, print.

Every expected failure (bad input, missing model, missing data) ends with one line on stderr
and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from quotegraph.errors import QuotegraphError
from quotegraph.model import Attribution, Extraction
from quotegraph.models import DEFAULT_MODEL, MODEL_NAMES

EXIT_ERROR = 2
DEFAULT_POLNEAR = "../shared/data/polnear"


def attribution_record(extraction: Extraction, attribution: Attribution) -> dict[str, Any]:
    """One JSON line of ``quotegraph extract``: the attribution, its speaker and damage flags."""
    record = attribution.to_json()
    speaker = extraction.speaker(attribution.speaker_id)
    record["speaker"] = (
        {"id": speaker.id, "name": speaker.name, "title": speaker.title, "named": speaker.named} if speaker else None
    )
    record["article"] = extraction.article.id or None
    spans = attribution.spans()
    record["damage"] = sorted(
        {d.kind for d in extraction.damage for s in spans if d.start < s.end and s.start < d.end}
    )
    return record


def format_table(extraction: Extraction, width: int = 100) -> str:
    """A readable table: speaker, kind, confidence, cue and content, one statement per row."""
    rows = [("speaker", "kind", "conf", "cue", "content")]
    for a in extraction.attributions:
        speaker = extraction.speaker(a.speaker_id)
        name = speaker.name if speaker else (a.source.text if a.source else "?")
        content = " ".join(a.content.text.split())
        rows.append((name[:30], a.kind.value, f"{a.confidence:.2f}", (a.cue.text if a.cue else "-")[:20], content))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for r in rows:
        head = "  ".join(r[i].ljust(widths[i]) for i in range(4))
        room = max(20, width - len(head) - 2)
        tail = r[4] if len(r[4]) <= room else r[4][: room - 1] + "…"
        lines.append(f"{head}  {tail}")
    meta = extraction.article
    title = f"{len(extraction.attributions)} statements, {len(extraction.speakers)} speakers"
    if meta.date or meta.credit:
        title += f" (date {meta.date or '?'}, credit {meta.credit or '?'})"
    if extraction.damage:
        kinds = sorted({d.kind for d in extraction.damage})
        title += f"; damaged text: {', '.join(kinds)}"
    return "\n".join([title, *lines])


def _read_article(path: str):  # type: ignore[no-untyped-def]
    from quotegraph.ingest.text import read_text_file, read_text_stream

    if path == "-":
        return read_text_stream(sys.stdin.buffer, "<stdin>")
    return read_text_file(Path(path))


def cmd_extract(args: argparse.Namespace, out: TextIO) -> int:
    from quotegraph.pipeline import Pipeline

    pipeline = Pipeline(model=args.model, min_confidence=args.min_confidence)
    for path in args.files:
        extraction = pipeline(_read_article(path))
        if args.format == "table":
            out.write(format_table(extraction) + "\n")
        elif args.format == "json":
            out.write(json.dumps(extraction.to_json(), ensure_ascii=False, indent=2) + "\n")
        else:
            for attribution in extraction.attributions:
                out.write(json.dumps(attribution_record(extraction, attribution), ensure_ascii=False) + "\n")
    return 0


def _polnear_dir(value: str | None) -> Path:
    return Path(value or os.environ.get("QUOTEGRAPH_POLNEAR", DEFAULT_POLNEAR))


def cmd_eval_polnear(args: argparse.Namespace, out: TextIO) -> int:
    from quotegraph.eval.calibration import Calibration
    from quotegraph.eval.run import evaluate_polnear, score_predictions_file

    data = _polnear_dir(args.data)
    calibration = None
    if args.score:
        if args.calibration or args.min_confidence:
            raise QuotegraphError("--calibration and --min-confidence need a live run, not --score")
        report = score_predictions_file(data, args.split, Path(args.score), damage=args.damage)
    else:
        predictions = Path(args.predictions) if args.predictions else None
        from quotegraph.ingest.text import article_from_text
        from quotegraph.pipeline import Pipeline

        pipeline = Pipeline(model=args.model, min_confidence=args.min_confidence)

        def extractor(text: str) -> Extraction:
            return pipeline(article_from_text(text))

        calibration = Calibration() if args.calibration else None
        report = evaluate_polnear(data, args.split, extractor=extractor, predictions=predictions,
                                  progress=not args.quiet, calibration=calibration, damage=args.damage)
    if args.json:
        document = report.to_json()
        if calibration is not None:
            document["calibration"] = calibration.to_json()
        out.write(json.dumps(document, indent=2) + "\n")
    else:
        out.write(report.format_table() + "\n")
        if calibration is not None:
            out.write("\n" + calibration.format_table() + "\n")
    return 0


def cmd_train(args: argparse.Namespace, out: TextIO) -> int:
    train_dir, dev_dir, out_dir = Path(args.train), Path(args.dev), Path(args.out)
    for folder in (train_dir, dev_dir):
        if not (folder / "text").is_dir():
            raise QuotegraphError(f"not a PolNeAR split folder (no text/ inside): {folder}")

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if not 0.0 <= args.damaged_fraction <= 1.0:
        raise QuotegraphError(f"--damaged-fraction must be between 0 and 1 (got {args.damaged_fraction})")
    if args.model == "fast":
        from quotegraph.models.fast import FastConfig, train_fast

        given = [flag for flag, value in (("--init-from", args.init_from), ("--lr-scale", args.lr_scale != 1.0),
                                          ("--average-every", args.average_every)) if value]
        if given:
            raise QuotegraphError(f"{', '.join(given)}: only for --model accurate")

        result = train_fast(train_dir, dev_dir, out_dir, seed=args.seed, resume=not args.restart, progress=progress,
                            config=FastConfig(damaged_fraction=args.damaged_fraction))
    else:
        from quotegraph.models.accurate import train_accurate

        init_from = Path(args.init_from) if args.init_from else None
        if init_from is not None and not (init_from / "config.json").is_file():
            raise QuotegraphError(f"--init-from needs a trained accurate model folder (no config.json in {init_from})")
        if args.average_every is not None and args.average_every < 1:
            raise QuotegraphError(f"--average-every must be a positive number of steps (got {args.average_every})")
        if args.lr_scale <= 0:
            raise QuotegraphError(f"--lr-scale must be positive (got {args.lr_scale})")
        result = train_accurate(
            train_dir, dev_dir, out_dir, epochs=args.epochs, seed=args.seed, resume=not args.restart,
            progress=progress, init_from=init_from, lr_scale=args.lr_scale, average_every=args.average_every,
            damaged_fraction=args.damaged_fraction,
        )
    out.write(json.dumps(result, indent=2, default=str) + "\n")
    return 0


def cmd_eval_speakers(args: argparse.Namespace, out: TextIO) -> int:
    from quotegraph.eval.speakers import evaluate_speakers, format_speaker_report

    report = evaluate_speakers(_polnear_dir(args.data), Path(args.gold), model=args.model)
    out.write((json.dumps(report, indent=2) if args.json else format_speaker_report(report)) + "\n")
    return 0


def cmd_bench(args: argparse.Namespace, out: TextIO) -> int:
    from quotegraph.bench import run_bench

    if args.threads < 1:
        raise QuotegraphError(f"--threads must be at least 1 (got {args.threads})")

    folder = Path(args.texts) if args.texts else _polnear_dir(args.data) / args.split / "text"
    for model in args.model:
        result = run_bench(folder, model=model, limit=args.limit, repeat=args.repeat, threads=args.threads)
        out.write((json.dumps(result.to_json()) if args.json else result.format()) + "\n")
    return 0


JSONL_FIELDS = ("text", "id", "url", "title", "date", "author", "publisher", "language", "credit")


def cmd_ingest(args: argparse.Namespace, out: TextIO) -> int:
    from quotegraph.batch import BatchOptions, run_batch
    from quotegraph.errors import InputError
    from quotegraph.ingest.base import JsonlFields, ReadOptions

    if args.workers < 1:
        raise InputError("--workers must be at least 1")
    if args.max_seconds is not None and args.max_seconds <= 0:
        raise InputError("--max-seconds must be more than 0")
    if args.max_chars < 1:
        raise InputError("--max-chars must be at least 1")
    fields = JsonlFields(**{name: getattr(args, f"{name}_field") for name in JSONL_FIELDS})
    options = BatchOptions(
        workers=args.workers, model=args.model, min_confidence=args.min_confidence,
        max_seconds=args.max_seconds, read=ReadOptions(jsonl=fields, max_chars=args.max_chars),
    )
    sink, out_path = None, args.out
    if args.db:  # the store as the sink (issue 5); --out, if given, only names the ledger/errors files
        from quotegraph.store import open_store
        from quotegraph.store.sink import StoreSink

        sink = StoreSink(open_store(args.db, embed=not args.no_embed))
        out_path = args.out or _ingest_ledger_base(args.db)
    elif not args.out:
        raise InputError("ingest needs --out FILE or --db PATH|URL")
    summary = run_batch(args.paths, out_path, options, errors=args.errors, sink=sink, progress=not args.no_progress)
    out.write((json.dumps(summary.to_json()) if args.json else summary.format()) + "\n")
    out.flush()
    if summary.interrupted:
        return 130
    return 1 if summary.any_failed else 0


# --- the quote store (issue 5): search, speakers, show, export --------------------------------

def _ingest_ledger_base(db: str) -> Path:
    """Where `ingest --db` keeps its resume ledger and errors file: beside a SQLite file, else here."""
    from quotegraph.store import is_postgres

    if is_postgres(db):
        import hashlib

        return Path(f"quotegraph-ingest-{hashlib.sha1(db.encode()).hexdigest()[:10]}.jsonl")
    path = Path(db.removeprefix("sqlite:///"))
    return path.with_name(path.name + ".ingest.jsonl")


def _open_store(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from quotegraph.store import open_store

    return open_store(args.db, aliases=args.aliases)


def _store_table(rows: list[tuple[str, ...]], width: int = 110) -> str:
    """Fixed columns, the last one cut to fit the width."""
    if not rows:
        return ""
    fixed = len(rows[0]) - 1
    widths = [max(len(r[i]) for r in rows) for i in range(fixed)]
    lines = []
    for r in rows:
        head = "  ".join(r[i].ljust(widths[i]) for i in range(fixed))
        room = max(20, width - len(head) - 2)
        tail = r[-1] if len(r[-1]) <= room else r[-1][: room - 1] + "…"
        lines.append(f"{head}  {tail}")
    return "\n".join(lines)


def cmd_search(args: argparse.Namespace, out: TextIO) -> int:
    import csv

    from quotegraph.store import SearchQuery

    query = SearchQuery(text=args.query or "", speaker=args.speaker, outlet=args.outlet, since=args.since,
                        until=args.until, kind=args.kind, min_confidence=args.min_confidence, limit=args.limit,
                        offset=args.offset)
    store = _open_store(args)
    try:
        page = store.similar(args.similar, query) if args.similar else store.search(query)
    finally:
        store.close()
    if args.format == "json":
        out.write(json.dumps({"hits": [h.to_json() for h in page.hits], "offset": page.offset, "limit": page.limit,
                              "has_more": page.has_more}, ensure_ascii=False) + "\n")
    elif args.format == "csv":
        fields = ["id", "content", "speaker", "speaker_id", "kind", "confidence", "first_date", "occurrences",
                  "outlets", "score"]
        writer = csv.DictWriter(out, fieldnames=fields)
        writer.writeheader()
        for h in page.hits:
            writer.writerow(h.to_json())
    else:
        rows = [("id", "date", "speaker", "kind", "conf", "occ", "content")]
        rows += [(str(h.id), h.first_date or "?", (h.speaker or "?")[:28], h.kind, f"{h.confidence:.2f}",
                  str(h.occurrences), " ".join(h.content.split())) for h in page.hits]
        more = f"; more: --offset {page.offset + page.limit}" if page.has_more else ""
        out.write(f"{len(page.hits)} statements (from {page.offset + 1}){more}\n" + _store_table(rows) + "\n")
    return 0


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    store = _open_store(args)
    try:
        view = store.statement(args.statement_id)
    finally:
        store.close()
    if args.format == "json":
        out.write(json.dumps(view.to_json(), ensure_ascii=False, indent=2) + "\n")
        return 0
    h, s = view.hit, view.speaker
    out.write(f"statement {h.id} ({h.kind}, confidence {h.confidence:.2f}), first {h.first_date or '?'}, "
              f"{h.occurrences} occurrence(s) in {h.outlets} outlet(s)\n  {h.content}\n")
    if s:
        out.write(f"speaker #{s.id} {s.name}" + (f", {s.title}" if s.title else "") + (f" [{s.qid}]" if s.qid else "")
                  + (f" (also: {', '.join(a for a in s.aliases if a != s.name)})" if len(s.aliases) > 1 else "") + "\n")
    for o in view.occurrences:
        out.write(f"- {o.date or '?'}  {o.outlet or '?'}  {o.url or o.article_key}  [{o.start}:{o.end}] {o.match}\n"
                  f"    {o.source or '-'} | {o.cue or '-'} | …{o.context}…\n")
    return 0


def cmd_speakers(args: argparse.Namespace, out: TextIO) -> int:
    from quotegraph.errors import InputError

    action = args.action or "list"
    need = {"merge": 2, "split": 1, "explain": 1, "wikidata": 1}.get(action, 0)
    if len(args.names) != need:
        raise InputError(f"speakers {action}: expected {need} name(s), got {len(args.names)}")
    if action == "split" and not args.article:
        raise InputError("speakers split: --article KEY is required")
    store = _open_store(args)
    try:
        if action == "merge":
            n = store.merge_speakers(args.names[0], args.names[1], note=args.note or "")
            out.write(f"merged '{args.names[1]}' into '{args.names[0]}'; {n} article(s) re-linked; "
                      f"recorded in {store.alias_path}\n")
        elif action == "split":
            n = store.split_speaker(args.names[0], args.article, note=args.note or "")
            out.write(f"'{args.names[0]}' in {args.article} is now a speaker of its own; recorded in {store.alias_path}\n")
        elif action == "explain":
            for info in store.find_speakers(args.names[0]):
                out.write(f"#{info.id} {info.name}" + (f", {info.title}" if info.title else "")
                          + f": {info.statements} statements\n")
                for link in store.explain(info.id):
                    out.write(f"  {link['article']}: {link['name']} — {link['rule']}: {link['explanation']}\n")
        elif action == "wikidata":
            table = {}
            for line in Path(args.names[0]).read_text(encoding="utf-8").splitlines():
                if line.strip() and not line.startswith("#"):
                    name, _, qid = line.rstrip("\n").rpartition("\t")
                    table[name.strip()] = qid.strip()
            n = store.set_qids(table)
            out.write(f"{n} speaker(s) mapped to Wikidata ids\n")
        else:
            speakers = store.top_speakers(args.top)
            if args.format == "json":
                from dataclasses import asdict

                out.write(json.dumps([asdict(x) for x in speakers], ensure_ascii=False) + "\n")
            else:
                rows = [("id", "statements", "occurrences", "qid", "name (aliases)")]
                rows += [(str(x.id), str(x.statements), str(x.occurrences), x.qid or "-",
                          x.name + (f" ({', '.join(a for a in x.aliases if a != x.name)})" if len(x.aliases) > 1 else ""))
                         for x in speakers]
                out.write(_store_table(rows) + "\n")
    finally:
        store.close()
    return 0


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    from quotegraph.store.export import export

    store = _open_store(args)
    try:
        n = export(store, args.format, args.out, out)
    finally:
        store.close()
    if args.out:
        print(f"quotegraph: exported {n:,} {'articles' if args.format == 'brat' else 'statements'} to {args.out}",
              file=sys.stderr)
    return 0


def _add_store_commands(commands: Any) -> None:
    from quotegraph.store import DEFAULT_DB

    def db_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", default=os.environ.get("QUOTEGRAPH_DB", DEFAULT_DB), metavar="PATH|URL",
                       help=f"the store: a SQLite file or postgresql://... (default $QUOTEGRAPH_DB or {DEFAULT_DB})")
        p.add_argument("--aliases", metavar="FILE", help="speaker corrections file (default: beside the SQLite file, "
                       "or quotegraph.aliases.tsv here; $QUOTEGRAPH_ALIASES)")

    search = commands.add_parser("search", help="find statements by words (or --similar meaning) and filters")
    search.add_argument("query", nargs="?", default="", help='words and "quoted phrases", all required')
    search.add_argument("--similar", metavar="TEXT", help="statements that say this in any words (sentence embeddings)")
    search.add_argument("--speaker", help="a full name, a surname, or #id")
    search.add_argument("--outlet", help="only statements carried by this outlet (publisher or web host)")
    search.add_argument("--since", metavar="DATE", help="first reported on or after (YYYY-MM-DD)")
    search.add_argument("--until", metavar="DATE", help="first reported on or before (YYYY-MM-DD)")
    search.add_argument("--kind", choices=("direct", "indirect", "mixed"))
    search.add_argument("--min-confidence", type=float, default=0.0)
    search.add_argument("--limit", type=int, default=20, help="statements per page (default 20)")
    search.add_argument("--offset", type=int, default=0, help="skip this many (paging)")
    search.add_argument("--format", choices=("table", "json", "csv"), default="table")
    db_options(search)
    search.set_defaults(run=cmd_search)

    speakers = commands.add_parser("speakers", help="list speakers; merge, split, explain; Wikidata ids",
                                   description="quotegraph speakers [--top N] | merge NAME OTHER | split NAME --article KEY "
                                               "| explain NAME | wikidata TABLE.tsv (name<TAB>Qid)")
    speakers.add_argument("action", nargs="?", choices=("list", "merge", "split", "explain", "wikidata"))
    speakers.add_argument("names", nargs="*", help="names or #ids (merge: canonical first)")
    speakers.add_argument("--top", type=int, default=20)
    speakers.add_argument("--article", help="split: the article key where the name is someone else")
    speakers.add_argument("--note", help="why (kept in the alias file)")
    speakers.add_argument("--format", choices=("table", "json"), default="table")
    db_options(speakers)
    speakers.set_defaults(run=cmd_speakers)

    show = commands.add_parser("show", help="a statement, its speaker, and every occurrence with context")
    show.add_argument("statement_id", type=int)
    show.add_argument("--format", choices=("text", "json"), default="text")
    db_options(show)
    show.set_defaults(run=cmd_show)

    export = commands.add_parser("export", help="write the store out: jsonl (Quotebank fields), csv, parquet, brat")
    export.add_argument("--format", choices=("jsonl", "csv", "parquet", "brat"), default="jsonl")
    export.add_argument("--out", metavar="PATH", help="file (a folder for brat); jsonl and csv default to stdout")
    db_options(export)
    export.set_defaults(run=cmd_export)


# --- Spark (issue 7): the ingest job on a cluster, quotations across articles, loading the store ---

def cmd_spark(args: argparse.Namespace, out: TextIO) -> int:
    from quotegraph.spark.job import run_extract_command

    return run_extract_command(args, args.master, out)


def cmd_spark_merge(args: argparse.Namespace, out: TextIO) -> int:
    from quotegraph.spark.job import run_merge_command

    return run_merge_command(args, args.master, out)


def cmd_load(args: argparse.Namespace, out: TextIO) -> int:
    from quotegraph.spark.load import load
    from quotegraph.store import open_store

    store = open_store(args.db, aliases=args.aliases, embed=not args.no_embed)
    try:
        summary = load(args.dir, store, show_progress=not args.no_progress)
    finally:
        store.close()
    out.write((json.dumps(summary.to_json()) if args.json else summary.format()) + "\n")
    return 0


def _add_spark_commands(commands: Any) -> None:
    from quotegraph.spark.job import add_extract_arguments, add_merge_arguments
    from quotegraph.store import DEFAULT_DB

    master_help = "Spark master: local[N], spark://host:7077, yarn, k8s://... (default local[*])"
    spark = commands.add_parser(
        "spark", help="the ingest job on Apache Spark: files on any Hadoop path -> Parquet tables",
        description="Read WARC, JSONL, HTML, feed and text files, extract attributions on Spark and write "
                    "DIR/articles, statements, speakers, errors and skipped (Parquet, replaced on a re-run). "
                    "See docs/spark.md for spark-submit on a cluster. Exit status: 0 done, 1 some articles "
                    "failed (see DIR/errors), 2 bad usage or a job that could not run.")
    add_extract_arguments(spark)
    spark.add_argument("--master", default="local[*]", metavar="URL", help=master_help)
    spark.set_defaults(run=cmd_spark)
    merge = commands.add_parser("spark-merge", help="stage 2 on Spark: quotations and speakers across articles",
                                description="Merge the same quote across the articles of a 'quotegraph spark' "
                                            "output folder: DIR/quotations (Parquet), DIR/quotations.jsonl, "
                                            "DIR/speakers_merged.")
    add_merge_arguments(merge)
    merge.add_argument("--master", default="local[*]", metavar="URL", help=master_help)
    merge.set_defaults(run=cmd_spark_merge)
    load = commands.add_parser("load", help="add a 'quotegraph spark' output folder to the quote store")
    load.add_argument("dir", metavar="DIR", help="the --output folder of 'quotegraph spark'")
    load.add_argument("--db", default=os.environ.get("QUOTEGRAPH_DB", DEFAULT_DB), metavar="PATH|URL",
                      help=f"the store: a SQLite file or postgresql://... (default $QUOTEGRAPH_DB or {DEFAULT_DB})")
    load.add_argument("--aliases", metavar="FILE", help="speaker corrections file (default: beside the SQLite file)")
    load.add_argument("--no-embed", action="store_true", help="no sentence embeddings now (computed on the first "
                      "search --similar)")
    load.add_argument("--no-progress", action="store_true", help="no progress display")
    load.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    load.set_defaults(run=cmd_load)


# --- the web app (issue 6) ---------------------------------------------------------------------

def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    from quotegraph.serve import serve

    return serve(args.db, host=args.host, port=args.port, token_file=args.token_file, model=args.model,
                 aliases=args.aliases, workers=args.workers)


def _add_serve_command(commands: Any) -> None:
    from quotegraph.store import DEFAULT_DB

    serve = commands.add_parser("serve", help="the web app and JSON API over a store (needs the web extra)",
                                description="Serve search, statement, speaker, article and extract pages and the "
                                            "JSON API (/api, described at /api/openapi.json). Read-only unless a "
                                            "token is set: then POST /api/articles and the extract page can save.")
    serve.add_argument("--db", default=os.environ.get("QUOTEGRAPH_DB", DEFAULT_DB), metavar="PATH|URL",
                       help=f"the store: a SQLite file or postgresql://... (default $QUOTEGRAPH_DB or {DEFAULT_DB})")
    serve.add_argument("--aliases", metavar="FILE", help="speaker corrections file (default: beside the SQLite file)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="server processes sharing the port (default 1; "
                       "a busy server wants one per CPU core)")
    serve.add_argument("--token-file", metavar="FILE", help="the operator's token for saving articles (first line); "
                       "default $QUOTEGRAPH_TOKEN; without one the server is read-only")
    serve.add_argument("--model", default=DEFAULT_MODEL, help=f"extraction model: {', '.join(MODEL_NAMES)} (default {DEFAULT_MODEL})")
    serve.set_defaults(run=cmd_serve)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quotegraph", description="Who said what, about what, when: attributions in news text.")
    commands = parser.add_subparsers(dest="command", required=True)

    extract = commands.add_parser("extract", help="find attributions in articles (plain text files, or - for stdin)")
    extract.add_argument("files", nargs="+", metavar="FILE", help="article text file(s); - reads stdin")
    extract.add_argument("--format", choices=("jsonl", "table", "json"), default="jsonl",
                         help="jsonl: one attribution per line (default); table: for people; json: one document per article")
    extract.add_argument("--min-confidence", type=float, default=0.0, help="drop attributions below this confidence")
    extract.add_argument("--model", default=DEFAULT_MODEL, help=f"extraction model: {', '.join(MODEL_NAMES)} (default {DEFAULT_MODEL})")
    extract.set_defaults(run=cmd_extract)

    evaluate = commands.add_parser("eval", help="measure accuracy on an annotated corpus")
    corpora = evaluate.add_subparsers(dest="corpus", required=True)
    polnear = corpora.add_parser("polnear", help="PolNeAR (brat standoff): exact and overlap P/R/F1")
    polnear.add_argument("--split", default="dev", help="split folder name (default dev)")
    polnear.add_argument("--data", help=f"PolNeAR folder (default $QUOTEGRAPH_POLNEAR or {DEFAULT_POLNEAR})")
    polnear.add_argument("--predictions", metavar="FILE", help="also write what the system predicted, one JSON line per article")
    polnear.add_argument("--score", metavar="FILE", help="score an existing predictions file instead of running the extractor")
    polnear.add_argument("--json", action="store_true", help="print the report as JSON")
    polnear.add_argument("--quiet", action="store_true", help="no progress lines")
    polnear.add_argument("--model", default=DEFAULT_MODEL, help=f"extraction model: {', '.join(MODEL_NAMES)} (default {DEFAULT_MODEL})")
    polnear.add_argument("--min-confidence", type=float, default=0.0, help="drop attributions below this confidence")
    polnear.add_argument("--calibration", action="store_true",
                         help="also print precision per confidence band and the --min-confidence trade-off")
    polnear.add_argument("--damage", type=int, metavar="SEED",
                         help="first damage the texts as scraped news is (glued words, dropped links, "
                              "credit and boilerplate lines), reproducibly from SEED; the gold moves along")
    polnear.set_defaults(run=cmd_eval_polnear)
    speakers = corpora.add_parser("speakers", help="speaker resolution on the hand-checked PolNeAR dev set")
    speakers.add_argument("--data", help=f"PolNeAR folder (default $QUOTEGRAPH_POLNEAR or {DEFAULT_POLNEAR})")
    speakers.add_argument("--gold", default="eval/speakers_dev.jsonl", help="hand-checked speaker file")
    speakers.add_argument("--json", action="store_true", help="print the report as JSON")
    speakers.add_argument("--model", default=DEFAULT_MODEL, help="whose annotation the resolver reads: rules (spaCy sm) or fast/accurate (light; fast is the default)")
    speakers.set_defaults(run=cmd_eval_speakers)

    bench = commands.add_parser("bench", help="throughput (articles/s per core) and peak memory of a model")
    bench.add_argument("--model", nargs="+", default=[DEFAULT_MODEL], help=f"model(s) to measure (default {DEFAULT_MODEL})")

    train = commands.add_parser("train", help="train a model on PolNeAR-layout data (resumable)")
    train.add_argument("--model", choices=("fast", "accurate"), required=True, help="which model to train")
    train.add_argument("--train", required=True, help="training split folder, e.g. ../shared/data/polnear/train")
    train.add_argument("--dev", required=True, help="development split folder (model selection and scores)")
    train.add_argument("--out", required=True, help="output folder for the model (and its checkpoints)")
    train.add_argument("--epochs", type=int, default=5, help="epochs (accurate model only; default 5, the shipped run)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--restart", action="store_true", help="ignore checkpoints in --out and start over")
    train.add_argument("--init-from", help="accurate only: continue from this trained model's weights and settings (a second schedule)")
    train.add_argument("--lr-scale", type=float, default=1.0, help="accurate only: multiply both learning rates (e.g. 0.4 with --init-from)")
    train.add_argument("--average-every", type=int, metavar="N",
                       help="accurate only: average the weights every N steps, constant lr after warm-up (weight averaging)")
    train.add_argument("--damaged-fraction", type=float, default=0.0, metavar="F",
                       help="replace this share of the train articles by scraper-damaged copies (as --damage makes; default 0)")
    train.set_defaults(run=cmd_train)
    bench.add_argument("--texts", help="a folder of .txt articles (default: the PolNeAR split's texts)")
    bench.add_argument("--data", help=f"PolNeAR folder (default $QUOTEGRAPH_POLNEAR or {DEFAULT_POLNEAR})")
    bench.add_argument("--split", default="dev", help="PolNeAR split whose texts to use (default dev)")
    bench.add_argument("--limit", type=int, help="use only the first N texts")
    bench.add_argument("--repeat", type=int, default=1, help="run over the texts N times")
    bench.add_argument("--threads", type=int, default=1, help="threads for torch (accurate model; default 1: per core)")
    bench.add_argument("--json", action="store_true", help="one JSON line per model")
    bench.set_defaults(run=cmd_bench)

    ingest = commands.add_parser(
        "ingest", help="extract from many articles: folders, .txt, .html, .warc(.gz), RSS/Atom, .jsonl(.gz)",
        description="Read every article under PATH..., skip non-English, non-news and duplicate ones, extract in "
                    "worker processes and write one JSON line per article. Run the same command again to resume. "
                    "Exit status: 0 all done, 1 some articles failed (see the errors file), 2 bad usage or input.")
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (walked recursively)")
    ingest.add_argument("--out", metavar="FILE", help="JSON lines output, one line per article (appended; resumable)")
    ingest.add_argument("--db", metavar="PATH|URL", help="write into a quote store instead (SQLite file or postgresql://...)")
    ingest.add_argument("--no-embed", action="store_true", help="with --db: no sentence embeddings at ingest "
                        "(computed on the first search --similar)")
    ingest.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes (default 1)")
    ingest.add_argument("--model", default=DEFAULT_MODEL, help=f"extraction model: {', '.join(MODEL_NAMES)} (default {DEFAULT_MODEL})")
    ingest.add_argument("--errors", metavar="FILE", help="where failed articles are recorded (default: OUT with .errors.jsonl)")
    ingest.add_argument("--max-seconds", type=float, default=300.0, metavar="S", help="time budget per article (default 300)")
    ingest.add_argument("--max-chars", type=int, default=1_000_000, metavar="N",
                        help="longer articles are recorded as failed, not read (default 1000000 characters)")
    ingest.add_argument("--min-confidence", type=float, default=0.0, help="drop attributions below this confidence")
    for name in JSONL_FIELDS:
        ingest.add_argument(f"--{name}-field", default=name, metavar="NAME",
                            help=f"JSONL field holding the {name} (default {name}; a.b for nested)")
    ingest.add_argument("--no-progress", action="store_true", help="no progress display")
    ingest.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    ingest.set_defaults(run=cmd_ingest)
    _add_store_commands(commands)
    _add_serve_command(commands)
    _add_spark_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args, sys.stdout))
    except QuotegraphError as exc:
        print(f"quotegraph: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"quotegraph: error: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("quotegraph: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (| head): not an error worth a message
        return 0


if __name__ == "__main__":
    sys.exit(main())
