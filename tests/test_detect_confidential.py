"""The confidential detector beyond the CLI cases: boilerplate, and what the store gives an attacker."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from leakwatch.cli import cli
from leakwatch.config import FingerprintParams
from leakwatch.fingerprint import block_minima, shingle_hashes
from leakwatch.store.sqlite.store import FORWARD_FP
from leakwatch.text import tokenize
from tests.conftest import make_text

DISCLAIMER = (
    "This document contains information that is proprietary to the company and is provided to the "
    "recipient solely for the purpose of evaluating the engagement described herein and must not be "
    "disclosed to any third party without the prior written consent of the company legal department."
)


def _index(tmp_path: Path, texts: dict[str, str]) -> Path:
    folder = tmp_path / "confidential"
    folder.mkdir()
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    store = tmp_path / "store"
    result = CliRunner().invoke(cli, ["index", "add", str(folder), "--store", str(store)])
    assert result.exit_code == 0, result.output
    return store


def _scan(store: Path, path: Path) -> dict:
    result = CliRunner().invoke(cli, ["scan", str(path), "--store", str(store), "--format", "json"])
    return json.loads(result.stdout)


def test_boilerplate_in_many_documents_is_not_a_leak(tmp_path: Path, vocabulary: list[str]) -> None:
    docs = {f"doc{i}.txt": DISCLAIMER + "\n\n" + make_text(40 + i, 400, vocabulary) for i in range(8)}
    store = _index(tmp_path, docs)
    deliverable = tmp_path / "deliverable.txt"
    deliverable.write_text(make_text(60, 300, vocabulary) + "\n\n" + DISCLAIMER + "\n", encoding="utf-8")
    assert _scan(store, deliverable)["findings"] == []
    # a real excerpt next to the disclaimer is still reported, against its own document
    secret = docs["doc3.txt"].split("\n\n", 1)[1]
    excerpt = " ".join(secret.split()[100:160])
    deliverable.write_text(DISCLAIMER + "\n\n" + excerpt + "\n", encoding="utf-8")
    [finding] = _scan(store, deliverable)["findings"]
    assert Path(finding["source"]["path"]).name == "doc3.txt"
    assert finding["scores"]["matched_words"] >= 55


def test_shared_text_in_few_documents_still_counts(tmp_path: Path, vocabulary: list[str]) -> None:
    """Below the document-frequency limit a shared passage is evidence, not boilerplate."""
    docs = {f"doc{i}.txt": DISCLAIMER + "\n\n" + make_text(70 + i, 300, vocabulary) for i in range(2)}
    store = _index(tmp_path, docs)
    deliverable = tmp_path / "d.txt"
    deliverable.write_text(make_text(80, 200, vocabulary) + "\n\n" + DISCLAIMER, encoding="utf-8")
    [finding] = _scan(store, deliverable)["findings"]
    assert len(finding["also_in"]) == 1


def test_attacker_without_the_key_cannot_match_stored_values(tmp_path: Path, secret_text: str) -> None:
    """Recompute what an attacker could from the public parameters (unkeyed shingle
    hashes, unkeyed MinHash slots) and look for them in the database: none is there."""
    store = _index(tmp_path, {"secret.txt": secret_text})
    db = sqlite3.connect(store / "leakwatch.sqlite")
    stored_hashes = {int(h) for row in db.execute("SELECT fingerprints FROM documents")
                     for h in np.frombuffer(row[0], dtype=FORWARD_FP)["hash"].view(np.int64)}
    assert stored_hashes
    params = FingerprintParams()
    tokens = tokenize(secret_text)
    unkeyed = shingle_hashes(tokens.ids, params.shingle_size)
    assert not stored_hashes & set(unkeyed.view(np.int64).tolist())
    assert not stored_hashes & set(tokens.ids.view(np.int64).tolist())
    # the stored document signature is not the MinHash of the unkeyed shingles
    [stored_sig] = [np.frombuffer(row[0], dtype="<u4") for row in db.execute("SELECT signature FROM documents")]
    attacker_sig = block_minima(unkeyed, max(1, unkeyed.shape[0]), params).min(axis=0)
    assert np.count_nonzero(stored_sig == attacker_sig) <= 3  # chance agreement only
    db.close()


def test_top_documents_ranks_by_hits() -> None:
    from leakwatch.detect.confidential import top_documents

    hits = np.array([5, 3, 3, 9, 9, 9, 1, 5, 5, 5])
    assert top_documents(hits, 2) == {5, 9}
    assert top_documents(hits, 0) == set()
    assert top_documents(np.zeros(0, dtype=np.int64), 3) == set()
    assert top_documents(np.array([4, 2]), 1) == {2}  # ties: lower key first


def test_verified_sources_are_kept_up_to_a_word_budget_and_unreadable_ones_retried(
        tmp_path: Path, vocabulary: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm scanner reads each registered source once (the daemon re-read 163 sources a
    deliverable at 1M passages when only 32 were kept), keeps at most
    detect.source_cache_words words of them, and tries one it could not read again later."""
    import dataclasses
    from collections.abc import Callable
    from typing import Any

    from leakwatch.config import Config
    from leakwatch.detect.sources import SourceReader
    from leakwatch.extract import read_again as read_here
    from leakwatch.store import open_store

    store_dir = _index(tmp_path, {f"doc{i}.txt": make_text(60 + i, 300, vocabulary) for i in range(3)})
    config = Config(store=str(store_dir))
    reads: list[str] = []

    def counted(path: str, accept: Callable[[bytes], bool]) -> Any:
        reads.append(Path(path).name)
        return read_here(path, config.extract, accept)

    with open_store(config) as store:
        docs = sorted(store.list_documents(), key=lambda d: d.path)
        reader = SourceReader(store, config, read_again=counted)
        for _ in range(3):
            assert all(reader.get(d) is not None for d in docs)
        assert reads == ["doc0.txt", "doc1.txt", "doc2.txt"]  # once each
        small = SourceReader(store, dataclasses.replace(config, detect=dataclasses.replace(
            config.detect, source_cache_words=2 * docs[0].n_words)), read_again=counted)
        reads.clear()
        for _ in range(2):
            for d in docs:
                small.get(d)
        assert reads == ["doc0.txt", "doc1.txt", "doc2.txt"] * 2  # two fit: the least recent goes first
        moved = Path(docs[0].path).rename(tmp_path / "elsewhere.txt")
        fresh = SourceReader(store, config, read_again=counted)
        reads.clear()
        assert fresh.get(docs[0]) is None and fresh.get(docs[0]) is None and reads == ["doc0.txt"]
        moved.rename(docs[0].path)
        monkeypatch.setattr(SourceReader, "RETRY_UNREADABLE_S", 0.0)
        assert fresh.get(docs[0]) is not None and reads == ["doc0.txt", "doc0.txt"]
