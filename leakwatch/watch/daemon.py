"""``leakwatch watch``: the daemon that scans what vendors drop into their folders.

One thread (the main one) owns the state database, the settle bookkeeping and the
alerts; watchdog's observer threads only queue hints, and the scan lanes
(:mod:`leakwatch.watch.lanes`) only scan. Events are hints: a reconciliation sweep that
compares every file with its recorded state is the truth, run at start, every
``reconcile_every_s``, and whenever events may have been lost.

The life of a file: an event (or a sweep) puts it in the settle set; once complete it
joins the ready queue; it is scanned in a free lane (extraction in that lane's isolated
worker), so a slow file holds up only its own lane; back in the main thread its outcome
and alert are committed together; the alert is then written to the log, posted to the
webhook (in the background) and the file quarantined if so configured.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import stat
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from leakwatch.config import Config, WatchFolder
from leakwatch.errors import UserError
from leakwatch.model import FileError, Severity, Status
from leakwatch.pipeline import file_sha256
from leakwatch.results import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INCOMPLETE, FileScan, display_path
from leakwatch.store.base import StoreError
from leakwatch.walk import iter_files
from leakwatch.watch.actions import (
    FileOutcome,
    WebhookSender,
    build_alert,
    deliver_to_log,
    incident_of,
    quarantine,
)
from leakwatch.watch.console_sink import open_alerts_log
from leakwatch.watch.lanes import ScanLanes
from leakwatch.watch.metrics import NullMetrics, start_metrics
from leakwatch.watch.observe import Hints, Observers, is_wanted
from leakwatch.watch.settle import Settler
from leakwatch.watch.state import StateDB, StateError, alerts_path_of, state_dir_of

if TYPE_CHECKING:
    from leakwatch.baseline import Baseline, IgnoreFile

log = logging.getLogger("leakwatch.watch")

# Statuses worth another try at the next periodic sweep even if the file did not change
# (a permission fixed, a machine less loaded); the alert is not repeated (same id).
_RETRIED = frozenset({str(Status.UNREADABLE), str(Status.TIMEOUT), str(Status.MEMORY)})


class DaemonError(UserError):
    """The daemon cannot start (no store, no folder to watch): exit code 2."""


Suppressions = dict[str, tuple["Baseline | None", "IgnoreFile | None"]]


def load_suppressions(config: Config) -> Suppressions:
    """Each folder's baseline and ignore file, read once (and again on SIGHUP).

    Raises:
        DaemonError: one of them cannot be read or is invalid.
    """
    from leakwatch.baseline import BaselineError, load_baseline, load_ignore

    loaded: Suppressions = {}
    for folder in config.watch.folders:
        try:
            loaded[folder.path] = (load_baseline(Path(folder.baseline)) if folder.baseline else None,
                                   load_ignore(Path(folder.ignore)) if folder.ignore else None)
        except BaselineError as exc:
            raise DaemonError(f"folder {folder.path}: {exc}") from exc
    return loaded


def folder_of(path: Path, folders: Sequence[WatchFolder]) -> WatchFolder | None:
    """The watched folder ``path`` lies in (the innermost, when folders nest)."""
    best: WatchFolder | None = None
    for folder in folders:
        root = Path(folder.path)
        if (path == root or root in path.parents) and (best is None or len(folder.path) > len(best.path)):
            best = folder
    return best


@dataclass
class RunTotals:
    scanned: int = 0
    findings_alerts: int = 0
    unscannable: int = 0

    def exit_code(self) -> int:
        if self.findings_alerts:
            return EXIT_FINDINGS
        return EXIT_INCOMPLETE if self.unscannable else EXIT_CLEAN


class Daemon:
    """The watch service. ``reload`` re-reads the configuration (SIGHUP)."""

    def __init__(self, config: Config, reload: Callable[[], Config] | None = None) -> None:
        if not config.watch.folders:
            raise DaemonError("no folder to watch: name folders on the command line or in [[watch.folders]]")
        for folder in config.watch.folders:
            if not Path(folder.path).is_dir():
                raise DaemonError(f"watched folder {folder.path} is not a folder")
        self.config = config
        self._reload_config = reload
        self._events: queue.SimpleQueue[tuple[str, Path]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        # The signal that stopped the run: the exit code is 128 + it (130, 143), as for
        # every command, after the queue is drained.
        self._stopped_by: int | None = None
        self._reload_requested = False
        self._lost_reason: str | None = None
        self._ready: deque[Path] = deque()
        self._ready_set: set[Path] = set()
        # Files queued again while a lane was scanning them: scanned once more afterwards.
        self._again: set[Path] = set()
        self.totals = RunTotals()
        self.settler = Settler(config.watch.debounce_s, config.watch.settle_s)
        self.suppressions = load_suppressions(config)
        self.metrics: NullMetrics = NullMetrics()

    # --- signals and hints (any thread) -----------------------------------------------

    def request_stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        if signum is not None and self._stopped_by is None:
            self._stopped_by = signum
        self._stop.set()
        self._wake.set()

    def _on_hup(self, signum: int, frame: FrameType | None) -> None:
        self._reload_requested = True
        self._wake.set()

    def _hint(self, kind: str) -> Callable[[Path], None]:
        def put(path: Path) -> None:
            self._events.put((kind, path))
            self._wake.set()
        return put

    def _events_lost(self, reason: str) -> None:
        self._lost_reason = reason
        self._wake.set()

    # --- running ------------------------------------------------------------------------

    def run(self, once: bool = False, install_signals: bool = True) -> int:
        """Watch until SIGTERM/SIGINT (then drain the ready queue and return 143 or 130;
        0 when stopped by :meth:`request_stop` without a signal), or with ``once`` run one
        reconciliation sweep, scan what it found and return the scan exit code (1
        findings, 3 files not scanned, 0 clean). A sweep stopped by a signal returns 130
        or 143 at the next file: what it did not reach is picked up by the next sweep."""
        if install_signals:
            signal.signal(signal.SIGTERM, self.request_stop)
            signal.signal(signal.SIGINT, self.request_stop)
            signal.signal(signal.SIGHUP, self._on_hup)
        try:
            self.state = StateDB(state_dir_of(self.config))
        except StateError as exc:
            raise DaemonError(str(exc)) from exc
        try:
            _check_store(self.config)
            self.lanes = ScanLanes(self.config, self.config.watch.scan_lanes, self._wake.set)
            self.metrics = start_metrics(self.config, lambda: {"settling": len(self.settler), "ready": len(
                self._ready), "scanning": len(self.lanes.in_flight)})
            try:
                return self._run(once)
            finally:
                self._take_scans()  # anything still in flight (an error path) is recorded
                self.lanes.close()
                self.metrics.close()
        finally:
            self.state.close()

    def _run(self, once: bool) -> int:
        watch = self.config.watch
        self.alerts = open_alerts_log(self.config)
        self.webhook = (WebhookSender(state_dir_of(self.config), watch.webhook_url, watch.webhook_timeout_s,
                                      watch.webhook_retries) if watch.webhook_url else None)
        if self.webhook is not None:
            self.webhook.start()
        # Alerts a previous run committed but did not deliver.
        delivered = deliver_to_log(self.state, self.alerts)
        if delivered:
            log.info("delivered alerts left by the previous run", extra={"fields": {"alerts": delivered}})
        if once:
            log.info("sweep started", extra={"fields": {"folders": [f.path for f in watch.folders]}})
            self._sweep(settle=False)
            self._drain_ready(until_stopped=True)
            self._stop_webhook(grace_s=watch.webhook_timeout_s * 2)
            log.info("sweep interrupted" if self._stop.is_set() else "sweep finished", extra={"fields": {
                "scanned": self.totals.scanned, "findings_alerts": self.totals.findings_alerts,
                "unscannable": self.totals.unscannable, "not_reached": len(self._ready)}})
            return self._exit_after_stop() if self._stop.is_set() else self.totals.exit_code()
        self.observers = self._started_observers()
        log.info("watching", extra={"fields": {"folders": [f.path for f in watch.folders],
                                               "polling": self.observers.polled}})
        try:
            self._loop()
        finally:
            self.observers.stop()
            # Drain: every file already complete is scanned; files still settling have no
            # state yet, so the next start's sweep picks them up.
            self._take_events(time.monotonic())
            # Closed files are complete even inside their debounce time.
            for path in self.settler.due(time.monotonic() + self.settler.debounce_s):
                self._enqueue(path)
            self._drain_ready()
            self._stop_webhook(grace_s=2.0)
            log.info("stopped", extra={"fields": {"scanned": self.totals.scanned}})
        return self._exit_after_stop()

    def _exit_after_stop(self) -> int:
        return 128 + self._stopped_by if self._stopped_by is not None else EXIT_CLEAN

    def _started_observers(self) -> Observers:
        """New observers, started before they are published: a thread that reads
        ``self.observers`` (the health check, a test) never sees unstarted ones."""
        hints = Hints(written=self._hint("written"), closed=self._hint("closed"), gone=self._hint("gone"),
                      folder_arrived=self._hint("folder"), events_lost=self._events_lost)
        watch = self.config.watch
        observers = Observers(watch.folders, watch.temporary, hints, watch.poll_interval_s)
        observers.start()
        return observers

    def _stop_webhook(self, grace_s: float) -> None:
        if self.webhook is not None:
            self.webhook.stop(grace_s)

    def _loop(self) -> None:
        watch = self.config.watch
        self._sweep(settle=True)
        next_sweep = time.monotonic() + watch.reconcile_every_s if watch.reconcile_every_s else None
        while not self._stop.is_set():
            if self._reload_requested:
                self._reload_requested = False
                self._reload()
            now = time.monotonic()
            self.metrics.tick()
            self._take_events(now)
            if not self.observers.healthy():
                log.error("an observer thread died: restarting it and sweeping")
                self.observers.stop()
                self.observers = self._started_observers()
                self._lost_reason = self._lost_reason or "observer restarted"
            if self._lost_reason is not None or (next_sweep is not None and now >= next_sweep):
                if self._lost_reason is not None:
                    log.warning("events may have been lost: sweeping", extra={"fields": {"reason": self._lost_reason}})
                self._lost_reason = None
                self._sweep(settle=True)
                if watch.reconcile_every_s:
                    next_sweep = time.monotonic() + watch.reconcile_every_s
            for path in self.settler.due(time.monotonic()):
                self._enqueue(path)
            self._take_scans()
            if self._fill_lanes():
                continue
            waits = [0.5]
            settle_wait = self.settler.next_due(time.monotonic())
            if settle_wait is not None:
                waits.append(settle_wait)
            if next_sweep is not None:
                waits.append(max(0.0, next_sweep - time.monotonic()))
            self._wake.wait(min(waits))
            self._wake.clear()

    def _reload(self) -> None:
        if self._reload_config is None:
            return
        try:
            new = self._reload_config()
            if not new.watch.folders:
                raise DaemonError("the new configuration watches no folder")
            suppressions = load_suppressions(new)
        except Exception as exc:  # a bad edit must not stop the service: keep the old config
            log.error("configuration not reloaded", extra={"fields": {"error": str(exc)}})
            return
        self.observers.stop()
        while self.lanes.in_flight:  # the scans under way finish with the old settings
            self._take_scans(block=True)
        self.lanes.close()
        self.config, self.suppressions = new, suppressions
        self.settler.debounce_s, self.settler.settle_s = new.watch.debounce_s, new.watch.settle_s
        self.lanes = ScanLanes(new, new.watch.scan_lanes, self._wake.set)
        self.observers = self._started_observers()
        log.info("configuration reloaded", extra={"fields": {"folders": [f.path for f in new.watch.folders]}})
        self._lost_reason = "configuration reloaded"

    # --- events, sweeps, the ready queue ------------------------------------------------

    def _take_events(self, now: float) -> None:
        while True:
            try:
                kind, path = self._events.get_nowait()
            except queue.Empty:
                return
            if kind == "written":
                self.settler.written(path, now)
            elif kind == "closed":
                self.settler.closed(path, now)
            elif kind == "gone":
                self.settler.forget(path)
                # An editor's save (write a temporary, rename it over) also ends with the
                # path present: only a path that is really gone is marked.
                if not os.path.lexists(path) and self.state.mark_gone(path):
                    log.info("gone", extra={"fields": {"path": display_path(path)}})
            elif kind == "folder":
                self._sweep(settle=True, roots=[path])

    def _enqueue(self, path: Path) -> None:
        if path not in self._ready_set:
            self.metrics.settled(path)
            self._ready_set.add(path)
            self._ready.append(path)

    def _ready_pop(self) -> Path:
        path = self._ready.popleft()
        self._ready_set.discard(path)
        return path

    def _fill_lanes(self) -> bool:
        """Start scans from the ready queue while a lane is free; True if one was started."""
        started = False
        while self._ready and self.lanes.has_room():
            path = self._ready_pop()
            if self.lanes.busy(path):
                self._again.add(path)  # changed while being scanned: once more afterwards
                continue
            if self._process(path):
                started = True
            else:
                self.metrics.skipped(path)
        return started

    def _drain_ready(self, until_stopped: bool = False) -> None:
        """Scan everything ready and wait for every scan (``until_stopped``: start no new
        scan once a stop is requested; the ones under way still finish and are recorded)."""
        while self._ready or self.lanes.in_flight:
            if not (until_stopped and self._stop.is_set()):
                self._fill_lanes()
            elif not self.lanes.in_flight:
                return
            self._take_scans(block=True)

    def _excluded(self) -> tuple[Path, ...]:
        watch = self.config.watch
        dirs = [state_dir_of(self.config), Path(self.config.store), alerts_path_of(self.config).parent]
        if watch.quarantine_dir:
            dirs.append(Path(watch.quarantine_dir))
        return tuple(dirs)

    def _sweep(self, settle: bool, roots: Sequence[Path] | None = None) -> None:
        """Compare every file under the watched folders (or ``roots``) with its recorded
        state; whatever is new or changed is queued (``settle``: files modified within the
        settle time wait until they stop changing)."""
        started = time.monotonic()
        queued = 0
        folders = self.config.watch.folders
        seen: set[Path] = set()
        unavailable: set[str] = set()
        for root in roots if roots is not None else [Path(f.path) for f in folders]:
            for listing in iter_files([root], self.config.follow_symlinks, self._excluded()):
                if self._stop.is_set():
                    break  # what it did not reach is compared at the next start
                seen.add(listing.path)
                folder = folder_of(listing.path, folders)
                if folder is None or not is_wanted(listing.path, folder, self.config.watch.temporary):
                    continue
                if listing.error is not None:
                    if listing.path == Path(folder.path):
                        unavailable.add(folder.path)
                        log.error("watched folder unavailable", extra={"fields": {
                            "folder": folder.path, "error": listing.error.message}})
                        continue
                    queued += self._listing_error(listing.path, folder, listing.error)
                    continue
                if self._changed(listing.path):
                    queued += 1
                    if settle and self._recently_modified(listing.path):
                        self.settler.written(listing.path, time.monotonic())
                    else:
                        self._enqueue(listing.path)
        gone = self._mark_gone(seen, unavailable) if roots is None and not self._stop.is_set() else 0
        self.metrics.swept(full=roots is None and not self._stop.is_set())
        self.alerts.flush()  # alerts a failed console write left (watch.console_db)
        log.info("sweep", extra={"fields": {"queued": queued, "gone": gone,
                                            "seconds": round(time.monotonic() - started, 3),
                                            "roots": [str(r) for r in roots] if roots else "all"}})

    def _mark_gone(self, seen: set[Path], unavailable: set[str]) -> int:
        """Files the state knows as present that a whole sweep did not find: deleted or
        renamed while no event said so (or while the daemon was down). A folder that could
        not be listed (a share that is down) proves nothing about its files."""
        gone = 0
        for path in self.state.present_paths():
            folder = folder_of(path, self.config.watch.folders)
            if path in seen or folder is None or folder.path in unavailable or os.path.lexists(path):
                continue
            gone += self.state.mark_gone(path)
        return gone

    def _recently_modified(self, path: Path) -> bool:
        try:
            return time.time() - os.stat(path).st_mtime < self.config.watch.settle_s
        except OSError:
            return False

    def _changed(self, path: Path) -> bool:
        row = self.state.get(path)
        if row is None or row.quarantined_to is not None or row.status in _RETRIED or row.gone_at is not None:
            return True
        try:
            st = os.stat(path)
        except OSError:
            return True
        return (row.size, row.mtime_ns) != (st.st_size, st.st_mtime_ns)

    def _listing_error(self, path: Path, folder: WatchFolder, error: FileError) -> int:
        row = self.state.get(path)
        if row is not None and row.status == str(error.status):
            return 0
        self._finish(path, FileOutcome(display_path(path), folder, None, None, (), error), None)
        return 1

    # --- one file -----------------------------------------------------------------------

    def _process(self, path: Path) -> bool:
        """Check one ready file and start its scan in a lane if it needs one (True then)."""
        folder = folder_of(path, self.config.watch.folders)
        if folder is None:
            return False  # no longer watched (configuration reloaded)
        try:
            return self._start_scan(path, folder)
        except StateError as exc:
            log.error("state database error", extra={"fields": {"path": display_path(path), "error": str(exc)}})
            self.settler.written(path, time.monotonic())
            self._stop.wait(1.0)
        except Exception as exc:  # one file's failure is its status, never the daemon's end
            self._handler_failed(path, folder, exc)
        return False

    def _take_scans(self, block: bool = False) -> None:
        """Record the scans that ended (in the main thread: it owns the state database)."""
        for path, future, (folder, st) in self.lanes.finished(block):
            try:
                self._scanned(path, folder, st, future.result())
            except StoreError as exc:
                # The index failed, not this file: try the file again later.
                log.error("store error: the file will be retried", extra={"fields": {
                    "path": display_path(path), "error": str(exc)}})
                self.settler.written(path, time.monotonic())
            except StateError as exc:
                log.error("state database error", extra={"fields": {"path": display_path(path), "error": str(exc)}})
                self.settler.written(path, time.monotonic())
            except Exception as exc:
                self._handler_failed(path, folder, exc)
            if path in self._again:
                self._again.discard(path)
                self._enqueue(path)

    def _handler_failed(self, path: Path, folder: WatchFolder, exc: Exception) -> None:
        log.error("handling a file failed", extra={"fields": {"path": display_path(path),
                                                              "error": f"{type(exc).__name__}: {exc}"}})
        error = FileError(display_path(path), Status.PARSE_ERROR, f"handler failed: {type(exc).__name__}: {exc}")
        with suppress(Exception):
            self._finish(path, FileOutcome(display_path(path), folder, None, None, (), error), None)

    def _start_scan(self, path: Path, folder: WatchFolder) -> bool:
        """What is known of the file before it is read (gone, not a regular file, already
        scanned as it is); else its scan starts in a lane (True)."""
        shown = display_path(path)
        try:
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode) and self.config.follow_symlinks:
                st = os.stat(path)
        except FileNotFoundError:
            if self.state.get(path) is None:  # appeared and went before it could be read
                self._finish(path, FileOutcome(shown, folder, None, None, (), FileError(
                    shown, Status.VANISHED, "disappeared before it could be read")), None)
            return False
        except OSError as exc:
            self._finish(path, FileOutcome(shown, folder, None, None, (), FileError(
                shown, Status.UNREADABLE, f"cannot stat: {exc.strerror or exc}")), None)
            return False
        if stat.S_ISDIR(st.st_mode):
            return False  # a folder's files are queued by the sweep its arrival started
        if not stat.S_ISREG(st.st_mode):
            # Links (not followed unless configured), FIFOs, devices, sockets: never opened.
            message = ("symbolic link not followed (set follow_symlinks)" if stat.S_ISLNK(st.st_mode)
                       else "not a regular file (FIFO, device or socket): not opened")
            self._listing_error(path, folder, FileError(shown, Status.UNSUPPORTED, message))
            return False
        row = self.state.get(path)
        known = row is not None and row.quarantined_to is None and row.status not in _RETRIED and row.gone_at is None
        if known and row is not None and (row.size, row.mtime_ns) == (st.st_size, st.st_mtime_ns):
            return False  # already scanned as it is (an event and a sweep both queued it)
        limit = self.config.extract.max_file_bytes
        if known and row is not None:
            # Known before: a touched but unchanged file is neither scanned nor alerted again.
            try:
                sha = file_sha256(path, limit)
                if sha is not None and sha == row.sha256:
                    self.state.touch(path, st.st_size, st.st_mtime_ns)
                    return False
            except OSError:
                pass  # the scan below reports why it cannot be read
        self.lanes.submit(path, (folder, st))
        return True

    def _scanned(self, path: Path, folder: WatchFolder, st: os.stat_result, scanned: FileScan) -> None:
        """A lane's scan of the file: recorded, alerted, acted on."""
        shown = display_path(path)
        limit = self.config.extract.max_file_bytes
        sha = scanned.sha256
        if sha is None:
            # Not scanned: the alert's id still follows the content, when it can be read.
            try:
                sha = file_sha256(path, limit)
            except OSError:
                sha = None
        self.totals.scanned += 1
        self.metrics.scanned()
        self._finish(path, FileOutcome(shown, folder, st.st_size, sha, scanned.findings, scanned.error,
                                       scanned.member_errors), (st.st_size, st.st_mtime_ns))

    def _finish(self, path: Path, outcome: FileOutcome, meta: tuple[int, int] | None) -> None:
        """Commit the outcome with its alert, then act on the alert."""
        folder = outcome.folder
        threshold = Severity.parse(folder.alert_on)
        baseline, ignore = self.suppressions.get(folder.path, (None, None))
        raised = outcome.findings
        if baseline is not None or ignore is not None:
            from leakwatch.baseline import apply_suppressions

            raised, _accepted = apply_suppressions(outcome.findings, baseline, ignore)
        alerted = [f for f in raised if f.severity >= threshold]
        incident, moved_from, gone = incident_of(self.state, path, outcome) if alerted else (None, None, ())
        alert = build_alert(outcome, alerted, incident, moved_from) if outcome.incomplete or alerted else None
        if alert is not None and alerted and incident is None:
            incident = alert["id"]  # the first report of this content: later renames name it
        size, mtime_ns = meta if meta is not None else (outcome.size, None)
        self.state.record(path, outcome.path, folder.name, size, mtime_ns, outcome.sha256, outcome.status,
                          len(outcome.findings), outcome.message, alert=alert, webhook=self.webhook is not None,
                          incident=incident, gone=gone)
        self.metrics.finished(path, outcome, raised, alert is not None)
        fields: dict[str, Any] = {"path": outcome.path, "vendor": folder.name, "status": outcome.status,
                                  "findings": len(outcome.findings), "suppressed": len(outcome.findings) - len(raised)}
        if outcome.incomplete:
            fields["error"] = outcome.message
        log.info("scanned", extra={"fields": fields})
        if alert is None:
            return
        if outcome.incomplete:
            self.totals.unscannable += 1
        if alerted:
            self.totals.findings_alerts += 1
        deliver_to_log(self.state, self.alerts)
        if self.webhook is not None:
            self.webhook.notify()
        # quarantine is off, findings, unscannable or both; a renamed leak is still a leak.
        event = "findings" if alert["event"] == "renamed" else alert["event"]
        if folder.quarantine in ("both", event) and os.path.lexists(path):
            self._quarantine(path, folder, alert)

    def _quarantine(self, path: Path, folder: WatchFolder, alert: dict[str, Any]) -> None:
        try:
            target = quarantine(path, folder, Path(self.config.watch.quarantine_dir), alert)
        except OSError as exc:
            log.error("quarantine failed: the file stays in place", extra={"fields": {
                "path": alert["path"], "error": exc.strerror or str(exc)}})
            return
        self.state.set_quarantined(path, str(target))
        log.warning("quarantined", extra={"fields": {"path": alert["path"], "to": str(target)}})


def _check_store(config: Config) -> None:
    """The daemon does not start without a store it can open (exit 2, with the reason)."""
    from leakwatch.store import open_store

    try:
        open_store(config).close()
    except StoreError as exc:
        raise DaemonError(str(exc)) from exc
