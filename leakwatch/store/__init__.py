"""Fingerprint stores: the interface and its backends (embedded SQLite; Redis, shared)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from leakwatch.config import DEFAULT_STORE, Config
from leakwatch.store.base import (
    FORMAT_VERSION,
    FingerprintHits,
    FingerprintStore,
    NewDocument,
    PassageHits,
    SourceDocument,
    StoreError,
)
from leakwatch.store.sqlite import SQLiteStore

__all__ = [
    "FORMAT_VERSION",
    "FingerprintHits",
    "FingerprintStore",
    "NewDocument",
    "PassageHits",
    "SQLiteStore",
    "SourceDocument",
    "StoreError",
    "is_url",
    "local_folder",
    "open_store",
]


def is_url(store: str) -> bool:
    """True for a ``scheme://`` store (a server), False for a store folder."""
    return "://" in store


def local_folder(config: Config) -> Path:
    """The folder on this host for what stays local to it: the scan cache and the daemon's
    state (by default). For the embedded store it is the store folder; for a Redis store,
    the folder of its key file (a private folder such as ``/var/lib/leakwatch``)."""
    if not is_url(config.store):
        return Path(config.store)
    return Path(config.key_file).parent if config.key_file else Path(DEFAULT_STORE)


def _open_redis(config: Config, create: bool) -> FingerprintStore:
    from leakwatch.store.redis import RedisStore  # redis-py is an extra: imported when asked for

    return RedisStore(config.store, params=config.fingerprint, key_file=config.key_file, create=create)


# The backends of a store named by URL, by scheme; a folder is the embedded store. Adding a
# backend is a module under store/ and a line here.
BACKENDS: dict[str, Callable[[Config, bool], FingerprintStore]] = {
    "redis": _open_redis,
    "rediss": _open_redis,  # Redis over TLS
}


def open_store(config: Config, create: bool = False) -> FingerprintStore:
    """Open the store named by ``config.store``: a folder for the embedded backend, or a
    URL whose scheme names a backend of :data:`BACKENDS` (``redis://host:port/db[?prefix=NAME]``
    or ``rediss://`` for the shared one, which needs ``config.key_file``: the key is never
    stored in Redis).

    Raises:
        StoreError: absent (and not to be created), another format version, wrong key,
            or fingerprint parameters that differ from the configuration's.
    """
    store: FingerprintStore
    if is_url(config.store):
        scheme = config.store.split("://", 1)[0]
        opener = BACKENDS.get(scheme.lower())
        if opener is None:
            raise StoreError(f"unknown store backend {scheme!r}: a store is a folder, or "
                             + " or ".join(f"{s}://..." for s in BACKENDS))
        store = opener(config, create)
    else:
        store = SQLiteStore(config.store, params=config.fingerprint, key_file=config.key_file, create=create)
    if config.fingerprint is not None:
        try:
            store.check_params(config.fingerprint)
        except StoreError:
            store.close()
            raise
    return store
