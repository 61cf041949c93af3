"""``--redact``: a report that keeps locations, ids and scores, and no text of any document.

Reports show text in two ways: the HTML report quotes each deliverable's passage in
context (which is the confidential text, when the finding is real), and a few finding
fields carry words read from a file (a copyright holder's name, the column names of a
registered table). A redacted report drops both, so it can be mailed, attached to a
ticket or kept by a vendor-management team that must not hold the material itself.

What is kept is decided by listing what may stay (an allow-list), not what must go:
a field added to findings later is left out of redacted reports until it is listed here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from leakwatch.model import Finding, SuppressedFinding
from leakwatch.results import ScanReport

# extra field -> the keys of it that hold no text of a document (None: the whole value).
_KEPT: dict[str, frozenset[str] | None] = {
    "method": None,
    "also_in": None,  # paths and offsets
    "parts": None,  # a summary's fragments: offsets, method and word counts
    "licence": None,  # SPDX ids and coverage of public licence texts
    "reference": None,  # the name the user gave a reference, and its licence id
    "notice": frozenset({"type", "years", "expression"}),  # not the holder: words of the file
    "records": frozenset({"table_id", "sheet", "rows_matched", "rows_registered", "cells_matched", "spans_total"}),
}
_SPAN_KEYS = frozenset({"start", "end", "page"})


def _kept(key: str, value: Any) -> Any:
    keys = _KEPT[key]
    if keys is None or not isinstance(value, dict):
        return value
    kept = {k: v for k, v in value.items() if k in keys}
    if key == "records" and isinstance(value.get("spans"), list):
        kept["spans"] = [{k: v for k, v in span.items() if k in _SPAN_KEYS} for span in value["spans"]]
    return kept


def redact_finding(f: Finding) -> Finding:
    """The finding with only the fields that hold no text."""
    extra = {k: _kept(k, v) for k, v in f.extra.items() if k in _KEPT}
    return dataclasses.replace(f, extra={**extra, "redacted": True})


def redact(report: ScanReport) -> ScanReport:
    """A copy of ``report`` whose findings keep locations, ids and scores only; reporters
    show no deliverable text for a redacted report (:attr:`ScanReport.redacted`)."""
    return dataclasses.replace(
        report,
        findings=[redact_finding(f) for f in report.findings],
        suppressed=[SuppressedFinding(redact_finding(s.finding), s.suppression) for s in report.suppressed],
        redacted=True,
    )
