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
from leakwatch.store import segments as seg
from leakwatch.store.sqlite import DB_NAME, KEY_NAME, segment_folder
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


def store_files(folder: Path) -> dict[str, bytes]:
    """Every file of a store folder (its segment files included), by relative path."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def index_entries(folder: Path) -> dict[str, dict[int, int]]:
    """Look-up entries (fingerprints, LSH postings) per document in the committed segments,
    removed documents included: what a merge has not dropped yet."""
    con = sqlite3.connect(folder / DB_NAME)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM segments")]
    finally:
        con.close()
    out: dict[str, dict[int, int]] = {"fingerprints": {}, "postings": {}}
    for name in names:
        p = seg.Segment.open(segment_folder(folder / DB_NAME) / name).postings
        for doc, n in zip(*np.unique(p["fp_doc"], return_counts=True), strict=True):
            out["fingerprints"][int(doc)] = out["fingerprints"].get(int(doc), 0) + int(n)
        owners = p["doc_key"][seg.owners(p["doc_first_pid"], p["band_pid"])]
        for doc, n in zip(*np.unique(owners, return_counts=True), strict=True):
            out["postings"][int(doc)] = out["postings"].get(int(doc), 0) + int(n)
    return out


def bag_keys(store: SQLiteStore, nd: NewDocument) -> np.ndarray:
    return band_keys(nd.fingerprints.bag_signatures, store.bag_lsh_bands, store.bag_lsh_rows)


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
        segments = segment_folder(folder / DB_NAME)
        assert mode(segments) == 0o700
        files = list(segments.iterdir())
        assert files and all(mode(f) == 0o600 for f in files)


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
        snapshots = [store_files(folder)]
        assert DB_NAME + "-wal" in snapshots[0]
        assert any(name.endswith(seg.SUFFIX) for name in snapshots[0])
    snapshots.append(store_files(folder))
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
    entries = index_entries(folder)
    again, action = store.add_document(new_doc(store, text))
    assert action == "unchanged"
    assert again.doc_key == first.doc_key
    assert again.version == 1
    assert index_entries(folder) == entries
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
    # The old version's entries are left out of look-ups at once, and dropped by a merge.
    assert store.lookup_passages(bag_keys(store, old_nd), bag=True).doc_keys.tolist() == []
    n_passages = len(new_nd.fingerprints.passages)
    assert len(store.passage_spans(doc.doc_key)[0]) == n_passages
    assert len(store.document_fingerprints(doc.doc_key)) == len(new_hashes)
    store.compact()
    entries = index_entries(folder)
    assert entries["fingerprints"] == {doc.doc_key: len(new_hashes)}
    assert entries["postings"] == {doc.doc_key: n_passages * store.bag_lsh_bands}
    assert count_rows(folder, "removed") == 0
    assert np.array_equal(store.find_document(doc.doc_id).signature, new_nd.fingerprints.signature)
    third, action = store.add_document(new_doc(store, secret_prose(3)))
    assert (action, third.version) == ("replaced", 3)


def test_remove_cascades(store: SQLiteStore, folder: Path) -> None:
    a_nd = new_doc(store, secret_prose(1), path="/docs/a.txt")
    a, _ = store.add_document(a_nd)
    b, _ = store.add_document(new_doc(store, secret_prose(2), path="/docs/b.txt"))
    before = index_entries(folder)
    for kind in ("fingerprints", "postings"):
        assert before[kind][a.doc_key] > 0 and before[kind][b.doc_key] > 0
    assert store.remove_document(a.doc_id) is True
    # Tombstoned: no look-up returns it, before or after a merge.
    hashes = a_nd.fingerprints.keyed[a_nd.fingerprints.winnowed]
    assert a.doc_key not in set(store.lookup_fingerprints(hashes).doc_keys.tolist())
    assert a.doc_key not in set(store.lookup_passages(bag_keys(store, a_nd), bag=True).doc_keys.tolist())
    assert len(store.document_fingerprints(a.doc_key)) == 0
    assert store.compact() >= 1
    after = index_entries(folder)
    for kind in ("fingerprints", "postings"):
        assert a.doc_key not in after[kind]
        assert after[kind][b.doc_key] == before[kind][b.doc_key]
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
    starts, ends = store.passage_spans(doc.doc_key)
    assert starts.size == ends.size == 0


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
    keys = bag_keys(store, nd)
    hits = store.lookup_passages(keys, bag=True)
    found = set(zip(hits.query_passages.tolist(), hits.doc_keys.tolist(), hits.passage_indexes.tolist(),
                    strict=True))
    for i in range(len(passages)):
        assert (i, doc.doc_key, i) in found
    assert other.doc_key not in set(hits.doc_keys.tolist())
    starts, ends = store.passage_spans(doc.doc_key)
    assert np.array_equal(starts, passages.shingle_starts)
    assert np.array_equal(ends, passages.shingle_ends)
    # The shingle bands are not indexed: every look-up of them is empty.
    assert store.lsh_bands == 0
    assert store.lookup_passages(band_keys(passages.signatures, 25, 5)).doc_keys.size == 0
    # One passage alone, as a query, finds its stored self.
    single = store.lookup_passages(keys[2:3], bag=True)
    assert (0, doc.doc_key, 2) in set(zip(single.query_passages.tolist(), single.doc_keys.tolist(),
                                          single.passage_indexes.tolist(), strict=True))


def test_lookup_passages_nothing(store: SQLiteStore) -> None:
    store.add_document(new_doc(store, secret_prose()))
    empty = store.lookup_passages(np.zeros((0, store.bag_lsh_bands), dtype=np.int64), bag=True)
    assert empty.query_passages.shape == (0,)
    unrelated = new_doc(store, make_text(77, 500), path="/docs/unrelated.txt")
    hits = store.lookup_passages(bag_keys(store, unrelated), bag=True)
    assert hits.doc_keys.size == 0


def test_lsh_shape_is_recorded(store: SQLiteStore, folder: Path) -> None:
    con = sqlite3.connect(folder / DB_NAME)
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    con.close()
    assert (int(meta["lsh_bands"]), int(meta["lsh_rows"])) == (store.lsh_bands, store.lsh_rows)
    assert meta["key_id"] == store.key.key_id
    assert meta["minhash_scheme"] == "affine32"


# --- segments, merges and bulk loads ----------------------------------------------------


def test_each_commit_writes_one_segment_and_merges_keep_every_entry(folder: Path) -> None:
    with SQLiteStore(folder, create=True) as store:
        docs = [new_doc(store, secret_prose(i + 1), f"/docs/{i}.txt") for i in range(seg.FANOUT + 2)]
        for nd in docs[:seg.FANOUT - 1]:
            store.add_document(nd)
        assert count_rows(folder, "segments") == seg.FANOUT - 1
        store.add_document(docs[seg.FANOUT - 1])  # the FANOUT-th segment of one size class: merged
        assert count_rows(folder, "segments") == 1
        with store.bulk(max_seconds=3600, max_changes=100):
            for nd in docs[seg.FANOUT:]:
                store.add_document(nd)
        assert count_rows(folder, "segments") == 2  # one per commit
        listed = {r for (r,) in sqlite3.connect(folder / DB_NAME).execute("SELECT name FROM segments")}
        assert {p.name for p in segment_folder(folder / DB_NAME).iterdir()} == listed
        for nd in docs:
            doc = store.find_document(nd.path)
            hashes = nd.fingerprints.keyed[nd.fingerprints.winnowed]
            assert len(store.lookup_fingerprints(hashes).select(
                store.lookup_fingerprints(hashes).doc_keys == doc.doc_key)) == len(hashes)
            hits = store.lookup_passages(bag_keys(store, nd), bag=True)
            assert doc.doc_key in set(hits.doc_keys.tolist())
        assert store.compact() == 2
        assert count_rows(folder, "segments") == 1


def test_a_segment_file_not_in_the_catalogue_is_ignored_then_deleted(store: SQLiteStore, folder: Path) -> None:
    store.add_document(new_doc(store, secret_prose(1), "/docs/a.txt"))
    orphan = segment_folder(folder / DB_NAME) / f"0123456789abcdef{seg.SUFFIX}"
    orphan.write_bytes(b"what a crashed writer left")
    nd = new_doc(store, secret_prose(2), "/docs/b.txt")
    store.add_document(nd)
    assert len(store.lookup_fingerprints(nd.fingerprints.keyed)) > 0
    assert store.compact() >= 1
    assert not orphan.exists()


def test_a_damaged_segment_is_a_store_error(store: SQLiteStore, folder: Path) -> None:
    nd = new_doc(store, secret_prose(1))
    store.add_document(nd)
    (path,) = segment_folder(folder / DB_NAME).iterdir()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with SQLiteStore(folder) as reader, pytest.raises(StoreError, match=r"cannot read the store.*truncated"):
        reader.lookup_fingerprints(nd.fingerprints.keyed)


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
    put = SQLiteStore._put_document
    calls = []

    def failing(self: SQLiteStore, *args: object) -> int:
        calls.append(args)
        doc_key = put(self, *args)  # type: ignore[arg-type]
        if len(calls) == 3:
            raise sqlite3.OperationalError("disk I/O error")
        return doc_key

    monkeypatch.setattr(SQLiteStore, "_put_document", failing)
    with pytest.raises(StoreError, match=r"/docs/2\.txt was not added; the store is as it was before it"), \
            store.bulk(max_seconds=3600, max_changes=100):
        for i in range(5):
            store.add_document(new_doc(store, secret_prose(i + 1), f"/docs/{i}.txt"))
    assert not store._db.in_transaction
    # The two before it were committed whole, as change-by-change commits would have left them.
    docs = store.list_documents()
    assert [d.path for d in docs] == ["/docs/0.txt", "/docs/1.txt"]
    entries = index_entries(folder)  # the failed change's entries were not written
    assert set(entries["postings"]) == set(entries["fingerprints"]) == {d.doc_key for d in docs}
    monkeypatch.undo()
    assert store.add_document(new_doc(store, secret_prose(3), "/docs/2.txt"))[1] == "added"


def test_interrupted_bulk_keeps_the_changes_before(store: SQLiteStore, folder: Path) -> None:
    with pytest.raises(KeyboardInterrupt), store.bulk(max_seconds=3600, max_changes=100):
        store.add_document(new_doc(store, secret_prose(1), "/docs/a.txt"))
        raise KeyboardInterrupt
    assert count_rows(folder, "documents") == 1


# --- upgrading a format-1 store -----------------------------------------------------------

V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents (doc_key INTEGER PRIMARY KEY AUTOINCREMENT, doc_id TEXT NOT NULL UNIQUE, path TEXT NOT NULL,
    content_mac TEXT NOT NULL, size INTEGER NOT NULL, label TEXT NOT NULL, owner TEXT, added_at TEXT NOT NULL,
    format TEXT NOT NULL, extractor_version TEXT NOT NULL, version INTEGER NOT NULL, n_words INTEGER NOT NULL,
    n_chars INTEGER NOT NULL, page_starts TEXT NOT NULL, signature BLOB NOT NULL);
CREATE TABLE fingerprints (hash INTEGER NOT NULL, doc_key INTEGER NOT NULL REFERENCES documents(doc_key)
    ON DELETE CASCADE, pos INTEGER NOT NULL, char_start INTEGER NOT NULL, char_end INTEGER NOT NULL);
CREATE INDEX fingerprints_hash ON fingerprints(hash);
CREATE INDEX fingerprints_doc ON fingerprints(doc_key);
CREATE TABLE passages (doc_key INTEGER NOT NULL REFERENCES documents(doc_key) ON DELETE CASCADE,
    idx INTEGER NOT NULL, shingle_start INTEGER NOT NULL, shingle_end INTEGER NOT NULL, signature BLOB NOT NULL,
    bag_signature BLOB NOT NULL, PRIMARY KEY (doc_key, idx));
CREATE TABLE bands (band INTEGER NOT NULL, key INTEGER NOT NULL, doc_key INTEGER NOT NULL, idx INTEGER NOT NULL,
    PRIMARY KEY (band, key, doc_key, idx)) WITHOUT ROWID;
CREATE TABLE bag_bands (band INTEGER NOT NULL, key INTEGER NOT NULL, doc_key INTEGER NOT NULL,
    idx INTEGER NOT NULL, PRIMARY KEY (band, key, doc_key, idx)) WITHOUT ROWID;
CREATE TABLE allowed (hash INTEGER PRIMARY KEY) WITHOUT ROWID;
"""


