"""JSON Lines report, for nightly jobs and log pipelines: one record per line, each with a
``record`` type. Holds no text of any document.

::

    {"record": "header", "leakwatch": "0.1.0", "format": "leakwatch-jsonl", "format_version": 1,
     "started_at": "...", "config": {"sha256": "...", "fingerprint": {...}, "guaranteed_run_words": 20},
     "index": {"store": "...", "documents": 12, "key_id": "..."}}
    {"record": "finding", "id": "lw-...", "kind": "confidential-excerpt", ...}     (as in --format json)
    {"record": "suppressed", "id": "lw-...", ..., "suppression": {"origin": "baseline", ...}}
    {"record": "error", "path": "...", "status": "encrypted", "message": "..."}
    {"record": "summary", "files_scanned": 40, "findings": 3, "suppressed": 1, ...}

The header comes first and the summary last, so a truncated file is recognisable.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO

import leakwatch
from leakwatch.report.base import Reporter
from leakwatch.results import ScanReport

FORMAT_VERSION = 1


def records(report: ScanReport) -> Iterator[dict[str, Any]]:
    """Every record of the report, in file order."""
    yield {"record": "header", "leakwatch": leakwatch.__version__, "format": "leakwatch-jsonl",
           "format_version": FORMAT_VERSION, "started_at": report.started_at, "config": report.config,
           "index": report.index}
    for f in report.findings:
        yield {"record": "finding", **f.to_dict()}
    for s in report.suppressed:
        yield {"record": "suppressed", **s.finding.to_dict(), "suppression": s.suppression.to_dict()}
    for e in report.errors:
        yield {"record": "error", **e.to_dict()}
    yield {"record": "summary", **report.summary()}


class JsonlReporter(Reporter):
    format_name = "jsonl"

    def write(self, report: ScanReport, out: TextIO) -> None:
        for record in records(report):
            out.write(json.dumps(record, ensure_ascii=True, separators=(",", ":")) + "\n")
