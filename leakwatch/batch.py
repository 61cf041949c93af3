"""Scans of large trees: parallel across processes, incremental through a scan cache.

The nightly job's engine. Files are listed lazily and at most a few per worker are in
flight, so memory stays flat as the tree grows (only the findings are kept). Results
come back in walk order and each file is scanned by the same detectors as a serial
scan, so a parallel run reports exactly what a serial one does. The files are scanned
by local processes, or on a Dask cluster (``executor="dask"``, leakwatch.executors);
listing, the scan cache and the report stay in this process either way.

The scan cache remembers, per path, the size, mtime and sha256 a file had and the
findings it gave against one index and one configuration. An unchanged file (same
size and mtime, and the same content hash) is not extracted again: its findings are
reused, or with ``changed_only`` it is left out of the report. Any change to the index
(a document added or removed, the allow-list, the references), to the settings that
shape findings or to the leakwatch version makes every entry stale.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import sqlite3
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import util as mp_util
from pathlib import Path
from typing import IO, Any, Protocol

import leakwatch
from leakwatch.config import Config, config_identity
from leakwatch.executors import ExecutorError
from leakwatch.interrupt import deferred, ignore_in_worker, signum_of
from leakwatch.model import FileError, LeakwatchWarning, Status
from leakwatch.pipeline import file_sha256, index_summary
from leakwatch.results import FileScan, ScanReport, display_path
from leakwatch.scanner import Scanner
from leakwatch.store import StoreError, is_url
from leakwatch.store.base import FingerprintStore
from leakwatch.walk import iter_files

CACHE_DB = "scan-cache.sqlite"


# --- what the findings depend on ----------------------------------------------------------

def run_identity(scanner: Scanner) -> str:
    """What a cached result is valid for: this index, these settings, this version."""
    config, store, verify_sources = scanner.config, scanner.store, scanner.verify_sources
    material = json.dumps({"index": scanner.index_identity(),
                           "config": config_identity(config, store.params)["sha256"],
                           "verify": verify_sources, "leakwatch": leakwatch.__version__}, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()


def warn_if_empty(store: FingerprintStore, library: Any) -> None:
    """A scan against an empty index finds licences and notices only: say so, as a user
    who mistyped ``--store`` would otherwise read "no findings" as "no leak"."""
    if store.count_documents() == 0 and not store.list_tables():
        references = " (registered references are still checked)" if library is not None else ""
        warnings.warn(f"the store {store.location} holds no registered document or table: no confidential "
                      f"material can be found{references}; register some with leakwatch index add",
                      LeakwatchWarning, stacklevel=2)


# --- the scan cache -----------------------------------------------------------------------

class ScanCache:
    """Per-path results of earlier scans (SQLite, WAL, 0600). Holds paths, hashes and
    findings as JSON: never text of the deliverable or of a source."""

    def __init__(self, path: Path, identity: str) -> None:
        self.path, self.identity = path, identity
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not path.exists():
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
            self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS entries (path BLOB PRIMARY KEY, size INTEGER,"
                             " mtime_ns INTEGER, sha256 TEXT, identity TEXT, result TEXT)")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the scan cache {path}: {exc}") from exc
        self._pending = 0
        self._db.execute("BEGIN")

    def lookup(self, path: Path) -> FileScan | None:
        """The cached scan of ``path`` if the file is unchanged, else None."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        row = self._db.execute("SELECT size, mtime_ns, sha256, identity, result FROM entries WHERE path = ?",
                               (os.fsencode(path),)).fetchone()
        if row is None or row[3] != self.identity or (row[0], row[1]) != (st.st_size, st.st_mtime_ns):
            return None
        try:
            if file_sha256(path) != row[2]:
                return None
        except OSError:
            return None
        return FileScan.from_dict({**json.loads(row[4]), "sha256": row[2]})

    def store(self, path: Path, scanned: FileScan, stat_before: os.stat_result) -> None:
        """Remember a complete scan (errors are always retried, and so is a container
        some of whose members could not be read)."""
        if not scanned.complete or scanned.sha256 is None:
            return
        result = json.dumps(scanned.to_dict())
        self._db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?)",
                         (os.fsencode(path), stat_before.st_size, stat_before.st_mtime_ns, scanned.sha256,
                          self.identity, result))
        self._pending += 1
        if self._pending >= 500:  # commit in batches: one fsync per file would dominate
            self._db.execute("COMMIT")
            self._db.execute("BEGIN")
            self._pending = 0

    def close(self) -> None:
        try:
            self._db.execute("COMMIT")
        finally:
            self._db.close()


