"""The daemon's state database: what every watched file was when it was last scanned,
and the alerts still to deliver.

Events are hints; this table is the truth a reconciliation sweep compares the folders
against. A file is rescanned only when its size or mtime differ from its row (and its
content hash too: a touched but unchanged file is not alerted twice).

Alerts are written in the same transaction as the file's status (an outbox), then
delivered; a daemon killed in between delivers them when it restarts, so no alert is
lost, and the log is checked for the alert's id first, so none is written twice.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leakwatch.config import Config
from leakwatch.errors import UserError

STATE_DB = "watch-state.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path BLOB PRIMARY KEY,          -- os.fsencode(path): names need not be UTF-8
    display TEXT NOT NULL,
    vendor TEXT NOT NULL,
    size INTEGER,
    mtime_ns INTEGER,
    sha256 TEXT,
    status TEXT NOT NULL,           -- ok, or the reason it could not be scanned
    findings INTEGER NOT NULL DEFAULT 0,
    message TEXT,
    scanned_at TEXT NOT NULL,
    scans INTEGER NOT NULL DEFAULT 0,
    quarantined_to TEXT,
    gone_at TEXT,                   -- when the file was seen deleted or renamed away (NULL: present)
    incident TEXT                   -- the alert that first reported this content (renames keep it)
);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    body TEXT NOT NULL,             -- the alert's JSON: no confidential text
    logged INTEGER NOT NULL DEFAULT 0,
    webhook TEXT NOT NULL DEFAULT 'none',   -- none, pending, sent, failed
    webhook_attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS alerts_undelivered ON alerts (logged, webhook);
"""
# Columns added after the first release: a state database made before them gets them on
# open (each NULL for the files it already knows).
_ADDED_COLUMNS = (("gone_at", "TEXT"), ("incident", "TEXT"))
_INDEXES = "CREATE INDEX IF NOT EXISTS files_by_content ON files (vendor, sha256);"


class StateError(UserError):
    """The state database cannot be opened or written."""


@dataclass(frozen=True)
class FileState:
    path: bytes
    display: str
    vendor: str
    size: int | None
    mtime_ns: int | None
    sha256: str | None
    status: str
    findings: int
    message: str | None
    scanned_at: str
    scans: int
    quarantined_to: str | None
    gone_at: str | None = None
    incident: str | None = None


