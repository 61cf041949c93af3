"""The distributed executor of tree scans: files scanned on a Dask cluster.

``leakwatch scan --executor dask`` lists the tree, consults the scan cache and writes
the report in this process (the client) as the local executor does; only the scanning
itself (extraction, fingerprinting, matching) runs on the cluster's workers. Files go
out in batches (Dask's own cost per task is several milliseconds, a sizeable share of
a small file's scan; batches grow from 4 to 64 files as the listing goes on, so that a
small tree still keeps every worker busy) as their paths, never
their contents: each worker reads the files itself, so the tree must be visible to the
workers at the same paths (the same host for a LocalCluster, a shared filesystem on a
real cluster). The store too: a store folder on a shared filesystem, or a
``redis://`` store, and the key file at the same path on every worker.

Each worker process opens the store, the reference library and the detectors once and
keeps them for the tasks that follow (keyed by the run's identity: the index, the
settings and the leakwatch version), so a task costs only its files. Results come back
as plain dicts (``Finding.to_dict``) and are put back in walk order on the client,
so the report is the local executor's, finding for finding.

A worker that dies mid-task (the OOM killer, a lost host) is not the file's fault
until proven: Dask reschedules its tasks (the scheduler's ``allowed-failures``); a
batch that keeps killing workers is split and its files retried one per task, and a
file that still kills its worker is reported as not scanned (``parse-error``, "the
scan worker died"): never dropped, never reported clean.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib.util
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from multiprocessing import util as mp_util
from pathlib import Path
from typing import TYPE_CHECKING, Any

import leakwatch
from leakwatch.config import Config
from leakwatch.model import FileError, Status
from leakwatch.results import FileScan, display_path
from leakwatch.store import is_url
from leakwatch.store.base import StoreError

if TYPE_CHECKING:
    from leakwatch.scanner import Scanner

INSTALL_HINT = "pip install 'leakwatch[dask]'"
# Files per task. Measured on 2 cores (benchmarks/batch_tree.py, 1,000 files): one task
# per file 19.4 s, 4 files 12.4 s, 16 files 8.9 s (the local pool: 7.0 s); on 5,000
# files 16 files a task 35 s, 32 to 128 files 31-32 s. A run's batches grow from
# MIN_BATCH to MAX_BATCH (a quarter of the files listed so far per worker thread).
MIN_BATCH = 4
MAX_BATCH = 64
# How often the scheduler of a cluster this run starts lets a task be on a worker that
# died before it gives up on it (KilledWorker). A remote scheduler uses its own setting.
ALLOWED_FAILURES = 2
# Retries of a task that raised (a store that was briefly unreachable, say).
TASK_RETRIES = 2
# A file whose own task was KilledWorker is sent once more as a new task before it is
# reported: a file that merely waited on a worker that another file killed is scanned.
KILLED_RETRIES = 1
# Tasks a LocalCluster's scheduler sends a worker per thread: 1.0, none waiting behind
# the running one (see _connect).
WORKER_SATURATION = 1.0
# A run stops (ExecutorError) once the cluster has had no worker at all for this long.
NO_WORKER_TIMEOUT_S = 300.0


class ExecutorError(Exception):
    """The executor cannot run: not installed, misconfigured, no workers (exit code 2)."""


def dask_available() -> bool:
    return importlib.util.find_spec("distributed") is not None


def _not_scanned(path: Path, message: str) -> FileScan:
    shown = display_path(path)
    return FileScan(shown, [], FileError(shown, Status.PARSE_ERROR, message))


# --- the worker side ------------------------------------------------------------------------

# One scanner per worker thread (a store connection and an extraction process are not
# shared between threads), for the run it was opened for.
_HELD = threading.local()


def _worker_scanner(key: str, config: Config, verify_sources: bool) -> Scanner:
    from leakwatch.scanner import Scanner

    held: tuple[str, Scanner] | None = getattr(_HELD, "scanner", None)
    if held is not None and held[0] == key:
        return held[1]
    if held is not None:  # another run (the index or the settings changed): start afresh
        _HELD.scanner = None
        held[1].close()
    scanner = Scanner.open(config, verify_sources)
    _HELD.scanner = (key, scanner)
    # Worker processes end through multiprocessing's exit path (a nanny's worker) or
    # the interpreter's (``dask worker --no-nanny``); closing twice is a no-op.
    mp_util.Finalize(None, _close_quietly, args=(scanner,), exitpriority=10)
    atexit.register(_close_quietly, scanner)
    return scanner


def _close_quietly(scanner: Scanner) -> None:
    """Close a worker's scanner as its process ends: from another thread than the task
    thread that opened it, which SQLite refuses (the store was only read: nothing lost)."""
    with contextlib.suppress(Exception):  # its extraction process was stopped first
        scanner.close()


def scan_batch(key: str, config: Config, verify_sources: bool, paths: list[bytes]) -> list[dict[str, Any]]:
    """A task: scan files named by path (read here, on the worker), as plain dicts.

    Raises:
        StoreError: the store failed (Dask retries the task; the run stops if it goes on).
    """
    scanner = _worker_scanner(key, config, verify_sources)
    out = []
    for raw in paths:
        path = Path(os.fsdecode(raw))
        try:
            scanned = scanner.scan(path)
        except StoreError:
            raise
        except Exception as exc:  # the file gets a status, the batch goes on (as in the local pool)
            scanned = _not_scanned(path, f"scan worker failed: {type(exc).__name__}: {exc}")
        out.append(scanned.to_dict())
    return out


def worker_facts() -> dict[str, Any]:
    """What the client checks on every worker before it sends files."""
    import multiprocessing

    return {"leakwatch": leakwatch.__version__, "pid": os.getpid(),
            "daemon": bool(multiprocessing.current_process().daemon)}


def _store_visible(location: str, key_file: str | None) -> str | None:
    """Why this worker cannot see the store (None when it can)."""
    if is_url(location):
        return None
    if not Path(location).is_dir():
        return f"no store folder at {location}"
    if key_file is not None and not Path(key_file).is_file():
        return f"no key file at {key_file}"
    return None


# --- the client side ------------------------------------------------------------------------

@dataclass
class _Batch:
    paths: list[Path]
    future: Any = None
    results: list[FileScan] | None = None
    # Times a one-file batch was sent again after KilledWorker.
    attempts: int = 0


@dataclass
class PendingScan:
    """One file's place in a batch: :meth:`result` waits for the batch."""

    executor: DaskExecutor
    batch: _Batch
    index: int

    def result(self) -> FileScan:
        return self.executor.results(self.batch)[self.index]


