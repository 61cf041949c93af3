"""The fingerprint store interface. The embedded SQLite store is the first backend.

A store holds, per confidential document, its record (path, keyed content
digest, size, label, owner, version) and its keyed fingerprints: winnowed shingle
hashes with positions, passage signatures with LSH band keys, and the document
signature. It never holds text, nor an unkeyed hash of text.
"""

from __future__ import annotations

import abc
import bisect
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

import leakwatch
from leakwatch.config import FingerprintParams
from leakwatch.errors import UserError
from leakwatch.fingerprint import MINHASH_SCHEME, DocumentFingerprints
from leakwatch.keys import StoreKey
from leakwatch.model import PAGED_FORMATS

if TYPE_CHECKING:
    from leakwatch.records.tables import NewTable

# 2: look-up entries in sorted segment files, LSH postings of the content-word bags only
# (format 1: SQLite B-trees, 62 band rows a passage; upgraded in place on open).
FORMAT_VERSION = 2

AddAction = Literal["added", "replaced", "unchanged"]


def check_meta(meta: dict[str, str], location: str, key: StoreKey, not_a_store: str | None = None) -> None:
    """Refuse a store of another format version or MinHash scheme, or a key that is not its own.

    Args:
        meta: the store's recorded meta values; location: the store as messages name it;
        not_a_store: what to name when there is no format version at all (default ``location``).
    """
    version = meta.get("format_version")
    if version is None:
        raise StoreError(f"{not_a_store or location} is not a leakwatch store (no format version)")
    if version != str(FORMAT_VERSION):
        raise StoreError(
            f"store {location} has format version {version}; this leakwatch "
            f"({leakwatch.__version__}) reads version {FORMAT_VERSION} only. "
            "Re-index the documents into a new store."
        )
    if meta.get("minhash_scheme") != MINHASH_SCHEME:
        raise StoreError(f"store {location} uses MinHash scheme {meta.get('minhash_scheme')!r}, not {MINHASH_SCHEME!r}")
    if meta.get("key_id") != key.key_id:
        raise StoreError(
            f"the key file does not belong to store {location} "
            f"(store key id {meta.get('key_id')}, key file id {key.key_id})"
        )


def is_unchanged(old: SourceDocument | None, doc: NewDocument) -> bool:
    """Whether registering ``doc`` would change nothing: same bytes, label and owner, and
    read by the same extractor (a newer extractor's text is indexed again, so that index
    and scan keep reading a file the same way)."""
    return old is not None and (old.content_mac, old.label, old.owner, old.extractor_version) == (
        doc.content_mac, doc.label, doc.owner, doc.extractor_version)


