"""The console's database: imported reports, their findings, and every decision taken on
them, in SQLite (stdlib ``sqlite3``, WAL, one transaction per change).

A finding is known by its stable id (``lw-...``): the same copied passage reported by
several scans is one *case* (table ``cases``: its status, who it is assigned to) seen in
several *occurrences* (table ``findings``: one row per report that lists it). A decision
therefore carries over to later scans of the same passage.

``decisions`` and ``audit_log`` are append-only: triggers abort any UPDATE or DELETE, so a
record of who decided what, when and from where cannot be rewritten through this database
(a person with the file can still replace it; the evidence package signs what it exports).

The database holds no text of any document: finding locations, ids, scores and the
reviewers' own words (reasons, comments) only; of the reviewers' accounts, salted password
hashes (``leakwatch.console.accounts``).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

SCHEMA_VERSION = 3
# Versions an older database is brought up from when opened: each added only tables (made by
# the schema script's CREATE ... IF NOT EXISTS), so the upgrade is the version number.
# 1 -> 2: return_checks; 2 -> 3: users.
_UPGRADABLE = frozenset({"1", "2"})
DB_ENV = "LEAKWATCH_CONSOLE_DB"
DEFAULT_DB = Path("leakwatch-console") / "console.sqlite3"

# What a case can be: no decision yet, confirmed as a leak (an open incident), dismissed
# as a false alarm, or accepted (written into the baseline: not raised again).
STATUSES = ("open", "confirmed", "dismissed", "accepted")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,          -- scan, audit, alerts or return-check
    name TEXT NOT NULL,            -- the file name it was imported from
    sha256 TEXT NOT NULL UNIQUE,   -- of the imported bytes: one import per report
    vendor TEXT,
    started_at TEXT NOT NULL,      -- when the scan ran (or, failing that, the file was written)
    imported_at TEXT NOT NULL,
    imported_by TEXT NOT NULL,
    leakwatch TEXT,
    meta_json TEXT NOT NULL,       -- summary, index, settings: no text
    n_findings INTEGER NOT NULL,
    n_errors INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS cases (
    finding_id TEXT PRIMARY KEY,
    status TEXT NOT NULL DEFAULT 'open',
    assignee TEXT,
    first_seen TEXT NOT NULL,
    decided_at TEXT                -- the first decision that closed or confirmed it
);
CREATE TABLE IF NOT EXISTS findings (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports(id),
    finding_id TEXT NOT NULL REFERENCES cases(finding_id),
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    vendor TEXT NOT NULL,
    found_at TEXT NOT NULL,
    deliverable_path TEXT NOT NULL,
    deliverable_sha256 TEXT NOT NULL,
    d_start INTEGER, d_end INTEGER,
    source_doc_id TEXT, source_path TEXT, source_label TEXT,
    s_start INTEGER, s_end INTEGER,
    confidence REAL, matched_words INTEGER,
    finding_json TEXT NOT NULL,
    UNIQUE (report_id, finding_id)
);
CREATE INDEX IF NOT EXISTS findings_case ON findings(finding_id);
CREATE INDEX IF NOT EXISTS findings_source ON findings(source_doc_id);
CREATE INDEX IF NOT EXISTS findings_deliverable ON findings(deliverable_sha256);
CREATE INDEX IF NOT EXISTS findings_vendor ON findings(vendor, found_at);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY,
    finding_id TEXT NOT NULL REFERENCES cases(finding_id),
    action TEXT NOT NULL,          -- confirm, dismiss, accept, assign, comment
    by TEXT NOT NULL,
    at TEXT NOT NULL,
    note TEXT NOT NULL,            -- the reason, the comment, or whom it was assigned to
    remote TEXT
);
CREATE INDEX IF NOT EXISTS decisions_case ON decisions(finding_id);
CREATE TABLE IF NOT EXISTS return_checks (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL UNIQUE REFERENCES reports(id),
    vendor TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    complete INTEGER NOT NULL,     -- every file was read (else nothing is certified)
    interrupted INTEGER NOT NULL,
    verdict TEXT NOT NULL,
    whole INTEGER NOT NULL,        -- registered documents/tables still there whole,
    parts INTEGER NOT NULL,        -- in parts,
    absent INTEGER NOT NULL,       -- not found,
    not_scanned INTEGER NOT NULL,  -- and files that could not be read
    present_json TEXT NOT NULL     -- what is still there: paths, labels, shares (no text)
);
CREATE INDEX IF NOT EXISTS return_checks_vendor ON return_checks(vendor, started_at);
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,   -- werkzeug.security's salted scrypt: never the password
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    disabled_at TEXT               -- a disabled account keeps its name in the history
);
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    remote TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
"""

# Append-only: the record of decisions and of the log cannot be changed or removed.
_TRIGGERS = [
    f"""CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"""
    for table in ("decisions", "audit_log") for op in ("UPDATE", "DELETE")
]


class ConsoleError(Exception):
    """A user-facing problem with the console database or an import (one line, exit 2)."""


def local_user() -> str:
    """Who runs this process (the login name), for records made without a console login."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _private_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)


def connect(path: Path, init: bool = True) -> sqlite3.Connection:
    """Open (creating it, 0600 in a 0700 folder) the console database; ``init=False``
    skips making the schema (a connection of a request, once the server has made it). A
    database of an older version is upgraded in place (the audit log says so).

    Raises:
        ConsoleError: not a console database, or of a newer (or unknown) schema version.
    """
    path = Path(path)
    _private_folder(path.parent)
    if not path.exists():
        # Created empty and private before SQLite writes anything in it.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # a decision reported saved survives a power cut
        conn.execute("PRAGMA foreign_keys=ON")
        if not init:
            return conn
        with transaction(conn):
            for statement in [*_statements(_SCHEMA), *_TRIGGERS]:
                conn.execute(statement)
            row = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta(key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            elif row["value"] in _UPGRADABLE:
                conn.execute("UPDATE meta SET value=? WHERE key='schema'", (str(SCHEMA_VERSION),))
                log(conn, "leakwatch", None, "upgrade", "database", f"schema {row['value']} -> {SCHEMA_VERSION}")
            elif row["value"] != str(SCHEMA_VERSION):
                raise ConsoleError(f"{path} is console database version {row['value']}; this leakwatch "
                                   f"reads version {SCHEMA_VERSION}")
    except sqlite3.DatabaseError as exc:
        raise ConsoleError(f"{path} is not a leakwatch console database: {exc}") from exc
    for suffix in ("-wal", "-shm"):  # SQLite makes them with the process umask
        extra = Path(str(path) + suffix)
        if extra.exists():
            os.chmod(extra, 0o600)
    return conn


def _statements(script: str) -> list[str]:
    # executescript() commits first; the schema is made inside our own transaction instead.
    code = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    return [s.strip() for s in code.split(";") if s.strip()]


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction (BEGIN IMMEDIATE: writers queue instead of failing midway);
    committed when the block ends, rolled back when it raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def log(conn: sqlite3.Connection, who: str, remote: str | None, action: str, target: str, detail: str = "") -> None:
    """One line of the audit log (inside the caller's transaction). Never document text."""
    conn.execute("INSERT INTO audit_log(at, who, remote, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
                 (now_iso(), who, remote, action, target, detail))
