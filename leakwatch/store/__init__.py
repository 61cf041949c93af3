"""Fingerprint stores: the interface and its backends (SQLite first)."""

from __future__ import annotations

from leakwatch.config import Config
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
    "open_store",
]


def open_store(config: Config, create: bool = False) -> FingerprintStore:
    """Open the store named by ``config.store`` (a folder for the embedded backend).

    Raises:
        StoreError: absent (and not to be created), another format version, wrong key,
            or fingerprint parameters that differ from the configuration's.
    """
    if "://" in config.store:
        scheme = config.store.split("://", 1)[0]
        raise StoreError(f"store backend {scheme!r} is not available in this version")
    store = SQLiteStore(config.store, params=config.fingerprint, key_file=config.key_file, create=create)
    if config.fingerprint is not None:
        try:
            store.check_params(config.fingerprint)
        except StoreError:
            store.close()
            raise
    return store
