"""Reports into the console: a scan report (``leakwatch scan --format json``), an audit
record (``leakwatch audit``), a return check (``leakwatch audit --return-check``) or the
daemon's alert log (one JSON alert a line), checked and stored as one report row and its
findings (a return check: its result, :mod:`leakwatch.console.returns`).

A report that is not one of these, or holds a finding without its id, kind, severity or
deliverable, is refused whole with a message saying what is wrong: a half-imported
report would show a vendor cleaner than it is.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from leakwatch.console.db import ConsoleError, log, now_iso, transaction
from leakwatch.console.returns import ReturnCheck, parse_return_check, store_return_check
from leakwatch.report.html import vendor_of


@dataclass
class ParsedReport:
    source: str  # scan, audit, alerts, return-check
    started_at: str
    leakwatch: str | None
    meta: dict[str, Any]
    # (vendor, found_at, finding) for every finding
    findings: list[tuple[str | None, str, dict[str, Any]]] = field(default_factory=list)
    n_errors: int = 0
    vendor: str | None = None
    return_check: ReturnCheck | None = None


def _check_finding(f: Any, where: str) -> dict[str, Any]:
    if not isinstance(f, dict):
        raise ConsoleError(f"{where}: a finding is not a JSON object")
    for key in ("id", "kind", "severity"):
        if not isinstance(f.get(key), str) or not f[key]:
            raise ConsoleError(f"{where}: a finding has no {key}")
    d = f.get("deliverable")
    if not isinstance(d, dict) or not isinstance(d.get("path"), str):
        raise ConsoleError(f"{where}: finding {f['id'][:40]} has no deliverable path")
    for side in (d, f.get("source") or {}):
        for key in ("start", "end"):
            if side.get(key) is not None and not isinstance(side[key], int):
                raise ConsoleError(f"{where}: finding {f['id'][:40]} has a non-integer offset")
    return f


def parse_report(data: bytes, name: str, written_at: str | None = None) -> ParsedReport:
    """The report in ``data`` (the bytes of a file called ``name``).

    Raises:
        ConsoleError: not UTF-8, not JSON, or not a leakwatch scan report, audit record,
            return check or alert log, or a finding in it is malformed.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConsoleError(f"{name} is not UTF-8 text: not a leakwatch report") from None
    when = written_at or now_iso()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        doc = None
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            raise ConsoleError(f"{name} is empty: not a leakwatch report") from None
        try:
            alerts = [json.loads(line) for line in lines]
        except json.JSONDecodeError:
            raise ConsoleError(f"{name} is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}): "
                               "it may be cut short or corrupt") from None
        return _parse_alerts(alerts, name, when)
    if not isinstance(doc, dict):
        raise ConsoleError(f"{name} is JSON but not a leakwatch report (not an object)")
    if isinstance(doc.get("return_check"), dict):
        check = parse_return_check(doc, name, when)
        return ParsedReport("return-check", check.started_at, str(doc["return_check"].get("leakwatch") or "") or None,
                            {"return_check": {k: doc["return_check"].get(k) for k in (
                                "vendor", "folders", "started_at", "finished_at", "files_looked_at", "complete",
                                "verdict", "index", "config")}}, [], check.not_scanned, check.vendor, check)
    if isinstance(doc.get("audit"), dict) and isinstance(doc.get("findings"), list):
        audit = doc["audit"]
        vendor = str(audit.get("vendor") or "") or None
        started = str(audit.get("started_at") or when)
        findings = [(vendor, started, _check_finding(f, name)) for f in doc["findings"]]
        meta = {"audit": {k: audit.get(k) for k in ("vendor", "folders", "started_at", "finished_at", "leakwatch",
                                                      "host", "index", "config")},
                "summary": doc.get("summary")}
        return ParsedReport("audit", started, audit.get("leakwatch"), meta, findings,
                            len(doc.get("not_scanned") or []), vendor)
    if isinstance(doc.get("event"), str) and "vendor" in doc:
        # One alert (a one-line alert log): it has "leakwatch" and "findings" too.
        return _parse_alerts([doc], name, when)
    if "leakwatch" in doc and isinstance(doc.get("findings"), list):
        summary: dict[str, Any] = doc["summary"] if isinstance(doc.get("summary"), dict) else {}
        started = str(summary.get("started_at") or when)
        findings = [(None, started, _check_finding(f, name)) for f in doc["findings"]]
        return ParsedReport("scan", started, str(doc.get("leakwatch")), {"summary": summary}, findings,
                            len(doc.get("errors") or []))
    raise ConsoleError(f"{name} is JSON but not a leakwatch report (no findings list)")


