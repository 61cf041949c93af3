"""The embedded store: a SQLite catalogue and sorted segment files in one folder."""

from leakwatch.store.sqlite.connection import BULK_CHANGES, BULK_SECONDS
from leakwatch.store.sqlite.schema import params_from_meta, params_meta
from leakwatch.store.sqlite.store import DB_NAME, KEY_NAME, SQLiteStore, segment_folder
from leakwatch.store.sqlite.tables import as_int64

__all__ = ["BULK_CHANGES", "BULK_SECONDS", "DB_NAME", "KEY_NAME", "SQLiteStore", "as_int64", "params_from_meta",
           "params_meta", "segment_folder"]
