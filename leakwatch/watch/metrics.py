"""Prometheus metrics of the daemon (``leakwatch watch --metrics-port N``).

The official client (``prometheus_client``, the ``metrics`` extra) serves them over HTTP on
127.0.0.1 unless told otherwise. Each daemon has a registry of its own (not the client's
global one), so only these metrics are served and two daemons in one process (tests) do
not mix. The daemon's main thread updates them; the client's server thread only reads.

Without ``--metrics-port`` the daemon gets :class:`NullMetrics`, whose calls do nothing:
the daemon's code is the same either way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from leakwatch.config import Config
from leakwatch.errors import UserError

if TYPE_CHECKING:
    from leakwatch.model import Finding
    from leakwatch.store.base import FingerprintStore
    from leakwatch.watch.actions import FileOutcome

log = logging.getLogger("leakwatch.watch")

# From "complete" to "alert recorded" covers the wait for a lane and the scan itself:
# seconds for a text file, minutes for OCR of a long scan.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
# The store's generation is read at most this often (one small query).
STORE_POLL_S = 5.0


class MetricsError(UserError):
    """The metrics endpoint cannot start (the extra is not installed, the port is taken)."""


class NullMetrics:
    """The daemon's metric calls when no endpoint is configured: nothing is counted."""

    def settled(self, path: Path) -> None:
        """``path`` is complete and joins the ready queue."""

    def skipped(self, path: Path) -> None:
        """``path`` left the ready queue without a scan (unchanged, gone, a folder)."""

    def scanned(self) -> None:
        """A lane finished scanning a file (whatever its status)."""

    def finished(self, path: Path, outcome: FileOutcome, raised: Sequence[Finding], alerted: bool) -> None:
        """A file's outcome was recorded (and its alert, when ``alerted``)."""

    def swept(self, full: bool) -> None:
        """A reconciliation sweep ended (``full``: of every folder, not one that arrived)."""

    def tick(self) -> None:
        """Once per turn of the main loop."""

    def close(self) -> None:
        """Stop serving."""


class DaemonMetrics(NullMetrics):
    """The metrics of one daemon, in a registry of its own, served on ``address:port``.

    Raises:
        MetricsError: prometheus_client is not installed, or the port cannot be bound.
    """

    def __init__(self, config: Config, queue_sizes: Callable[[], dict[str, int]]) -> None:
        try:
            from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
        except ImportError as exc:
            raise MetricsError("the metrics endpoint needs the prometheus_client package: "
                               "pip install 'leakwatch[metrics]'") from exc
        self.config = config
        self.registry = CollectorRegistry()
        r = self.registry
        self.files_seen = Counter("leakwatch_watch_files_seen", "Files found new or changed (by an event or a "
                                  "sweep) and complete: queued to be looked at", registry=r)
        self.files_scanned = Counter("leakwatch_watch_files_scanned", "Files a scan lane read, whatever "
                                     "the outcome", registry=r)
        self.files_queued = Gauge("leakwatch_watch_files_queued", "Files waiting: settling (still being "
                                  "written), ready (for a free lane) or scanning", ["stage"], registry=r)
        self.not_scanned = Counter("leakwatch_watch_files_not_scanned", "Files (or members of them) that "
                                   "could not be scanned, by status", ["status"], registry=r)
        self.findings = Counter("leakwatch_watch_findings", "Findings raised (after baselines and ignore "
                                "files), by severity", ["severity"], registry=r)
        self.alert_latency = Histogram("leakwatch_watch_alert_latency_seconds", "From a file being complete "
                                       "(settled) to its alert being recorded", buckets=LATENCY_BUCKETS, registry=r)
        self.store_generation = Gauge("leakwatch_store_generation", "The fingerprint store's change counter "
                                      "(it goes up whenever documents are indexed or removed)", registry=r)
        self.last_sweep = Gauge("leakwatch_watch_last_sweep_timestamp_seconds", "When the last reconciliation "
                                "sweep ended (Unix time)", registry=r)
        for stage in ("settling", "ready", "scanning"):
            self.files_queued.labels(stage=stage).set_function(_size_of(queue_sizes, stage))
        self._settled_at: dict[Path, float] = {}
        self._store: FingerprintStore | None = None
        self._store_read_at = float("-inf")
        watch = config.watch
        try:
            self._server, self._thread = start_http_server(watch.metrics_port, watch.metrics_address, registry=r)
        except OSError as exc:
            raise MetricsError(f"cannot serve metrics on {watch.metrics_address}:{watch.metrics_port}: "
                               f"{exc.strerror or exc}") from exc
        log.info("metrics served", extra={"fields": {"address": watch.metrics_address, "port": watch.metrics_port}})

    def settled(self, path: Path) -> None:
        self.files_seen.inc()
        self._settled_at.setdefault(path, time.monotonic())

    def skipped(self, path: Path) -> None:
        self._settled_at.pop(path, None)

    def scanned(self) -> None:
        self.files_scanned.inc()

    def finished(self, path: Path, outcome: FileOutcome, raised: Sequence[Finding], alerted: bool) -> None:
        settled_at = self._settled_at.pop(path, None)
        if outcome.incomplete:
            for status in {str(e.status) for e in ([outcome.error] if outcome.error else outcome.member_errors)}:
                self.not_scanned.labels(status=status).inc()
        for finding in raised:
            self.findings.labels(severity=str(finding.severity)).inc()
        if alerted and settled_at is not None:
            self.alert_latency.observe(time.monotonic() - settled_at)

    def swept(self, full: bool) -> None:
        if full:
            self.last_sweep.set(time.time())
        self._store_read_at = float("-inf")  # a sweep is a good moment to look again

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._store_read_at < STORE_POLL_S:
            return
        self._store_read_at = now
        generation = self._generation()
        if generation is not None:
            self.store_generation.set(generation)

    def _generation(self) -> int | None:
        """The store's change counter (the number after the last ':' of its generation)."""
        from leakwatch.store import open_store
        from leakwatch.store.base import StoreError

        try:
            if self._store is None:
                self._store = open_store(self.config)
            return int(self._store.generation().rpartition(":")[2])
        except (StoreError, ValueError, OSError) as exc:
            log.warning("store generation not read", extra={"fields": {"error": str(exc)}})
            self._close_store()
            return None

    def _close_store(self) -> None:
        if self._store is not None:
            store, self._store = self._store, None
            try:
                store.close()
            except Exception as exc:  # closing is best effort: the daemon is stopping
                log.debug("store not closed cleanly", extra={"fields": {"error": str(exc)}})

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        self._close_store()


def _size_of(queue_sizes: Callable[[], dict[str, int]], stage: str) -> Callable[[], float]:
    # Read when scraped (in the server's thread): len() of the daemon's queues is atomic.
    return lambda: float(queue_sizes().get(stage, 0))


def start_metrics(config: Config, queue_sizes: Callable[[], dict[str, int]]) -> NullMetrics:
    """The daemon's metrics: served when ``watch.metrics_port`` is set, else :class:`NullMetrics`.

    Raises:
        MetricsError: the endpoint cannot start.
    """
    if not config.watch.metrics_port:
        return NullMetrics()
    return DaemonMetrics(config, queue_sizes)

