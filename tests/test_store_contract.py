"""The store interface, held against every backend: the embedded store always, Redis where
redis-server and redis-py are installed (skipped there, never the embedded half)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from leakwatch.store import FingerprintStore, SQLiteStore
from tests.conftest import make_text, make_vocabulary
from tests.test_store_sqlite import new_doc, secret_prose

FILLER = make_vocabulary(99)


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FingerprintStore]:
    """Each backend in turn, empty, with the default parameters."""
    key = tmp_path / "host" / "leakwatch.key"
    if request.param == "sqlite":
        s: FingerprintStore = SQLiteStore(tmp_path / "store", key_file=key, create=True)
    else:
        pytest.importorskip("redis", reason="the redis client is not installed (pip install 'leakwatch[redis]')")
        from leakwatch.store.redis import RedisStore

        port = request.getfixturevalue("redis_server")
        s = RedisStore(f"redis://127.0.0.1:{port}/0?prefix=t{uuid.uuid4().hex[:12]}", key_file=key, create=True)
    yield s
    s.close()


def same(a: Any, b: Any) -> bool:
    """Two records (dataclasses holding arrays) are equal."""
    if a is None or b is None:
        return a is b
    return all(np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y
               for x, y in zip(dataclasses.astuple(a), dataclasses.astuple(b), strict=True))



def test_add_find_replace_remove(any_store: FingerprintStore) -> None:
    store = any_store
    g0 = store.generation()
    nd = new_doc(store, secret_prose(), path="/docs/a.txt", owner="finance")  # type: ignore[arg-type]
    doc, action = store.add_document(nd)
    assert action == "added" and doc.version == 1 and doc.doc_id == store.key.doc_id("/docs/a.txt")
    assert (doc.path, doc.label, doc.owner, doc.n_words, doc.n_chars) == ("/docs/a.txt", "confidential", "finance",
                                                                          nd.fingerprints.n_words, nd.n_chars)
    assert np.array_equal(doc.signature, nd.fingerprints.signature) and doc.signature.dtype == np.uint32
    assert same(store.find_document(doc.doc_id), doc) and same(store.find_document("/docs/a.txt"), doc)
    assert store.find_document("/docs/none.txt") is None
    assert list(store.documents([doc.doc_key, doc.doc_key, 999])) == [doc.doc_key]
    g1 = store.generation()
    assert g1 != g0
    assert store.add_document(nd)[1] == "unchanged" and store.generation() == g1
    relabelled, action = store.add_document(dataclasses.replace(nd, label="trade-secret"))
    assert (action, relabelled.version, relabelled.label) == ("replaced", 2, "trade-secret")
    new_nd = new_doc(store, secret_prose(2), path="/docs/a.txt")  # type: ignore[arg-type]
    old_hashes = nd.fingerprints.keyed[nd.fingerprints.winnowed]
    new_hashes = new_nd.fingerprints.keyed[new_nd.fingerprints.winnowed]
    third, action = store.add_document(new_nd)
    assert (action, third.version, store.count_documents()) == ("replaced", 3, 1)
    assert len(store.lookup_fingerprints(np.setdiff1d(old_hashes, new_hashes))) == 0
    hits = store.lookup_fingerprints(new_hashes)
    assert len(hits) == len(new_hashes) and set(hits.doc_keys.tolist()) == {third.doc_key}
    b, _ = store.add_document(new_doc(store, secret_prose(5), path="/docs/b.txt"))  # type: ignore[arg-type]
    assert [d.path for d in store.list_documents()] == ["/docs/a.txt", "/docs/b.txt"]
    g2 = store.generation()
    assert store.remove_document(third.doc_id) is True and store.generation() != g2
    assert store.remove_document(third.doc_id) is False
    assert [d.doc_id for d in store.list_documents()] == [b.doc_id]
    assert len(store.lookup_fingerprints(new_hashes)) == len(np.intersect1d(
        new_hashes, new_doc(store, secret_prose(5)).fingerprints.keyed))  # type: ignore[arg-type]


def test_paged_and_short_documents(any_store: FingerprintStore) -> None:
    store = any_store
    nd = dataclasses.replace(new_doc(store, secret_prose()), format="pdf", page_starts=(100, 900))  # type: ignore[arg-type]
    doc, _ = store.add_document(nd)
    assert doc.page_starts == (100, 900) and doc.page_of(899) == 2
    short, _ = store.add_document(new_doc(store, "only three words", path="/s.txt"))  # type: ignore[arg-type]
    assert short.n_words == 3 and len(store.document_fingerprints(short.doc_key)) == 0
    starts, ends = store.passage_spans(short.doc_key)
    assert starts.size == ends.size == 0


def test_notes(any_store: FingerprintStore) -> None:
    any_store.write_note("reference:b", '{"x": 1}')
    any_store.write_note("reference:a", "ä ö")
    any_store.write_note("allow:z", "1")
    assert any_store.read_notes("reference:") == {"reference:a": "ä ö", "reference:b": '{"x": 1}'}
    any_store.write_note("reference:a", None)
    assert list(any_store.read_notes("")) == ["allow:z", "reference:b"]


def test_tables_and_cells(any_store: FingerprintStore, tmp_path: Path) -> None:
    from leakwatch.config import ExtractLimits, RecordsParams
    from leakwatch.records.tables import build_table, read_table
    from tests.test_records import CLIENT_HEADER, client_rows, write_csv

    store = any_store
    path = write_csv(tmp_path / "clients.csv", CLIENT_HEADER, client_rows(300))
    built = build_table(read_table(path, ExtractLimits()), list(range(7)), [0, 1, 2, 3], store.key, "clients",
                        "sales", RecordsParams(), store.params)
    record, action = store.add_table(built)
    assert action == "added" and record.n_rows == 300 and record.columns == tuple(CLIENT_HEADER)
    assert store.add_table(built)[1] == "unchanged"
    assert same(store.find_table(str(path.resolve())), record) and same(store.find_table(record.table_id), record)
    values, distinctive = store.table_rows(record.table_key, np.array([5, 0]))
    assert np.array_equal(values, built.cells[[5, 0]]) and np.array_equal(distinctive, built.distinctive[[5, 0]])
    anchors = built.cells[built.anchors]
    hits = store.lookup_cells(np.concatenate([anchors, np.array([1, 2, 3], dtype=np.uint64)]))
    rows, cols = np.nonzero(built.anchors)
    assert sorted(zip(hits.rows.tolist(), hits.columns.tolist(), strict=True)) == sorted(
        zip(rows.tolist(), cols.tolist(), strict=True))
    again, action = store.add_table(dataclasses.replace(built, label="other"))
    assert (action, again.version) == ("replaced", 2)
    assert len(store.lookup_cells(anchors)) == len(hits)
    assert store.remove_table(again.table_id) and not store.remove_table(again.table_id)
    assert store.list_tables() == [] and len(store.lookup_cells(anchors)) == 0


def test_concurrent_adds_of_one_path_serialize_into_versions(any_store: FingerprintStore, tmp_path: Path) -> None:
    """Two hosts indexing the same new file at once: one adds it, the other replaces it with
    the next version (or finds it unchanged): never two "added v1" (issue 17)."""
    import threading

    key = tmp_path / "host" / "leakwatch.key"
    sqlite = isinstance(any_store, SQLiteStore)

    def connect() -> FingerprintStore:  # one connection per host (and per thread: SQLite's rule)
        return SQLiteStore(tmp_path / "store", key_file=key) if sqlite else _redis_store(any_store.location,
                                                                                        key_file=key)

    for round_ in range(4):
        path = f"/share/contract-{round_}.txt"
        barrier = threading.Barrier(2)
        results: list[Any] = [None, None]

        def add(i: int, path: str = path, barrier: threading.Barrier = barrier, round_: int = round_,
                results: list[Any] = results) -> None:
            store = connect()
            try:
                doc = new_doc(store, make_text(1000 * round_ + i, 3000, FILLER), path=path)  # type: ignore[arg-type]
                barrier.wait()
                results[i] = store.add_document(doc)
            finally:
                store.close()

        threads = [threading.Thread(target=add, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert None not in results, "an add failed"
        assert sorted(action for _, action in results) == ["added", "replaced"], (round_, results)
        assert sorted(doc.version for doc, _ in results) == [1, 2]
        final = any_store.find_document(results[0][0].doc_id)
        assert final is not None and final.version == 2
        assert len([d for d in any_store.list_documents() if d.path == path]) == 1


def _redis_store(location: str, key_file: Path) -> FingerprintStore:
    from leakwatch.store.redis import RedisStore

    return RedisStore(location, key_file=key_file)
