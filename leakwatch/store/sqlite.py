"""The embedded store: one SQLite database (WAL) in a 0700 folder, key kept apart.

Layout of the folder::

    leakwatch.sqlite   documents, fingerprints, passages, LSH bands, meta (0600)
    leakwatch.key      the secret key (0600); may live elsewhere (``key_file``)

Hashes are 64-bit unsigned values stored as SQLite's signed INTEGER (the same
bits); signatures are little-endian uint32 BLOBs. Nothing is pickled.

Every change is one transaction, committed with ``synchronous=FULL`` (a committed
document survives a crash or a power loss; a killed run leaves whole documents
only). A bulk load (:meth:`SQLiteStore.bulk`, ``index add``) groups its changes into
transactions of up to a few seconds, each change under its own savepoint: a failed
change is still undone alone, and a killed run still leaves whole documents only
(it loses the uncommitted tail, which was not yet reported). Every SQLite failure
leaves as a :class:`StoreError` that says what could not be done, and a failed
change is rolled back first.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import numpy as np

import leakwatch
from leakwatch.config import FingerprintParams
from leakwatch.fingerprint import MINHASH_SCHEME, DocumentFingerprints, band_keys, is_empty_signature, lsh_shape
from leakwatch.keys import StoreKey, load_or_create_key
from leakwatch.store.base import (
    FORMAT_VERSION,
    AddAction,
    CellHits,
    FingerprintHits,
    FingerprintStore,
    NewDocument,
    PassageHits,
    RecordTable,
    SourceDocument,
    StoreError,
    check_meta,
    is_unchanged,
)

if TYPE_CHECKING:
    from leakwatch.tables import NewTable

DB_NAME = "leakwatch.sqlite"
KEY_NAME = "leakwatch.key"
BUSY_TIMEOUT_S = 30.0

_P = ParamSpec("_P")
_R = TypeVar("_R")

# What a user can do about an SQLite failure, by primary result code.
_HINTS = {
    "SQLITE_IOERR": "the disk may be full or failing",
    "SQLITE_BUSY": f"another process kept the store locked for {BUSY_TIMEOUT_S:.0f} s",
    "SQLITE_LOCKED": "another process kept the store locked",
    "SQLITE_READONLY": "the store files cannot be written here",
    "SQLITE_CANTOPEN": "a store file cannot be opened or created",
    "SQLITE_PERM": "permission denied",
    "SQLITE_CORRUPT": "the database is damaged",
    "SQLITE_NOTADB": "the database is damaged",
    "SQLITE_NOMEM": "out of memory",
}

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents (
    -- AUTOINCREMENT: a replaced or removed document's key is never reused.
    doc_key INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    content_mac TEXT NOT NULL,
    size INTEGER NOT NULL,
    label TEXT NOT NULL,
    owner TEXT,
    added_at TEXT NOT NULL,
    format TEXT NOT NULL,
    extractor_version TEXT NOT NULL,
    version INTEGER NOT NULL,
    n_words INTEGER NOT NULL,
    n_chars INTEGER NOT NULL,
    page_starts TEXT NOT NULL,
    signature BLOB NOT NULL
);
CREATE TABLE fingerprints (
    hash INTEGER NOT NULL,
    doc_key INTEGER NOT NULL REFERENCES documents(doc_key) ON DELETE CASCADE,
    pos INTEGER NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL
);
CREATE INDEX fingerprints_hash ON fingerprints(hash);
CREATE INDEX fingerprints_doc ON fingerprints(doc_key);
CREATE TABLE passages (
    -- A rowid table: its rows (two 512-byte signatures) fit in its pages, where a
    -- WITHOUT ROWID table spilled every row to an overflow page (4.7 KB a passage).
    doc_key INTEGER NOT NULL REFERENCES documents(doc_key) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    shingle_start INTEGER NOT NULL,
    shingle_end INTEGER NOT NULL,
    signature BLOB NOT NULL,
    bag_signature BLOB NOT NULL,
    PRIMARY KEY (doc_key, idx)
);
-- LSH band keys, about 60 rows a passage: the bulk of the store. One B-tree each,
-- keyed for the look-up (covering: a probe never visits another page). No index by
-- document and so no foreign key: a document's rows are deleted by their keys,
-- recomputed from its stored signatures (see _delete_document).
CREATE TABLE bands (
    band INTEGER NOT NULL,
    key INTEGER NOT NULL,
    doc_key INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    PRIMARY KEY (band, key, doc_key, idx)
) WITHOUT ROWID;
CREATE TABLE bag_bands (
    band INTEGER NOT NULL,
    key INTEGER NOT NULL,
    doc_key INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    PRIMARY KEY (band, key, doc_key, idx)
) WITHOUT ROWID;
"""

# Added after format version 1 shipped; created on open when absent (an additive
# migration: older readers ignore it).
_ALLOW_SCHEMA = "CREATE TABLE IF NOT EXISTS allowed (hash INTEGER PRIMARY KEY) WITHOUT ROWID"

