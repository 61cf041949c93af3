"""IP audits: what came back from each vendor, and what is still there at the end.

``leakwatch audit`` scans the folders of every configured vendor ([[watch.folders]],
grouped by vendor) and writes one record per vendor: when, with which leakwatch,
settings and index, every file looked at (path, sha256, status, findings), findings by
kind and by IP label, and the files that could not be scanned.

``leakwatch audit --return-check VENDOR`` answers the end-of-engagement question: which
registered confidential documents, whole or in part, are still in that vendor's folders.
A check that could not read every file certifies nothing: it says so and exits 3.
"""

from __future__ import annotations

import functools
import json
import platform
import socket
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import leakwatch
from leakwatch.batch import TreeScanOptions, scan_tree
from leakwatch.config import Config, WatchFolder
from leakwatch.detect.registry import finding_kinds
from leakwatch.errors import UserError
from leakwatch.evaluate.measures import union_length
from leakwatch.model import Finding
from leakwatch.report.base import write_private
from leakwatch.results import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INCOMPLETE, FileScan, ScanReport

# Findings of registered confidential material (documents and tables), as the detectors
# declare them; third-party kinds (licences, notices, references) are not the client's to
# have returned. WHOLE: the kinds that say the material is there whole.
CONFIDENTIAL_KINDS = frozenset(k.id for k in finding_kinds().values() if k.confidential)
WHOLE_KINDS = frozenset(k.id for k in finding_kinds().values() if k.whole_document)


def vendors_of(config: Config) -> dict[str, list[WatchFolder]]:
    """The configured vendors and their folders (a vendor may have several)."""
    vendors: dict[str, list[WatchFolder]] = defaultdict(list)
    for folder in config.watch.folders:
        vendors[folder.name].append(folder)
    return dict(vendors)


@dataclass
class VendorAudit:
    vendor: str
    folders: list[str]
    report: ScanReport
    files: list[dict[str, Any]] = field(default_factory=list)
    started_at: str = ""
    finished_at: str = ""

    def record(self) -> dict[str, Any]:
        """The audit record (no text of any document)."""
        findings = self.report.findings
        return {
            "audit": {
                "vendor": self.vendor,
                "folders": self.folders,
                "started_at": self.started_at,
                "finished_at": self.finished_at,
                "leakwatch": leakwatch.__version__,
                "python": platform.python_version(),
                "host": socket.gethostname(),
                "config": self.report.config,
                "index": self.report.index,
            },
            "summary": {
                "files": len(self.files),
                "files_scanned": self.report.files_scanned,
                "files_not_scanned": len(self.report.errors),
                "files_with_findings": len({f.deliverable_path for f in findings}),
                "findings": len(findings),
                "by_kind": dict(sorted(Counter(f.kind for f in findings).items())),
                "by_label": dict(sorted(Counter(f.source.label for f in findings if f.source).items())),
                "by_severity": dict(sorted(Counter(str(f.severity) for f in findings).items())),
                "confidential_findings": sum(f.kind in CONFIDENTIAL_KINDS for f in findings),
                "complete": self.report.complete,
                **({"interrupted": True} if self.report.interrupted is not None else {}),
            },
            "files": self.files,
            "not_scanned": [e.to_dict() for e in self.report.errors],
            "findings": [f.to_dict() for f in findings],
        }


