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

Documents are read in batches (the embedded store reads a batch's LSH postings back
from its segments in one pass) and each is written in a transaction of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from leakwatch.store.base import (
    FingerprintStore,
    RecordTable,
    SourceDocument,
    StoreError,
)


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
    wanted = []
    for doc in src.list_documents():  # oldest first: the destination keeps the order
        if doc.doc_id in there and _same_document(doc, there[doc.doc_id]):
            result.skipped += 1
        else:
            wanted.append(doc.doc_key)
    for stored in src.export_documents(wanted):
        dst.import_document(stored)
        result.documents += 1
        if progress is not None:
            progress(f"document {stored.record.doc_id}")
    tables_there = {t.table_id: t for t in dst.list_tables()}
    for table in src.list_tables():
        if table.table_id in tables_there and _same_table(table, tables_there[table.table_id]):
            result.skipped += 1
            continue
        dst.import_table(src.export_table(table.table_key))
        result.tables += 1
        if progress is not None:
            progress(f"table {table.table_id}")
    notes = src.read_notes("")
    dst_notes = dst.read_notes("")
    for key, value in notes.items():
        if dst_notes.get(key) != value:
            dst.write_note(key, value)
        result.notes += 1
    allowed = src.allowed_hashes()
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
        n_pa = len(src.passage_spans(doc.doc_key)[0])
        if (len(dst.document_fingerprints(other.doc_key)), len(dst.passage_spans(other.doc_key)[0])) != (
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
    allowed = src.allowed_hashes()
    if allowed.size and not dst.allowed_mask(allowed).all():
        problems.append("allow-listed hashes are missing")
    if problems:
        result.problems = problems
        raise StoreError(f"the copy to {dst.location} does not match {src.location}: " + "; ".join(problems[:5])
                         + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))
