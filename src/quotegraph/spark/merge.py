"""Stage 2 on Spark: the same quote across articles becomes one quotation (Quotebank-like).

    quotegraph spark-merge DIR           (or: quotegraph spark ... --merge; spark-submit submit.py merge DIR)

Reads stage 1's ``articles``, ``statements`` and ``speakers`` and writes

- ``DIR/quotations`` (Parquet) and ``DIR/quotations.jsonl`` (JSON lines, Spark part files):
  one quotation per statement merged across articles, with the fields of
  ``quotegraph export --format jsonl`` (``store.export.quotebank_record``: quoteID, quotation,
  speaker, qids, date (earliest), numOccurrences, probas, urls, phase, kind, numOutlets,
  occurrences);
- ``DIR/speakers_merged`` (Parquet): one row per speaker across articles, with aliases,
  titles and counts.

Merging follows the store's rules (``store.dedup``, ``store.speakers``), made order-free so that
every partitioning gives the same answer:

- **speakers**: a named speaker with a full name joins every speaker with the same folded name
  (``speakers.name_key``: case, accents, honorifics, transliteration); a bare surname joins a
  full-named speaker when that is the only full name with the surname seen *before* it in input
  order (the store links speakers in that order) and their articles share at least
  ``MIN_SHARED_CONTEXT`` context terms, else it stays on its own; a speaker never named stays on
  its own. Unlike the store: a title conflict does not split a full name (the store splits only
  when the articles also share no context), the context compared is the full name's top terms
  over the whole input rather than up to that article, and two bare surnames with no full name
  before them never merge.
- **quotes**: within one speaker (no speaker: one shared scope), the same canonical text
  (``dedup.canonical``) is one quotation; near-duplicates are found through shared winnowed
  fingerprints (``dedup.fingerprints``) and confirmed by the store's own test
  (``dedup.near_duplicate``); quotations joined by confirmed pairs are merged (connected
  components). A fingerprint shared by more than ``MAX_BLOCK`` texts (a stock phrase) is not
  used to look for pairs. The quotation's text is the fullest version (most words, first in
  input order on a tie), its kind the first occurrence's, its confidence the highest, its date
  the earliest; an attribution that repeats a span of its own article counts once, as in the store.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

from quotegraph.errors import InputError
from quotegraph.store import dedup
from quotegraph.store import speakers as sp

MAX_BLOCK = 200
NO_SPEAKER = "0"
QUOTATIONS_SCHEMA = (
    "`quoteID` string, `quotation` string, `speaker` string, `qids` array<string>, `date` string, "
    "`numOccurrences` bigint, `numOutlets` bigint, `kind` string, `probas` array<array<string>>, "
    "`urls` array<string>, `speakerKey` string, `confidence` double, "
    "`occurrences` array<struct<article:string,url:string,date:string,outlet:string,start:int,end:int,"
    "confidence:double>>")
SPEAKER_ROW = ("`article_key` string, `speaker_id` string, `file_index` int, `position` bigint, "
               "`speaker_index` int, `name` string, `title` string, `named` boolean, `words` int, "
               "`name_key` string, `surname_key` string, `context` array<string>, `counts` array<int>")


def _hex(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:16]


def speaker_facts(row: Any) -> list[tuple[Any, ...]]:
    """Per speaker of one article (only those with statements): where it comes in the input, its
    name keys, and the article's context terms without the speaker's own name words (as the store
    computes them)."""
    payload = json.loads(row.extraction)
    used = {a.get("speaker_id") for a in payload["attributions"]}
    context = sp.context_terms(row.text)
    out = []
    for index, s in enumerate(payload["speakers"]):
        if s["id"] not in used:
            continue
        words = sp.name_words(s["name"]) if s.get("named", True) else []
        own = set(words)
        terms = [(t, c) for t, c in context.items() if t not in own]
        out.append((row.key, s["id"], row.file_index, row.position, index, s["name"], s.get("title"),
                    bool(s.get("named", True)), len(words), sp.name_key(s["name"]) if len(words) >= 2 else "",
                    sp.surname_key(s["name"]) if words else "", [t for t, _ in terms], [c for _, c in terms]))
    return out


def speaker_scopes(spark: Any, articles: Any) -> Any:
    """(article_key, speaker_id, name, title, named, words, scope) for every speaker with statements.

    A full name's scope is its folded name. A bare surname joins a full name when, at its place in
    the input (article, then speaker order, as the store links them), exactly one full name with
    that surname has been seen before it, and it shares ``MIN_SHARED_CONTEXT`` context terms with
    that name's articles (its top terms over the whole input: an order-free stand-in for the
    store's running context).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    rows = articles.select("key", "file_index", "position", "text", "extraction").rdd.flatMap(speaker_facts)
    facts = (spark.createDataFrame(rows, SPEAKER_ROW)
             .withColumn("o", F.struct("file_index", "position", "speaker_index")).localCheckpoint())
    full = facts.where("named AND words >= 2")
    terms = (full.select("name_key", F.explode(F.arrays_zip("context", "counts")).alias("tc"))
             .groupBy("name_key", F.col("tc.context").alias("term")).agg(F.sum("tc.counts").alias("n")))
    top = (terms.withColumn("r", F.row_number().over(Window.partitionBy("name_key").orderBy(F.desc("n"), "term")))
           .where(F.col("r") <= sp.CONTEXT_TERMS_PER_SPEAKER).select("name_key", "term"))
    # per surname: the first two full names to appear, and where
    firsts = full.groupBy("surname_key", "name_key").agg(F.min("o").alias("first_o"))
    ranked = firsts.withColumn("r", F.row_number().over(Window.partitionBy("surname_key").orderBy("first_o")))
    one = ranked.where("r = 1").select("surname_key", "name_key", F.col("first_o").alias("o1"))
    two = ranked.where("r = 2").select("surname_key", F.col("first_o").alias("o2"))
    bare = facts.where("named AND words = 1").select("article_key", "speaker_id", "surname_key", "o", "context")
    candidate = (bare.join(one, "surname_key").join(two, "surname_key", "left")
                 .where((F.col("o1") < F.col("o")) & (F.col("o2").isNull() | (F.col("o2") > F.col("o"))))
                 .select("article_key", "speaker_id", "name_key", "context"))
    shared = (candidate.select("article_key", "speaker_id", "name_key", F.explode("context").alias("term"))
              .join(top, ["name_key", "term"])
              .groupBy("article_key", "speaker_id", "name_key").agg(F.count("*").alias("shared"))
              .where(F.col("shared") >= sp.MIN_SHARED_CONTEXT)
              .select("article_key", "speaker_id", F.col("name_key").alias("joined")))
    apart = F.concat(F.lit("a:"), F.col("article_key"), F.lit("#"), F.col("speaker_id"))
    return facts.join(shared, ["article_key", "speaker_id"], "left").select(
        "article_key", "speaker_id", "name", "title", "named", "words",
        F.when(F.col("named") & (F.col("words") >= 2), F.concat(F.lit("n:"), F.col("name_key")))
        .when(F.col("joined").isNotNull(), F.concat(F.lit("n:"), F.col("joined")))
        .otherwise(apart).alias("scope"))


