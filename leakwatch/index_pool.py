"""Files analysed on several cores for ``leakwatch index add -j N``.

Reading, extracting (each worker has its own isolated extraction process),
tokenizing and fingerprinting run in a pool of worker processes; the store is
written by the calling process alone, in walk order, as a serial run would write
it. Workers get the fingerprint parameters and the key when they start (over a
pipe to a process of the same user, never to disk) and send back what the store
records for each file: keyed values and offsets, no text. A worker that dies
(the OOM killer, say) ends the pool; the files it left are analysed in the
calling process.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util as mp_util
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from leakwatch.config import Config, FingerprintParams
from leakwatch.interrupt import ignore_in_worker
from leakwatch.keys import StoreKey
from leakwatch.model import ExtractionError, FileError, Status
from leakwatch.pipeline import FileExtract, analyse_file, display_path, extraction, new_document
from leakwatch.store.base import NewDocument
from leakwatch.walk import iter_files


@dataclass(frozen=True)
class _Keyed:
    """What analysing a file needs of the store: its parameters and key."""

    params: FingerprintParams
    key: StoreKey


@dataclass(frozen=True)
class _Worker:
    config: Config
    keyed: _Keyed
    label: str
    owner: str | None
    extract: FileExtract


_WORKER: _Worker | None = None


def _init(config: Config, params: FingerprintParams, secret: bytes, label: str, owner: str | None) -> None:
    global _WORKER
    ignore_in_worker()
    stack = ExitStack()
    extract = stack.enter_context(extraction(config))
    # Pool workers end through multiprocessing's exit path, which runs finalizers, not atexit.
    mp_util.Finalize(None, stack.close, exitpriority=10)
    _WORKER = _Worker(config, _Keyed(params, StoreKey(secret)), label, owner, extract)


def analysed_document(path: Path, config: Config, keyed: _Keyed, label: str, owner: str | None,
                      extract: FileExtract) -> NewDocument | FileError:
    """One file as the store records it, or the error that stopped it."""
    try:
        analysed = analyse_file(path, config, keyed, extract)  # type: ignore[arg-type]
    except ExtractionError as exc:
        return FileError(display_path(path), exc.status, exc.message)
    if analysed.fingerprints.keyed.size == 0:
        return FileError(display_path(path), Status.UNSUPPORTED,
                         f"fewer than {keyed.params.shingle_size} words of text: nothing to fingerprint")
    return new_document(analysed, keyed, label, owner)  # type: ignore[arg-type]


def _analyse(path_bytes: bytes) -> NewDocument | FileError:
    assert _WORKER is not None
    w = _WORKER
    return analysed_document(Path(os.fsdecode(path_bytes)), w.config, w.keyed, w.label, w.owner, w.extract)


def documents_in_pool(paths: Iterable[Path], config: Config, params: FingerprintParams, key: StoreKey, label: str,
                      owner: str | None, workers: int) -> Iterator[NewDocument | FileError]:
    """Every file under ``paths`` analysed by ``workers`` processes, in walk order."""
    store_dir = Path(config.store) if "://" not in config.store else None
    exclude = (store_dir,) if store_dir is not None else ()
    keyed = _Keyed(params, key)
    pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("forkserver"), initializer=_init,
        initargs=(config, params, key.secret, label, owner))
    # In walk order: a listing error, or a file and its future (None: analyse it here).
    in_flight: deque[FileError | tuple[Path, Future[NewDocument | FileError] | None]] = deque()
    with ExitStack() as stack:
        local: list[FileExtract] = []

        def here(path: Path) -> NewDocument | FileError:
            if not local:  # the pool broke: the rest is analysed in this process
                local.append(stack.enter_context(extraction(config)))
            return analysed_document(path, config, keyed, label, owner, local[0])

        def result(item: FileError | tuple[Path, Future[NewDocument | FileError] | None]) -> NewDocument | FileError:
            nonlocal pool
            if isinstance(item, FileError):
                return item
            path, future = item
            if future is not None:
                try:
                    return future.result()
                except BrokenProcessPool:
                    if pool is not None:
                        pool.shutdown(wait=False, cancel_futures=True)
                        pool = None
            return here(path)

        try:
            for listing in iter_files(list(paths), config.follow_symlinks, exclude):
                if listing.error is not None:
                    in_flight.append(listing.error)
                    continue
                future = None
                if pool is not None:
                    try:
                        future = pool.submit(_analyse, os.fsencode(listing.path))
                    except (BrokenProcessPool, RuntimeError):
                        pool.shutdown(wait=False, cancel_futures=True)
                        pool = None
                in_flight.append((listing.path, future))
                while len(in_flight) > 4 * workers:
                    yield result(in_flight.popleft())
            while in_flight:
                yield result(in_flight.popleft())
        finally:
            if pool is not None:
                pool.shutdown(wait=not in_flight, cancel_futures=True)
