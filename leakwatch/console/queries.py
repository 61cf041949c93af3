"""What the console's pages read from its database: the inbox (one row per case, its
latest occurrence, filtered), one case with its history, and a vendor's record."""

from __future__ import annotations

import json
import sqlite3
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SEVERITIES = ("high", "medium", "low")


@dataclass(frozen=True)
class InboxFilter:
    vendor: str = ""
    severity: str = ""
    kind: str = ""
    status: str = ""
    since: str = ""  # YYYY-MM-DD, inclusive
    until: str = ""  # YYYY-MM-DD, inclusive

    @classmethod
    def from_args(cls, args: Any) -> InboxFilter:
        return cls(**{k: str(args.get(k, "")).strip()[:200] for k in cls.__dataclass_fields__})

    def where(self) -> tuple[str, list[Any]]:
        """The SQL condition on the latest occurrence ``f`` and its case ``c``."""
        clauses, params = [], []
        for column, value in (("f.vendor", self.vendor), ("f.severity", self.severity), ("f.kind", self.kind),
                              ("c.status", self.status)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.since:
            clauses.append("substr(c.first_seen, 1, 10) >= ?")
            params.append(self.since)
        if self.until:
            clauses.append("substr(c.first_seen, 1, 10) <= ?")
            params.append(self.until)
        return (" AND ".join(clauses) or "1"), params


_LATEST = """
    SELECT f.*, c.status, c.assignee, c.first_seen, c.decided_at, n.seen
    FROM findings f
    JOIN (SELECT finding_id, MAX(id) AS id, COUNT(*) AS seen FROM findings GROUP BY finding_id) n ON n.id = f.id
    JOIN cases c ON c.finding_id = f.finding_id
"""

_SEVERITY_ORDER = "CASE f.severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END"


def inbox(conn: sqlite3.Connection, flt: InboxFilter, limit: int = 500) -> list[sqlite3.Row]:
    where, params = flt.where()
    return conn.execute(f"{_LATEST} WHERE {where} ORDER BY (c.status = 'open') DESC, {_SEVERITY_ORDER}, "
                        "c.first_seen DESC LIMIT ?", [*params, limit]).fetchall()


def inbox_counts(conn: sqlite3.Connection, flt: InboxFilter) -> dict[str, dict[str, int]]:
    """Cases matching the filter, counted by status, severity, kind and vendor."""
    where, params = flt.where()
    out: dict[str, dict[str, int]] = {}
    for name in ("status", "severity", "kind", "vendor"):
        rows = conn.execute(f"SELECT q.{name} AS v, COUNT(*) AS n FROM ({_LATEST} WHERE {where}) q "
                            "GROUP BY q.{name} ORDER BY n DESC".replace("{name}", name), params).fetchall()
        out[name] = {str(r["v"]): int(r["n"]) for r in rows}
    return out


def choices(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """The values the inbox's filters offer."""
    return {col: [r[0] for r in conn.execute(f"SELECT DISTINCT {col} FROM findings ORDER BY 1")]
            for col in ("vendor", "kind")}


def case(conn: sqlite3.Connection, finding_id: str) -> sqlite3.Row | None:
    return conn.execute(f"{_LATEST} WHERE f.finding_id = ?", (finding_id,)).fetchone()


def finding_dict(row: sqlite3.Row) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(row["finding_json"])
    return data


def decisions(conn: sqlite3.Connection, finding_id: str) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM decisions WHERE finding_id = ? ORDER BY id", (finding_id,)).fetchall()


def occurrences(conn: sqlite3.Connection, finding_id: str) -> list[sqlite3.Row]:
    """Every report that listed this finding, oldest first."""
    return conn.execute("SELECT f.*, r.name AS report_name, r.source AS report_source FROM findings f "
                        "JOIN reports r ON r.id = f.report_id WHERE f.finding_id = ? ORDER BY f.found_at, f.id",
                        (finding_id,)).fetchall()


def related(conn: sqlite3.Connection, row: sqlite3.Row, limit: int = 50) -> list[sqlite3.Row]:
    """Other cases of the same content: the same source passage (overlapping span of the
    same registered document, whatever the deliverable was called or who delivered it),
    or the same deliverable bytes (a renamed or re-delivered file)."""
    return conn.execute(
        f"{_LATEST} WHERE f.finding_id != ? AND ((f.source_doc_id = ? AND f.s_start < ? AND f.s_end > ?)"
        " OR (f.deliverable_sha256 != '' AND f.deliverable_sha256 = ?)) ORDER BY c.first_seen LIMIT ?",
        (row["finding_id"], row["source_doc_id"], row["s_end"] if row["s_end"] is not None else -1,
         row["s_start"] if row["s_start"] is not None else 1 << 62, row["deliverable_sha256"], limit)).fetchall()


# --- vendors ---------------------------------------------------------------------------------

def vendors(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Every vendor with findings or a return check (a clean one has no findings)."""
    return conn.execute(f"SELECT q.vendor, COUNT(*) AS cases, SUM(q.status = 'open') AS open, "
                        f"SUM(q.status = 'confirmed') AS confirmed FROM ({_LATEST}) q GROUP BY q.vendor "
                        "UNION SELECT DISTINCT vendor, 0, 0, 0 FROM return_checks "
                        "WHERE vendor NOT IN (SELECT vendor FROM findings) ORDER BY 1").fetchall()


def _parse(at: str) -> datetime | None:
    try:
        return datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass
class VendorRecord:
    name: str
    by_delivery: list[dict[str, Any]]  # report, when, counts by severity
    by_month: dict[str, dict[str, int]]  # YYYY-MM -> severity -> findings
    status: dict[str, int]
    open_incidents: list[sqlite3.Row]
    decision_hours: list[float]  # first seen -> first closing/confirming decision

    @property
    def median_hours(self) -> float | None:
        return statistics.median(self.decision_hours) if self.decision_hours else None


def vendor_record(conn: sqlite3.Connection, name: str) -> VendorRecord:
    deliveries: dict[int, dict[str, Any]] = {}
    for r in conn.execute("SELECT r.id, r.name, r.started_at, f.severity, COUNT(*) AS n FROM findings f "
                          "JOIN reports r ON r.id = f.report_id WHERE f.vendor = ? "
                          "GROUP BY r.id, f.severity ORDER BY r.started_at, r.id", (name,)):
        d = deliveries.setdefault(r["id"], {"id": r["id"], "name": r["name"], "at": r["started_at"],
                                            **{s: 0 for s in SEVERITIES}})
        d[r["severity"]] = d.get(r["severity"], 0) + int(r["n"])
    by_month: dict[str, dict[str, int]] = defaultdict(lambda: {s: 0 for s in SEVERITIES})
    status: dict[str, int] = defaultdict(int)
    hours: list[float] = []
    rows = conn.execute(f"{_LATEST} WHERE f.vendor = ?", (name,)).fetchall()
    for r in rows:
        by_month[r["first_seen"][:7]][r["severity"]] += 1
        status[r["status"]] += 1
        first, decided = _parse(r["first_seen"]), _parse(r["decided_at"] or "")
        if first is not None and decided is not None:
            hours.append(max(0.0, (decided - first).total_seconds() / 3600))
    incidents = [r for r in rows if r["status"] in ("open", "confirmed")]
    return VendorRecord(name, list(deliveries.values()), dict(sorted(by_month.items())), dict(status),
                        incidents, hours)
