"""``leakwatch index add -j N``: files analysed by worker processes give the store a
serial run gives it (documents, versions, fingerprints, postings) and the same errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from leakwatch.config import Config
from leakwatch.index_pool import documents_in_pool
from leakwatch.pipeline import extraction, index_paths
from leakwatch.store import SQLiteStore
from leakwatch.store.sqlite import KEY_NAME
from tests.conftest import make_text


def test_workers_index_what_one_process_indexes(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    for i in range(12):
        (docs / ("sub" if i % 3 else ".") / f"doc{i:02}.txt").write_text(make_text(40 + i, 400), encoding="utf-8")
    (docs / "binary.txt").write_bytes(b"\0\1\2" * 100)
    (docs / "short.txt").write_text("too short", encoding="utf-8")
    # An archive: each member a document of its own, from a worker as from one process.
    from tests.containerdata import zip_bytes

    (docs / "bundle.zip").write_bytes(zip_bytes({f"m{i}.txt": make_text(90 + i, 300).encode() for i in range(3)}))
    results = {}
    for workers in (1, 2):
        folder = tmp_path / f"store{workers}"
        key = tmp_path / "shared.key"
        with SQLiteStore(folder, key_file=key, create=True) as store, extraction(Config(store=str(folder))) as ex:
            config = Config(store=str(folder))
            pooled = (documents_in_pool([docs], config, store.params, store.key, "confidential", "legal", workers)
                      if workers > 1 else None)
            result = index_paths([docs], store, config, "confidential", "legal", ex, pooled)
            docs_ = store.list_documents()
            prints = {d.path: store.document_fingerprints(d.doc_key) for d in docs_}
            exported = {d.path: store.export_document(d.doc_key) for d in docs_}
        results[workers] = (result, docs_, prints, exported)
        assert not (folder / KEY_NAME).exists()
    (r1, d1, p1, e1), (r2, d2, p2, e2) = results[1], results[2]
    assert [d.path for d in d1] == [d.path for d in d2] and len(d1) == 15
    assert sum("bundle.zip!/m" in d.path for d in d2) == 3
    assert [(d.doc_id, d.version, d.n_words, d.content_mac, d.owner) for d in d1] == [
        (d.doc_id, d.version, d.n_words, d.content_mac, d.owner) for d in d2]
    assert [(e.path, e.status) for e in r1.errors] == [(e.path, e.status) for e in r2.errors]
    assert len(r2.errors) == 2
    for path in p1:
        assert np.array_equal(p1[path].hashes, p2[path].hashes)
        assert np.array_equal(p1[path].char_ends, p2[path].char_ends)
        assert sorted(e1[path].band_keys.tolist()) == sorted(e2[path].band_keys.tolist())
