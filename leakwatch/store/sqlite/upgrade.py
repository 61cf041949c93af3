"""Upgrade of a format-1 embedded store (SQLite B-trees, 62 band rows a passage) to
format 2 (segment files), in place, the first time a writer opens it.

One transaction: the documents keep their keys, ids, versions and dates; their
fingerprints become the ``fingerprints`` BLOB and segment entries; their content-word
bag signatures become the LSH postings (the shingle bands are dropped, see
:mod:`.schema`); the old tables are dropped. A failure or a kill leaves the format-1
store as it was (segment files written meanwhile are unlisted, and deleted later).
The freed pages are then returned to the file system (VACUUM).
"""

from __future__ import annotations

import sqlite3
from contextlib import suppress
from typing import TYPE_CHECKING

import numpy as np

from leakwatch.fingerprint import bag_digests, band_keys, is_empty_signature
from leakwatch.store import segments as seg
from leakwatch.store.base import SourceDocument, StoreError, encode_bags
from leakwatch.store.sqlite import schema
from leakwatch.store.sqlite.index import FORWARD_FP, doc_postings, mkdir_private

if TYPE_CHECKING:
    from leakwatch.store.sqlite.store import SQLiteStore

_V1_TABLES = ("fingerprints", "passages", "bands", "bag_bands")
# Postings buffered before they are written as a segment of their own.
_FLUSH_POSTINGS = 4_000_000


def upgrade_from_v1(store: SQLiteStore, meta: dict[str, str]) -> None:
    """Rewrite a format-1 store as format 2 (see the module docstring).

    Raises:
        StoreError: the store is damaged or the upgrade failed (it is then unchanged).
    """

    db = store._db
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"documents", *_V1_TABLES} <= tables:
        raise StoreError(f"store {store.location} has format version 1 but not its tables: it is damaged")
    params = schema.params_from_meta(meta)
    n_perm = params.num_perm
    bag_bands, bag_rows = int(meta["bag_lsh_bands"]), int(meta["bag_lsh_rows"])
    try:
        mkdir_private(store._index.folder)
    except OSError as exc:
        raise StoreError(f"cannot upgrade the store {store.location}: {exc.strerror or exc}") from exc
    with store._transaction("the store was not upgraded; it is as it was (format 1)", doing="upgrade"):
        db.execute("ALTER TABLE documents RENAME TO documents_v1")
        for statement in schema.statements(schema.INDEX_SCHEMA):
            db.execute(statement)
        next_pid = 0
        buffered = 0
        keys = [int(r[0]) for r in db.execute("SELECT doc_key FROM documents_v1 ORDER BY doc_key")]
        for doc_key in keys:
            row = db.execute(f"SELECT {schema.DOC_COLUMNS} FROM documents_v1 WHERE doc_key = ?", (doc_key,)).fetchone()
            record = store._row_to_doc(row)
            fps = np.asarray(db.execute("SELECT hash, pos, char_start, char_end FROM fingerprints WHERE doc_key = ? "
                                        "ORDER BY pos", (doc_key,)).fetchall(), dtype=np.int64).reshape(-1, 4)
            blobs = [r[0] for r in db.execute("SELECT bag_signature FROM passages WHERE doc_key = ? ORDER BY idx",
                                              (doc_key,))]
            sigs = np.frombuffer(b"".join(blobs), dtype="<u4").astype(np.uint32).reshape(len(blobs), n_perm)
            forward = np.empty(fps.shape[0], dtype=FORWARD_FP)
            forward["hash"] = fps[:, 0].view(np.uint64)
            forward["pos"], forward["start"], forward["end"] = (seg.as_u32(fps[:, i], "a position") for i in (1, 2, 3))
            usable = np.nonzero(~is_empty_signature(sigs))[0] if len(sigs) else np.zeros(0, dtype=np.int64)
            bag = band_keys(sigs[usable], bag_bands, bag_rows) if usable.size else np.zeros((0, bag_bands), np.int64)
            next_pid = _insert(store, record, forward, len(blobs), seg.fold_bands(bag),
                               np.repeat(usable, bag_bands), bag_digests(sigs), next_pid)
            buffered += usable.size * bag_bands + fps.shape[0]
            if buffered >= _FLUSH_POSTINGS:
                store._index.flush(db)
                buffered = 0
        db.execute("UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'documents_v1') "
                   "WHERE name = 'documents' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'documents_v1')")
        for table in (*_V1_TABLES, "documents_v1"):
            db.execute(f"DROP TABLE {table}")
        for key, value in {**schema.params_meta(params, store.key), "next_pid": str(next_pid)}.items():
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
    # The upgrade is committed; should VACUUM fail, the file keeps its free pages for later use.
    with suppress(sqlite3.Error):
        db.execute("VACUUM")


def _insert(store: SQLiteStore, record: SourceDocument, forward: np.ndarray, n_passages: int, folded: np.ndarray,
            passages: np.ndarray, bags: np.ndarray, first_pid: int) -> int:
    """Insert one upgraded document under its own key; returns the next passage id."""

    db = store._db
    db.execute(
        "INSERT INTO documents (doc_key, doc_id, path, content_mac, size, label, owner, added_at, format, "
        "extractor_version, version, n_words, n_chars, page_starts, signature, first_pid, n_passages, fingerprints, "
        "bags) SELECT doc_key, doc_id, path, content_mac, size, label, owner, added_at, format, extractor_version, "
        "version, n_words, n_chars, page_starts, signature, ?, ?, ?, ? FROM documents_v1 WHERE doc_key = ?",
        (first_pid, n_passages, np.ascontiguousarray(forward, dtype=FORWARD_FP).tobytes(),
         encode_bags(bags), record.doc_key))
    store._index.add(doc_postings(record.doc_key, first_pid, n_passages, forward, folded, passages))
    return first_pid + n_passages