def canonical_row(row: Any) -> tuple[Any, ...] | None:
    canon = dedup.canonical(row.content_text)
    if not canon:
        return None
    return (row.id, row.scope, canon, len(canon.split()), _hex(row.scope, canon),
            sorted(dedup.fingerprints(canon)) if len(canon.split()) >= dedup.MIN_NEAR_WORDS else [])


def block_pairs(row: Any) -> list[tuple[str, str]]:
    members = sorted(set(row.members))
    return [(a, b) for i, a in enumerate(members) for b in members[i + 1:]]


def components(edges: Any) -> Any:
    """(g, label): the smallest id in each connected component of ``edges`` (a, b), by min-label rounds."""
    from pyspark.sql import functions as F

    both = edges.select("a", "b").unionByName(edges.select(F.col("b").alias("a"), F.col("a").alias("b"))).localCheckpoint()
    labels = both.select(F.col("a").alias("g")).distinct().withColumn("label", F.col("g")).localCheckpoint()
    while True:
        offered = both.join(labels.withColumnRenamed("g", "b"), "b").groupBy("a").agg(F.min("label").alias("offer"))
        updated = (labels.join(offered.withColumnRenamed("a", "g"), "g", "left")
                   .select("g", F.least("label", F.coalesce("offer", "label")).alias("label"), "label")
                   .toDF("g", "label", "old").localCheckpoint())
        changed = updated.where("label <> old").limit(1).count()
        labels = updated.select("g", "label")
        if not changed:
            return labels