@dataclass(frozen=True)
class PendingAlert:
    id: str
    body: dict[str, Any]
    logged: bool
    webhook: str
    webhook_attempts: int


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class StateDB:
    """SQLite in WAL mode; one connection per thread that uses it."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / STATE_DB
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not self.path.exists():
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            known = {row[1] for row in self._db.execute("PRAGMA table_info(files)")}
            for name, kind in _ADDED_COLUMNS:
                if name not in known:
                    self._db.execute(f"ALTER TABLE files ADD COLUMN {name} {kind}")
            self._db.executescript(_INDEXES)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"cannot open the state database {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    # --- files ------------------------------------------------------------------------

    _COLUMNS = ("path, display, vendor, size, mtime_ns, sha256, status, findings, message, scanned_at, scans, "
                "quarantined_to, gone_at, incident")

    def get(self, path: Path) -> FileState | None:
        row = self._db.execute(f"SELECT {self._COLUMNS} FROM files WHERE path = ?", (os.fsencode(path),)).fetchone()
        return None if row is None else FileState(*row)

    def files(self) -> Iterator[FileState]:
        for row in self._db.execute(f"SELECT {self._COLUMNS} FROM files ORDER BY path").fetchall():
            yield FileState(*row)

    def alerted_with(self, vendor: str, sha256: str, other_than: Path) -> list[FileState]:
        """Other files of the vendor with this content that raised a findings alert: where
        a renamed (or copied) leak was first reported."""
        rows = self._db.execute(
            f"SELECT {self._COLUMNS} FROM files WHERE vendor = ? AND sha256 = ? AND path != ? AND incident IS NOT NULL"
            " ORDER BY scanned_at", (vendor, sha256, os.fsencode(other_than))).fetchall()
        return [FileState(*row) for row in rows]

    def mark_gone(self, path: Path) -> bool:
        """The file was deleted or renamed away; True if a present file is now marked gone."""
        try:
            cur = self._db.execute("UPDATE files SET gone_at = ? WHERE path = ? AND gone_at IS NULL",
                                   (now_iso(), os.fsencode(path)))
        except sqlite3.Error as exc:
            raise StateError(f"cannot write the state database {self.path}: {exc}") from exc
        return cur.rowcount > 0

    def present_paths(self) -> list[Path]:
        """Files recorded as present (not gone, not quarantined)."""
        rows = self._db.execute("SELECT path FROM files WHERE gone_at IS NULL AND quarantined_to IS NULL").fetchall()
        return [Path(os.fsdecode(r[0])) for r in rows]

    def record(self, path: Path, display: str, vendor: str, size: int | None, mtime_ns: int | None,
               sha256: str | None, status: str, findings: int, message: str | None,
               alert: dict[str, Any] | None = None, webhook: bool = False, scanned: bool = True,
               incident: str | None = None, gone: tuple[Path, ...] = ()) -> None:
        """Record a file's outcome and, in the same transaction, the alert it raised, the
        incident its content belongs to, and the files a rename took it from (now gone)."""
        key = os.fsencode(path)
        try:
            with self._transaction():
                self._db.execute(
                    "INSERT INTO files (path, display, vendor, size, mtime_ns, sha256, status, findings,"
                    " message, scanned_at, scans, incident) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (path) DO UPDATE SET display = excluded.display, vendor = excluded.vendor,"
                    " size = excluded.size, mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256,"
                    " status = excluded.status, findings = excluded.findings, message = excluded.message,"
                    " scanned_at = excluded.scanned_at, scans = files.scans + excluded.scans,"
                    " quarantined_to = NULL, gone_at = NULL, incident = excluded.incident",
                    (key, display, vendor, size, mtime_ns, sha256, status, findings, message, now_iso(),
                     int(scanned), incident))
                for old in gone:
                    self._db.execute("UPDATE files SET gone_at = coalesce(gone_at, ?) WHERE path = ?",
                                     (now_iso(), os.fsencode(old)))
                if alert is not None:
                    self._db.execute("INSERT OR IGNORE INTO alerts (id, created_at, body, webhook) VALUES (?, ?, ?, ?)",
                                     (alert["id"], alert["time"], json.dumps(alert, sort_keys=True),
                                      "pending" if webhook else "none"))
        except sqlite3.Error as exc:
            raise StateError(f"cannot write the state database {self.path}: {exc}") from exc

    def touch(self, path: Path, size: int, mtime_ns: int) -> None:
        """The file's metadata changed but its content did not: remember the new metadata."""
        self._write("UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?", (size, mtime_ns, os.fsencode(path)))

    def set_quarantined(self, path: Path, where: str) -> None:
        self._write("UPDATE files SET quarantined_to = ? WHERE path = ?", (where, os.fsencode(path)))

    # --- alerts -----------------------------------------------------------------------

    def undelivered(self) -> list[PendingAlert]:
        rows = self._db.execute(
            "SELECT id, body, logged, webhook, webhook_attempts FROM alerts"
            " WHERE logged = 0 OR webhook = 'pending' ORDER BY created_at, id").fetchall()
        return [PendingAlert(r[0], json.loads(r[1]), bool(r[2]), r[3], r[4]) for r in rows]

    def mark_logged(self, alert_id: str) -> None:
        self._write("UPDATE alerts SET logged = 1 WHERE id = ?", (alert_id,))

    def mark_webhook(self, alert_id: str, outcome: str, attempts: int) -> None:
        self._write("UPDATE alerts SET webhook = ?, webhook_attempts = ? WHERE id = ?", (outcome, attempts, alert_id))

    def count_alerts(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM alerts").fetchone()[0])

    # --- helpers ----------------------------------------------------------------------

    def _write(self, sql: str, args: tuple[Any, ...]) -> None:
        try:
            self._db.execute(sql, args)
        except sqlite3.Error as exc:
            raise StateError(f"cannot write the state database {self.path}: {exc}") from exc

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
        else:
            self._db.execute("ROLLBACK")


# --- where the state lives, and what it says ------------------------------------------

def state_dir_of(config: Config) -> Path:
    """[watch] state_dir, else the store folder (for a Redis store: this host's folder, the
    key file's, as the state is per host)."""
    from leakwatch.store import local_folder

    return Path(config.watch.state_dir) if config.watch.state_dir else local_folder(config)


def alerts_path_of(config: Config) -> Path:
    return Path(config.watch.alerts_log) if config.watch.alerts_log else state_dir_of(config) / "alerts.jsonl"


def iter_state(config: Config) -> Iterator[dict[str, Any]]:
    """The recorded state of every watched file (for ``leakwatch watch --status``)."""
    state = StateDB(state_dir_of(config))
    try:
        for row in state.files():
            yield {"path": row.display, "vendor": row.vendor, "status": row.status, "findings": row.findings,
                   "size": row.size, "sha256": row.sha256, "scanned_at": row.scanned_at, "scans": row.scans,
                   "quarantined_to": row.quarantined_to, "message": row.message,
                   "gone": row.gone_at is not None, "gone_at": row.gone_at, "incident": row.incident}
    finally:
        state.close()
