"""The benchmark suite (benchmarks/run.py) runs and prints its table.

The whole ``--quick`` run takes about a minute on 2 cores, over the 60 s budget for the
default test run: it runs only with LEAKWATCH_BENCH=1. The fingerprinting benchmark alone
(a few seconds) always runs, with its datasketch compatibility check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


def run_suite(tmp_path: Path, *args: str) -> tuple[str, dict]:
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(RUN), "--quick", "--json", str(out), *args],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, json.loads(out.read_text())


def test_fingerprint_benchmark_runs_and_signatures_fit_datasketch(tmp_path: Path) -> None:
    pytest.importorskip("datasketch")
    stdout, results = run_suite(tmp_path, "--only", "fingerprint")
    assert "| fingerprint MB/s/core vs datasketch |" in stdout
    compat = results["fingerprint"]["compat"]
    assert compat["passages_checked"] > 0
    assert compat["bit_identical"] == compat["passages_checked"] == compat["found_by_lsh_query"]
    for key in ("leakwatch_mb_s", "datasketch_mb_s", "floor_mb_s"):
        assert results["fingerprint"][key] > 0


@pytest.mark.skipif(os.environ.get("LEAKWATCH_BENCH") != "1",
                    reason="the whole --quick suite takes about a minute: set LEAKWATCH_BENCH=1")
def test_quick_suite(tmp_path: Path) -> None:
    pytest.importorskip("reportlab")
    stdout, results = run_suite(tmp_path)
    for name in ("PDF pages/s", "index 10k: cold scan", "folder scan speed-up"):
        assert name in stdout
    assert {"fingerprint", "pdf", "index", "tree", "machine"} <= results.keys()