def quotation(group: tuple[str, list[Any]]) -> tuple[tuple[Any, ...], str]:
    """(Parquet row, JSON line) for one merged quotation, through the store's export record."""
    from quotegraph.store.export import quotebank_record

    component, occurrences = group
    occ = sorted(occurrences, key=lambda o: (o.file_index, o.position, o["index"]))
    fullest = max(enumerate(occ), key=lambda io: (io[1].words, -io[0]))[1]  # most words, first on a tie
    scope = occ[0].scope
    name, named = (occ[0].display, occ[0].named) if scope != NO_SPEAKER else (None, None)
    mentions = [{"article": o.article_key, "url": o.url, "date": o.date, "outlet": o.outlet, "start": o.content_start,
                 "end": o.content_end, "confidence": float(o.confidence)} for o in occ]
    dates = [o.date for o in occ if o.date]
    record = quotebank_record({
        "id": int(component[:12], 16), "content": fullest.content_text, "kind": occ[0].kind,
        "confidence": max(float(o.confidence) for o in occ), "first_date": min(dates) if dates else None,
        "occurrences": len(occ), "outlets": len({o.outlet for o in occ if o.outlet}), "speaker": name,
        "qid": None, "speaker_named": named, "mentions": mentions,
    })
    row = (record["quoteID"], record["quotation"], record["speaker"], record["qids"], record["date"],
           record["numOccurrences"], record["numOutlets"], record["kind"],
           [[str(x) for x in p] for p in record["probas"]], record["urls"], scope,
           max(float(o.confidence) for o in occ), [tuple(m.values()) for m in mentions])
    return row, json.dumps(record, ensure_ascii=False)


def _say(message: str, quiet: bool) -> None:
    if not quiet:
        print(f"quotegraph spark-merge: {message}", file=sys.stderr, flush=True)