@dataclass
class DaskExecutor:
    """Scans files on a Dask cluster: the one at ``scheduler``, or a LocalCluster of
    ``workers`` processes started for this run (``scheduler`` None)."""

    config: Config
    verify_sources: bool
    run_key: str
    workers: int = 2
    scheduler: str | None = None
    # Files per task; 0: growing from MIN_BATCH to MAX_BATCH.
    batch_size: int = 0
    # Files sent so far.
    sent: int = 0
    # Batches split up after their workers kept dying.
    split_batches: int = 0
    _client: Any = None
    _cluster: Any = None
    _current: _Batch = field(default_factory=lambda: _Batch([]))
    slots: int = 1

    @classmethod
    def start(cls, config: Config, verify_sources: bool, identity: str, workers: int, scheduler: str | None,
              batch_size: int = 0) -> DaskExecutor:
        """Connect (or start a LocalCluster) and check the workers.

        Raises:
            ExecutorError: dask.distributed is missing, the scheduler cannot be reached,
                or the workers cannot scan (another leakwatch version, no store).
        """
        if not dask_available():
            raise ExecutorError(f"the dask executor needs dask.distributed: {INSTALL_HINT}")
        config = _absolute_paths(config)
        # Everything that shapes a worker's scanner: a worker keeps its scanner for the
        # next task of the same key, and opens a new one for another.
        material = f"{identity}\n{config!r}\n{verify_sources}"
        executor = cls(config, verify_sources, hashlib.sha256(material.encode()).hexdigest(), workers, scheduler,
                       max(0, batch_size))
        try:
            executor._connect()
            executor._check_workers()
        except BaseException:
            executor.shutdown()
            raise
        return executor

    def _connect(self) -> None:
        import dask
        from distributed import Client, LocalCluster

        if self.scheduler is None:
            # Workers must not be daemonic processes: each starts its own extraction
            # process (leakwatch.isolate), which a daemonic process may not. Set for the
            # rest of this process, not just the start: a nanny reads it again each time
            # it restarts a worker that died.
            # And a worker that dies again while its nanny restarts it must not make the
            # cluster drop that nanny for good (the lost-worker timeout of SpecCluster,
            # read as a worker goes): a LocalCluster's nannies always restart theirs.
            dask.config.set({"distributed.worker.daemon": False, "distributed.deploy.lost-worker-timeout": "3650 days"})
            # Tasks go to a worker only when it has a free thread (saturation 1.0): a worker
            # that dies takes down the task it was running, not others queued behind it.
            with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                                  "distributed.scheduler.worker-saturation": WORKER_SATURATION}):
                # No dashboard; its HTTP server on any free port (8787 may be taken).
                self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                             dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"},
                                             silence_logs=logging.ERROR)
            self._client = Client(self._cluster)
            self._client.wait_for_workers(self.workers, timeout=120)
        else:
            try:
                self._client = Client(self.scheduler)  # distributed.comm.timeouts.connect (30 s)
            except (OSError, TimeoutError, ValueError) as exc:
                raise ExecutorError(f"cannot reach the Dask scheduler at {self.scheduler}: {exc}") from exc
            try:
                self._client.wait_for_workers(1, timeout=60)
            except TimeoutError as exc:
                raise ExecutorError(f"no Dask worker joined the scheduler at {self.scheduler} within 60 s") from exc

    def _check_workers(self) -> None:
        facts: dict[str, dict[str, Any]] = self._client.run(worker_facts)
        where = self.scheduler or "the local cluster"
        for address, fact in sorted(facts.items()):
            if fact["leakwatch"] != leakwatch.__version__:
                raise ExecutorError(f"Dask worker {address} runs leakwatch {fact['leakwatch']}, this is "
                                    f"{leakwatch.__version__}: install the same version on every worker")
            if fact["daemon"] and self.config.extract.isolate:
                raise ExecutorError(f"Dask worker {address} is a daemonic process and cannot start its extraction"
                                    " process: start the workers with DASK_DISTRIBUTED__WORKER__DAEMON=False")
        missing = self._client.run(_store_visible, self.config.store, self.config.key_file)
        for address, why in sorted(missing.items()):
            if why is not None:
                raise ExecutorError(f"Dask worker {address} cannot open the store: {why} (the workers must see "
                                    "the store at the same path, on a shared filesystem, or use a redis:// store)")
        if not facts:
            raise ExecutorError(f"no Dask worker at {where}")
        self.slots = max(1, sum(self._client.nthreads().values()))

    @property
    def window(self) -> int:
        """Files in flight: a few batches per worker thread keep every worker busy."""
        return (self.batch_size or MAX_BATCH) * self.slots * 3

    def _batch_limit(self) -> int:
        if self.batch_size:
            return self.batch_size
        return min(MAX_BATCH, max(MIN_BATCH, self.sent // (4 * self.slots)))

    # --- the executor interface of leakwatch.batch -----------------------------------------

    def submit(self, path: Path) -> PendingScan:
        batch = self._current
        batch.paths.append(path)
        pending = PendingScan(self, batch, len(batch.paths) - 1)
        if len(batch.paths) >= self._batch_limit():
            self._send(batch)
        return pending

    def _send(self, batch: _Batch) -> None:
        if batch is self._current:
            self._current = _Batch([])
        self.sent += len(batch.paths)
        # Absolute paths: a worker's working folder is not ours (see _relabel).
        batch.future = self._client.submit(scan_batch, self.run_key, self.config, self.verify_sources,
                                           [os.fsencode(os.path.abspath(p)) for p in batch.paths],
                                           pure=False, retries=TASK_RETRIES)

    def flush(self) -> None:
        """Send the batch still filling (the listing is over)."""
        if self._current.paths:
            self._send(self._current)

    def results(self, batch: _Batch) -> list[FileScan]:
        """The batch's scans, in its order (sent now if it was still filling)."""
        if batch.results is not None:
            return batch.results
        if batch.future is None:
            self._send(batch)
        from distributed import KilledWorker

        try:
            batch.results = [_relabel(FileScan.from_dict(d), p) for d, p in zip(self._wait(batch.future), batch.paths,
                                                                              strict=True)]
        except KilledWorker:
            batch.future = None
            batch.results = self._after_worker_deaths(batch)
        except (StoreError, ExecutorError):
            raise
        except Exception as exc:  # the cluster failed this batch: its files are not scanned, and say so
            message = f"scan worker failed: {type(exc).__name__}: {exc}"
            batch.results = [_not_scanned(p, message) for p in batch.paths]
        batch.future = None  # the scheduler may forget it
        return batch.results

    def _wait(self, future: Any) -> Any:
        """The task's result; a cluster that has had no worker for ``NO_WORKER_TIMEOUT_S``
        stops the run (a nightly job must not wait for ever).

        Raises:
            ExecutorError: no worker left.
        """
        alone_since: float | None = None
        while True:
            try:
                return future.result(timeout=5.0)
            except TimeoutError:
                pass
            if self._client.nthreads():
                alone_since = None
                continue
            now = time.monotonic()
            alone_since = alone_since if alone_since is not None else now
            if now - alone_since >= NO_WORKER_TIMEOUT_S:
                raise ExecutorError(f"the Dask cluster at {self.scheduler or 'this host'} has had no worker for "
                                    f"{NO_WORKER_TIMEOUT_S:.0f} s: scan stopped")

    def _after_worker_deaths(self, batch: _Batch) -> list[FileScan]:
        """A batch whose workers kept dying: each file on its own, so that only a file
        that kills its worker by itself is reported (as not scanned)."""
        if len(batch.paths) == 1:
            if batch.attempts < KILLED_RETRIES:
                batch.attempts += 1
                return self.results(batch)
            return [_not_scanned(batch.paths[0], "the scan worker died while scanning this file, again on retry "
                                 "(out of memory? a crash?): not scanned")]
        self.split_batches += 1
        singles = [_Batch([p]) for p in batch.paths]
        for single in singles:
            self._send(single)
        return [self.results(single)[0] for single in singles]

    def cancel(self) -> None:
        """Interrupted: the cluster's work in flight is dropped with the client."""
        self.shutdown()

    def shutdown(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            finally:
                self._client = None
        if self._cluster is not None:
            try:
                self._cluster.close()
            finally:
                self._cluster = None


def _relabel(scanned: FileScan, path: Path) -> FileScan:
    """A file's scan as the local executor names it: an error names the path as listed
    (relative if it was given so), findings the resolved path (the same either way)."""
    sent, shown = display_path(os.path.abspath(path)), display_path(path)
    if (scanned.error is None and not scanned.member_errors) or sent == shown:
        return scanned
    error = scanned.error
    if error is not None and error.path == sent:
        error = FileError(shown, error.status, error.message)
    members = tuple(FileError(shown + e.path[len(sent):], e.status, e.message, shown, e.members)
                    if e.container == sent else e for e in scanned.member_errors)
    return FileScan(shown if scanned.path == sent else scanned.path, scanned.findings, error, scanned.sha256,
                    members, scanned.members)


def _absolute_paths(config: Config) -> Config:
    """The store and key file as absolute paths: a worker's working folder is not ours."""
    import dataclasses

    store = config.store if is_url(config.store) else os.path.abspath(config.store)
    key_file = None if config.key_file is None else os.path.abspath(config.key_file)
    return dataclasses.replace(config, store=store, key_file=key_file)