# Registered tables (exact data match), added after format version 1 shipped: created
# on open when absent, like the allow-list. Values are keyed hashes only. Anchor
# values (distinctive, in a key column) are indexed for look-up; every row's values
# are kept as one blob, read back only for rows an anchor pointed at.
_RECORDS_SCHEMA = """
CREATE TABLE IF NOT EXISTS record_tables (
    table_key INTEGER PRIMARY KEY AUTOINCREMENT,
    table_id TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    sheet TEXT,
    content_mac TEXT NOT NULL,
    size INTEGER NOT NULL,
    label TEXT NOT NULL,
    owner TEXT,
    added_at TEXT NOT NULL,
    version INTEGER NOT NULL,
    n_rows INTEGER NOT NULL,
    columns TEXT NOT NULL,
    key_columns TEXT NOT NULL,
    n_cells INTEGER NOT NULL,
    n_anchors INTEGER NOT NULL,
    text_lengths TEXT NOT NULL,
    signature BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS record_cells (
    hash INTEGER NOT NULL,
    table_key INTEGER NOT NULL REFERENCES record_tables(table_key) ON DELETE CASCADE,
    row INTEGER NOT NULL,
    col INTEGER NOT NULL,
    PRIMARY KEY (hash, table_key, row, col)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS record_rows (
    table_key INTEGER NOT NULL REFERENCES record_tables(table_key) ON DELETE CASCADE,
    row INTEGER NOT NULL,
    cells BLOB NOT NULL,
    distinctive BLOB NOT NULL,
    PRIMARY KEY (table_key, row)
) WITHOUT ROWID;
"""

_LOOKUP_BATCH = 250_000

# A bulk load commits when its transaction is this old or holds this many changes
# (whichever comes first), and reads with this page cache (KiB, SQLite's negative
# cache_size): the band B-trees take random inserts, and a commit writes each page
# its transaction touched once, however many rows went into it.
BULK_SECONDS = 2.0
BULK_CHANGES = 2_000
BULK_CACHE_KIB = 128 * 1024


@dataclass
class _Bulk:
    max_seconds: float
    max_changes: int
    started: float = 0.0
    pending: int = 0

_TABLE_COLUMNS = (
    "table_key, table_id, path, sheet, content_mac, size, label, owner, added_at, version, n_rows, columns, "
    "key_columns, n_cells, n_anchors, text_lengths, signature"
)

_DOC_COLUMNS = (
    "doc_key, doc_id, path, content_mac, size, label, owner, added_at, format, extractor_version, "
    "version, n_words, n_chars, page_starts, signature"
)


def _as_int64(values: np.ndarray) -> list[int]:
    return np.ascontiguousarray(values, dtype=np.uint64).view(np.int64).tolist()


def _band_rows(doc_key: int, signatures: np.ndarray, n_bands: int, n_rows: int
               ) -> tuple[int, Iterator[tuple[int, int, int, int]]]:
    """(number of rows, rows) of the LSH band table for one document's passage
    signatures: (band, key, doc_key, passage) for each band of each non-empty signature."""
    if len(signatures) == 0:
        return 0, iter(())
    keys = np.asarray(band_keys(signatures, n_bands, n_rows), dtype=np.int64)
    usable = np.nonzero(~is_empty_signature(signatures))[0]
    n = int(usable.size) * n_bands
    bands = np.tile(np.arange(n_bands, dtype=np.int64), int(usable.size)).tolist()
    return n, zip(bands, keys[usable].reshape(-1).tolist(), itertools.repeat(doc_key, n),
                  np.repeat(usable, n_bands).tolist(), strict=False)


def _params_meta(params: FingerprintParams, key: StoreKey) -> dict[str, str]:
    bands, rows = lsh_shape(params)
    bag_bands, bag_rows = lsh_shape(params, bag=True)
    return {
        "format_version": str(FORMAT_VERSION),
        "minhash_scheme": MINHASH_SCHEME,
        "num_perm": str(params.num_perm),
        "seed": str(params.seed),
        "shingle_size": str(params.shingle_size),
        "winnow_window": str(params.winnow_window),
        "passage_stride": str(params.passage_stride),
        "lsh_threshold": repr(params.lsh_threshold),
        "lsh_bands": str(bands),
        "lsh_rows": str(rows),
        "bag_lsh_threshold": repr(params.bag_lsh_threshold),
        "bag_lsh_bands": str(bag_bands),
        "bag_lsh_rows": str(bag_rows),
        "key_id": key.key_id,
    }


def _params_from_meta(meta: dict[str, str]) -> FingerprintParams:
    return FingerprintParams(
        shingle_size=int(meta["shingle_size"]),
        winnow_window=int(meta["winnow_window"]),
        passage_stride=int(meta["passage_stride"]),
        num_perm=int(meta["num_perm"]),
        seed=int(meta["seed"]),
        lsh_threshold=float(meta["lsh_threshold"]),
        bag_lsh_threshold=float(meta["bag_lsh_threshold"]),
    )


def _create_private_file(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)


def _reason(exc: sqlite3.Error) -> str:
    """SQLite's message, with what it usually means."""
    message = str(exc) or type(exc).__name__
    name = getattr(exc, "sqlite_errorname", None) or ""
    hint = _HINTS.get("_".join(name.split("_")[:2]))
    return f"{message} ({hint})" if hint and hint not in message else message