def file_stamp() -> str:
    """The time in audit records' file names (UTC, sortable, no colons)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def audit_vendor(vendor: str, folders: Sequence[WatchFolder], config: Config,
                 options: TreeScanOptions) -> VendorAudit:
    files: list[dict[str, Any]] = []

    def note(scanned: FileScan, cached: bool) -> None:
        files.append({"path": scanned.path, "sha256": scanned.sha256,
                      "status": "ok" if scanned.error is None else str(scanned.error.status),
                      "findings": len(scanned.findings)})

    started = now_iso()
    report = scan_tree([Path(f.path) for f in folders], config, options, on_file=note)
    return VendorAudit(vendor, [f.path for f in folders], report, files, started, now_iso())


class AuditError(UserError):
    """An audit record could not be written (the command stops: exit 2)."""


def run_audits(names: Sequence[str], vendors: dict[str, list[WatchFolder]], config: Config,
               options: TreeScanOptions, output_dir: Path, html: bool,
               told: Callable[[VendorAudit, Path], None]) -> list[VendorAudit]:
    """Audit each vendor in turn: scan its folders, write its record (and its HTML report),
    tell ``told``. An interrupted vendor's record is written, marked incomplete, and the
    vendors after it are not audited.

    Raises:
        AuditError: a record cannot be written.
    """
    stamp = file_stamp()
    audits: list[VendorAudit] = []
    for name in names:
        result = audit_vendor(name, vendors[name], config, options)
        audits.append(result)
        path = write_record(result.record(), output_dir, f"{safe_name(name)}-audit-{stamp}.json")
        if html:
            write_html(result, output_dir / f"{safe_name(name)}-audit-{stamp}.html", config)
        told(result, path)
        if result.report.interrupted is not None:
            break
    return audits


def run_return_check(name: str, folders: Sequence[WatchFolder], config: Config, options: TreeScanOptions,
                     output_dir: Path) -> tuple[dict[str, Any], Path, int]:
    """The end-of-engagement check of one vendor: its record, where it was written, and
    the exit code (1 material still there, 3 not everything read, 130/143 interrupted).

    Raises:
        AuditError: the record cannot be written.
        StoreError: the store cannot be read.
    """
    from leakwatch.store import open_store

    result = audit_vendor(name, folders, config, options)
    with open_store(config) as st:
        documents, tables = st.list_documents(), st.list_tables()
    check = return_check(result, documents, tables)
    path = write_record(check, output_dir, f"{safe_name(name)}-return-check-{file_stamp()}.json")
    return check, path, return_check_exit_code(check, result.report.interrupted)


def write_html(audit: VendorAudit, path: Path, config: Config) -> None:
    """The vendor's findings as an HTML report (0600), deliverables quoted as read again in
    the isolated worker."""
    from leakwatch.pipeline import extraction
    from leakwatch.report import REPORTERS
    from leakwatch.report.base import ReportContext

    try:
        with extraction(config) as reader:
            reporter = REPORTERS["html"].for_run(ReportContext(reader.read_again, audit.folders))
            write_private(path, functools.partial(reporter.write, audit.report))
    except OSError as exc:
        raise AuditError(f"cannot write the audit report {path}: {exc.strerror or exc}") from exc


def write_record(record: dict[str, Any], output_dir: Path, name: str) -> Path:
    """Write a record 0600, whole or not at all (it names confidential documents and
    where they were found), in a folder made 0700."""
    path = output_dir / name

    def dump(fh: TextIO) -> None:
        json.dump(record, fh, indent=2, sort_keys=True, ensure_ascii=False)
        fh.write("\n")

    try:
        output_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_private(path, dump)
    except OSError as exc:
        raise AuditError(f"cannot write the audit record {path}: {exc.strerror or exc}") from exc
    return path


def safe_name(vendor: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in vendor).strip(".") or "vendor"


def audit_exit_code(audits: Sequence[VendorAudit]) -> int:
    stopped = next((a.report.interrupted for a in audits if a.report.interrupted is not None), None)
    if stopped is not None:
        return 128 + stopped
    if any(a.report.findings for a in audits):
        return EXIT_FINDINGS
    return EXIT_INCOMPLETE if any(a.report.errors for a in audits) else EXIT_CLEAN


# --- the return check -------------------------------------------------------------------------

def return_check(audit: VendorAudit, documents: Sequence[Any], tables: Sequence[Any] = ()) -> dict[str, Any]:
    """Every registered confidential document and table, and whether (whole, or which
    share of it) it is still in the vendor's folders, and where. References are
    third-party material, not the client's: they are not part of the check."""
    by_source: dict[str, list[Finding]] = defaultdict(list)
    for f in audit.report.findings:
        if f.kind in CONFIDENTIAL_KINDS and f.source is not None:
            by_source[f.source.doc_id].append(f)
    present, absent = [], []
    for doc in sorted(documents, key=lambda d: d.path):
        entry: dict[str, Any] = {"material": "document", "doc_id": doc.doc_id, "path": doc.path, "label": doc.label,
                                 "owner": doc.owner, "version": doc.version}
        found = by_source.get(doc.doc_id, [])
        if not found:
            absent.append(entry)
            continue
        whole = any(f.kind in WHOLE_KINDS for f in found)
        spans = [(f.source.span.start, f.source.span.end) for f in found if f.source and f.source.span]
        share = 1.0 if whole else (union_length(spans) / doc.n_chars if doc.n_chars else 0.0)
        entry.update({"still_present": "whole" if whole else "parts", "share_of_document": round(min(1.0, share), 4),
                      "where": [_where(f) for f in found]})
        present.append(entry)
    for table in sorted(tables, key=lambda t: (t.path, t.sheet or "")):
        entry = {"material": "table", "doc_id": table.table_id, "path": table.path, "sheet": table.sheet,
                 "label": table.label, "owner": table.owner, "version": table.version, "rows": table.n_rows}
        found = by_source.get(table.table_id, [])
        if not found:
            absent.append(entry)
            continue
        whole = any(f.kind in WHOLE_KINDS for f in found)
        # Rows found in several files are counted in each: the share is an upper bound then.
        rows = sum(int(f.extra.get("records", {}).get("rows_matched", 0)) for f in found)
        share = 1.0 if whole else (rows / table.n_rows if table.n_rows else 0.0)
        entry.update({"still_present": "whole" if whole else "parts", "share_of_document": round(min(1.0, share), 4),
                      "rows_still_present": table.n_rows if whole else rows, "where": [_where(f) for f in found]})
        present.append(entry)
    complete = audit.report.complete
    if audit.report.interrupted is not None:
        verdict = "interrupted: the check did not finish, so nothing is certified"
    elif present:
        verdict = "confidential material is still present"
    elif complete:
        verdict = "no registered confidential document or table found: returned or destroyed"
    else:
        verdict = "incomplete: some files could not be read, so nothing is certified"
    return {
        "return_check": {"vendor": audit.vendor, "folders": audit.folders, "started_at": audit.started_at,
                         "finished_at": audit.finished_at, "leakwatch": leakwatch.__version__,
                         "index": audit.report.index, "config": audit.report.config,
                         "files_looked_at": len(audit.files), "complete": complete, "verdict": verdict,
                         **({"interrupted": True} if audit.report.interrupted is not None else {})},
        "still_present": present,
        "not_found": absent,
        "not_scanned": [e.to_dict() for e in audit.report.errors],
    }


def _where(f: Finding) -> dict[str, Any]:
    return {"path": f.deliverable_path, "sha256": f.deliverable_sha256, "kind": f.kind,
            "start": f.deliverable_span.start, "end": f.deliverable_span.end, "page": f.deliverable_span.page,
            "finding": f.id}


def return_check_exit_code(check: dict[str, Any], interrupted: int | None = None) -> int:
    if interrupted is not None:
        return 128 + interrupted
    if check["still_present"]:
        return EXIT_FINDINGS
    return EXIT_CLEAN if check["return_check"]["complete"] else EXIT_INCOMPLETE
