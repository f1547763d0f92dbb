"""quotegraph on Apache Spark: the ingest job for corpora larger than one machine.

- ``job.py``: stage 1 — input files (any Hadoop path) → ``articles``, ``statements``,
  ``speakers``, ``errors``, ``skipped`` (Parquet), with the same readers, filters, duplicate
  rule and pipeline as ``quotegraph ingest``;
- ``merge.py``: stage 2 — quotations merged across articles and speakers across articles
  (Quotebank-like Parquet and JSON lines);
- ``load.py``: a job's articles into the quote store (``quotegraph load``);
- ``read.py``, ``tables.py``: the input listing and the table rows (plain Python);
- ``session.py``: the Spark session; ``submit.py``: the script to give ``spark-submit``;
- ``bench.py``: the benchmark in docs/benchmarks.md.

See docs/spark.md. PySpark is an extra: ``pip install 'quotegraph[spark]'``.
"""
