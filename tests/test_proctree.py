"""The process-tree readings the ingest benchmark and the load test report (Linux /proc)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from quotegraph.proctree import descendants, tree_cpu_seconds, tree_rss


def test_a_child_and_its_memory_and_cpu_count_with_the_parent() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; x = bytearray(50_000_000); sum(range(3_000_000)); "
                              "time.sleep(30)"])
    try:
        me = os.getpid()
        for _ in range(300):  # wait until the child holds its 50 MB
            if tree_rss(child.pid) > 50_000_000:
                break
            time.sleep(0.05)
        assert child.pid in descendants(me) and descendants(child.pid) == [child.pid]
        assert tree_rss(me) > tree_rss(child.pid) > 50_000_000
        cpu = tree_cpu_seconds(me)
        assert cpu is not None and cpu >= (tree_cpu_seconds(child.pid) or 0) > 0
    finally:
        child.kill()
        child.wait()
    assert tree_cpu_seconds(child.pid) is None  # gone
