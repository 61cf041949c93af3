"""Scan lanes: the daemon scans a few files at once, so one slow file (OCR of a long scan, a
LibreOffice conversion, a large archive) never holds up the files that arrive behind it.

Each lane is a thread with a :class:`leakwatch.scanner.Scanner` of its own: its own store
connection (SQLite's rule: one connection per thread), its own detectors and its own
isolated extraction worker, in which the slow work runs. The daemon's main thread keeps
everything else (the state database, alerts, quarantine): it submits files and takes back
their scans.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from pathlib import Path
from typing import Any

from leakwatch.config import Config
from leakwatch.results import FileScan
from leakwatch.scanner import Scanner


class _Lane:
    """One thread and the scanner it opened (SQLite's rule: a connection is used, and
    closed, by the thread that opened it)."""

    def __init__(self, config: Config, number: int) -> None:
        self.config = config
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"leakwatch-scan-{number}")
        self.path: Path | None = None  # the file it is scanning
        self._scanner: Scanner | None = None

    def scan(self, path: Path) -> FileScan:  # in the lane's thread
        if self._scanner is None:
            # Live: documents indexed while the daemon runs are used for the next file.
            self._scanner = Scanner.open(self.config, live=True)
        return self._scanner.scan(path)

    def _close(self) -> None:  # in the lane's thread
        if self._scanner is not None:
            self._scanner.close()
        self._scanner = None

    def close(self) -> None:
        self.thread.submit(self._close).result()
        self.thread.shutdown(wait=True)


class ScanLanes:
    """``lanes`` threads scanning files, each with its own :class:`Scanner` and isolated
    extractor, opened in the thread the first time it scans. ``wake`` is called whenever a
    scan ends (from the lane's thread), so the main loop can take the result at once."""

    def __init__(self, config: Config, lanes: int, wake: Callable[[], None]) -> None:
        self.config, self._wake = config, wake
        self._lanes = [_Lane(config, n) for n in range(1, lanes + 1)]
        # The files being scanned, with what the caller wants back with each scan.
        self.in_flight: dict[Path, tuple[Future[FileScan], Any, _Lane]] = {}

    def has_room(self) -> bool:
        return any(lane.path is None for lane in self._lanes)

    def busy(self, path: Path) -> bool:
        return path in self.in_flight

    def submit(self, path: Path, context: Any) -> None:
        lane = next(lane for lane in self._lanes if lane.path is None)
        lane.path = path
        future = lane.thread.submit(lane.scan, path)
        self.in_flight[path] = (future, context, lane)
        future.add_done_callback(lambda _: self._wake())

    def finished(self, block: bool = False) -> list[tuple[Path, Future[FileScan], Any]]:
        """The scans that ended (with ``block``, wait for at least one if any is in flight)."""
        if block and self.in_flight:
            wait_for([f for f, _, _ in self.in_flight.values()], return_when="FIRST_COMPLETED")
        done = [(p, f, c) for p, (f, c, _) in self.in_flight.items() if f.done()]
        for path, _, _ in done:
            self.in_flight.pop(path)[2].path = None
        return done

    def close(self) -> None:
        """Wait for the scans in flight, then close every lane's scanner and extractor in
        its own thread (the caller takes the scans first: :meth:`finished`)."""
        for lane in self._lanes:
            lane.close()
