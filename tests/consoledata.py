"""A real case for the console tests: a confidential document indexed with ``leakwatch
index add``, two vendors' deliveries (one with hostile HTML around a lightly edited
excerpt, under a hostile name), and the JSON report of a real ``leakwatch scan``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import make_text

HOSTILE_NAME = "<img src=x onerror=alert(1)>report.txt"
HOSTILE_TEXT = '<script>alert("pwned")</script><img src=x onerror=alert(3)> &amp; "quoted" </div><b>bold</b>'


def leakwatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A real ``leakwatch`` process."""
    return subprocess.run([sys.executable, "-m", "leakwatch", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def words(text: str, first: int, n: int) -> str:
    spans = [m.span() for m in re.finditer(r"\w+", text)]
    return text[spans[first][0] : spans[first + n - 1][1]]


def edited(text: str, every: int) -> str:
    """Every ``every``-th word replaced: a copy with small edits (the diff shows them)."""
    return " ".join("EDITED" if i % every == every - 1 else w for i, w in enumerate(text.split(" ")))


@dataclass
class Case:
    root: Path
    store: Path
    source: Path
    vendors: Path
    report_path: Path
    report: dict[str, Any]

    def finding(self, vendor: str) -> dict[str, Any]:
        return next(f for f in self.report["findings"] if f"/{vendor}/" in f["deliverable"]["path"])


def make_case(root: Path, secret_text: str, vocabulary: list[str]) -> Case:
    store, source = root / "store", root / "confidential" / "pricing.txt"
    source.parent.mkdir(parents=True)
    source.write_text(secret_text, encoding="utf-8")
    done = leakwatch("index", "add", str(source), "--store", str(store), "--label", "trade-secret",
                     "--owner", "finance")
    assert done.returncode == 0, done.stderr
    vendors = root / "vendors"
    (vendors / "acme").mkdir(parents=True)
    (vendors / "globex").mkdir(parents=True)
    (vendors / "acme" / HOSTILE_NAME).write_text(
        make_text(3, 150, vocabulary) + "\n" + HOSTILE_TEXT + "\n" + edited(words(secret_text, 200, 120), 30)
        + "\n" + HOSTILE_TEXT + "\n" + make_text(4, 100, vocabulary), encoding="utf-8")
    (vendors / "globex" / "q3-analysis.txt").write_text(
        make_text(5, 200, vocabulary) + "\n\n" + words(secret_text, 800, 100) + "\n\n" + make_text(6, 120, vocabulary),
        encoding="utf-8")
    report_path = root / "scan.json"
    done = leakwatch("scan", str(vendors), "--store", str(store), "--format", "json", "-o", str(report_path))
    assert done.returncode == 1, done.stderr
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert {f["deliverable"]["path"].split("/")[-2] for f in report["findings"]} == {"acme", "globex"}
    return Case(root, store, source, vendors, report_path, report)