def _printable(path: str) -> str:
    """A path as text that can always be printed (undecodable bytes escaped)."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _statements(script: str) -> Iterator[str]:
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            yield buf
            buf = ""
    if buf.strip():
        yield buf


def _reading(method: Callable[Concatenate[SQLiteStore, _P], _R]) -> Callable[Concatenate[SQLiteStore, _P], _R]:
    """A look-up whose SQLite failure becomes a StoreError ("cannot read the store ...")."""

    @functools.wraps(method)
    def wrapper(self: SQLiteStore, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise self._failure("read", exc) from exc

    return wrapper


class SQLiteStore(FingerprintStore):
    """Fingerprint store in a local folder.

    Args:
        folder: the store folder (created 0700 when ``create`` is true).
        params: fingerprint parameters for a new store; an existing store keeps its own.
        key_file: where the key lives (default: ``leakwatch.key`` in the folder).
        create: create the folder, database and key if absent.
        db_name: the database file; the folder holds the confidential index
            (``leakwatch.sqlite``) and, beside it under the same key, the registered
            third-party references.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        params: FingerprintParams | None = None,
        key_file: str | os.PathLike[str] | None = None,
        create: bool = False,
        db_name: str = DB_NAME,
    ) -> None:
        self.folder = Path(folder)
        db_path = self.folder / db_name
        self.location = str(self.folder) if db_name == DB_NAME else str(db_path)
        key_path = Path(key_file) if key_file else self.folder / KEY_NAME
        # Set when a failed change could not be rolled back and the connection was
        # closed to discard it: every later call says so.
        self._broken: str | None = None
        # Set while a bulk load groups changes into larger transactions.
        self._bulk: _Bulk | None = None
        is_new = not db_path.exists()
        if is_new and not create:
            raise StoreError(
                f"no fingerprint store at {self.folder}: register documents first "
                f"with `leakwatch index add PATH --store {self.folder}`"
            )
        if is_new:
            try:
                self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.chmod(self.folder, 0o700)
            except OSError as exc:
                raise StoreError(f"cannot create the store {self.folder}: {exc.strerror or exc}") from exc
        elif not db_path.is_file():
            raise StoreError(f"{db_path} is not a file")
        try:
            self.key = load_or_create_key(key_path, create=is_new)
        except Exception as exc:  # KeyFileError and OS errors alike stop the run
            raise StoreError(str(exc)) from exc
        if is_new:
            # Created 0600 before SQLite opens it; SQLite gives its -wal and -shm
            # files the permissions of the database file.
            try:
                _create_private_file(db_path)
            except OSError as exc:
                raise StoreError(f"cannot create the store {self.location}: {exc.strerror or exc}") from exc
        try:
            self._db = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            if is_new:
                _discard_database(db_path)
            raise StoreError(f"cannot open the store {self.location}: {_reason(exc)}") from exc
        try:
            meta = self._open(db_path, (params or FingerprintParams()) if is_new else None)
            self._check_meta(meta, db_path)
        except BaseException:
            with suppress(sqlite3.Error):
                self._db.close()
            if is_new:  # nothing of a store that could not be created is left to trip the next run
                _discard_database(db_path)
            raise
        self.params = _params_from_meta(meta)
        self.lsh_bands = int(meta["lsh_bands"])
        self.lsh_rows = int(meta["lsh_rows"])
        self.bag_lsh_bands = int(meta["bag_lsh_bands"])
        self.bag_lsh_rows = int(meta["bag_lsh_rows"])
        # Stores created before the keyed band tables index their band rows by document
        # too, and delete them through the foreign key's cascade.
        self._bands_by_doc = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'bands_doc'").fetchone() is not None

    # --- set-up -------------------------------------------------------------------------

    def _open(self, db_path: Path, new_params: FingerprintParams | None) -> dict[str, str]:
        """Configure the connection, create the schema of a new store, read the meta table.

        Args:
            new_params: the parameters of a store being created, None for an existing one.
        """
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is synced at every commit, so a committed document survives
            # a power loss (NORMAL only syncs at checkpoints).
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA temp_store=MEMORY")
        except sqlite3.Error as exc:
            raise self._open_failure(db_path, exc) from exc
        if new_params is not None:
            self._initialise(new_params)
        try:
            self._db.execute(_ALLOW_SCHEMA)
            if self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'record_tables'").fetchone() is None:
                with self._transaction("the store was not upgraded", doing="upgrade"):
                    for statement in _statements(_RECORDS_SCHEMA):
                        self._db.execute(statement)
            return dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.Error as exc:
            raise self._open_failure(db_path, exc) from exc

    def _open_failure(self, db_path: Path, exc: sqlite3.Error) -> StoreError:
        name = getattr(exc, "sqlite_errorname", None) or ""
        if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")) or "no such table" in str(exc):
            return StoreError(f"{db_path} is not a leakwatch store: {exc}")
        return StoreError(f"cannot open the store {self.location}: {_reason(exc)}")

    def _initialise(self, params: FingerprintParams) -> None:
        params.validate()
        meta = {
            **_params_meta(params, self.key),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "created_by": f"leakwatch {leakwatch.__version__}",
        }
        # Schema and meta in one transaction: a store is created whole or not at all.
        with self._transaction("the store was not created", doing="create"):
            for statement in _statements(_SCHEMA):
                self._db.execute(statement)
            self._db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())

    def _check_meta(self, meta: dict[str, str], db_path: Path) -> None:
        check_meta(meta, str(self.folder), self.key, not_a_store=str(db_path))

    # --- failures and transactions --------------------------------------------------------

    def _failure(self, doing: str, exc: sqlite3.Error, outcome: str = "") -> StoreError:
        """The StoreError for an SQLite failure: "cannot <doing> the store <where>: <why>; <outcome>"."""
        if self._broken is not None:
            return StoreError(
                f"the store {self.location} was closed after a change that could not be rolled back "
                f"(rollback failed: {self._broken}); it is left as it was before that change. Run the command again."
            )
        return StoreError(self._message(doing, exc, outcome))

    def _message(self, doing: str, exc: sqlite3.Error, outcome: str) -> str:
        message = f"cannot {doing} the store {self.location}: {_reason(exc)}"
        return f"{message}; {outcome}" if outcome else message

    @contextmanager
    def _transaction(self, outcome: str, doing: str = "write to") -> Iterator[None]:
        """One change, committed whole or rolled back whole.

        Any exception in the body or at COMMIT rolls the change back (also a
        KeyboardInterrupt); an SQLite failure leaves as a StoreError that ends with
        ``outcome`` (what the failure means for the caller, e.g. "x was not added").
        Inside :meth:`bulk`, the change is a savepoint of the bulk transaction.
        """
        if self._bulk is not None:
            with self._bulk_change(self._bulk, outcome, doing):
                yield
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._failure(doing, exc, outcome) from exc
        try:
            yield
            self._bump_generation()
            self._db.execute("COMMIT")
        except BaseException as exc:
            already_broken = self._broken is not None
            self._rollback()
            if not isinstance(exc, sqlite3.Error):
                raise
            if self._broken is None or already_broken:
                raise self._failure(doing, exc, outcome) from exc
            raise StoreError(f"{self._message(doing, exc, outcome)} (the rollback failed too, {self._broken}; "
                             "the connection was closed, which discards the change)") from exc

    def _bump_generation(self) -> None:
        """Every change bumps the generation (see generation()), in its own transaction."""
        self._db.execute("INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) "
                         "DO UPDATE SET value = CAST(value AS INTEGER) + 1")

    @contextmanager
    def bulk(self, max_seconds: float = BULK_SECONDS, max_changes: int = BULK_CHANGES) -> Iterator[None]:
        """Group the changes made inside into transactions of up to ``max_seconds`` or
        ``max_changes`` changes: one commit (and one sync) per group instead of per
        document, and a larger page cache while it lasts.

        Each change is still whole or absent: a failed one is rolled back to its own
        savepoint and what came before it is committed, as if it had been committed
        change by change. A run killed with SIGKILL leaves the last commit (whole
        documents only) and loses at most ``max_seconds`` of changes. On leaving,
        normally or by an exception (Ctrl-C), the changes so far are committed.
        """
        if self._bulk is not None:
            yield
            return
        bulk = _Bulk(max_seconds, max_changes)
        try:
            cache = int(self._db.execute("PRAGMA cache_size").fetchone()[0])
            self._db.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
        except sqlite3.Error as exc:
            raise self._failure("write to", exc) from exc
        self._bulk = bulk
        try:
            yield
        finally:
            self._bulk = None
            try:
                if bulk.pending and self._broken is None:
                    self._commit_bulk(bulk, "write to")
            finally:
                if self._broken is None:
                    with suppress(sqlite3.Error):
                        self._db.execute(f"PRAGMA cache_size = {cache}")

    @contextmanager
    def _bulk_change(self, bulk: _Bulk, outcome: str, doing: str) -> Iterator[None]:
        try:
            if not self._db.in_transaction:
                self._db.execute("BEGIN IMMEDIATE")
                bulk.started, bulk.pending = time.monotonic(), 0
            self._db.execute("SAVEPOINT change")
        except sqlite3.Error as exc:
            raise self._failure(doing, exc, outcome) from exc
        try:
            yield
            self._bump_generation()
            self._db.execute("RELEASE change")
        except BaseException as exc:
            # Undo this change alone, and keep what came before it (committed now, as
            # change-by-change commits would have left it).
            try:
                self._db.execute("ROLLBACK TO change")
                self._db.execute("RELEASE change")
                undone = True
            except sqlite3.Error:
                undone = False
            lost = bulk.pending
            kept = False
            if undone:
                try:
                    if self._db.in_transaction:
                        self._db.execute("COMMIT")
                    kept = True
                except sqlite3.Error:
                    pass
            if not kept:
                already_broken = self._broken is not None
                self._rollback()
                if self._broken is not None and not already_broken:
                    lost_too = f" (nor were the {lost} changes before it since the last commit)" if lost else ""
                    if isinstance(exc, sqlite3.Error):
                        raise StoreError(
                            f"{self._message(doing, exc, outcome.split(';')[0] + lost_too)}; the rollback failed "
                            f"too, {self._broken}; the connection was closed, which discards the changes") from exc
                    raise
            bulk.pending = 0
            if not isinstance(exc, sqlite3.Error):
                raise
            if not kept and lost:
                outcome = (f"{outcome.split(';')[0]}, nor were the {lost} changes made before it since the last "
                           "commit; the store is as it was before them")
            raise self._failure(doing, exc, outcome) from exc
        bulk.pending += 1
        if bulk.pending >= bulk.max_changes or time.monotonic() - bulk.started >= bulk.max_seconds:
            self._commit_bulk(bulk, doing)

    def _commit_bulk(self, bulk: _Bulk, doing: str) -> None:
        n, bulk.pending = bulk.pending, 0
        try:
            self._db.execute("COMMIT")
        except BaseException as exc:
            self._rollback()
            if not isinstance(exc, sqlite3.Error):
                raise
            raise self._failure(doing, exc, f"the last {n} changes were not committed; "
                                "the store is as it was before them") from exc

    def _rollback(self) -> None:
        """Roll back the open transaction; never raises.

        SQLite rolls a transaction back by itself after some failures (a full disk,
        an I/O error), and then ROLLBACK fails harmlessly. If a transaction is still
        open after a failed ROLLBACK, the connection is closed, which discards it:
        the store on disk keeps its last committed state, and this object refuses
        further work rather than build on a change it could not undo.
        """
        try:
            self._db.execute("ROLLBACK")
            return
        except sqlite3.Error as exc:
            failure = _reason(exc)
        try:
            if not self._db.in_transaction:
                return
        except sqlite3.Error:
            pass
        self._broken = failure
        with suppress(sqlite3.Error):
            self._db.close()

    # --- documents ----------------------------------------------------------------------

    def _row_to_doc(self, row: tuple[Any, ...]) -> SourceDocument:
        return SourceDocument(
            doc_key=row[0], doc_id=row[1], path=row[2], content_mac=row[3], size=row[4],
            label=row[5], owner=row[6], added_at=row[7], format=row[8], extractor_version=row[9],
            version=row[10], n_words=row[11], n_chars=row[12],
            page_starts=tuple(json.loads(row[13])),
            signature=np.frombuffer(row[14], dtype="<u4").astype(np.uint32),
        )

    @_reading
    def find_document(self, doc_id_or_path: str) -> SourceDocument | None:
        row = self._db.execute(
            f"SELECT {_DOC_COLUMNS} FROM documents WHERE doc_id = ? OR path = ? ORDER BY doc_key LIMIT 1",
            (doc_id_or_path, doc_id_or_path),
        ).fetchone()
        return self._row_to_doc(row) if row else None

    @_reading
    def list_documents(self) -> list[SourceDocument]:
        rows = self._db.execute(f"SELECT {_DOC_COLUMNS} FROM documents ORDER BY doc_key").fetchall()
        return [self._row_to_doc(r) for r in rows]

    @_reading
    def documents(self, doc_keys: list[int]) -> dict[int, SourceDocument]:
        out: dict[int, SourceDocument] = {}
        for chunk in _chunks(sorted(set(doc_keys)), 500):
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents WHERE doc_key IN ({marks})", chunk
            ):
                out[row[0]] = self._row_to_doc(row)
        return out

    @_reading
    def count_documents(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0])

    def add_document(self, doc: NewDocument) -> tuple[SourceDocument, AddAction]:
        doc_id = self.key.doc_id(doc.path)
        old = self.find_document(doc_id)
        if is_unchanged(old, doc):
            assert old is not None
            return old, "unchanged"
        fp = doc.fingerprints
        version = old.version + 1 if old else 1
        what = f"{_printable(doc.path)} was not {'replaced' if old else 'added'}"
        with self._transaction(f"{what}; the store is as it was before it"):
            if old is not None:
                self._delete_document(old.doc_key)
            # No cursor outlives its statement here: a cursor kept alive (by a traceback,
            # say) would keep a connection that _rollback closed from releasing its lock.
            doc_key = self._db.execute(
                "INSERT INTO documents (doc_id, path, content_mac, size, label, owner, added_at, format, "
                "extractor_version, version, n_words, n_chars, page_starts, signature) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    doc_id, doc.path, doc.content_mac, doc.size, doc.label, doc.owner,
                    datetime.now(UTC).isoformat(timespec="seconds"), doc.format, doc.extractor_version,
                    version, fp.n_words, doc.n_chars, json.dumps(list(doc.page_starts)),
                    np.ascontiguousarray(fp.signature, dtype="<u4").tobytes(),
                ),
            ).lastrowid or 0
            self._insert_fingerprints(doc_key, fp)
        added = self.find_document(doc_id)
        assert added is not None
        return added, ("replaced" if old else "added")

    def _insert_fingerprints(self, doc_key: int, fp: DocumentFingerprints) -> None:
        k = self.params.shingle_size
        pos = fp.winnowed
        starts = fp.tokens.starts[pos]
        ends = fp.tokens.ends[pos + k - 1]
        self._db.executemany(
            "INSERT INTO fingerprints (hash, doc_key, pos, char_start, char_end) VALUES (?, ?, ?, ?, ?)",
            zip(_as_int64(fp.keyed[pos]), [doc_key] * len(pos), pos.tolist(), starts.tolist(),
                ends.tolist(), strict=True),
        )
        passages = fp.passages
        self._db.executemany(
            "INSERT INTO passages (doc_key, idx, shingle_start, shingle_end, signature, bag_signature) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                (doc_key, i, int(passages.shingle_starts[i]), int(passages.shingle_ends[i]),
                 np.ascontiguousarray(passages.signatures[i], dtype="<u4").tobytes(),
                 np.ascontiguousarray(fp.bag_signatures[i], dtype="<u4").tobytes())
                for i in range(len(passages))
            ),
        )
        self._insert_bands(doc_key, passages.signatures, fp.bag_signatures)

    def _band_tables(self, signatures: np.ndarray, bag_signatures: np.ndarray
                     ) -> tuple[tuple[str, np.ndarray, int, int], ...]:
        return (("bands", signatures, self.lsh_bands, self.lsh_rows),
                ("bag_bands", bag_signatures, self.bag_lsh_bands, self.bag_lsh_rows))

    def _insert_bands(self, doc_key: int, signatures: np.ndarray, bag_signatures: np.ndarray) -> None:
        """The LSH band rows of one document's passages (inside a transaction)."""
        for table, sigs, n_bands, n_rows in self._band_tables(signatures, bag_signatures):
            _, rows = _band_rows(doc_key, sigs, n_bands, n_rows)
            self._db.executemany(f"INSERT INTO {table} (band, key, doc_key, idx) VALUES (?, ?, ?, ?)", rows)

    def _delete_document(self, doc_key: int) -> None:
        """Delete one document and everything stored under it (inside a transaction).

        The band tables have no index by document: their rows are found by their keys,
        recomputed from the document's stored passage signatures. Should that not find
        them all, the rest are deleted by a scan of the table (slow, but never left behind).
        """
        if not self._bands_by_doc:
            rows = self._db.execute("SELECT signature, bag_signature FROM passages WHERE doc_key = ? ORDER BY idx",
                                    (doc_key,)).fetchall()
            n = self.params.num_perm
            sigs = np.frombuffer(b"".join(r[0] for r in rows), dtype="<u4").astype(np.uint32).reshape(len(rows), n)
            bags = np.frombuffer(b"".join(r[1] for r in rows), dtype="<u4").astype(np.uint32).reshape(len(rows), n)
            for table, s, n_bands, n_rows in self._band_tables(sigs, bags):
                expected, band_rows = _band_rows(doc_key, s, n_bands, n_rows)
                before = self._db.total_changes
                self._db.executemany(f"DELETE FROM {table} WHERE band = ? AND key = ? AND doc_key = ? AND idx = ?",
                                     band_rows)
                if self._db.total_changes - before != expected:
                    self._db.execute(f"DELETE FROM {table} WHERE doc_key = ?", (doc_key,))
        self._db.execute("DELETE FROM documents WHERE doc_key = ?", (doc_key,))

    def remove_document(self, doc_id: str) -> bool:
        with self._transaction(f"{doc_id} was not removed; the store is unchanged"):
            row = self._db.execute("SELECT doc_key FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
            if row is not None:
                self._delete_document(int(row[0]))
        return row is not None

    # --- look-ups -----------------------------------------------------------------------

    def _query_table(self, name: str, columns: str, rows: Iterable[tuple[int, ...]]) -> None:
        # One savepoint around the inserts: in autocommit mode each would otherwise be
        # its own transaction (about half the time of a scan's look-ups).
        self._db.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns})")
        self._db.execute("SAVEPOINT query_table")
        try:
            self._db.execute(f"DELETE FROM {name}")
            marks = ",".join("?" * (columns.count(",") + 1))
            self._db.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
        finally:
            self._db.execute("RELEASE query_table")

    @_reading
    def lookup_fingerprints(self, hashes: np.ndarray) -> FingerprintHits:
        unique = np.unique(np.asarray(hashes, dtype=np.uint64))
        # The hashes go in as one JSON array, parsed by SQLite in C: no row-by-row inserts.
        rows = self._db.execute(
            "SELECT f.hash, f.doc_key, f.pos, f.char_start, f.char_end "
            "FROM json_each(?) q JOIN fingerprints f ON f.hash = q.value",
            (json.dumps(_as_int64(unique)),),
        ).fetchall()
        return _hits(rows)

    @_reading
    def document_fingerprints(self, doc_key: int) -> FingerprintHits:
        rows = self._db.execute(
            "SELECT hash, doc_key, pos, char_start, char_end FROM fingerprints WHERE doc_key = ? ORDER BY pos",
            (doc_key,),
        ).fetchall()
        return _hits(rows)

    @_reading
    def lookup_passages(self, band_keys: np.ndarray, bag: bool = False) -> PassageHits:
        table = "bag_bands" if bag else "bands"
        n_query, n_bands = band_keys.shape
        if n_query == 0:
            empty = np.zeros(0, dtype=np.int64)
            return PassageHits(empty, empty.copy(), empty.copy())
        keys = np.asarray(band_keys, dtype=np.int64).reshape(-1)
        # The keys go in as one JSON array (parsed by SQLite in C, no row-by-row inserts
        # into a temporary table); an element's position gives its passage and band.
        rows = self._db.execute(
            f"SELECT q.key / {int(n_bands)}, b.doc_key, b.idx FROM json_each(?) q "
            f"JOIN {table} b ON b.band = q.key % {int(n_bands)} AND b.key = q.value",
            (json.dumps(keys.tolist()),),
        ).fetchall()
        arr = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
        if arr.shape[0] > 1:  # one row per (query passage, stored passage), in that order
            arr = np.unique(arr, axis=0)
        return PassageHits(arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy())

    @_reading
    def passage_signatures(self, doc_key: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows = self._db.execute(
            "SELECT shingle_start, shingle_end, signature FROM passages WHERE doc_key = ? ORDER BY idx",
            (doc_key,),
        ).fetchall()
        starts = np.asarray([r[0] for r in rows], dtype=np.int64)
        ends = np.asarray([r[1] for r in rows], dtype=np.int64)
        sigs = np.asarray([np.frombuffer(r[2], dtype="<u4") for r in rows], dtype=np.uint32)
        return starts, ends, sigs.reshape(len(rows), self.params.num_perm)

    @_reading
    def document_bags(self, doc_keys: list[int]) -> tuple[np.ndarray, np.ndarray]:
        rows = self._db.execute(
            "SELECT p.doc_key, p.bag_signature FROM json_each(?) q JOIN passages p ON p.doc_key = q.value "
            "ORDER BY q.key, p.idx",
            (json.dumps([int(k) for k in doc_keys]),),
        ).fetchall()
        keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        sigs = np.frombuffer(b"".join(r[1] for r in rows), dtype="<u4").astype(np.uint32)
        return keys, sigs.reshape(len(rows), self.params.num_perm)

    # --- notes and the allow-list ---------------------------------------------------------

    @_reading
    def read_notes(self, prefix: str) -> dict[str, str]:
        rows = self._db.execute("SELECT key, value FROM meta WHERE key >= ? AND key < ? ORDER BY key",
                                (f"note:{prefix}", f"note:{prefix}\uffff")).fetchall()
        return {k[len("note:"):]: v for k, v in rows}

    def write_note(self, key: str, value: str | None) -> None:
        with self._transaction(f"the record {_printable(key)!r} was not {'removed' if value is None else 'written'}; "
                               "the store is unchanged"):
            if value is None:
                self._db.execute("DELETE FROM meta WHERE key = ?", (f"note:{key}",))
            else:
                self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"note:{key}", value))

    def add_allowed(self, hashes: np.ndarray) -> int:
        unique = np.unique(np.asarray(hashes, dtype=np.uint64))
        with self._transaction("the allow-list is unchanged"):
            before = self.count_allowed()
            self._db.executemany("INSERT OR IGNORE INTO allowed VALUES (?)", ((h,) for h in _as_int64(unique)))
            return self.count_allowed() - before

    @_reading
    def allowed_mask(self, hashes: np.ndarray) -> np.ndarray:
        if hashes.size == 0 or self.count_allowed() == 0:
            return np.zeros(hashes.shape[0], dtype=bool)
        unique = np.unique(np.asarray(hashes, dtype=np.uint64))
        self._query_table("q_allow", "hash INTEGER PRIMARY KEY", ((h,) for h in _as_int64(unique)))
        rows = self._db.execute("SELECT a.hash FROM q_allow q JOIN allowed a ON a.hash = q.hash").fetchall()
        found = np.asarray([r[0] for r in rows], dtype=np.int64).view(np.uint64)
        return np.isin(hashes, found)

    @_reading
    def count_allowed(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM allowed").fetchone()[0])

    def clear_allowed(self) -> int:
        with self._transaction("the allow-list is unchanged"):
            removed = self._db.execute("DELETE FROM allowed").rowcount
        return removed

    # --- registered tables ---------------------------------------------------------------

    def _row_to_table(self, row: tuple[Any, ...]) -> RecordTable:
        return RecordTable(
            table_key=row[0], table_id=row[1], path=row[2], sheet=row[3], content_mac=row[4], size=row[5],
            label=row[6], owner=row[7], added_at=row[8], version=row[9], n_rows=row[10],
            columns=tuple(json.loads(row[11])), key_columns=tuple(json.loads(row[12])), n_cells=row[13],
            n_anchors=row[14], text_lengths=tuple(json.loads(row[15])),
            signature=np.frombuffer(row[16], dtype="<u4").astype(np.uint32),
        )

    @_reading
    def find_table(self, table_id_or_path: str) -> RecordTable | None:
        row = self._db.execute(
            f"SELECT {_TABLE_COLUMNS} FROM record_tables WHERE table_id = ? OR path = ? ORDER BY table_key LIMIT 1",
            (table_id_or_path, table_id_or_path),
        ).fetchone()
        return self._row_to_table(row) if row else None

    @_reading
    def list_tables(self) -> list[RecordTable]:
        rows = self._db.execute(f"SELECT {_TABLE_COLUMNS} FROM record_tables ORDER BY table_key").fetchall()
        return [self._row_to_table(r) for r in rows]

    def add_table(self, table: NewTable) -> tuple[RecordTable, AddAction]:
        table_id = self.key.table_id(table.path)
        old = self.find_table(table_id)
        if old is not None and old.registers(table):
            return old, "unchanged"
        n_cells = int(np.count_nonzero(table.cells))
        rows, cols = np.nonzero(table.anchors)
        hashes = table.cells[rows, cols]
        order = np.argsort(hashes.view(np.int64), kind="stable")  # index order: appends, not page splits
        what = f"table {_printable(table.path)} was not {'replaced' if old else 'added'}"
        with self._transaction(f"{what}; the store is as it was before it"):
            if old is not None:
                self._db.execute("DELETE FROM record_tables WHERE table_key = ?", (old.table_key,))
            table_key = self._db.execute(
                "INSERT INTO record_tables (table_id, path, sheet, content_mac, size, label, owner, added_at, "
                "version, n_rows, columns, key_columns, n_cells, n_anchors, text_lengths, signature) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    table_id, table.path, table.sheet, table.content_mac, table.size, table.label, table.owner,
                    datetime.now(UTC).isoformat(timespec="seconds"), old.version + 1 if old else 1,
                    table.n_rows, json.dumps(list(table.columns)), json.dumps(list(table.key_columns)),
                    n_cells, int(rows.size), json.dumps(list(table.text_lengths)),
                    np.ascontiguousarray(table.signature, dtype="<u4").tobytes(),
                ),
            ).lastrowid or 0
            self._db.executemany(
                "INSERT OR IGNORE INTO record_cells (hash, table_key, row, col) VALUES (?, ?, ?, ?)",
                zip(_as_int64(hashes[order]), [table_key] * int(rows.size), rows[order].tolist(),
                    cols[order].tolist(), strict=True),
            )
            blobs = np.ascontiguousarray(table.cells, dtype="<u8")
            masks = np.packbits(table.distinctive, axis=1)
            self._db.executemany(
                "INSERT INTO record_rows (table_key, row, cells, distinctive) VALUES (?, ?, ?, ?)",
                ((table_key, i, blobs[i].tobytes(), masks[i].tobytes()) for i in range(table.n_rows)),
            )
        added = self.find_table(table_id)
        assert added is not None
        return added, ("replaced" if old else "added")

    def remove_table(self, table_id: str) -> bool:
        with self._transaction(f"{table_id} was not removed; the store is unchanged"):
            removed = self._db.execute("DELETE FROM record_tables WHERE table_id = ?", (table_id,)).rowcount
        return removed > 0

    @_reading
    def lookup_cells(self, hashes: np.ndarray) -> CellHits:
        unique = _as_int64(np.unique(np.asarray(hashes, dtype=np.uint64)))
        rows: list[tuple[int, int, int, int]] = []
        # In batches: a long deliverable has millions of candidate values, and one JSON
        # array of them all would cost as much memory again.
        for lo in range(0, len(unique), _LOOKUP_BATCH):
            rows += self._db.execute(
                "SELECT c.hash, c.table_key, c.row, c.col FROM json_each(?) q JOIN record_cells c ON c.hash = q.value",
                (json.dumps(unique[lo:lo + _LOOKUP_BATCH]),),
            ).fetchall()
        arr = np.asarray(rows, dtype=np.int64).reshape(-1, 4)
        return CellHits(arr[:, 0].view(np.uint64).copy(), arr[:, 1].copy(), arr[:, 2].copy(), arr[:, 3].copy())

    @_reading
    def table_rows(self, table_key: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        width = self._db.execute("SELECT json_array_length(columns) FROM record_tables WHERE table_key = ?",
                                 (table_key,)).fetchone()
        wanted = np.asarray(rows, dtype=np.int64)
        n_cols = int(width[0]) if width else 0
        values = np.zeros((wanted.size, n_cols), dtype=np.uint64)
        distinctive = np.zeros((wanted.size, n_cols), dtype=bool)
        if wanted.size == 0 or width is None:
            return values, distinctive
        found = self._db.execute(
            # IN, not a join with json_each: with a join SQLite walks every row of the
            # table and probes the list (2 s for a million rows); IN seeks each row.
            "SELECT row, cells, distinctive FROM record_rows "
            "WHERE table_key = ? AND row IN (SELECT value FROM json_each(?))",
            (table_key, json.dumps(wanted.tolist())),
        ).fetchall()
        where = {int(r): i for i, r in enumerate(wanted.tolist())}
        for row, blob, mask in found:
            i = where[int(row)]
            values[i] = np.frombuffer(blob, dtype="<u8")
            distinctive[i] = np.unpackbits(np.frombuffer(mask, dtype=np.uint8), count=n_cols).astype(bool)
        return values, distinctive

    @_reading
    def generation(self) -> str:
        """The store's creation time and a counter that every committed change bumps."""
        meta = dict(self._db.execute("SELECT key, value FROM meta WHERE key IN ('created_at', 'generation')"))
        return f"{meta.get('created_at', '')}:{meta.get('generation', '0')}"

    def close(self) -> None:
        """Close the connection (the last one checkpoints the WAL into the database).

        Raises:
            StoreError: SQLite could not close; what was committed is kept.
        """
        try:
            self._db.close()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot close the store {self.location}: {_reason(exc)}; "
                             "what was committed is kept") from exc


def _discard_database(db_path: Path) -> None:
    """Remove a database (and its WAL files) that was being created and failed."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        with suppress(OSError):
            Path(f"{db_path}{suffix}").unlink()


def _hits(rows: list[tuple[int, int, int, int, int]]) -> FingerprintHits:
    arr = np.asarray(rows, dtype=np.int64).reshape(-1, 5)
    return FingerprintHits(
        hashes=arr[:, 0].view(np.uint64).copy(),
        doc_keys=arr[:, 1].copy(),
        positions=arr[:, 2].copy(),
        char_starts=arr[:, 3].copy(),
        char_ends=arr[:, 4].copy(),
    )


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