def passage_spans_of(n_words: int, params: FingerprintParams) -> tuple[np.ndarray, np.ndarray]:
    """(first shingle, end shingle) of each passage of a text of ``n_words`` words, as
    :func:`leakwatch.fingerprint.passages_from_blocks` lays them out (stores keep the
    word count, not the spans)."""
    n_shingles = max(0, n_words - params.shingle_size + 1)
    stride = params.passage_stride
    n_blocks = -(-n_shingles // stride)
    if n_blocks <= 1:
        return (np.zeros(n_blocks, dtype=np.int64), np.full(n_blocks, n_shingles, dtype=np.int64))
    first = np.arange(n_blocks - 1, dtype=np.int64)
    return first * stride, np.minimum((first + 2) * stride, n_shingles)


# Bag digests on disk and in Redis: 16 bits a slot, little-endian, a passage a row.
BAG_DTYPE = np.dtype("<u2")


def encode_bags(bags: np.ndarray) -> bytes:
    return np.ascontiguousarray(bags, dtype=BAG_DTYPE).tobytes()


def decode_bags(doc_keys: list[int], blobs: list[bytes | None], num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """(doc_key of each row, the rows) of several documents' bag blobs in one read-only
    array: the blobs are joined once and viewed, not decoded one by one and concatenated
    (a warm scan at a million passages reads some 130 MB of them, and each copy cost a
    tenth of a second)."""
    sizes = [len(b) // (BAG_DTYPE.itemsize * num_perm) if b else 0 for b in blobs]
    keys = np.repeat(np.asarray(doc_keys, dtype=np.int64), sizes)
    rows = np.frombuffer(b"".join(b for b in blobs if b), dtype=BAG_DTYPE).reshape(-1, num_perm)
    return keys, rows


class StoreError(UserError):
    """The store cannot be opened or used (wrong version, wrong key, missing)."""


def printable(path: str) -> str:
    """A path as text that can always be printed (undecodable bytes escaped): store
    messages name files, and names need not be UTF-8."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class SourceDocument:
    """A registered confidential document (no text)."""

    doc_key: int
    doc_id: str
    path: str
    content_mac: str
    size: int
    label: str
    owner: str | None
    added_at: str
    format: str
    extractor_version: str
    version: int
    n_words: int
    n_chars: int
    page_starts: tuple[int, ...]
    signature: np.ndarray

    def page_of(self, offset: int) -> int | None:
        """1-based page (slide, sheet) of a character offset in the document's text."""
        if self.format not in PAGED_FORMATS:
            return None
        return bisect.bisect_right(self.page_starts, offset) + 1


@dataclass(frozen=True)
class NewDocument:
    """What indexing hands to the store for one file."""

    path: str
    content_mac: str
    size: int
    label: str
    owner: str | None
    format: str
    extractor_version: str
    n_chars: int
    page_starts: tuple[int, ...]
    fingerprints: DocumentFingerprints


@dataclass(frozen=True)
class FingerprintHits:
    """Stored winnowed fingerprints, as parallel arrays."""

    hashes: np.ndarray  # uint64 keyed shingle hash
    doc_keys: np.ndarray  # int64
    positions: np.ndarray  # int64 shingle index in the source
    char_starts: np.ndarray  # int64
    char_ends: np.ndarray  # int64

    def __len__(self) -> int:
        return int(self.hashes.shape[0])

    def select(self, mask: np.ndarray) -> FingerprintHits:
        return FingerprintHits(
            self.hashes[mask], self.doc_keys[mask], self.positions[mask],
            self.char_starts[mask], self.char_ends[mask],
        )


@dataclass(frozen=True)
class PassageHits:
    """LSH candidates: a query passage and a stored passage that share a band."""

    query_passages: np.ndarray  # int64 index into the query's passages
    doc_keys: np.ndarray  # int64
    passage_indexes: np.ndarray  # int64 index into the stored document's passages


@dataclass(frozen=True)
class RecordTable:
    """A registered table (``leakwatch index add-table``): its record, no values."""

    table_key: int
    table_id: str
    path: str
    sheet: str | None
    content_mac: str
    size: int
    label: str
    owner: str | None
    added_at: str
    version: int
    n_rows: int
    columns: tuple[str, ...]
    key_columns: tuple[int, ...]
    n_cells: int
    n_anchors: int
    text_lengths: tuple[int, ...]
    signature: np.ndarray

    def registers(self, table: NewTable) -> bool:
        """True when adding ``table`` again would change nothing (same content, label,
        owner, sheet and columns): both backends then answer "unchanged"."""
        return (self.content_mac == table.content_mac
                and (self.label, self.owner, self.sheet) == (table.label, table.owner, table.sheet)
                and (self.columns, self.key_columns) == (table.columns, table.key_columns))


@dataclass(frozen=True)
class CellHits:
    """Registered anchor values found among a deliverable's candidate values."""

    hashes: np.ndarray  # uint64 keyed value hash
    table_keys: np.ndarray  # int64
    rows: np.ndarray  # int64
    columns: np.ndarray  # int64

    def __len__(self) -> int:
        return int(self.hashes.shape[0])


@dataclass(frozen=True)
class StoredDocument:
    """One document as a store holds it (record and keyed values, no text), for copying
    it to another store under the same key without extracting the file again."""

    record: SourceDocument
    fingerprints: FingerprintHits  # in position order
    passage_starts: np.ndarray  # int64 first shingle of each passage
    passage_ends: np.ndarray  # int64
    # Its LSH postings, in no particular order: the look-up key (band key with its band
    # folded in, :func:`leakwatch.store.segments.fold_bands`) and the passage of each.
    band_keys: np.ndarray  # uint64
    band_passages: np.ndarray  # int64
    # Each passage's content-word bag digest (:func:`leakwatch.fingerprint.bag_digests`).
    bags: np.ndarray  # (passages, num_perm) uint16


@dataclass(frozen=True)
class StoredTable:
    """One registered table as a store holds it, for copying it to another store."""

    record: RecordTable
    cells: np.ndarray  # (rows, columns) uint64 keyed values, 0 for none
    distinctive: np.ndarray  # (rows, columns) bool
    anchor_rows: np.ndarray  # int64: the anchor cells (indexed for look-up)
    anchor_columns: np.ndarray  # int64


class FingerprintStore(abc.ABC):
    """Where confidential fingerprints live. Backends implement these methods."""

    params: FingerprintParams
    key: StoreKey
    location: str
    # LSH layouts (bands, rows per band), fixed when the store was created.
    lsh_bands: int
    lsh_rows: int
    bag_lsh_bands: int
    bag_lsh_rows: int

    def check_params(self, wanted: FingerprintParams) -> None:
        """Refuse a configuration whose fingerprint parameters differ from the store's."""
        if wanted != self.params:
            raise StoreError(
                f"store {self.location} was built with {self.params}; the configuration asks for "
                f"{wanted}. Fingerprint parameters are fixed when a store is created."
            )

    @abc.abstractmethod
    def add_document(self, doc: NewDocument) -> tuple[SourceDocument, AddAction]:
        """Register a document; a changed file at a known path replaces the old version."""

    @abc.abstractmethod
    def remove_document(self, doc_id: str) -> bool:
        """Remove a document and all its fingerprints; False if it was not there."""

    @abc.abstractmethod
    def find_document(self, doc_id_or_path: str) -> SourceDocument | None:
        """A document by id or by registered path."""

    @abc.abstractmethod
    def list_documents(self) -> list[SourceDocument]:
        """All registered documents, oldest first."""

    @abc.abstractmethod
    def documents(self, doc_keys: list[int]) -> dict[int, SourceDocument]:
        """Records for internal document keys."""

    @abc.abstractmethod
    def count_documents(self) -> int: ...

    @abc.abstractmethod
    def lookup_fingerprints(self, hashes: np.ndarray) -> FingerprintHits:
        """Every stored fingerprint whose hash is in ``hashes``."""

    @abc.abstractmethod
    def document_fingerprints(self, doc_key: int) -> FingerprintHits:
        """All stored fingerprints of one document, in position order."""

    @abc.abstractmethod
    def lookup_passages(self, band_keys: np.ndarray, bag: bool = False) -> PassageHits:
        """Stored passages sharing at least one LSH band with a query passage.

        Args:
            band_keys: (query passages, bands) int64 keys from :func:`fingerprint.band_keys`.
            bag: look up the content-word bag bands instead of the shingle bands.
        """

    @abc.abstractmethod
    def passage_spans(self, doc_key: int) -> tuple[np.ndarray, np.ndarray]:
        """(first shingle, end shingle) of each of one document's passages."""

    @abc.abstractmethod
    def document_bags(self, doc_keys: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """The content-word bag digests of every passage of the documents (:func:`
        leakwatch.fingerprint.bag_digests`): (document key of each row, uint16 digests),
        rows grouped by document in the order asked; a key not in the store gives none."""

    @abc.abstractmethod
    def read_notes(self, prefix: str) -> dict[str, str]:
        """Small named records kept with the store (registered references, allow-list
        sources), by key prefix."""

    @abc.abstractmethod
    def write_note(self, key: str, value: str | None) -> None:
        """Set (or with None remove) one named record."""

    @abc.abstractmethod
    def add_allowed(self, hashes: np.ndarray) -> int:
        """Add keyed shingle hashes to the allow-list; returns how many were new."""

    @abc.abstractmethod
    def allowed_mask(self, hashes: np.ndarray) -> np.ndarray:
        """True for each hash on the allow-list (subtracted before matching)."""

    @abc.abstractmethod
    def count_allowed(self) -> int: ...

    @abc.abstractmethod
    def clear_allowed(self) -> int:
        """Empty the allow-list; returns how many hashes it held."""

    # --- registered tables (exact data match) ---------------------------------------------

    @abc.abstractmethod
    def add_table(self, table: NewTable) -> tuple[RecordTable, AddAction]:
        """Register a table's keyed values; a changed file at a known path replaces it."""

    @abc.abstractmethod
    def remove_table(self, table_id: str) -> bool:
        """Remove a table and all its values; False if it was not there."""

    @abc.abstractmethod
    def find_table(self, table_id_or_path: str) -> RecordTable | None: ...

    @abc.abstractmethod
    def list_tables(self) -> list[RecordTable]:
        """All registered tables, oldest first."""

    @abc.abstractmethod
    def lookup_cells(self, hashes: np.ndarray) -> CellHits:
        """Every registered anchor value whose keyed hash is in ``hashes``."""

    @abc.abstractmethod
    def table_rows(self, table_key: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Some rows of a table: their keyed values, (len(rows), columns) uint64 with 0 for
        none, and which of them are distinctive (bool, same shape)."""

    # --- change tracking and copying (additive; backends override) -------------------------

    def generation(self) -> str:
        """A value that changes whenever the store changes (a document, table, note or the
        allow-list), so that a daemon or a scan cache can tell the index changed.

        This default digests the store's content (exact, but reads every record);
        backends override it with a counter bumped by every change.
        """
        import hashlib

        digest = hashlib.sha256()
        for doc in self.list_documents():
            digest.update(f"d {doc.doc_key} {doc.doc_id} {doc.version} {doc.content_mac} {doc.label} "
                          f"{doc.owner}\n".encode("utf-8", "surrogateescape"))
        for table in self.list_tables():
            digest.update(f"t {table.table_key} {table.table_id} {table.version} {table.content_mac} "
                          f"{table.label}\n".encode("utf-8", "surrogateescape"))
        for key, value in sorted(self.read_notes("").items()):
            digest.update(f"n {key} {value}\n".encode("utf-8", "surrogateescape"))
        digest.update(f"a {self.count_allowed()}\n".encode())
        return "content:" + digest.hexdigest()[:32]

    def export_document(self, doc_key: int) -> StoredDocument:
        """A document with all its keyed values, as stored."""
        raise NotImplementedError(f"{type(self).__name__} cannot export documents")

    def export_documents(self, doc_keys: list[int]) -> Iterator[StoredDocument]:
        """Several documents with all their keyed values (backends may read them in one pass)."""
        for doc_key in doc_keys:
            yield self.export_document(doc_key)

    def import_document(self, stored: StoredDocument) -> SourceDocument:
        """Add a document exported from a store with the same key and parameters, keeping its
        id, version and dates (it replaces a document with the same id)."""
        raise NotImplementedError(f"{type(self).__name__} cannot import documents")

    def allowed_hashes(self) -> np.ndarray:
        """Every hash on the allow-list (uint64)."""
        raise NotImplementedError(f"{type(self).__name__} cannot list the allow-list")

    def export_table(self, table_key: int) -> StoredTable:
        """A registered table with all its keyed values, as stored."""
        raise NotImplementedError(f"{type(self).__name__} cannot export tables")

    def import_table(self, stored: StoredTable) -> RecordTable:
        """Add a table exported from a store with the same key and parameters (it replaces a
        table with the same id)."""
        raise NotImplementedError(f"{type(self).__name__} cannot import tables")

    def bulk(self) -> AbstractContextManager[None]:
        """A context in which many changes (an ``index add`` of a folder) may be grouped
        into fewer commits. Each change stays whole or absent; a killed run may lose the
        last uncommitted ones (never reported as done). Default: every change commits
        on its own."""
        return nullcontext()

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> FingerprintStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        try:
            self.close()
        except StoreError:
            if exc_type is None:
                raise
            # The error already on its way out says more than a failed close after it.
