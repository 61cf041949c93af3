"""The embedded store: a catalogue in SQLite (WAL) and sorted segment files, in a 0700
folder, key kept apart.

Layout of the folder::

    leakwatch.sqlite     meta, documents (records, fingerprints in position order),
                         the segment catalogue, removed documents, allow-list, tables (0600)
    leakwatch.segments/  the look-up index: immutable sorted segment files (0700, files 0600)
    leakwatch.key        the secret key (0600); may live elsewhere (``key_file``)

Hashes are 64-bit unsigned values stored as SQLite's signed INTEGER (the same bits)
or as little-endian arrays; signatures are little-endian uint32 BLOBs. Nothing is
pickled. A change is one transaction (see :mod:`.connection`); the segment it
writes is listed by that same transaction (see :mod:`.index`).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

import leakwatch
from leakwatch.config import FingerprintParams
from leakwatch.fingerprint import bag_digests, band_keys, is_empty_signature
from leakwatch.keys import KEY_NAME, load_or_create_key
from leakwatch.store import segments as seg
from leakwatch.store.base import (
    AddAction,
    FingerprintHits,
    FingerprintStore,
    NewDocument,
    PassageHits,
    SourceDocument,
    StoredDocument,
    StoreError,
    check_meta,
    decode_bags,
    encode_bags,
    is_unchanged,
    passage_spans_of,
    printable,
)
from leakwatch.store.sqlite import schema
from leakwatch.store.sqlite.connection import (
    BUSY_TIMEOUT_S,
    SegmentWriteError,
    create_private_file,
    discard_database,
    empty_database,
    reading,
    reason,
)
from leakwatch.store.sqlite.index import FORWARD_FP, SegmentIndex, doc_postings, mkdir_private, segment_folder
from leakwatch.store.sqlite.tables import RecordTables, as_int64

DB_NAME = "leakwatch.sqlite"


# Documents exported per pass over the segments (``store copy``).
EXPORT_BATCH = 256


class SQLiteStore(RecordTables, FingerprintStore):
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
        self._broken = None
        self._bulk = None
        self._index = SegmentIndex(segment_folder(db_path))
        if self.folder.exists() and not self.folder.is_dir():
            hint = " (name its folder)" if self.folder.name == DB_NAME else ""
            raise StoreError(f"{self.folder} is a file, not a store folder: the store is the folder that holds "
                             f"{DB_NAME} and its key{hint}")
        is_new = not db_path.exists()
        if not is_new and empty_database(db_path):
            # A copy cut short or a full disk: refused, and left as it is for the user to look at.
            raise StoreError(f"{db_path} is empty (0 bytes): not a leakwatch store. If a failed copy or a full "
                             "disk left it, remove it (and any -wal and -shm file beside it) to start a new store")
        if is_new and not create:
            raise StoreError(
                f"no fingerprint store at {self.folder}: register documents first "
                f"with `leakwatch index add PATH --store {self.folder}`"
            )
        if is_new:
            try:
                mkdir_private(self.folder)
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
                create_private_file(db_path)
            except OSError as exc:
                raise StoreError(f"cannot create the store {self.location}: {exc.strerror or exc}") from exc
        try:
            self._db = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            if is_new:
                discard_database(db_path)
            raise StoreError(f"cannot open the store {self.location}: {reason(exc)}") from exc
        try:
            meta = self._open(db_path, (params or FingerprintParams()) if is_new else None)
            check_meta(meta, str(self.folder), self.key, not_a_store=str(db_path))
        except BaseException:
            with suppress(sqlite3.Error):
                self._db.close()
            if is_new:  # nothing of a store that could not be created is left to trip the next run
                discard_database(db_path)
                with suppress(OSError):
                    self._index.folder.rmdir()
            raise
        self.params = schema.params_from_meta(meta)
        self.lsh_bands = int(meta["lsh_bands"])
        self.lsh_rows = int(meta["lsh_rows"])
        self.bag_lsh_bands = int(meta["bag_lsh_bands"])
        self.bag_lsh_rows = int(meta["bag_lsh_rows"])

    # --- set-up -------------------------------------------------------------------------

    def _open(self, db_path: Path, new_params: FingerprintParams | None) -> dict[str, str]:
        """Configure the connection, create the schema of a new store (or upgrade an old
        one), read the meta table.

        Args:
            new_params: the parameters of a store being created, None for an existing one.
        """
        try:
            # Nothing is written into a database that is not a leakwatch store (switching
            # it to WAL would already change its header).
            if new_params is None and self._db.execute(
                    "SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
                raise StoreError(f"{db_path} is not a leakwatch store (it has no meta table); nothing was changed")
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is synced at every commit, so a committed document survives
            # a power loss (NORMAL only syncs at checkpoints).
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA temp_store=MEMORY")
        except sqlite3.Error as exc:
            raise self._open_failure(db_path, exc) from exc
        if new_params is not None:
            try:
                mkdir_private(self._index.folder)
            except OSError as exc:
                raise StoreError(f"cannot create the store {self.location}: {exc.strerror or exc}") from exc
            self._initialise(new_params)
        try:
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("format_version") == "1":
                from leakwatch.store.sqlite.upgrade import upgrade_from_v1

                upgrade_from_v1(self, meta)
                meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("format_version") != schema.FORMAT_VERSION_TEXT:
                return meta  # refused by check_meta with its message; nothing is changed
            self._db.execute(schema.ALLOW_SCHEMA)
            if self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'record_tables'").fetchone() is None:
                with self._transaction("the store was not upgraded", doing="upgrade"):
                    for statement in schema.statements(schema.RECORDS_SCHEMA):
                        self._db.execute(statement)
            if not self._index.folder.is_dir():
                mkdir_private(self._index.folder)
            return meta
        except sqlite3.Error as exc:
            raise self._open_failure(db_path, exc) from exc
        except OSError as exc:
            raise StoreError(f"cannot open the store {self.location}: {exc.strerror or exc}") from exc

    def _open_failure(self, db_path: Path, exc: sqlite3.Error) -> StoreError:
        name = getattr(exc, "sqlite_errorname", None) or ""
        if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")) or "no such table" in str(exc):
            return StoreError(f"{db_path} is not a leakwatch store: {exc}")
        return StoreError(f"cannot open the store {self.location}: {reason(exc)}")

    def _initialise(self, params: FingerprintParams) -> None:
        params.validate()
        meta = {
            **schema.params_meta(params, self.key),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "created_by": f"leakwatch {leakwatch.__version__}",
            "next_pid": "0",
        }
        # Schema and meta in one transaction: a store is created whole or not at all.
        with self._transaction("the store was not created", doing="create"):
            for statement in schema.statements(schema.SCHEMA):
                self._db.execute(statement)
            self._db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())

    # --- transaction hooks: the segment written with each commit --------------------------

    def _change_mark(self) -> object:
        return self._index.mark()

    def _undo_change(self, mark: object) -> None:
        assert isinstance(mark, int)
        self._index.undo(mark)

    def _before_commit(self) -> None:
        self._index.flush(self._db)

    def _after_rollback(self) -> None:
        self._index.rolled_back()

    def _after_commit(self) -> None:
        self._index.committed()
        self._merge(everything=False, wait=False)

    def _merge(self, everything: bool, wait: bool) -> int:
        """Merge segments; without ``wait`` only if no other writer holds the store (a
        merge is never worth waiting for, and a failed one leaves the index valid)."""
        if self._broken is not None or self._db.in_transaction:
            return 0
        try:
            timeout = int(self._db.execute("PRAGMA busy_timeout").fetchone()[0])
            if not wait:
                self._db.execute("PRAGMA busy_timeout = 0")
            try:
                return self._index.merge(self._db, everything=everything)
            finally:
                self._db.execute(f"PRAGMA busy_timeout = {timeout}")
        except (sqlite3.Error, seg.SegmentError) as exc:
            self._index.merge_error = str(exc)
            if wait:
                raise
            return 0

    def compact(self) -> int:
        """Merge every segment into one, dropping the entries of removed documents
        (``leakwatch store compact``); returns how many segments were merged.

        Raises:
            StoreError: the merge failed (the store is as it was).
        """
        try:
            merged = self._merge(everything=True, wait=True)
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return merged
        except (sqlite3.Error, seg.SegmentError) as exc:
            why = reason(exc) if isinstance(exc, sqlite3.Error) else str(exc)
            raise StoreError(f"cannot compact the store {self.location}: {why}; the store is as it was") from exc

    # --- documents ----------------------------------------------------------------------

    def _row_to_doc(self, row: tuple[Any, ...]) -> SourceDocument:
        return SourceDocument(
            doc_key=row[0], doc_id=row[1], path=row[2], content_mac=row[3], size=row[4],
            label=row[5], owner=row[6], added_at=row[7], format=row[8], extractor_version=row[9],
            version=row[10], n_words=row[11], n_chars=row[12],
            page_starts=tuple(json.loads(row[13])),
            signature=np.frombuffer(row[14], dtype="<u4").astype(np.uint32),
        )

    @reading
    def find_document(self, doc_id_or_path: str) -> SourceDocument | None:
        row = self._db.execute(
            f"SELECT {schema.DOC_COLUMNS} FROM documents WHERE doc_id = ? OR path = ? ORDER BY doc_key LIMIT 1",
            (doc_id_or_path, doc_id_or_path),
        ).fetchone()
        return self._row_to_doc(row) if row else None

    @reading
    def list_documents(self) -> list[SourceDocument]:
        rows = self._db.execute(f"SELECT {schema.DOC_COLUMNS} FROM documents ORDER BY doc_key").fetchall()
        return [self._row_to_doc(r) for r in rows]

    @reading
    def documents(self, doc_keys: list[int]) -> dict[int, SourceDocument]:
        wanted = sorted(set(int(k) for k in doc_keys))
        out: dict[int, SourceDocument] = {}
        for lo in range(0, len(wanted), 500):
            rows = self._db.execute(f"SELECT {schema.DOC_COLUMNS} FROM documents WHERE doc_key IN "
                                    "(SELECT value FROM json_each(?))", (json.dumps(wanted[lo:lo + 500]),))
            for row in rows:
                out[row[0]] = self._row_to_doc(row)
        return out

    @reading
    def count_documents(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0])

    @reading
    def count_passages(self) -> int:
        return int(self._db.execute("SELECT COALESCE(SUM(n_passages), 0) FROM documents").fetchone()[0])

    def add_document(self, doc: NewDocument) -> tuple[SourceDocument, AddAction]:
        doc_id = self.key.doc_id(doc.path)
        old = self.find_document(doc_id)
        if is_unchanged(old, doc):
            assert old is not None
            return old, "unchanged"
        fp = doc.fingerprints
        k = self.params.shingle_size
        pos = fp.winnowed
        forward = np.empty(len(pos), dtype=FORWARD_FP)
        forward["hash"] = fp.keyed[pos]
        forward["pos"] = self._u32(pos, doc.path)
        forward["start"] = self._u32(fp.tokens.starts[pos], doc.path)
        forward["end"] = self._u32(fp.tokens.ends[pos + k - 1], doc.path)
        sigs = fp.bag_signatures
        usable = np.nonzero(~is_empty_signature(sigs))[0] if len(sigs) else np.zeros(0, dtype=np.int64)
        bag = band_keys(sigs[usable], self.bag_lsh_bands, self.bag_lsh_rows) if usable.size else \
            np.zeros((0, self.bag_lsh_bands), dtype=np.int64)
        folded = seg.fold_bands(bag)
        passages = np.repeat(usable, self.bag_lsh_bands)
        bags = bag_digests(np.asarray(sigs).reshape(len(fp.passages), self.params.num_perm))
        what = f"{printable(doc.path)} was not {'replaced' if old else 'added'}"
        with self._transaction(f"{what}; the store is as it was before it"):
            # Read again under the write lock: another process may have registered the
            # same path since (two hosts indexing one share). The later add then replaces
            # it with the next version, or finds it unchanged: never two "added v1".
            old = self.find_document(doc_id)
            if is_unchanged(old, doc):
                assert old is not None
                return old, "unchanged"
            record = SourceDocument(
                doc_key=0, doc_id=doc_id, path=doc.path, content_mac=doc.content_mac, size=doc.size,
                label=doc.label, owner=doc.owner, added_at=datetime.now(UTC).isoformat(timespec="seconds"),
                format=doc.format, extractor_version=doc.extractor_version, version=old.version + 1 if old else 1,
                n_words=fp.n_words, n_chars=doc.n_chars, page_starts=tuple(doc.page_starts),
                signature=np.asarray(fp.signature, dtype=np.uint32))
            self._put_document(record, old, forward, len(fp.passages), folded, passages, bags)
        added = self.find_document(doc_id)
        assert added is not None
        return added, ("replaced" if old else "added")

    @staticmethod
    def _u32(values: np.ndarray, path: str) -> np.ndarray:
        try:
            return seg.as_u32(values, "a position")
        except ValueError as exc:
            raise StoreError(f"{printable(path)} is too large for the store: {exc}") from exc

    def _put_document(self, record: SourceDocument, old: SourceDocument | None, forward: np.ndarray,
                      n_passages: int, folded: np.ndarray, passages: np.ndarray, bags: np.ndarray) -> int:
        """Insert a document in place of ``old`` (inside a transaction): its row, and its
        look-up entries for the segment this transaction writes. Returns its doc_key."""
        if old is not None:
            self._delete_document(old.doc_key)
        first_pid = int(self._db.execute("SELECT value FROM meta WHERE key = 'next_pid'").fetchone()[0])
        if first_pid + n_passages > seg.U32_MAX:
            raise StoreError(f"the store {self.location} is full (2^32 passage ids used): compact it into a new store")
        self._db.execute("UPDATE meta SET value = ? WHERE key = 'next_pid'", (str(first_pid + n_passages),))
        # No cursor outlives its statement here: a cursor kept alive (by a traceback,
        # say) would keep a connection that _rollback closed from releasing its lock.
        doc_key = self._db.execute(
            "INSERT INTO documents (doc_id, path, content_mac, size, label, owner, added_at, format, "
            "extractor_version, version, n_words, n_chars, page_starts, signature, first_pid, n_passages, "
            "fingerprints, bags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.doc_id, record.path, record.content_mac, record.size, record.label, record.owner,
                record.added_at, record.format, record.extractor_version, record.version, record.n_words,
                record.n_chars, json.dumps(list(record.page_starts)),
                np.ascontiguousarray(record.signature, dtype="<u4").tobytes(), first_pid, n_passages,
                np.ascontiguousarray(forward, dtype=FORWARD_FP).tobytes(),
                encode_bags(bags),
            ),
        ).lastrowid or 0
        self._index.add(doc_postings(int(doc_key), first_pid, n_passages, forward, folded, passages))
        return int(doc_key)

    def _delete_document(self, doc_key: int) -> None:
        """Delete one document (inside a transaction); its look-up entries stay in their
        segments until a merge drops them, left out of every look-up meanwhile."""
        self._db.execute("DELETE FROM documents WHERE doc_key = ?", (doc_key,))
        self._db.execute("INSERT OR IGNORE INTO removed VALUES (?)", (doc_key,))

    def remove_document(self, doc_id: str) -> bool:
        with self._transaction(f"{doc_id} was not removed; the store is unchanged"):
            row = self._db.execute("SELECT doc_key FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
            if row is not None:
                self._delete_document(int(row[0]))
        return row is not None

    # --- look-ups -----------------------------------------------------------------------

    @reading
    def lookup_fingerprints(self, hashes: np.ndarray) -> FingerprintHits:
        return self._index.lookup_fingerprints(self._db, hashes)

    @reading
    def document_fingerprints(self, doc_key: int) -> FingerprintHits:
        row = self._db.execute("SELECT fingerprints FROM documents WHERE doc_key = ?", (doc_key,)).fetchone()
        forward = np.frombuffer(row[0] if row else b"", dtype=FORWARD_FP)
        return FingerprintHits(forward["hash"].astype(np.uint64), np.full(len(forward), doc_key, dtype=np.int64),
                               forward["pos"].astype(np.int64), forward["start"].astype(np.int64),
                               forward["end"].astype(np.int64))

    @reading
    def lookup_passages(self, band_keys: np.ndarray, bag: bool = False) -> PassageHits:
        if not bag:  # the shingle family is not indexed (see schema.params_meta)
            empty = np.zeros(0, dtype=np.int64)
            return PassageHits(empty, empty.copy(), empty.copy())
        return self._index.lookup_postings(self._db, band_keys)

    @reading
    def passage_spans(self, doc_key: int) -> tuple[np.ndarray, np.ndarray]:
        row = self._db.execute("SELECT n_words, n_passages FROM documents WHERE doc_key = ?", (doc_key,)).fetchone()
        if row is None:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty.copy()
        return passage_spans_of(int(row[0]), self.params)

    @reading
    def document_bags(self, doc_keys: list[int]) -> tuple[np.ndarray, np.ndarray]:
        blobs = self._bag_blobs(doc_keys)
        present = [k for k in doc_keys if k in blobs]
        return decode_bags(present, [blobs[k] for k in present], self.params.num_perm)

    def _bag_blobs(self, doc_keys: list[int]) -> dict[int, bytes]:
        """Each document's passage bag digests as stored, by doc_key (documents not in the store: none)."""
        return {int(k): blob for k, blob in self._db.execute(
            "SELECT doc_key, bags FROM documents WHERE doc_key IN (SELECT value FROM json_each(?))",
            (json.dumps([int(k) for k in doc_keys]),))}

    def _bags(self, doc_keys: list[int]) -> dict[int, np.ndarray]:
        """Each document's passage bag digests, by doc_key (documents not in the store: none)."""
        return {k: decode_bags([k], [blob], self.params.num_perm)[1] for k, blob in self._bag_blobs(doc_keys).items()}

    # --- copying --------------------------------------------------------------------------

    def export_document(self, doc_key: int) -> StoredDocument:
        return next(self.export_documents([doc_key]))

    @reading
    def export_documents(self, doc_keys: list[int]) -> Iterator[StoredDocument]:
        for lo in range(0, len(doc_keys), EXPORT_BATCH):
            batch = doc_keys[lo:lo + EXPORT_BATCH]
            records = self.documents(batch)
            missing = [k for k in batch if k not in records]
            if missing:
                raise StoreError(f"no document with key {missing[0]} in {self.location}")
            rows = {int(r[0]): (int(r[1]), int(r[2])) for r in self._db.execute(
                "SELECT doc_key, first_pid, n_passages FROM documents WHERE doc_key IN "
                "(SELECT value FROM json_each(?))", (json.dumps(batch),))}
            postings = self._index.band_postings(self._db, [(k, *rows[k]) for k in batch])
            bags = self._bags(batch)
            for k in batch:
                starts, ends = passage_spans_of(records[k].n_words, self.params)
                keys, passages = postings[k]
                yield StoredDocument(records[k], self.document_fingerprints(k), starts, ends, keys, passages, bags[k])

    def import_document(self, stored: StoredDocument) -> SourceDocument:
        doc, hits = stored.record, stored.fingerprints
        forward = np.empty(len(hits), dtype=FORWARD_FP)
        forward["hash"], forward["pos"] = hits.hashes, self._u32(hits.positions, doc.path)
        forward["start"], forward["end"] = self._u32(hits.char_starts, doc.path), self._u32(hits.char_ends, doc.path)
        with self._transaction(f"{doc.doc_id} was not copied; the store is as it was before it"):
            old = self.find_document(doc.doc_id)
            self._put_document(doc, old, forward, len(stored.passage_starts), stored.band_keys, stored.band_passages,
                               stored.bags)
        copied = self.find_document(doc.doc_id)
        assert copied is not None
        return copied

    # --- notes and the allow-list ---------------------------------------------------------

    @reading
    def read_notes(self, prefix: str) -> dict[str, str]:
        rows = self._db.execute("SELECT key, value FROM meta WHERE key >= ? AND key < ? ORDER BY key",
                                (f"note:{prefix}", f"note:{prefix}\uffff")).fetchall()
        return {k[len("note:"):]: v for k, v in rows}

    def write_note(self, key: str, value: str | None) -> None:
        with self._transaction(f"the record {printable(key)!r} was not {'removed' if value is None else 'written'}; "
                               "the store is unchanged"):
            if value is None:
                self._db.execute("DELETE FROM meta WHERE key = ?", (f"note:{key}",))
            else:
                self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"note:{key}", value))

    def add_allowed(self, hashes: np.ndarray) -> int:
        unique = np.unique(np.asarray(hashes, dtype=np.uint64))
        with self._transaction("the allow-list is unchanged"):
            before = self.count_allowed()
            self._db.executemany("INSERT OR IGNORE INTO allowed VALUES (?)", ((h,) for h in as_int64(unique)))
            return self.count_allowed() - before

    @reading
    def allowed_mask(self, hashes: np.ndarray) -> np.ndarray:
        if hashes.size == 0 or self.count_allowed() == 0:
            return np.zeros(hashes.shape[0], dtype=bool)
        unique = np.unique(np.asarray(hashes, dtype=np.uint64))
        rows = self._db.execute("SELECT a.hash FROM json_each(?) q JOIN allowed a ON a.hash = q.value",
                                (json.dumps(as_int64(unique)),)).fetchall()
        found = np.asarray([r[0] for r in rows], dtype=np.int64).view(np.uint64)
        return np.isin(hashes, found)

    @reading
    def count_allowed(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM allowed").fetchone()[0])

    def clear_allowed(self) -> int:
        with self._transaction("the allow-list is unchanged"):
            removed = self._db.execute("DELETE FROM allowed").rowcount
        return removed

    @reading
    def allowed_hashes(self) -> np.ndarray:
        rows = self._db.execute("SELECT hash FROM allowed ORDER BY hash").fetchall()
        return np.asarray([r[0] for r in rows], dtype=np.int64).view(np.uint64)

    @reading
    def generation(self) -> str:
        """The store's creation time and a counter that every committed change bumps."""
        meta = dict(self._db.execute("SELECT key, value FROM meta WHERE key IN ('created_at', 'generation')"))
        return f"{meta.get('created_at', '')}:{meta.get('generation', '0')}"

    def close(self) -> None:
        """Close the connection (the last one checkpoints the WAL into the database).

        Raises:
            StoreError: SQLite could not close; what was committed is kept.
        """
        self._index.close()
        try:
            self._db.close()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot close the store {self.location}: {reason(exc)}; "
                             "what was committed is kept") from exc


__all__ = ["DB_NAME", "KEY_NAME", "SQLiteStore", "SegmentWriteError", "segment_folder"]
