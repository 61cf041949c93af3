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
from leakwatch.model import FileError
from leakwatch.pipeline import FileExtract, analyse_members, document_of, extraction
from leakwatch.store import is_url
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


def analysed_documents(path: Path, config: Config, keyed: _Keyed, label: str, owner: str | None,
                       extract: FileExtract) -> list[NewDocument | FileError]:
    """What the store records for one file (one document per member of a container), or
    the errors that stopped them."""
    return [item if isinstance(item, FileError) else document_of(item, keyed, label, owner)
            for item in analyse_members(path, config, keyed, extract)]  # type: ignore[arg-type]


def _analyse(path_bytes: bytes) -> list[NewDocument | FileError]:
    assert _WORKER is not None
    w = _WORKER
    return analysed_documents(Path(os.fsdecode(path_bytes)), w.config, w.keyed, w.label, w.owner, w.extract)


def documents_in_pool(paths: Iterable[Path], config: Config, params: FingerprintParams, key: StoreKey, label: str,
                      owner: str | None, workers: int) -> Iterator[NewDocument | FileError]:
    """Every file under ``paths`` analysed by ``workers`` processes, in walk order."""
    store_dir = Path(config.store) if not is_url(config.store) else None
    exclude = (store_dir,) if store_dir is not None else ()
    keyed = _Keyed(params, key)
    pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("forkserver"), initializer=_init,
        initargs=(config, params, key.secret, label, owner))
    # In walk order: a listing error, or a file and its future (None: analyse it here).
    Pending = Future[list[NewDocument | FileError]]
    in_flight: deque[FileError | tuple[Path, Pending | None]] = deque()
    with ExitStack() as stack:
        local: list[FileExtract] = []

        def here(path: Path) -> list[NewDocument | FileError]:
            if not local:  # the pool broke: the rest is analysed in this process
                local.append(stack.enter_context(extraction(config)))
            return analysed_documents(path, config, keyed, label, owner, local[0])

        def results(item: FileError | tuple[Path, Pending | None]) -> list[NewDocument | FileError]:
            nonlocal pool
            if isinstance(item, FileError):
                return [item]
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
                    yield from results(in_flight.popleft())
            while in_flight:
                yield from results(in_flight.popleft())
        finally:
            if pool is not None:
                pool.shutdown(wait=not in_flight, cancel_futures=True)
