"""The embedded store's catalogue schema (format version 2) and its meta values.

The SQLite database holds the records and everything kept per document in position
order (its winnowed fingerprints, as one packed BLOB): rows appended at the end of
their tables. The look-up entries (fingerprints by hash, LSH postings by band key)
live in immutable segment files beside it (:mod:`leakwatch.store.segments`), listed
in the ``segments`` table: a segment counts once the transaction that lists it is
committed, with the documents it indexes.
"""

from __future__ import annotations

from leakwatch.config import FingerprintParams
from leakwatch.fingerprint import MINHASH_SCHEME, lsh_shape
from leakwatch.keys import StoreKey
from leakwatch.store.base import FORMAT_VERSION

FORMAT_VERSION_TEXT = str(FORMAT_VERSION)

META_SCHEMA = "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"

# Everything but meta: what an upgrade from format 1 creates beside it.
INDEX_SCHEMA = """
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
    signature BLOB NOT NULL,
    -- Its passages have the store-wide passage ids first_pid .. first_pid + n_passages - 1.
    first_pid INTEGER NOT NULL,
    n_passages INTEGER NOT NULL,
    -- Winnowed fingerprints in position order: keyed hash u64, position, character
    -- start and end u32, little-endian, 20 bytes each.
    fingerprints BLOB NOT NULL,
    -- Each passage's content-word bag digest: num_perm u16 slots, little-endian.
    bags BLOB NOT NULL
);
CREATE INDEX documents_path ON documents(path);
-- Segment files of the look-up index, by file name.
CREATE TABLE segments (
    name TEXT PRIMARY KEY,
    fingerprints INTEGER NOT NULL,
    postings INTEGER NOT NULL,
    documents INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
-- Documents removed or replaced whose entries some segment may still hold: look-ups
-- leave them out, merges drop them.
CREATE TABLE removed (doc_key INTEGER PRIMARY KEY);
"""

SCHEMA = META_SCHEMA + INDEX_SCHEMA

# Created on open when absent (additive: present in every format-2 store).
ALLOW_SCHEMA = "CREATE TABLE IF NOT EXISTS allowed (hash INTEGER PRIMARY KEY) WITHOUT ROWID"

# Registered tables (exact data match): created on open when absent. Values are keyed
# hashes only. Anchor values (distinctive, in a key column) are indexed for look-up;
# every row's values are kept as one blob, read back only for rows an anchor pointed at.
RECORDS_SCHEMA = """
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

DOC_COLUMNS = (
    "doc_key, doc_id, path, content_mac, size, label, owner, added_at, format, extractor_version, "
    "version, n_words, n_chars, page_starts, signature"
)

# A format-2 store indexes the content-word bag bands only: the shingle bands (25 a
# passage, threshold 0.5) found no passage on PAN that the winnowed fingerprints did
# not (README, Performance), so it records 0 shingle bands, and 37 postings a passage
# are kept instead of 62.


def params_meta(params: FingerprintParams, key: StoreKey) -> dict[str, str]:
    """The meta values that fix a store's format and fingerprints."""
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
        "lsh_bands": "0",
        "lsh_rows": "0",
        "bag_lsh_threshold": repr(params.bag_lsh_threshold),
        "bag_lsh_bands": str(bag_bands),
        "bag_lsh_rows": str(bag_rows),
        "key_id": key.key_id,
    }


def params_from_meta(meta: dict[str, str]) -> FingerprintParams:
    return FingerprintParams(
        shingle_size=int(meta["shingle_size"]),
        winnow_window=int(meta["winnow_window"]),
        passage_stride=int(meta["passage_stride"]),
        num_perm=int(meta["num_perm"]),
        seed=int(meta["seed"]),
        lsh_threshold=float(meta["lsh_threshold"]),
        bag_lsh_threshold=float(meta["bag_lsh_threshold"]),
    )


def statements(script: str) -> list[str]:
    """The statements of a schema script, one by one (executescript would commit)."""
    import sqlite3

    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf)
            buf = ""
    if buf.strip():
        out.append(buf)
    return out
