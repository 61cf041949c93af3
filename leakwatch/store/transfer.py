"""``leakwatch store copy SRC DST``: a whole store copied between backends.

Every document (record, fingerprints, passages and their LSH bands), registered
table, note and allow-listed hash is copied as the keyed values it is stored as:
nothing is extracted or fingerprinted again, and the key (the same key file) is
never needed in plain form beyond opening both stores. A destination that exists
must have the same key and fingerprint parameters; a document or table already
there with the same id, version and content is left as it is (an interrupted copy
can be run again), any other is replaced. The copy is verified at the end: every
source document and table is in the destination with as many fingerprints,
passages, rows and anchors, and so are the notes and the allow-list.

The embedded store's side reads and writes its tables here, in its own
transactions (a copied document is committed whole or not at all).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from leakwatch.store.base import (
    FingerprintStore,
    RecordTable,
    SourceDocument,
    StoredDocument,
    StoredTable,
    StoreError,
)
from leakwatch.store.sqlite import SQLiteStore, _as_int64


@dataclass
class CopyResult:
    documents: int = 0
    tables: int = 0
    skipped: int = 0
    notes: int = 0
    allowed: int = 0
    fingerprints: int = 0
    passages: int = 0
    problems: list[str] = field(default_factory=list)


# --- the embedded store's side -----------------------------------------------------------

def _sqlite_export_document(store: SQLiteStore, doc_key: int) -> StoredDocument:
    record = store.documents([doc_key]).get(doc_key)
    if record is None:
        raise StoreError(f"no document with key {doc_key} in {store.location}")
    rows = store._db.execute(
        "SELECT shingle_start, shingle_end, signature, bag_signature FROM passages WHERE doc_key = ? ORDER BY idx",
        (doc_key,),
    ).fetchall()
    n = store.params.num_perm
    sigs = np.frombuffer(b"".join(r[2] for r in rows), dtype="<u4").astype(np.uint32).reshape(len(rows), n)
    bags = np.frombuffer(b"".join(r[3] for r in rows), dtype="<u4").astype(np.uint32).reshape(len(rows), n)
    return StoredDocument(record, store.document_fingerprints(doc_key),
                          np.asarray([r[0] for r in rows], dtype=np.int64),
                          np.asarray([r[1] for r in rows], dtype=np.int64), sigs, bags)


def _sqlite_import_document(store: SQLiteStore, stored: StoredDocument) -> SourceDocument:
    doc, hits = stored.record, stored.fingerprints
    with store._transaction(f"{doc.doc_id} was not copied; the store is as it was before it"):
        old = store._db.execute("SELECT doc_key FROM documents WHERE doc_id = ?", (doc.doc_id,)).fetchone()
        if old is not None:
            store._delete_document(int(old[0]))
        doc_key = store._db.execute(
            "INSERT INTO documents (doc_id, path, content_mac, size, label, owner, added_at, format, "
            "extractor_version, version, n_words, n_chars, page_starts, signature) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (doc.doc_id, doc.path, doc.content_mac, doc.size, doc.label, doc.owner, doc.added_at, doc.format,
             doc.extractor_version, doc.version, doc.n_words, doc.n_chars, json.dumps(list(doc.page_starts)),
             np.ascontiguousarray(doc.signature, dtype="<u4").tobytes()),
        ).lastrowid or 0
        store._db.executemany(
            "INSERT INTO fingerprints (hash, doc_key, pos, char_start, char_end) VALUES (?, ?, ?, ?, ?)",
            zip(_as_int64(hits.hashes), [doc_key] * len(hits), hits.positions.tolist(), hits.char_starts.tolist(),
                hits.char_ends.tolist(), strict=True),
        )
        store._db.executemany(
            "INSERT INTO passages (doc_key, idx, shingle_start, shingle_end, signature, bag_signature) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            ((doc_key, i, int(stored.passage_starts[i]), int(stored.passage_ends[i]),
              np.ascontiguousarray(stored.signatures[i], dtype="<u4").tobytes(),
              np.ascontiguousarray(stored.bag_signatures[i], dtype="<u4").tobytes())
             for i in range(len(stored.passage_starts))),
        )
        store._insert_bands(doc_key, stored.signatures, stored.bag_signatures)
    copied = store.find_document(doc.doc_id)
    assert copied is not None
    return copied


def _sqlite_allowed(store: SQLiteStore) -> np.ndarray:
    rows = store._db.execute("SELECT hash FROM allowed ORDER BY hash").fetchall()
    return np.asarray([r[0] for r in rows], dtype=np.int64).view(np.uint64)


def _sqlite_export_table(store: SQLiteStore, table_key: int) -> StoredTable:
    record = next((t for t in store.list_tables() if t.table_key == table_key), None)
    if record is None:
        raise StoreError(f"no table with key {table_key} in {store.location}")
    cells, distinctive = store.table_rows(table_key, np.arange(record.n_rows))
    anchors = store._db.execute("SELECT row, col FROM record_cells WHERE table_key = ? ORDER BY row, col",
                                (table_key,)).fetchall()
    arr = np.asarray(anchors, dtype=np.int64).reshape(-1, 2)
    return StoredTable(record, cells, distinctive, arr[:, 0].copy(), arr[:, 1].copy())


def _sqlite_import_table(store: SQLiteStore, stored: StoredTable) -> RecordTable:
    t = stored.record
    hashes = stored.cells[stored.anchor_rows, stored.anchor_columns]
    order = np.argsort(hashes.view(np.int64), kind="stable")
    with store._transaction(f"table {t.table_id} was not copied; the store is as it was before it"):
        store._db.execute("DELETE FROM record_tables WHERE table_id = ?", (t.table_id,))
        table_key = store._db.execute(
            "INSERT INTO record_tables (table_id, path, sheet, content_mac, size, label, owner, added_at, "
            "version, n_rows, columns, key_columns, n_cells, n_anchors, text_lengths, signature) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (t.table_id, t.path, t.sheet, t.content_mac, t.size, t.label, t.owner, t.added_at, t.version,
             t.n_rows, json.dumps(list(t.columns)), json.dumps(list(t.key_columns)), t.n_cells, t.n_anchors,
             json.dumps(list(t.text_lengths)), np.ascontiguousarray(t.signature, dtype="<u4").tobytes()),
        ).lastrowid or 0
        store._db.executemany(
            "INSERT OR IGNORE INTO record_cells (hash, table_key, row, col) VALUES (?, ?, ?, ?)",
            zip(_as_int64(hashes[order]), [table_key] * len(order), stored.anchor_rows[order].tolist(),
                stored.anchor_columns[order].tolist(), strict=True),
        )
        blobs = np.ascontiguousarray(stored.cells, dtype="<u8")
        masks = np.packbits(np.asarray(stored.distinctive, dtype=bool), axis=1)
        store._db.executemany(
            "INSERT INTO record_rows (table_key, row, cells, distinctive) VALUES (?, ?, ?, ?)",
            ((table_key, i, blobs[i].tobytes(), masks[i].tobytes()) for i in range(stored.cells.shape[0])),
        )
    copied = store.find_table(t.table_id)
    assert copied is not None
    return copied


# --- any store ---------------------------------------------------------------------------

def export_document(store: FingerprintStore, doc_key: int) -> StoredDocument:
    return _sqlite_export_document(store, doc_key) if isinstance(store, SQLiteStore) else \
        store.export_document(doc_key)


def import_document(store: FingerprintStore, stored: StoredDocument) -> SourceDocument:
    return _sqlite_import_document(store, stored) if isinstance(store, SQLiteStore) else \
        store.import_document(stored)


def export_table(store: FingerprintStore, table_key: int) -> StoredTable:
    return _sqlite_export_table(store, table_key) if isinstance(store, SQLiteStore) else \
        store.export_table(table_key)


def import_table(store: FingerprintStore, stored: StoredTable) -> RecordTable:
    return _sqlite_import_table(store, stored) if isinstance(store, SQLiteStore) else store.import_table(stored)


def allowed_hashes(store: FingerprintStore) -> np.ndarray:
    return _sqlite_allowed(store) if isinstance(store, SQLiteStore) else store.allowed_hashes()


def check_compatible(src: FingerprintStore, dst: FingerprintStore) -> None:
    """Refuse a destination with another key or other fingerprint parameters."""
    if src.key.key_id != dst.key.key_id:
        raise StoreError(f"{dst.location} was made with another key (key id {dst.key.key_id}, "
                         f"{src.location} has {src.key.key_id}): nothing was copied")
    if src.params != dst.params or (src.lsh_bands, src.lsh_rows, src.bag_lsh_bands, src.bag_lsh_rows) != (
            dst.lsh_bands, dst.lsh_rows, dst.bag_lsh_bands, dst.bag_lsh_rows):
        raise StoreError(f"{dst.location} has other fingerprint parameters ({dst.params}) than {src.location} "
                         f"({src.params}): nothing was copied")


def _same_document(a: SourceDocument, b: SourceDocument) -> bool:
    return (a.doc_id, a.version, a.content_mac, a.label, a.owner) == (b.doc_id, b.version, b.content_mac, b.label,
                                                                       b.owner)


def _same_table(a: RecordTable, b: RecordTable) -> bool:
    return (a.table_id, a.version, a.content_mac, a.label, a.owner) == (b.table_id, b.version, b.content_mac,
                                                                        b.label, b.owner)


def copy_store(src: FingerprintStore, dst: FingerprintStore,
               progress: Callable[[str], None] | None = None) -> CopyResult:
    """Copy everything in ``src`` into ``dst`` and verify it (see the module docstring).

    Raises:
        StoreError: another key or other parameters, a store failure, or a failed check.
    """
    check_compatible(src, dst)
    result = CopyResult()
    there = {d.doc_id: d for d in dst.list_documents()}
    for doc in src.list_documents():  # oldest first: the destination keeps the order
        if doc.doc_id in there and _same_document(doc, there[doc.doc_id]):
            result.skipped += 1
            continue
        import_document(dst, export_document(src, doc.doc_key))
        result.documents += 1
        if progress is not None:
            progress(f"document {doc.doc_id}")
    tables_there = {t.table_id: t for t in dst.list_tables()}
    for table in src.list_tables():
        if table.table_id in tables_there and _same_table(table, tables_there[table.table_id]):
            result.skipped += 1
            continue
        import_table(dst, export_table(src, table.table_key))
        result.tables += 1
        if progress is not None:
            progress(f"table {table.table_id}")
    notes = src.read_notes("")
    dst_notes = dst.read_notes("")
    for key, value in notes.items():
        if dst_notes.get(key) != value:
            dst.write_note(key, value)
        result.notes += 1
    allowed = allowed_hashes(src)
    if allowed.size:
        dst.add_allowed(allowed)
    result.allowed = int(allowed.size)
    verify_copy(src, dst, result)
    return result


def verify_copy(src: FingerprintStore, dst: FingerprintStore, result: CopyResult) -> None:
    """Every source document, table, note and allowed hash is in ``dst``, with as many
    fingerprints, passages, rows and anchors.

    Raises:
        StoreError: what is missing or differs.
    """
    problems: list[str] = []
    copied = {d.doc_id: d for d in dst.list_documents()}
    for doc in src.list_documents():
        other = copied.get(doc.doc_id)
        if other is None or not _same_document(doc, other):
            problems.append(f"document {doc.doc_id} is missing or differs")
            continue
        n_fp = len(src.document_fingerprints(doc.doc_key))
        n_pa = len(src.passage_signatures(doc.doc_key)[0])
        if (len(dst.document_fingerprints(other.doc_key)), len(dst.passage_signatures(other.doc_key)[0])) != (
                n_fp, n_pa):
            problems.append(f"document {doc.doc_id}: fingerprints or passages differ")
        result.fingerprints += n_fp
        result.passages += n_pa
    tables = {t.table_id: t for t in dst.list_tables()}
    for table in src.list_tables():
        other_t = tables.get(table.table_id)
        if other_t is None or not _same_table(table, other_t) or (other_t.n_rows, other_t.n_anchors, other_t.n_cells) \
                != (table.n_rows, table.n_anchors, table.n_cells):
            problems.append(f"table {table.table_id} is missing or differs")
    dst_notes = dst.read_notes("")
    problems += [f"note {k!r} differs" for k, v in src.read_notes("").items() if dst_notes.get(k) != v]
    allowed = allowed_hashes(src)
    if allowed.size and not dst.allowed_mask(allowed).all():
        problems.append("allow-listed hashes are missing")
    if problems:
        result.problems = problems
        raise StoreError(f"the copy to {dst.location} does not match {src.location}: " + "; ".join(problems[:5])
                         + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))
