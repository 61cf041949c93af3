"""Return-or-destroy checks in the console: the record ``leakwatch audit --return-check
VENDOR`` writes, checked, reduced to what the vendor page shows (when, whether every file
was read, how many registered documents and tables are still there whole, in parts or
not at all, and which: their registered path, label and share, and the deliverables
holding them), and stored beside the report row it came in as.

The record names documents and where they were found; it holds no text of any of them,
and neither does what is kept of it here.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from leakwatch.console.db import ConsoleError


@dataclass(frozen=True)
class ReturnCheck:
    vendor: str
    started_at: str
    finished_at: str | None
    complete: bool
    interrupted: bool
    verdict: str
    present: list[dict[str, Any]]  # one entry per registered document/table still there
    absent: int
    not_scanned: int

    def count(self, how: str) -> int:
        return sum(p["still_present"] == how for p in self.present)


def _present(entry: Any, where: str) -> dict[str, Any]:
    """What the console keeps of one ``still_present`` entry (names and numbers only)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) \
            or entry.get("still_present") not in ("whole", "parts"):
        raise ConsoleError(f"{where}: an entry of still_present has no path or no whole/parts")
    where_list = entry.get("where")
    found: list[Any] = where_list if isinstance(where_list, list) else []
    share = entry.get("share_of_document")
    return {
        "material": str(entry.get("material") or "document"),
        "path": entry["path"],
        "sheet": entry.get("sheet") if isinstance(entry.get("sheet"), str) else None,
        "label": entry.get("label") if isinstance(entry.get("label"), str) else None,
        "still_present": entry["still_present"],
        "share": float(share) if isinstance(share, (int, float)) and not isinstance(share, bool) else None,
        # Each deliverable once, in the record's order.
        "found_in": list(dict.fromkeys(str(w["path"]) for w in found if isinstance(w, dict)
                                       and isinstance(w.get("path"), str))),
    }


def parse_return_check(doc: dict[str, Any], name: str, when: str) -> ReturnCheck:
    """The return check in a parsed record.

    Raises:
        ConsoleError: the record lacks its vendor, its complete flag or its lists.
    """
    head = doc["return_check"]
    if not isinstance(head.get("vendor"), str) or not head["vendor"]:
        raise ConsoleError(f"{name}: the return check names no vendor")
    if not isinstance(head.get("complete"), bool):
        raise ConsoleError(f"{name}: the return check does not say whether it is complete")
    lists = {key: doc.get(key, []) for key in ("still_present", "not_found", "not_scanned")}
    for key, value in lists.items():
        if not isinstance(value, list):
            raise ConsoleError(f"{name}: the return check's {key} is not a list")
    return ReturnCheck(
        vendor=head["vendor"], started_at=str(head.get("started_at") or when),
        finished_at=str(head["finished_at"]) if head.get("finished_at") else None, complete=head["complete"],
        interrupted=bool(head.get("interrupted")), verdict=str(head.get("verdict") or "")[:300],
        present=[_present(e, name) for e in lists["still_present"]], absent=len(lists["not_found"]),
        not_scanned=len(lists["not_scanned"]))


def store_return_check(conn: sqlite3.Connection, report_id: int, vendor: str, check: ReturnCheck) -> None:
    """One row of ``return_checks`` (inside the import's transaction)."""
    conn.execute(
        "INSERT INTO return_checks(report_id, vendor, started_at, finished_at, complete, interrupted, verdict,"
        " whole, parts, absent, not_scanned, present_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (report_id, vendor, check.started_at, check.finished_at, int(check.complete), int(check.interrupted),
         check.verdict, check.count("whole"), check.count("parts"), check.absent, check.not_scanned,
         json.dumps(check.present, sort_keys=True)))


def return_checks(conn: sqlite3.Connection, vendor: str) -> list[dict[str, Any]]:
    """The vendor's return checks, newest first, each with the material still present."""
    rows = conn.execute("SELECT c.*, r.name AS report_name FROM return_checks c JOIN reports r ON r.id = c.report_id"
                        " WHERE c.vendor = ? ORDER BY c.started_at DESC, c.id DESC", (vendor,)).fetchall()
    return [{**dict(r), "complete": bool(r["complete"]), "interrupted": bool(r["interrupted"]),
             "present": json.loads(r["present_json"])} for r in rows]