def _parse_alerts(alerts: Sequence[Any], name: str, when: str) -> ParsedReport:
    """The daemon's alert log: each alert names its vendor and time."""
    findings: list[tuple[str | None, str, dict[str, Any]]] = []
    errors = 0
    for n, alert in enumerate(alerts, 1):
        if not isinstance(alert, dict) or not isinstance(alert.get("event"), str):
            raise ConsoleError(f"{name}: line {n} is not a leakwatch alert")
        if alert["event"] == "unscannable":
            errors += 1
        at = str(alert.get("time") or when)
        for f in alert.get("findings") or []:
            findings.append((str(alert.get("vendor") or "") or None, at, _check_finding(f, f"{name}:{n}")))
    started = min((at for _, at, _ in findings), default=when)
    return ParsedReport("alerts", started, None, {"alerts": len(alerts)}, findings, errors)


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) else None


def import_report(conn: sqlite3.Connection, data: bytes, name: str, who: str, remote: str | None = None,
                  vendor: str | None = None, written_at: str | None = None) -> tuple[int, int]:
    """Parse and store one report in one transaction (with its audit-log line); returns
    (report id, findings stored). ``vendor`` names the vendor of a scan report's findings
    (by default: the folder that holds each deliverable).

    Raises:
        ConsoleError: the report is malformed (nothing stored), or was imported before.
    """
    parsed = parse_report(data, name, written_at)
    digest = hashlib.sha256(data).hexdigest()
    with transaction(conn):
        row = conn.execute("SELECT id, imported_at FROM reports WHERE sha256=?", (digest,)).fetchone()
        if row is not None:
            raise ConsoleError(f"{name} was imported already (report {row['id']}, {row['imported_at']})")
        report_vendor = vendor or parsed.vendor
        cur = conn.execute(
            "INSERT INTO reports(source, name, sha256, vendor, started_at, imported_at, imported_by, leakwatch,"
            " meta_json, n_findings, n_errors) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (parsed.source, name, digest, report_vendor, parsed.started_at, now_iso(), who, parsed.leakwatch,
             json.dumps(parsed.meta, sort_keys=True, default=str), len(parsed.findings), parsed.n_errors))
        report_id = int(cur.lastrowid or 0)
        if parsed.return_check is not None:
            store_return_check(conn, report_id, report_vendor or parsed.return_check.vendor, parsed.return_check)
        stored = 0
        for f_vendor, at, f in parsed.findings:
            d, s, scores = f["deliverable"], f.get("source") or {}, f.get("scores") or {}
            who_vendor = vendor or f_vendor or vendor_of(d["path"])
            conn.execute("INSERT OR IGNORE INTO cases(finding_id, first_seen) VALUES (?, ?)", (f["id"], at))
            conn.execute("UPDATE cases SET first_seen=? WHERE finding_id=? AND first_seen > ?", (at, f["id"], at))
            cur = conn.execute(
                "INSERT OR IGNORE INTO findings(report_id, finding_id, kind, severity, vendor, found_at,"
                " deliverable_path, deliverable_sha256, d_start, d_end, source_doc_id, source_path, source_label,"
                " s_start, s_end, confidence, matched_words, finding_json)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (report_id, f["id"], f["kind"], f["severity"], who_vendor, at, d["path"], str(d.get("sha256", "")),
                 _int(d.get("start")), _int(d.get("end")), s.get("doc_id"), s.get("path"), s.get("label"),
                 _int(s.get("start")), _int(s.get("end")),
                 scores.get("confidence") if isinstance(scores.get("confidence"), (int, float)) else None,
                 _int(scores.get("matched_words")), json.dumps(f, sort_keys=True)))
            stored += cur.rowcount
        rc = parsed.return_check
        log(conn, who, remote, "import", f"report {report_id}",
            f"{parsed.source} report {name}: " + (f"{stored} finding(s)" if rc is None else
                                                  f"{rc.count('whole')} whole, {rc.count('parts')} in parts, "
                                                  f"{rc.absent} absent, {'complete' if rc.complete else 'incomplete'}")
            + f", {parsed.n_errors} file(s) not scanned")
    return report_id, stored
