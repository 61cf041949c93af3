"""The embedded SQLite store: privacy of its files, document lifecycle, refusals, look-ups."""

from __future__ import annotations

import dataclasses
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from leakwatch.config import Config, FingerprintParams
from leakwatch.fingerprint import band_keys, fingerprint_tokens
from leakwatch.keys import load_or_create_key
from leakwatch.store import FORMAT_VERSION, NewDocument, SQLiteStore, StoreError, open_store
from leakwatch.store.sqlite import DB_NAME, KEY_NAME
from leakwatch.text import tokenize
from tests.conftest import make_text

DISTINCTIVE = ["zanzibarquokka", "pterodactylmarmalade", "xylophonewombat", "quixoticnarwhal"]


def secret_prose(seed: int = 1, n_words: int = 400) -> str:
    """Random prose with distinctive words sprinkled through it."""
    words = make_text(seed, n_words).split(" ")
    for i, w in enumerate(DISTINCTIVE):
        words[40 + i * 70] = w
    return " ".join(words)


def new_doc(store: SQLiteStore, text: str, path: str = "/docs/a.txt", label: str = "confidential",
            owner: str | None = None) -> NewDocument:
    data = text.encode("utf-8")
    return NewDocument(
        path=path,
        content_mac=store.key.content_mac(data),
        size=len(data),
        label=label,
        owner=owner,
        format="text",
        extractor_version="1",
        n_chars=len(text),
        page_starts=(),
        fingerprints=fingerprint_tokens(tokenize(text), store.params, store.key),
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def count_rows(folder: Path, table: str, doc_key: int | None = None) -> int:
    """Rows of a table, read through a separate connection (WAL readers see committed data)."""
    con = sqlite3.connect(folder / DB_NAME)
    try:
        if doc_key is None:
            return int(con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
        return int(con.execute(f"SELECT COUNT(*) FROM {table} WHERE doc_key = ?", (doc_key,)).fetchone()[0])
    finally:
        con.close()


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture()
def store(folder: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(folder, create=True)
    yield s
    s.close()


# --- files and privacy ------------------------------------------------------------------


def test_new_store_files_are_private(folder: Path) -> None:
    with SQLiteStore(folder, create=True) as s:
        s.add_document(new_doc(s, secret_prose()))
        assert mode(folder) == 0o700
        assert mode(folder / DB_NAME) == 0o600
        assert mode(folder / KEY_NAME) == 0o600
        for extra in ("-wal", "-shm"):
            side = folder / (DB_NAME + extra)
            if side.exists():
                assert mode(side) == 0o600
        assert (folder / (DB_NAME + "-wal")).exists()


def test_existing_folder_is_made_private(tmp_path: Path) -> None:
    folder = tmp_path / "pre-existing"
    folder.mkdir(mode=0o755)
    SQLiteStore(folder, create=True).close()
    assert mode(folder) == 0o700


def test_external_key_file(tmp_path: Path) -> None:
    folder, key_path = tmp_path / "store", tmp_path / "keys" / "lw.key"
    with SQLiteStore(folder, key_file=key_path, create=True) as s:
        key_id = s.key.key_id
    assert not (folder / KEY_NAME).exists()
    assert mode(key_path) == 0o600
    with SQLiteStore(folder, key_file=key_path) as s:
        assert s.key.key_id == key_id
    with pytest.raises(StoreError, match="not found"):
        SQLiteStore(folder)  # the default key location holds no key


def test_store_files_hold_no_key_and_no_text(folder: Path) -> None:
    text = secret_prose()
    words = text.split()
    with SQLiteStore(folder, create=True) as s:
        s.add_document(new_doc(s, text, path="/docs/a.txt"))
        s.add_document(new_doc(s, text + " appended tail words here", path="/docs/a.txt"))  # replace
        s.add_document(new_doc(s, secret_prose(2), path="/docs/b.txt"))
        s.remove_document(s.key.doc_id("/docs/b.txt"))
        secret = s.key.secret
        # Read while the store is open, so that the WAL holds every page written.
        snapshots = [{p.name: p.read_bytes() for p in folder.iterdir()}]
        assert DB_NAME + "-wal" in snapshots[0]
    snapshots.append({p.name: p.read_bytes() for p in folder.iterdir()})
    for files in snapshots:
        for name, data in files.items():
            if name != KEY_NAME:
                assert secret not in data, name
                assert secret.hex().encode() not in data.lower(), name
            lowered = data.lower()
            for w in DISTINCTIVE:
                for encoding in ("utf-8", "utf-16-le"):
                    assert w.encode(encoding) not in lowered, (name, w, encoding)
            for i in range(0, len(words) - 3, 7):
                assert " ".join(words[i : i + 3]).encode() not in data, name


# --- documents --------------------------------------------------------------------------


def test_add_and_find_document(store: SQLiteStore) -> None:
    text = secret_prose()
    nd = new_doc(store, text, path="/docs/a.txt", owner="finance")
    doc, action = store.add_document(nd)
    assert action == "added"
    assert doc.version == 1
    assert doc.doc_id == store.key.doc_id("/docs/a.txt")
    assert (doc.path, doc.label, doc.owner, doc.format) == ("/docs/a.txt", "confidential", "finance", "text")
    assert doc.n_words == len(tokenize(text))
    assert doc.n_chars == len(text)
    assert doc.size == len(text.encode())
    assert doc.content_mac == nd.content_mac
    assert doc.page_starts == ()
    assert doc.signature.dtype == np.uint32
    assert np.array_equal(doc.signature, nd.fingerprints.signature)
    assert store.find_document(doc.doc_id).doc_key == doc.doc_key
    assert store.find_document("/docs/a.txt").doc_key == doc.doc_key
    assert store.find_document("/docs/other.txt") is None
    assert store.count_documents() == 1
    assert list(store.documents([doc.doc_key, doc.doc_key, 999])) == [doc.doc_key]


def test_paged_document_records_page_starts(store: SQLiteStore) -> None:
    text = secret_prose()
    nd = new_doc(store, text)
    nd = dataclasses.replace(nd, format="pdf", page_starts=(100, 900))
    doc, _ = store.add_document(nd)
    assert doc.page_starts == (100, 900)
    assert (doc.page_of(0), doc.page_of(100), doc.page_of(899), doc.page_of(900)) == (1, 2, 2, 3)


def test_re_adding_unchanged_content(store: SQLiteStore, folder: Path) -> None:
    text = secret_prose()
    first, _ = store.add_document(new_doc(store, text))
    n_fp = count_rows(folder, "fingerprints")
    again, action = store.add_document(new_doc(store, text))
    assert action == "unchanged"
    assert again.doc_key == first.doc_key
    assert again.version == 1
    assert count_rows(folder, "fingerprints") == n_fp
    assert store.count_documents() == 1


@pytest.mark.parametrize(("field", "value"), [("label", "trade-secret"), ("owner", "legal")])
def test_changed_label_or_owner_replaces(store: SQLiteStore, field: str, value: str) -> None:
    text = secret_prose()
    store.add_document(new_doc(store, text))
    doc, action = store.add_document(new_doc(store, text, **{field: value}))
    assert action == "replaced"
    assert doc.version == 2
    assert getattr(doc, field) == value


def test_a_newer_extractor_replaces_the_same_bytes(store: SQLiteStore) -> None:
    # A file read by another extractor version (pdfminer then PDFium, say) is indexed
    # again, so that index and scan read it the same way.
    text = secret_prose()
    store.add_document(new_doc(store, text))
    newer = dataclasses.replace(new_doc(store, text), extractor_version="2/pdfium")
    doc, action = store.add_document(newer)
    assert action == "replaced" and doc.version == 2 and doc.extractor_version == "2/pdfium"
    assert store.add_document(newer)[1] == "unchanged"


def test_changed_content_replaces_and_drops_old_fingerprints(store: SQLiteStore, folder: Path) -> None:
    old_text = secret_prose(1)
    new_text = secret_prose(2)
    old_nd, new_nd = new_doc(store, old_text), new_doc(store, new_text)
    old, _ = store.add_document(old_nd)
    old_hashes = old_nd.fingerprints.keyed[old_nd.fingerprints.winnowed]
    assert len(store.lookup_fingerprints(old_hashes)) == len(old_hashes)
    doc, action = store.add_document(new_nd)
    assert action == "replaced"
    assert doc.version == 2
    assert doc.doc_id == old.doc_id
    assert store.count_documents() == 1
    new_hashes = new_nd.fingerprints.keyed[new_nd.fingerprints.winnowed]
    old_only = np.setdiff1d(old_hashes, new_hashes)
    assert old_only.size > 0
    assert len(store.lookup_fingerprints(old_only)) == 0
    hits = store.lookup_fingerprints(new_hashes)
    assert len(hits) == len(new_hashes)
    assert set(hits.doc_keys.tolist()) == {doc.doc_key}
    # Only the new version's rows are left (the doc_key itself may be reused by SQLite).
    n_passages = len(new_nd.fingerprints.passages)
    assert count_rows(folder, "fingerprints") == count_rows(folder, "fingerprints", doc.doc_key) == len(new_hashes)
    assert count_rows(folder, "passages") == count_rows(folder, "passages", doc.doc_key) == n_passages
    assert count_rows(folder, "bands") == n_passages * store.lsh_bands
    assert np.array_equal(store.find_document(doc.doc_id).signature, new_nd.fingerprints.signature)
    third, action = store.add_document(new_doc(store, secret_prose(3)))
    assert (action, third.version) == ("replaced", 3)


def test_remove_cascades(store: SQLiteStore, folder: Path) -> None:
    a, _ = store.add_document(new_doc(store, secret_prose(1), path="/docs/a.txt"))
    b, _ = store.add_document(new_doc(store, secret_prose(2), path="/docs/b.txt"))
    for table in ("fingerprints", "passages", "bands"):
        assert count_rows(folder, table, a.doc_key) > 0
    assert store.remove_document(a.doc_id) is True
    for table in ("fingerprints", "passages", "bands"):
        assert count_rows(folder, table, a.doc_key) == 0
        assert count_rows(folder, table, b.doc_key) > 0
    assert store.find_document(a.doc_id) is None
    assert store.remove_document(a.doc_id) is False
    assert [d.doc_id for d in store.list_documents()] == [b.doc_id]


def test_list_documents_oldest_first(store: SQLiteStore) -> None:
    paths = ["/z/last-name.txt", "/a/first-name.txt", "/m/middle.txt"]
    for i, p in enumerate(paths):
        store.add_document(new_doc(store, secret_prose(i + 1), path=p))
    assert [d.path for d in store.list_documents()] == paths
    # A replaced document is a new version: it moves to the end.
    store.add_document(new_doc(store, secret_prose(9), path=paths[0]))
    assert [d.path for d in store.list_documents()] == [paths[1], paths[2], paths[0]]
    assert [d.version for d in store.list_documents()] == [1, 1, 2]


def test_short_document_without_shingles(store: SQLiteStore) -> None:
    doc, action = store.add_document(new_doc(store, "only three words"))
    assert action == "added"
    assert doc.n_words == 3
    assert len(store.document_fingerprints(doc.doc_key)) == 0
    starts, ends, sigs = store.passage_signatures(doc.doc_key)
    assert starts.size == ends.size == 0
    assert sigs.shape == (0, store.params.num_perm)


# --- opening and refusing ---------------------------------------------------------------


def test_missing_store_without_create(tmp_path: Path) -> None:
    folder = tmp_path / "nowhere"
    with pytest.raises(StoreError) as err:
        SQLiteStore(folder)
    message = str(err.value)
    assert str(folder) in message
    assert "no fingerprint store" in message
    assert "leakwatch index add" in message
    assert not folder.exists()
    with pytest.raises(StoreError, match="no fingerprint store"):
        open_store(Config(store=str(folder)))


def test_reopen_keeps_data_and_params(folder: Path) -> None:
    params = FingerprintParams(shingle_size=4, winnow_window=10, passage_stride=20)
    with SQLiteStore(folder, params=params, create=True) as s:
        nd = new_doc(s, secret_prose())
        doc, _ = s.add_document(nd)
        key_id = s.key.key_id
    with SQLiteStore(folder) as s:
        assert s.params == params
        assert s.key.key_id == key_id
        hashes = nd.fingerprints.keyed[nd.fingerprints.winnowed]
        assert len(s.lookup_fingerprints(hashes)) == len(hashes)
        assert s.list_documents()[0].doc_key == doc.doc_key
    with SQLiteStore(folder, params=FingerprintParams(), create=True) as s:
        assert s.params == params  # an existing store keeps its own parameters


def test_other_format_version_is_refused(folder: Path) -> None:
    SQLiteStore(folder, create=True).close()
    con = sqlite3.connect(folder / DB_NAME)
    with con:
        con.execute("UPDATE meta SET value = '999' WHERE key = 'format_version'")
    con.close()
    with pytest.raises(StoreError) as err:
        SQLiteStore(folder)
    assert "999" in str(err.value)
    assert "version" in str(err.value)
    assert str(FORMAT_VERSION) in str(err.value)


def test_missing_format_version_is_refused(folder: Path) -> None:
    SQLiteStore(folder, create=True).close()
    con = sqlite3.connect(folder / DB_NAME)
    with con:
        con.execute("DELETE FROM meta WHERE key = 'format_version'")
    con.close()
    with pytest.raises(StoreError, match="no format version"):
        SQLiteStore(folder)


def test_other_key_is_refused(folder: Path, tmp_path: Path) -> None:
    SQLiteStore(folder, create=True).close()
    other = tmp_path / "other.key"
    load_or_create_key(other, create=True)
    with pytest.raises(StoreError, match="key"):
        SQLiteStore(folder, key_file=other)
    with pytest.raises(StoreError, match="does not belong"):
        open_store(Config(store=str(folder), key_file=str(other)))


def test_missing_key_is_refused(folder: Path) -> None:
    SQLiteStore(folder, create=True).close()
    (folder / KEY_NAME).unlink()
    with pytest.raises(StoreError, match="key"):
        SQLiteStore(folder)
    assert not (folder / KEY_NAME).exists()  # never silently recreated


def test_file_that_is_not_a_store(folder: Path) -> None:
    folder.mkdir()
    (folder / DB_NAME).write_bytes(b"this is not sqlite at all" * 100)
    load_or_create_key(folder / KEY_NAME, create=True)
    with pytest.raises(StoreError, match="not a leakwatch store"):
        SQLiteStore(folder)


def test_open_store_checks_fingerprint_params(folder: Path) -> None:
    SQLiteStore(folder, create=True).close()
    with open_store(Config(store=str(folder))) as s:
        assert s.params == FingerprintParams()
    with open_store(Config(store=str(folder), fingerprint=FingerprintParams())) as s:
        assert s.params == FingerprintParams()
    with pytest.raises(StoreError, match="Fingerprint parameters are fixed") as err:
        open_store(Config(store=str(folder), fingerprint=FingerprintParams(shingle_size=4)))
    assert "shingle_size=4" in str(err.value)


def test_open_store_creates_with_config_params(folder: Path) -> None:
    params = FingerprintParams(winnow_window=12)
    with open_store(Config(store=str(folder), fingerprint=params), create=True) as s:
        assert s.params == params
    with open_store(Config(store=str(folder))) as s:
        assert s.params == params


def test_open_store_refuses_remote_backends() -> None:
    with pytest.raises(StoreError, match="redis"):
        open_store(Config(store="redis://localhost:6379/0"))


# --- look-ups ---------------------------------------------------------------------------


def test_lookup_fingerprints_matches_the_document(store: SQLiteStore) -> None:
    text = secret_prose(4, 600)
    nd = new_doc(store, text)
    doc, _ = store.add_document(nd)
    store.add_document(new_doc(store, secret_prose(5, 600), path="/docs/other.txt"))
    fp = nd.fingerprints
    k = store.params.shingle_size
    hashes = fp.keyed[fp.winnowed]
    query = np.concatenate([hashes[::-1], hashes[:3], np.array([1, 2, 3], dtype=np.uint64)])
    hits = store.lookup_fingerprints(query)
    assert len(hits) == len(hashes)
    assert hits.hashes.dtype == np.uint64
    assert set(hits.doc_keys.tolist()) == {doc.doc_key}
    order = np.argsort(hits.positions)
    assert np.array_equal(hits.positions[order], fp.winnowed)
    assert np.array_equal(hits.hashes[order], hashes)
    for pos, start, end in zip(hits.positions[order], hits.char_starts[order], hits.char_ends[order], strict=True):
        assert start == fp.tokens.starts[pos]
        assert end == fp.tokens.ends[pos + k - 1]
        assert tokenize(text[start:end]).ids.tolist() == fp.tokens.ids[pos : pos + k].tolist()
    stored = store.document_fingerprints(doc.doc_key)
    assert np.array_equal(stored.positions, fp.winnowed)
    assert np.array_equal(stored.hashes, hashes)
    picked = stored.select(stored.positions < 50)
    assert len(picked) == int(np.count_nonzero(fp.winnowed < 50))


def test_high_bit_hashes_survive_signed_integers(folder: Path) -> None:
    # winnow_window=1 stores every shingle, so about half the hashes have their top bit set.
    with SQLiteStore(folder, params=FingerprintParams(winnow_window=1), create=True) as s:
        nd = new_doc(s, secret_prose())
        doc, _ = s.add_document(nd)
        keyed = nd.fingerprints.keyed
        assert nd.fingerprints.winnowed.size == keyed.size
        high = keyed[keyed >= np.uint64(2**63)]
        assert high.size > 50
        hits = s.lookup_fingerprints(high)
        assert hits.hashes.dtype == np.uint64
        assert np.array_equal(np.sort(hits.hashes), np.sort(high))
        assert np.array_equal(s.document_fingerprints(doc.doc_key).hashes, keyed)


def test_lookup_fingerprints_empty_and_unknown(store: SQLiteStore) -> None:
    store.add_document(new_doc(store, secret_prose()))
    for query in (np.zeros(0, dtype=np.uint64), np.array([0, 2**64 - 1, 12345], dtype=np.uint64)):
        hits = store.lookup_fingerprints(query)
        assert len(hits) == 0
        assert hits.positions.shape == (0,)


def test_lookup_passages_finds_identical_signatures(store: SQLiteStore) -> None:
    nd = new_doc(store, secret_prose(6, 900))
    doc, _ = store.add_document(nd)
    other, _ = store.add_document(new_doc(store, secret_prose(7, 900), path="/docs/other.txt"))
    passages = nd.fingerprints.passages
    assert len(passages) > 3
    keys = band_keys(passages.signatures, store.lsh_bands, store.lsh_rows)
    hits = store.lookup_passages(keys)
    found = set(zip(hits.query_passages.tolist(), hits.doc_keys.tolist(), hits.passage_indexes.tolist(),
                    strict=True))
    for i in range(len(passages)):
        assert (i, doc.doc_key, i) in found
    assert other.doc_key not in set(hits.doc_keys.tolist())
    starts, ends, sigs = store.passage_signatures(doc.doc_key)
    assert np.array_equal(starts, passages.shingle_starts)
    assert np.array_equal(ends, passages.shingle_ends)
    assert np.array_equal(sigs, passages.signatures)
    # One passage alone, as a query, finds its stored self.
    single = store.lookup_passages(keys[2:3])
    assert (0, doc.doc_key, 2) in set(zip(single.query_passages.tolist(), single.doc_keys.tolist(),
                                          single.passage_indexes.tolist(), strict=True))


def test_lookup_passages_nothing(store: SQLiteStore) -> None:
    store.add_document(new_doc(store, secret_prose()))
    empty = store.lookup_passages(np.zeros((0, store.lsh_bands), dtype=np.int64))
    assert empty.query_passages.shape == (0,)
    unrelated = new_doc(store, make_text(77, 500)).fingerprints.passages.signatures
    hits = store.lookup_passages(band_keys(unrelated, store.lsh_bands, store.lsh_rows))
    assert hits.doc_keys.size == 0


def test_lsh_shape_is_recorded(store: SQLiteStore, folder: Path) -> None:
    con = sqlite3.connect(folder / DB_NAME)
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    con.close()
    assert (int(meta["lsh_bands"]), int(meta["lsh_rows"])) == (store.lsh_bands, store.lsh_rows)
    assert meta["key_id"] == store.key.key_id
    assert meta["minhash_scheme"] == "affine32"


# --- the band tables' layout, and bulk loads -----------------------------------------------

OLD_BAND_TABLES = """
DROP TABLE bands;
DROP TABLE bag_bands;
CREATE TABLE bands (band INTEGER NOT NULL, key INTEGER NOT NULL,
    doc_key INTEGER NOT NULL REFERENCES documents(doc_key) ON DELETE CASCADE, idx INTEGER NOT NULL);
CREATE INDEX bands_key ON bands(band, key);
CREATE INDEX bands_doc ON bands(doc_key);
CREATE TABLE bag_bands (band INTEGER NOT NULL, key INTEGER NOT NULL,
    doc_key INTEGER NOT NULL REFERENCES documents(doc_key) ON DELETE CASCADE, idx INTEGER NOT NULL);
CREATE INDEX bag_bands_key ON bag_bands(band, key);
CREATE INDEX bag_bands_doc ON bag_bands(doc_key);
"""


def band_rows(folder: Path) -> dict[str, int]:
    return {t: count_rows(folder, t) for t in ("bands", "bag_bands")}


@pytest.mark.parametrize("layout", ["keyed", "old"])
def test_band_rows_follow_their_document(folder: Path, layout: str) -> None:
    """New stores keep band rows in one keyed B-tree without an index by document (their
    rows are deleted by recomputed keys); stores made before keep theirs through the
    cascade. Both leave nothing of a removed or replaced document behind."""
    with SQLiteStore(folder, create=True) as store:
        if layout == "old":
            store._db.executescript(OLD_BAND_TABLES)
    with SQLiteStore(folder) as store:
        assert store._bands_by_doc is (layout == "old")
        a_nd = new_doc(store, secret_prose(1), "/docs/a.txt")
        a, _ = store.add_document(a_nd)
        b, _ = store.add_document(new_doc(store, secret_prose(2), "/docs/b.txt"))
        per_doc = len(a_nd.fingerprints.passages) * (store.lsh_bands + store.bag_lsh_bands)
        assert sum(band_rows(folder).values()) == 2 * per_doc
        keys = band_keys(a_nd.fingerprints.passages.signatures, store.lsh_bands, store.lsh_rows)
        assert set(store.lookup_passages(keys).doc_keys.tolist()) == {a.doc_key}
        # Replaced: the old version's rows go, the new version's come.
        a2, action = store.add_document(new_doc(store, secret_prose(3), "/docs/a.txt"))
        assert action == "replaced"
        assert count_rows(folder, "bands", a.doc_key) == count_rows(folder, "bag_bands", a.doc_key) == 0
        assert store.lookup_passages(keys).doc_keys.size == 0
        assert sum(band_rows(folder).values()) == 2 * per_doc
        assert store.remove_document(a2.doc_id) is True
        assert count_rows(folder, "bands", a2.doc_key) == count_rows(folder, "bag_bands", a2.doc_key) == 0
        assert sum(band_rows(folder).values()) == per_doc
        assert count_rows(folder, "bands", b.doc_key) == len(a_nd.fingerprints.passages) * store.lsh_bands


def test_band_rows_not_found_by_key_are_deleted_all_the_same(store: SQLiteStore, folder: Path) -> None:
    doc, _ = store.add_document(new_doc(store, secret_prose(1)))
    # Rows the recomputed keys do not name (as if the keys had been computed otherwise).
    store._db.execute("UPDATE bands SET key = key + 1 WHERE doc_key = ? AND idx = 0", (doc.doc_key,))
    assert store.remove_document(doc.doc_id)
    assert band_rows(folder) == {"bands": 0, "bag_bands": 0}


def test_bulk_groups_changes_into_fewer_commits(store: SQLiteStore, folder: Path) -> None:
    generation = int(store.generation().rsplit(":", 1)[1])
    with store.bulk(max_seconds=3600, max_changes=3):
        for i in range(4):
            store.add_document(new_doc(store, secret_prose(i + 1), f"/docs/{i}.txt"))
            # A reader sees whole groups only: 3 documents once the third is in.
            assert count_rows(folder, "documents") == (3 if i >= 2 else 0)
        assert store._db.in_transaction
    assert not store._db.in_transaction
    assert count_rows(folder, "documents") == 4  # the rest, committed on leaving
    assert store.generation().endswith(f":{generation + 4}")  # every change counted
    assert store._db.execute("PRAGMA cache_size").fetchone()[0] == -2000  # SQLite's default again


def test_failed_change_in_bulk_is_undone_alone(store: SQLiteStore, folder: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    insert = SQLiteStore._insert_fingerprints
    calls = []

    def failing(self: SQLiteStore, doc_key: int, fp: object) -> None:
        calls.append(doc_key)
        insert(self, doc_key, fp)  # type: ignore[arg-type]
        if len(calls) == 3:
            raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(SQLiteStore, "_insert_fingerprints", failing)
    with pytest.raises(StoreError, match=r"/docs/2\.txt was not added; the store is as it was before it"), \
            store.bulk(max_seconds=3600, max_changes=100):
        for i in range(5):
            store.add_document(new_doc(store, secret_prose(i + 1), f"/docs/{i}.txt"))
    assert not store._db.in_transaction
    # The two before it were committed whole, as change-by-change commits would have left them.
    assert [d.path for d in store.list_documents()] == ["/docs/0.txt", "/docs/1.txt"]
    n_passages = count_rows(folder, "passages")
    assert count_rows(folder, "bands") == n_passages * store.lsh_bands
    monkeypatch.undo()
    assert store.add_document(new_doc(store, secret_prose(3), "/docs/2.txt"))[1] == "added"


def test_interrupted_bulk_keeps_the_changes_before(store: SQLiteStore, folder: Path) -> None:
    with pytest.raises(KeyboardInterrupt), store.bulk(max_seconds=3600, max_changes=100):
        store.add_document(new_doc(store, secret_prose(1), "/docs/a.txt"))
        raise KeyboardInterrupt
    assert count_rows(folder, "documents") == 1