# --- progress -----------------------------------------------------------------------------

class Progress:
    """A progress bar on a terminal; plain log lines every ``every_s`` seconds otherwise.

    The tree is listed lazily (memory stays flat), so the bar starts without a total;
    ``count`` (run in a background thread on a terminal only) lists it once more, cheaply,
    and the bar gains its total and an ETA when that is done."""

    def __init__(self, stream: IO[str] | None = None, every_s: float = 30.0, enabled: bool = True,
                 count: Callable[[], int] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled, self.every_s = enabled, every_s
        self.files = self.findings = self.errors = self.cached = 0
        self._started = self._last = time.monotonic()
        self._bar: Any = None
        self._total: int | None = None
        if enabled and self.stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(unit="file", file=self.stream, dynamic_ncols=True, leave=False)
            if count is not None:
                threading.Thread(target=self._count, args=(count,), name="leakwatch-count", daemon=True).start()

    def _count(self, count: Callable[[], int]) -> None:
        with contextlib.suppress(Exception):  # a total is a nicety: the scan never depends on it
            self._total = count()

    def update(self, scanned: FileScan, cached: bool) -> None:
        self.files += 1
        self.findings += len(scanned.findings)
        self.errors += (scanned.error is not None) + len(scanned.member_errors)
        self.cached += cached
        if not self.enabled:
            return
        if self._bar is not None:
            if self._total is not None and self._bar.total is None:
                self._bar.total = max(self._total, self.files)  # set here: tqdm is not thread-safe
            self._bar.set_postfix(findings=self.findings, errors=self.errors, refresh=False)
            self._bar.update(1)
            return
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            self._line()

    def _line(self) -> None:
        elapsed = time.monotonic() - self._started
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        print(f"{stamp} leakwatch: {self.files} file(s) in {elapsed:.0f}s ({self.files / max(elapsed, 1e-9):.1f}/s),"
              f" {self.findings} finding(s), {self.errors} not scanned, {self.cached} unchanged",
              file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


# --- workers ------------------------------------------------------------------------------

_WORKER: Scanner | None = None


def _worker_init(config: Config, verify_sources: bool) -> None:
    global _WORKER
    ignore_in_worker()
    _WORKER = Scanner.open(config, verify_sources)
    # Pool workers end through multiprocessing's exit path, which runs finalizers, not atexit.
    mp_util.Finalize(None, _WORKER.close, exitpriority=10)


def _worker_scan(path_bytes: bytes) -> FileScan:
    assert _WORKER is not None
    return _WORKER.scan(Path(os.fsdecode(path_bytes)))


# --- the scan -----------------------------------------------------------------------------

@dataclass(frozen=True)
class TreeScanOptions:
    workers: int = 1
    verify_sources: bool = True
    # The scan cache file; None: no cache.
    cache: Path | None = None
    changed_only: bool = False
    progress: bool = True
    # Where files are scanned: "local" (``workers`` processes on this host) or "dask"
    # (a Dask cluster: see leakwatch.executors).
    executor: str = "local"
    # The address of a running Dask scheduler (tcp://host:8786); None: a LocalCluster
    # of ``workers`` processes is started for the run.
    scheduler: str | None = None
    # Files per Dask task (0: batches growing with the run, see leakwatch.executors).
    batch_size: int = 0


def default_cache_path(config: Config) -> Path:
    """In the store folder; for a Redis store, in this host's folder (its key file's)."""
    from leakwatch.store import local_folder

    return local_folder(config) / CACHE_DB


def scan_tree(paths: Iterable[Path], config: Config, options: TreeScanOptions = TreeScanOptions(),
              progress_stream: IO[str] | None = None,
              on_file: Callable[[FileScan, bool], None] | None = None) -> ScanReport:
    """Scan every file under ``paths``, on ``options.workers`` processes; ``on_file`` is
    told each file's scan, and whether it came from the cache, in walk order.

    Raises:
        StoreError: the store (or the cache) cannot be opened or failed during the scan.
        leakwatch.executors.ExecutorError: the executor cannot start (dask not installed,
            no scheduler at the address, workers that cannot scan).
    """
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    paths = list(paths)  # listed again for the progress total and after an interruption
    with ExitStack() as stack:
        local = stack.enter_context(Scanner.open(config, options.verify_sources))
        identity = run_identity(local)
        warn_if_empty(local.store, local.library)
        report = ScanReport(index=index_summary(local.store), config=config_identity(config, local.store.params),
                            started_at=started_at)
        cache: ScanCache | None = None
        if options.cache is not None:
            try:
                cache = ScanCache(options.cache, identity)
                stack.callback(cache.close)
            except StoreError as exc:  # a read-only store folder, say: scan everything, say so
                print(f"leakwatch: warning: {exc}; scanning without the cache",
                      file=progress_stream or sys.stderr)
        progress = Progress(progress_stream, enabled=options.progress,
                            count=lambda: sum(1 for _ in iter_files(list(paths), config.follow_symlinks,
                                                                    _excluded(config))))
        stack.callback(progress.close)
        pool = _executor(options, config, identity)
        if pool is not None:
            stack.callback(pool.shutdown)
        window = pool.window if pool is not None else 4
        done: set[Path] = set()

        def _account(path: Path, scanned: FileScan, cached: bool, stat_before: os.stat_result | None) -> None:
            progress.update(scanned, cached)
            if on_file is not None:
                on_file(scanned, cached)
            done.add(path)
            if cached:
                report.files_unchanged += 1
                if options.changed_only:
                    return
            if cache is not None and not cached and stat_before is not None:
                cache.store(path, scanned, stat_before)
            report.add(scanned)

        try:
            for path, scanned, cached, stat_before in _in_order(_jobs(paths, config, cache, local, pool),
                                                                window=window, fallback=local.scan):
                # A file is in the report and in ``done`` together, or in neither: an
                # interruption in between lost it from both counts (seen once in 1,500).
                with deferred():
                    _account(path, scanned, cached, stat_before)
        except KeyboardInterrupt as exc:  # Ctrl-C, kill -INT or kill -TERM (leakwatch.interrupt)
            if pool is not None:
                pool.cancel()  # nothing more is waited for: the workers' files are not scanned
            report.interrupted = signum_of(exc)
            report.listing_complete = _add_not_reached(report, paths, config, done, progress_stream)
    report.duration_s = time.monotonic() - started
    return report


# How long an interrupted run goes on listing the files it had not reached, so that its
# report can count them: the user asked it to stop.
INTERRUPT_LISTING_S = 5.0


def _add_not_reached(report: ScanReport, paths: Iterable[Path], config: Config, done: set[Path],
                     stream: IO[str] | None) -> bool:
    """Add every file under ``paths`` not in ``done`` to the report as not scanned
    (``interrupted``); False when the listing itself ran out of time."""
    deadline = time.monotonic() + INTERRUPT_LISTING_S
    for listing in iter_files(list(paths), config.follow_symlinks, _excluded(config)):
        if time.monotonic() > deadline:
            print("leakwatch: warning: the rest of the tree was not listed: the report's count of files not "
                  "scanned is a lower bound", file=stream or sys.stderr)
            return False
        if listing.path in done:
            continue
        shown = display_path(listing.path)
        report.errors.append(FileError(shown, Status.INTERRUPTED, "the run was interrupted before this file "
                                       "was scanned"))
    return True


class _Pending(Protocol):
    """A file's scan under way: a local pool's future, or a place in a Dask batch."""

    def result(self) -> FileScan: ...


class _Executor(Protocol):
    """Where files are scanned off the main process (:class:`_Pool`, or
    :class:`leakwatch.executors.DaskExecutor`)."""

    @property
    def window(self) -> int: ...  # how many files may be in flight

    def submit(self, path: Path) -> _Pending | None: ...  # None: scan it here

    def flush(self) -> None: ...  # the listing is over: send what waits to be sent

    def shutdown(self) -> None: ...

    def cancel(self) -> None: ...  # the run was interrupted: stop without waiting for files in flight


def _executor(options: TreeScanOptions, config: Config, identity: str) -> _Executor | None:
    """The run's executor; None: every file scanned in this process.

    Raises:
        leakwatch.executors.ExecutorError: an unknown executor, or the dask one cannot start.
    """
    from leakwatch.config import EXECUTORS

    if options.executor not in EXECUTORS:
        raise ExecutorError(f"unknown executor {options.executor!r} (one of: {', '.join(EXECUTORS)})")
    if options.executor == "local":
        if options.scheduler is not None:
            raise ExecutorError("a scheduler address needs the dask executor")
        return _Pool(options.workers, config, options.verify_sources) if options.workers > 1 else None
    from leakwatch.executors import DaskExecutor

    return DaskExecutor.start(config, options.verify_sources, identity, options.workers, options.scheduler,
                              options.batch_size)


_Job = tuple[Path, "_Pending | FileScan", bool, os.stat_result | None]


def _excluded(config: Config) -> tuple[Path, ...]:
    """Folders a scan never enters: the store's own, when it sits inside a scanned tree."""
    return (Path(config.store),) if not is_url(config.store) else ()


class _Pool:
    """A process pool that replaces itself when a worker dies (the OOM killer, say): the
    files in flight are then scanned again in this process, and the run goes on."""

    def __init__(self, workers: int, config: Config, verify_sources: bool) -> None:
        self._args = (workers, config, verify_sources)
        self._executor = self._start()
        self.restarts = 0
        self.window = 4 * workers

    def flush(self) -> None:
        pass  # every file is submitted as it comes

    def _start(self) -> ProcessPoolExecutor:
        workers, config, verify = self._args
        return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"),
                                   initializer=_worker_init, initargs=(config, verify))

    # Workers that die again and again (they cannot start, say) are given up on: the
    # rest of the run is serial, in this process.
    MAX_RESTARTS = 3

    @property
    def usable(self) -> bool:
        return self.restarts <= self.MAX_RESTARTS

    def submit(self, path: Path) -> Future[FileScan] | None:
        """The file's future, or None once the pool was given up on."""
        while self.usable:
            try:
                return self._executor.submit(_worker_scan, os.fsencode(path))
            except (BrokenProcessPool, OSError):
                self._executor.shutdown(wait=False, cancel_futures=True)
                self.restarts += 1
                if self.usable:
                    self._executor = self._start()
                else:
                    print("leakwatch: warning: scan workers keep dying; going on in one process",
                          file=sys.stderr)
        return None

    def shutdown(self) -> None:
        self._executor.shutdown(wait=self.usable, cancel_futures=True)

    def cancel(self) -> None:
        self.restarts = self.MAX_RESTARTS + 1  # unusable: shutdown() no longer waits
        self._executor.shutdown(wait=False, cancel_futures=True)


def _jobs(paths: Iterable[Path], config: Config, cache: ScanCache | None, local: Scanner,
          pool: _Executor | None) -> Iterator[_Job]:
    """Each file as a finished scan (a listing error, a cache hit, a serial scan) or a
    future from the pool, in walk order."""
    for listing in iter_files(list(paths), config.follow_symlinks, _excluded(config)):
        path = listing.path
        if listing.error is not None:
            yield path, FileScan(listing.error.path, [], listing.error), False, None
            continue
        hit = cache.lookup(path) if cache is not None else None
        if hit is not None:
            yield path, hit, True, None
            continue
        try:
            stat_before = os.stat(path)
        except FileNotFoundError:
            shown = display_path(path)
            yield path, FileScan(shown, [], FileError(shown, Status.VANISHED, "disappeared before it could be read")), \
                False, None
            continue
        except OSError:
            stat_before = None
        future = pool.submit(path) if pool is not None else None
        yield path, future if future is not None else local.scan(path), False, stat_before
    if pool is not None:
        pool.flush()


def _in_order(jobs: Iterator[_Job], window: int, fallback: Callable[[Path], FileScan],
              ) -> Iterator[tuple[Path, FileScan, bool, os.stat_result | None]]:
    """Results in submission order, with at most ``window`` futures in flight."""
    waiting: deque[_Job] = deque()
    for job in jobs:
        waiting.append(job)
        while waiting and (len(waiting) > window or isinstance(waiting[0][1], FileScan)):
            yield _resolve(waiting.popleft(), fallback)
    while waiting:
        yield _resolve(waiting.popleft(), fallback)


def _resolve(job: _Job, fallback: Callable[[Path], FileScan]) -> tuple[Path, FileScan, bool, os.stat_result | None]:
    path, result, cached, stat_before = job
    if not isinstance(result, FileScan):
        try:
            result = result.result()
        except BrokenProcessPool:
            result = fallback(path)  # its worker died (perhaps with another file): scan it here
        except (StoreError, ExecutorError):  # the store or the cluster failed, not the file: the run stops
            raise
        except Exception as exc:  # the file gets a status, the run goes on
            shown = display_path(path)
            result = FileScan(shown, [], FileError(shown, Status.PARSE_ERROR, f"scan worker failed: "
                                                   f"{type(exc).__name__}: {exc}"))
    return path, result, cached, stat_before
