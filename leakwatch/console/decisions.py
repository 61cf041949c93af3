"""Decisions on a case: confirm as a leak, dismiss as a false alarm, accept into the
baseline, assign, comment. Each is one transaction holding the decision row, the case's
new status and the audit-log line: all of it is kept, or none.

Accepting writes the finding into the baseline file the CLI reads (``scan --baseline``),
in the format of ``leakwatch baseline create`` (who, why, when), before the transaction
commits: if the file cannot be written, nothing is recorded either.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import leakwatch
from leakwatch.baseline import BaselineError, dumps_baseline, entries_from_findings, load_baseline, merge
from leakwatch.console import queries
from leakwatch.console.db import ConsoleError, log, now_iso, transaction

# What each action does to the case's status (None: leaves it), and whether it needs words.
ACTIONS: dict[str, tuple[str | None, str | None]] = {
    "confirm": ("confirmed", None),
    "dismiss": ("dismissed", "say why it is a false alarm"),
    "accept": ("accepted", "say why it is accepted (kept in the baseline with your name)"),
    "assign": (None, "name whom to assign it to"),
    "comment": (None, "write a comment"),
}
MAX_NOTE = 4000

_baseline_lock = threading.Lock()


@dataclass(frozen=True)
class Decision:
    finding_id: str
    action: str
    by: str
    note: str
    remote: str | None = None


def write_baseline(path: Path, finding: dict[str, object], by: str, reason: str, at: str) -> bool:
    """Add the finding to the baseline file (created 0600 if absent); False if it was
    there already. Other writers (another console process, a CLI run) are kept out by a
    lock file; the file is replaced whole, never left half-written."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock_path = path.with_name(path.name + ".lock")
    with _baseline_lock, open(os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        old = load_baseline(path) if path.exists() else None
        result = merge(old, entries_from_findings([finding], by, reason, at), at, leakwatch.__version__)
        if old is not None and len(result.entries) == len(old.entries):
            return False
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8") as fh:
            fh.write(dumps_baseline(result))
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
        return True


def decide(conn: sqlite3.Connection, decision: Decision, baseline: Path | None) -> None:
    """Record one decision.

    Raises:
        ConsoleError: unknown action or case, words missing where they are required, no
            baseline file configured for ``accept``, or the baseline could not be written.
    """
    if decision.action not in ACTIONS:
        raise ConsoleError(f"unknown decision {decision.action!r}")
    status, needs = ACTIONS[decision.action]
    note = decision.note.strip()
    if needs and not note:
        raise ConsoleError(needs)
    if len(note) > MAX_NOTE:
        raise ConsoleError(f"keep it under {MAX_NOTE} characters")
    at = now_iso()
    with transaction(conn):
        row = queries.case(conn, decision.finding_id)
        if row is None:
            raise ConsoleError(f"no finding {decision.finding_id[:60]}")
        conn.execute("INSERT INTO decisions(finding_id, action, by, at, note, remote) VALUES (?, ?, ?, ?, ?, ?)",
                     (decision.finding_id, decision.action, decision.by, at, note, decision.remote))
        if status is not None:
            conn.execute("UPDATE cases SET status = ?, decided_at = COALESCE(decided_at, ?) WHERE finding_id = ?",
                         (status, at, decision.finding_id))
        if decision.action == "assign":
            conn.execute("UPDATE cases SET assignee = ? WHERE finding_id = ?", (note, decision.finding_id))
        detail = f"status {status}" if status else ""
        if decision.action == "accept":
            if baseline is None:
                raise ConsoleError("no baseline file is configured (leakwatch serve --baseline FILE)")
            try:
                added = write_baseline(baseline, queries.finding_dict(row), decision.by, note, at)
            except OSError as exc:
                raise ConsoleError(f"cannot write the baseline {baseline}: {exc.strerror or exc}") from exc
            except BaselineError as exc:
                raise ConsoleError(str(exc)) from exc
            detail += f"; {'added to' if added else 'already in'} baseline {baseline}"
        log(conn, decision.by, decision.remote, decision.action, decision.finding_id, detail)
