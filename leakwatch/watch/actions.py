"""What the daemon does about a file: the alert it raises, the alerts log, the webhook,
the quarantine.

An alert says which file, which vendor, what was found (kinds, severities, spans, source
document ids and labels, scores) or why it could not be scanned. It never holds text of
either document: findings are serialised by :meth:`Finding.to_dict`, which has none.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import leakwatch
from leakwatch.config import WatchFolder
from leakwatch.model import FileError, Finding
from leakwatch.watch.state import PendingAlert, StateDB, StateError, now_iso

log = logging.getLogger("leakwatch.watch")

# Bytes read from the end of the alerts log to tell whether a pending alert was already
# written before a crash (alerts are delivered in order, so a pending one is recent).
_LOG_TAIL_BYTES = 4 * 1024 * 1024


def alert_id(path: str, sha256: str | None, status: str) -> str:
    """The same file content with the same outcome always gets the same id: a file
    scanned again after a crash raises no second alert."""
    digest = hashlib.sha256(f"{path}\0{sha256 or ''}\0{status}".encode("utf-8", "surrogateescape"))
    return "al-" + digest.hexdigest()[:24]


@dataclass(frozen=True)
class FileOutcome:
    """What scanning one watched file gave."""

    path: str
    folder: WatchFolder
    size: int | None
    sha256: str | None
    findings: Sequence[Finding] = ()
    error: FileError | None = None
    # Members of a container file (archive, e-mail) that could not be scanned.
    member_errors: Sequence[FileError] = ()

    @property
    def status(self) -> str:
        if self.error is not None:
            return str(self.error.status)
        return str(self.member_errors[0].status) if self.member_errors else "ok"

    @property
    def message(self) -> str | None:
        if self.error is not None:
            return self.error.message
        if self.member_errors:
            return f"{len(self.member_errors)} member(s) not scanned: " + "; ".join(
                f"{e.path} ({e.status})" for e in self.member_errors[:5]) + ("; ..." if len(self.member_errors) > 5
                                                                             else "")
        return None

    @property
    def incomplete(self) -> bool:
        return self.error is not None or bool(self.member_errors)


def build_alert(outcome: FileOutcome, alerted: Sequence[Finding], incident: str | None = None,
                renamed_from: str | None = None) -> dict[str, Any]:
    """The alert for a file with findings at or above the folder's threshold, or one
    that could not be scanned (wholly, or some members of a container: listed under
    ``errors``, each naming its member). Content alerted before in the vendor's folders
    names that first alert (``incident``); a renamed file's alert says ``renamed`` and
    where from."""
    event = ("unscannable" if not alerted else "renamed" if renamed_from is not None else "findings")
    body: dict[str, Any] = {
        "id": alert_id(outcome.path, outcome.sha256, outcome.status),
        "time": now_iso(),
        "event": event,
        "leakwatch": leakwatch.__version__,
        "vendor": outcome.folder.name,
        "folder": outcome.folder.path,
        "path": outcome.path,
        "size": outcome.size,
        "sha256": outcome.sha256,
        "status": outcome.status,
    }
    if alerted:
        body["incident"] = incident or body["id"]
    if renamed_from is not None:
        body["renamed_from"] = renamed_from
    if outcome.incomplete:
        body["message"] = outcome.message
    if outcome.member_errors:
        body["errors"] = [e.to_dict() for e in outcome.member_errors]
    if alerted:
        body["max_severity"] = str(max(f.severity for f in alerted))
        body["findings"] = [f.to_dict() for f in alerted]
    return body


def incident_of(state: StateDB, path: Path, outcome: FileOutcome) -> tuple[str | None, str | None, tuple[Path, ...]]:
    """Whether this content was alerted before in the vendor's folders: the incident
    that first reported it, the path it was renamed from (None: the earlier file is
    still there, so this is a copy), and the earlier paths a rename left gone.

    A rename of alerted content is one incident: its alert says ``renamed`` and names
    the first alert, instead of reporting the same leak as new under a new id."""
    if outcome.sha256 is None:
        return None, None, ()
    earlier = state.alerted_with(outcome.folder.name, outcome.sha256, path)
    if not earlier:
        return None, None, ()
    incident = earlier[0].incident
    # A file we quarantined was moved by us, not renamed by the vendor; while the
    # content is still at another path, this file is a copy of it, not its new name.
    gone = [r for r in earlier if not os.path.lexists(os.fsdecode(r.path))]
    if len(gone) < len(earlier) or any(r.quarantined_to is not None for r in gone):
        return incident, None, ()
    return incident, gone[-1].display, tuple(Path(os.fsdecode(r.path)) for r in gone)


# --- the alerts log -------------------------------------------------------------------

class AlertsLog:
    """Append-only JSON lines, one per alert, synced before the alert counts as logged."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)

    def already_written(self) -> set[str]:
        """Ids of the alerts near the end of the log."""
        return {str(a["id"]) for a in self.tail()}

    def tail(self) -> list[dict[str, Any]]:
        """The alerts near the end of the log (the last 4 MiB), in order."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - _LOG_TAIL_BYTES))
                tail = fh.read()
        except FileNotFoundError:
            return []
        alerts: list[dict[str, Any]] = []
        for line in tail.splitlines():
            try:
                alert = json.loads(line)
            except ValueError:
                continue  # the first, partial line of the tail, or a line cut by a crash
            if isinstance(alert, dict) and "id" in alert:
                alerts.append(alert)
        return alerts

    def append(self, alert: dict[str, Any]) -> None:
        line = json.dumps(alert, sort_keys=True, ensure_ascii=False).encode("utf-8", "backslashreplace") + b"\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            # A line left without its newline by a crash would glue onto this one.
            if os.fstat(fd).st_size and _last_byte(self.path) != b"\n":
                line = b"\n" + line
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


    def flush(self) -> int:
        """Write what is kept for another try (nothing here: a line is written or raises)."""
        return 0


def _last_byte(path: Path) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1)


def deliver_to_log(state: StateDB, alerts: AlertsLog) -> int:
    """Write every alert not yet logged (in order), skipping those a crash left written
    but not marked; returns how many were written."""
    pending = [a for a in state.undelivered() if not a.logged]
    if not pending:
        return 0
    written_before = alerts.already_written()
    count = 0
    for alert in pending:
        if alert.id not in written_before:
            alerts.append(alert.body)
            count += 1
        state.mark_logged(alert.id)
    return count


# --- the webhook ----------------------------------------------------------------------

def post_json(url: str, body: dict[str, Any], timeout_s: float) -> None:
    """POST one alert; raises OSError (URLError, HTTPError, timeouts) when not accepted."""
    request = urllib.request.Request(
        url, data=json.dumps(body, sort_keys=True).encode("utf-8", "backslashreplace"), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": f"leakwatch/{leakwatch.__version__}"})
    # Only http(s) URLs reach here (checked when the config is read).
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        if not 200 <= response.status < 300:
            raise urllib.error.HTTPError(url, response.status, "not accepted", response.headers, None)


def backoff_s(attempt: int) -> float:
    """Seconds to wait before retry ``attempt`` (1, 2, ...): 0.5 s doubling, at most a minute."""
    return float(min(60.0, 0.5 * 2 ** (attempt - 1)))


class WebhookSender(threading.Thread):
    """Posts pending alerts in the background, in order, with retries and back-off, so a
    slow or dead endpoint never holds up scanning. Alerts stay pending in the state
    database until accepted or out of retries; a restart picks them up."""

    def __init__(self, state_dir: Path, url: str, timeout_s: float, retries: int) -> None:
        super().__init__(name="leakwatch-webhook", daemon=True)
        self._state_dir = state_dir
        self.url, self.timeout_s, self.retries = url, timeout_s, retries
        self._wake = threading.Event()
        self._stop_at: float | None = None

    def notify(self) -> None:
        self._wake.set()

    def stop(self, grace_s: float) -> None:
        """Finish what can be sent within ``grace_s`` seconds, then end."""
        self._stop_at = time.monotonic() + grace_s
        self._wake.set()
        self.join(grace_s + self.timeout_s + 1)

    def run(self) -> None:
        try:
            state = StateDB(self._state_dir)
        except StateError as exc:
            log.error("webhook sender cannot open the state database", extra={"fields": {"error": str(exc)}})
            return
        try:
            while True:
                pending = [a for a in state.undelivered() if a.webhook == "pending"]
                if not pending:
                    if self._stop_at is not None:
                        return
                    self._wake.wait(1.0)
                    self._wake.clear()
                    continue
                for alert in pending:
                    if not self._send(state, alert):
                        return
        finally:
            state.close()

    def _send(self, state: StateDB, alert: PendingAlert) -> bool:
        """Deliver one alert with retries; False when the sender must stop now."""
        attempts = alert.webhook_attempts
        while True:
            attempts += 1
            try:
                post_json(self.url, alert.body, self.timeout_s)
            except (OSError, ValueError) as exc:
                reason = str(getattr(exc, "reason", None) or exc)
                if attempts > self.retries:
                    state.mark_webhook(alert.id, "failed", attempts)
                    log.error("webhook gave up", extra={"fields": {"alert": alert.id, "attempts": attempts,
                                                                   "error": reason}})
                    return True
                state.mark_webhook(alert.id, "pending", attempts)
                wait = backoff_s(attempts)
                log.warning("webhook failed, will retry", extra={"fields": {
                    "alert": alert.id, "attempt": attempts, "retry_in_s": wait, "error": reason}})
                if self._stop_at is not None and time.monotonic() + wait > self._stop_at:
                    return False  # stays pending for the next start
                self._wake.wait(wait)
                continue
            state.mark_webhook(alert.id, "sent", attempts)
            log.info("webhook sent", extra={"fields": {"alert": alert.id, "attempts": attempts}})
            return True


# --- quarantine -----------------------------------------------------------------------

def quarantine(path: Path, folder: WatchFolder, quarantine_dir: Path, alert: dict[str, Any]) -> Path:
    """Move ``path`` into ``quarantine_dir/<vendor>/`` with a JSON record beside it saying
    where it came from and why; returns where the file now is.

    Raises:
        OSError: the file could not be moved (it stays where it was).
    """
    target_dir = quarantine_dir / _safe_name(folder.name)
    target_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(quarantine_dir, 0o700)
    os.chmod(target_dir, 0o700)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = f"{stamp}-{alert['id']}-{_safe_name(path.name)}"
    target = target_dir / base
    record = {
        "original_path": alert["path"],
        "vendor": folder.name,
        "folder": folder.path,
        "quarantined_at": now_iso(),
        "sha256": alert.get("sha256"),
        "alert": alert["id"],
        "event": alert["event"],
        "status": alert["status"],
    }
    # The record first: a crash after the move still leaves where the file came from.
    record_path = target_dir / (base + ".json")
    fd = os.open(record_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(record, fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        shutil.move(os.fspath(path), os.fspath(target))
    except OSError:
        record_path.unlink(missing_ok=True)
        raise
    os.chmod(target, 0o600)
    return target


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in name.encode(
        "utf-8", "surrogateescape").decode("utf-8", "replace"))
    return cleaned.strip(".") or "file"