def make_v1_store(folder: Path, docs: list[tuple[str, str]]) -> None:
    """A store as leakwatch wrote it before format 2 (its schema and rows, written here)."""
    from leakwatch.fingerprint import lsh_shape
    from leakwatch.store.sqlite import params_meta

    folder.mkdir(mode=0o700)
    key = load_or_create_key(folder / KEY_NAME, create=True)
    params = FingerprintParams()
    meta = {**params_meta(params, key), "format_version": "1", "created_at": "2026-01-01T00:00:00+00:00"}
    meta["lsh_bands"], meta["lsh_rows"] = (str(v) for v in lsh_shape(params))
    con = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    con.executescript(V1_SCHEMA)
    con.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
    k = params.shingle_size
    for path, text in docs:
        fp = fingerprint_tokens(tokenize(text), params, key)
        doc_key = con.execute(
            "INSERT INTO documents (doc_id, path, content_mac, size, label, owner, added_at, format, "
            "extractor_version, version, n_words, n_chars, page_starts, signature) "
            "VALUES (?, ?, ?, ?, 'confidential', NULL, '2026-01-01', 'text', '1', 1, ?, ?, '[]', ?)",
            (key.doc_id(path), path, key.content_mac(text.encode()), len(text.encode()), fp.n_words, len(text),
             fp.signature.astype("<u4").tobytes())).lastrowid
        pos = fp.winnowed
        con.executemany("INSERT INTO fingerprints VALUES (?, ?, ?, ?, ?)", zip(
            fp.keyed[pos].view(np.int64).tolist(), [doc_key] * len(pos), pos.tolist(),
            fp.tokens.starts[pos].tolist(), fp.tokens.ends[pos + k - 1].tolist(), strict=True))
        con.executemany("INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?)", (
            (doc_key, i, int(fp.passages.shingle_starts[i]), int(fp.passages.shingle_ends[i]),
             fp.passages.signatures[i].astype("<u4").tobytes(), fp.bag_signatures[i].astype("<u4").tobytes())
            for i in range(len(fp.passages))))
    con.close()


