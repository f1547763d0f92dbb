"""Starting (or joining) a Spark session, with one-line errors for what is missing.

``quotegraph spark`` starts its own local or cluster session; under ``spark-submit`` the session
already configured by spark-submit is joined and nothing it set (master, memory) is overridden.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from typing import Any

from quotegraph.errors import InputError

APP_NAME = "quotegraph"


def require_pyspark() -> None:
    """PySpark and pyarrow importable, Java findable; else an InputError saying how to fix it."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise InputError("Spark support needs PySpark: pip install 'quotegraph[spark]'") from None
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        raise InputError("Spark needs Java 17 (no 'java' on PATH and JAVA_HOME unset): "
                         "apt-get install openjdk-17-jre-headless, or set JAVA_HOME")


def local_cores(master: str) -> int:
    """Cores of a local master: ``local`` 1, ``local[3]`` 3, ``local[*]`` all, ``local[2,4]`` 2."""
    match = re.fullmatch(r"local(?:\[(\*|\d+)(?:,\d+)?\])?", master.strip())
    if not match or not match.group(1):
        return 1
    return os.cpu_count() or 1 if match.group(1) == "*" else int(match.group(1))


def get_session(master: str | None = None, *, config: dict[str, str] | None = None, quiet: bool = True) -> Any:
    """The Spark session: ``master`` when given (``local[2]``, ``spark://host:7077``, ``yarn``), else
    whatever spark-submit configured, else local mode on every core."""
    require_pyspark()
    if master and master.startswith("local"):
        # A laptop or CI machine may have no resolvable host name: bind to loopback.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # Local workers must run the Python that has quotegraph installed (a venv's, not whatever
        # `python3` is first on PATH). On a cluster PYSPARK_PYTHON is the user's to set.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    if master:
        builder = builder.appName(APP_NAME).master(master)
    settings: dict[str, str] = {}
    if master:  # started by `quotegraph spark`; under spark-submit, its --conf settings stand as given
        settings["spark.ui.showConsoleProgress"] = "true"  # the progress bar on stderr
        settings["spark.sql.debug.maxToStringFields"] = "200"  # wide rows: no warning about plan strings
    if master and master.startswith("local"):
        # Spark's default of 200 shuffle partitions is for clusters; on one machine it is 200 tiny tasks per step.
        settings["spark.sql.shuffle.partitions"] = str(max(4, 2 * local_cores(master)))
    settings.update(config or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - a JVM that does not start is a setup problem, said in one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"could not start Spark ({master or 'default master'}): {first}") from None
    if quiet:
        spark.sparkContext.setLogLevel("WARN")
    return spark


__all__ = ["APP_NAME", "get_session", "require_pyspark"]