def run_merge(spark: Any, folder: str, *, quiet: bool = False) -> dict[str, Any]:
    """Stage 2 over the tables in ``folder``; returns counts."""
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    folder = folder.rstrip("/")
    try:
        articles = spark.read.parquet(f"{folder}/articles")
        statements = spark.read.parquet(f"{folder}/statements")
    except Exception as exc:  # noqa: BLE001 - most often: not a stage-1 output folder
        raise InputError(f"{folder}: no stage-1 tables (articles, statements) to merge: "
                         f"{str(exc).strip().splitlines()[0] if str(exc).strip() else exc}") from None
    _say("resolving speakers across articles", quiet)
    scopes = speaker_scopes(spark, articles).persist(StorageLevel.MEMORY_AND_DISK)
    first = Window.partitionBy("article_key", "content_start", "content_end").orderBy("index")
    occ = (statements.withColumn("r", F.row_number().over(first)).where("r = 1")
           .join(scopes.select("article_key", "speaker_id", "scope"), ["article_key", "speaker_id"], "left")
           .withColumn("scope", F.coalesce("scope", F.lit(NO_SPEAKER))))
    canon = spark.createDataFrame(
        occ.select("id", "scope", "content_text").rdd.map(canonical_row).filter(lambda r: r is not None),
        "`id` string, `scope` string, `canon` string, `words` int, `g` string, `prints` array<bigint>",
    ).persist(StorageLevel.MEMORY_AND_DISK)
    groups = canon.select("g", "scope", "canon", "prints").dropDuplicates(["g"])
    _say("looking for near-duplicate quotes", quiet)
    blocks = (groups.select("g", "scope", F.explode("prints").alias("p")).groupBy("scope", "p")
              .agg(F.collect_set("g").alias("members"))
              .where((F.size("members") >= 2) & (F.size("members") <= MAX_BLOCK)))
    pairs = spark.createDataFrame(blocks.rdd.flatMap(block_pairs), "`a` string, `b` string").distinct()
    texts = groups.select("g", "canon")
    candidates = (pairs.join(texts.toDF("a", "ca"), "a").join(texts.toDF("b", "cb"), "b"))
    edges = spark.createDataFrame(
        candidates.rdd.filter(lambda r: dedup.near_duplicate(r.ca, r.cb).same).map(lambda r: (r.a, r.b)),
        "`a` string, `b` string").localCheckpoint()
    labels = components(edges) if edges.limit(1).count() else None
    comp = canon.select("id", "g", "words")
    if labels is not None:
        comp = comp.join(labels, "g", "left").withColumn("component", F.coalesce("label", "g")).drop("label")
    else:
        comp = comp.withColumn("component", F.col("g"))
    display = _display_names(scopes)
    full = occ.join(comp, "id").join(display, "scope", "left")
    cols = ["article_key", "url", "date", "outlet", "content_start", "content_end", "confidence", "file_index",
            "position", "index", "words", "content_text", "kind", "scope", "display", "named"]
    grouped = full.select("component", *cols).rdd.map(lambda r: (r.component, r)).groupByKey().mapValues(list)
    built = grouped.map(quotation).persist(StorageLevel.MEMORY_AND_DISK)
    _say(f"writing {folder}/quotations, quotations.jsonl, speakers_merged", quiet)
    quotations = spark.createDataFrame(built.map(lambda x: x[0]), QUOTATIONS_SCHEMA).orderBy("quoteID")
    quotations.write.mode("overwrite").parquet(f"{folder}/quotations")
    lines = spark.createDataFrame(built.map(lambda x: (x[0][0], x[1])), "`id` string, `value` string")
    lines.orderBy("id").select("value").write.mode("overwrite").text(f"{folder}/quotations.jsonl")
    per_scope = full.groupBy("scope").agg(F.count("*").alias("occurrences"),
                                          F.countDistinct("component").alias("quotations"))
    merged = (scopes.groupBy("scope").agg(F.array_sort(F.collect_set("name")).alias("aliases"),
                                          F.array_sort(F.collect_set("title")).alias("titles"),
                                          F.countDistinct("article_key").alias("articles"))
              .join(display, "scope").join(per_scope, "scope", "left").na.fill(0, ["occurrences", "quotations"])
              .select(F.col("scope").alias("speakerKey"), F.col("display").alias("name"), "named", "aliases",
                      "titles", "articles", "occurrences", "quotations"))
    merged.orderBy("speakerKey").write.mode("overwrite").parquet(f"{folder}/speakers_merged")
    result = {"statements": canon.count(), "quotations": built.count(), "speakers": merged.count(),
              "written": f"{folder}/quotations, {folder}/quotations.jsonl, {folder}/speakers_merged"}
    for frame in (built, canon, scopes):
        frame.unpersist()
    return result


def _display_names(scopes: Any) -> Any:
    """(scope, display, named): the fullest name (most name words), then the most used, then A–Z."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    used = scopes.groupBy("scope", "name", "words").agg(F.count("*").alias("n"), F.max("named").alias("named"))
    best = Window.partitionBy("scope").orderBy(F.desc("words"), F.desc("n"), "name")
    return (used.withColumn("r", F.row_number().over(best)).where("r = 1")
            .select("scope", F.col("name").alias("display"), "named"))


__all__ = ["MAX_BLOCK", "block_pairs", "canonical_row", "components", "quotation", "run_merge", "speaker_facts",
           "speaker_scopes"]