def test_a_format_1_store_is_upgraded_in_place(tmp_path: Path) -> None:
    docs = [(f"/docs/{i}.txt", secret_prose(i + 1, 700)) for i in range(4)]
    old = tmp_path / "old"
    make_v1_store(old, docs)
    con = sqlite3.connect(old / DB_NAME)
    con.execute("DELETE FROM documents WHERE doc_key = 4")  # a removed document: its key is never reused
    con.commit()
    con.close()
    with SQLiteStore(old) as upgraded, SQLiteStore(tmp_path / "new", key_file=old / KEY_NAME, create=True) as fresh:
        for path, text in docs[:3]:
            fresh.add_document(new_doc(fresh, text, path))
        meta = dict(upgraded._db.execute("SELECT key, value FROM meta"))
        assert meta["format_version"] == str(FORMAT_VERSION) and meta["lsh_bands"] == "0"
        tables = {r[0] for r in upgraded._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert not tables & {"fingerprints", "passages", "bands", "bag_bands", "documents_v1"}
        assert [(d.doc_key, d.doc_id, d.version) for d in upgraded.list_documents()] == [
            (d.doc_key, d.doc_id, d.version) for d in fresh.list_documents()]
        for path, text in docs[:3]:
            nd = new_doc(fresh, text, path)
            a, b = upgraded.lookup_fingerprints(nd.fingerprints.keyed), fresh.lookup_fingerprints(nd.fingerprints.keyed)
            assert sorted(zip(a.hashes.tolist(), a.doc_keys.tolist(), a.positions.tolist(), a.char_ends.tolist(),
                              strict=True)) == sorted(zip(b.hashes.tolist(), b.doc_keys.tolist(),
                                                          b.positions.tolist(), b.char_ends.tolist(), strict=True))
            pa, pb = upgraded.lookup_passages(bag_keys(fresh, nd), bag=True), fresh.lookup_passages(
                bag_keys(fresh, nd), bag=True)
            assert np.array_equal(pa.doc_keys, pb.doc_keys) and np.array_equal(pa.passage_indexes, pb.passage_indexes)
            assert pa.doc_keys.size > 0
        added, action = upgraded.add_document(new_doc(upgraded, secret_prose(9, 300), "/docs/new.txt"))
        assert action == "added" and added.doc_key == 5
    with SQLiteStore(old) as again:  # upgraded once: opens as format 2
        assert again.count_documents() == 4


def test_a_failed_upgrade_leaves_the_format_1_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import leakwatch.store.sqlite.upgrade as upgrade

    old = tmp_path / "old"
    make_v1_store(old, [("/docs/a.txt", secret_prose(1, 400)), ("/docs/b.txt", secret_prose(2, 400))])
    before = (old / DB_NAME).read_bytes()

    def failing(*args: object) -> int:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(upgrade, "_insert", failing)
    with pytest.raises(StoreError, match="the store was not upgraded; it is as it was"):
        SQLiteStore(old)
    con = sqlite3.connect(old / DB_NAME)
    assert dict(con.execute("SELECT key, value FROM meta"))["format_version"] == "1"
    assert con.execute("SELECT COUNT(*) FROM fingerprints").fetchone()[0] > 0
    con.close()
    assert not list(segment_folder(old / DB_NAME).iterdir())
    assert len(before) > 0


def test_a_missing_segment_file_is_a_store_error(store: SQLiteStore, folder: Path) -> None:
    nd = new_doc(store, secret_prose(1))
    store.add_document(nd)
    for path in segment_folder(folder / DB_NAME).iterdir():
        path.unlink()
    with SQLiteStore(folder) as reader, pytest.raises(StoreError, match=r"segment file .* is missing"):
        reader.lookup_fingerprints(nd.fingerprints.keyed)
