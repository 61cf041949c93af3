"""The daemon's alerts written straight into the review console's database
(``watch.console_db``, ``leakwatch watch --console-db PATH``), so the console's inbox
lists them without an import by hand.

Each alert goes in through :func:`leakwatch.console.imports.import_report`, exactly as
``leakwatch serve import`` takes an alert log: one report row and its findings in one
transaction, with its line in the console's audit log. The bytes imported are the
alert's line in the alerts log (without its newline), so the console's one-import-per-
report rule also keeps an alert from going in twice.

The alerts log stays the record: the line is written and synced there first, and only
then is the alert written into the console. A console write that fails (the database
locked beyond its 30 s timeout, a full disk) is logged as an error and the alert kept in
memory, to be tried again, in order, with the next alert or at the end of the next
reconciliation sweep (``watch.reconcile_every_s``). What is still missing when the
daemon stops (or crashes between the two writes) is written at its next start: the
console database remembers the last alert of this log it holds, and the alerts after it
at the end of the log are written then.

Only the standard library's sqlite3 is needed (the console's database code does not
import Flask), so the daemon can write into the console without the console extra.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

from leakwatch.config import Config
from leakwatch.errors import UserError
from leakwatch.watch.actions import AlertsLog
from leakwatch.watch.state import alerts_path_of

log = logging.getLogger("leakwatch.watch")

IMPORTED_BY = "leakwatch watch"
# Alerts kept for another try at most; beyond it the oldest are left to the alerts log
# (and to the catch-up at the next start).
MAX_PENDING = 10_000


class ConsoleSinkError(UserError):
    """The console database cannot be opened at start (exit 2, one line)."""


def open_alerts_log(config: Config) -> AlertsLog:
    """The daemon's alerts log: also writing into the console database when configured.

    Raises:
        ConsoleSinkError: ``watch.console_db`` is not a console database, is of another
            version, or cannot be created.
    """
    path = alerts_path_of(config)
    if not config.watch.console_db:
        return AlertsLog(path)
    return ConsoleAlertsLog(path, Path(config.watch.console_db))


def alert_bytes(alert: dict[str, Any]) -> bytes:
    """The alert's line in the alerts log, without its newline (as AlertsLog writes it)."""
    return json.dumps(alert, sort_keys=True, ensure_ascii=False).encode("utf-8", "backslashreplace")


class ConsoleAlertsLog(AlertsLog):
    """The alerts log, each alert then also imported into the console database."""

    def __init__(self, path: Path, db: Path) -> None:
        from leakwatch.console.db import ConsoleError, connect

        super().__init__(path)
        self.db = db
        try:
            self.conn = connect(db)
        except ConsoleError as exc:
            raise ConsoleSinkError(f"watch.console_db: {exc}") from None
        except OSError as exc:
            raise ConsoleSinkError(f"watch.console_db: cannot open {db}: {exc.strerror or exc}") from None
        self._marker = f"daemon-alerts:{path.resolve()}"
        self.pending: list[dict[str, Any]] = self._missing()
        if self.pending:
            log.info("writing alerts the console database lacks", extra={"fields": {
                "alerts": len(self.pending), "console_db": str(db)}})
            self.flush()

    def append(self, alert: dict[str, Any]) -> None:
        super().append(alert)  # the record first: a console failure never loses the alert
        self.pending.append(alert)
        if len(self.pending) > MAX_PENDING:
            dropped = self.pending[:-MAX_PENDING]
            del self.pending[:-MAX_PENDING]
            log.error("console write backlog full: older alerts left to the alerts log", extra={"fields": {
                "dropped": len(dropped), "console_db": str(self.db)}})
        self.flush()

    def flush(self) -> int:
        """Write the pending alerts in order; stops at the first failure (logged, kept for
        the next try). Returns how many were written."""
        from leakwatch.console.db import ConsoleError

        written = 0
        while self.pending:
            alert = self.pending[0]
            try:
                self._write(alert)
            except ConsoleError as exc:  # refused as it is (cannot happen for our own alerts): never retried
                log.error("console refused the alert: it stays in the alerts log only", extra={"fields": {
                    "alert": alert.get("id"), "error": str(exc)}})
            except (sqlite3.Error, OSError) as exc:
                if self.conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self.conn.execute("ROLLBACK")
                log.error("console write failed: retried with the next alert or sweep", extra={"fields": {
                    "alert": alert.get("id"), "pending": len(self.pending), "console_db": str(self.db),
                    "error": str(exc)}})
                return written
            else:
                written += 1
            self.pending.pop(0)
        return written

    def _write(self, alert: dict[str, Any]) -> None:
        from leakwatch.console.db import transaction
        from leakwatch.console.imports import import_report

        data = alert_bytes(alert)
        if not self._holds(data):
            import_report(self.conn, data, f"{self.path.name}:{alert.get('id')}", IMPORTED_BY,
                          written_at=str(alert.get("time") or "") or None)
        with transaction(self.conn):
            self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                              (self._marker, str(alert.get("id"))))

    def _holds(self, data: bytes) -> bool:
        digest = hashlib.sha256(data).hexdigest()
        return self.conn.execute("SELECT 1 FROM reports WHERE sha256 = ?", (digest,)).fetchone() is not None

    def _missing(self) -> list[dict[str, Any]]:
        """The alerts after the last one the console holds, at the end of the log. A
        console that never had an alert of this log starts from now: the log's past is
        imported by hand (``leakwatch serve import``) if wanted."""
        from leakwatch.console.db import transaction

        alerts = self.tail()
        ids = [a.get("id") for a in alerts]
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (self._marker,)).fetchone()
        if row is None:  # from here on ("": from the log's first alert)
            with transaction(self.conn):
                self.conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)",
                                  (self._marker, str(ids[-1]) if ids else ""))
            return []
        if row[0] == "":
            return [a for a in alerts if not self._holds(alert_bytes(a))]
        if row[0] not in ids:
            log.warning("the console's last alert is not near the end of the alerts log: alerts before the "
                        "last 4 MiB may be missing from the console", extra={"fields": {"console_db": str(self.db)}})
            return [a for a in alerts if not self._holds(alert_bytes(a))]
        return [a for a in alerts[ids.index(row[0]) + 1:] if not self._holds(alert_bytes(a))]

    def close(self) -> None:
        self.conn.close()
