"""CSV report, for spreadsheets and audit trackers: one row per finding, suppressed finding
and unscannable file, under a fixed header (columns are only ever added at the end).

- a finding: ``status`` is ``open``; a finding kept out by a baseline or an ignore file:
  ``status`` is ``suppressed``, with ``suppressed_by`` (``baseline`` or ``ignore``) and
  ``justification`` (who accepted it and why, or the ignore rule);
- a file that could not be scanned: ``kind`` is ``error``, ``status`` is the file's status
  (``encrypted``, ``too-large``, ``timeout``, ``memory``, ``unreadable``, ``vanished``,
  ``parse-error``, ``unsupported``) and ``message`` says why; the other columns are empty.

Offsets (``start``, ``end``, ``source_start``, ``source_end``) are character offsets into
the extracted text, end exclusive; pages are 1-based. Empty cells mean "none" (a notice
has no source and no scores). No text of any document is written. Text cells that a
spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or
carriage return: file names and messages come from vendors) are prefixed with ``'``.
"""

from __future__ import annotations

import csv
from typing import Any, TextIO

from leakwatch.model import FileError, Finding, Suppression
from leakwatch.report.base import Reporter
from leakwatch.results import ScanReport

COLUMNS = (
    "id", "kind", "severity", "status", "deliverable_path", "deliverable_sha256", "start", "end", "page",
    "source_doc_id", "source_path", "source_label", "source_start", "source_end", "source_page",
    "matched_words", "resemblance", "containment_deliverable", "containment_source", "confidence",
    "verified", "method", "suppressed_by", "justification", "message",
    # A member of an archive or e-mail: the file holding it, and the e-mail's headers.
    "container_path", "container_sha256", "email_from", "email_to", "email_subject", "email_date",
    "email_message_id",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    return str(value)


def finding_row(f: Finding, suppression: Suppression | None = None) -> dict[str, Any]:
    src, span, s = f.source, f.source.span if f.source else None, f.scores
    justification = None
    if suppression is not None:
        justification = suppression.justification if suppression.accepted_by is None else \
            f"accepted by {suppression.accepted_by} on {suppression.accepted_at}: {suppression.justification}"
    return {
        "id": f.id, "kind": f.kind, "severity": str(f.severity),
        "status": "open" if suppression is None else "suppressed",
        "deliverable_path": f.deliverable_path, "deliverable_sha256": f.deliverable_sha256,
        "start": f.deliverable_span.start, "end": f.deliverable_span.end, "page": f.deliverable_span.page,
        "source_doc_id": src.doc_id if src else None, "source_path": src.path if src else None,
        "source_label": src.label if src else None,
        "source_start": span.start if span else None, "source_end": span.end if span else None,
        "source_page": span.page if span else None,
        "matched_words": s.matched_words if s else None,
        "resemblance": round(s.resemblance, 4) if s else None,
        "containment_deliverable": round(s.containment_deliverable, 4) if s else None,
        "containment_source": round(s.containment_source, 4) if s else None,
        "confidence": round(s.confidence, 4) if s else None,
        "verified": f.verified, "method": f.extra.get("method"),
        "suppressed_by": suppression.origin if suppression else None, "justification": justification,
        "message": None,
        **_container_cells(f),
    }


def _container_cells(f: Finding) -> dict[str, Any]:
    container = f.extra.get("container")
    mail = f.extra.get("email")
    container = container if isinstance(container, dict) else {}
    mail = mail if isinstance(mail, dict) else {}
    return {"container_path": container.get("path"), "container_sha256": container.get("sha256"),
            **{f"email_{key}": mail.get(key) for key in ("from", "to", "subject", "date", "message_id")}}


def error_row(e: FileError) -> dict[str, Any]:
    return {"kind": "error", "status": str(e.status), "deliverable_path": e.path, "message": e.message,
            "container_path": e.container}


class CsvReporter(Reporter):
    format_name = "csv"

    def write(self, report: ScanReport, out: TextIO) -> None:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        rows = [finding_row(f) for f in report.findings]
        rows += [finding_row(s.finding, s.suppression) for s in report.suppressed]
        rows += [error_row(e) for e in report.errors]
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in COLUMNS])
