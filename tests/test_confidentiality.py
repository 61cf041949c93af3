"""What the store gives an attacker who has its files but not its key.

The attacker knows the public parameters (shingle size, MinHash permutations and
seed, LSH banding) and the code, guesses the document's exact text, and tries to
confirm it against the store: by looking for its words, and by hashing its
shingles and words every way the code (or datasketch's defaults) would without a
key. None of it may match. With the key file, the same computation matches
everything, so the test would fail if the keying were taken out.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from datasketch import MinHash
from datasketch.hashfunc import sha1_hash32

from leakwatch.config import Config, FingerprintParams
from leakwatch.fingerprint import (
    band_keys,
    block_minima,
    fmix32,
    passages_from_blocks,
    permutations,
    shingle_hashes,
)
from leakwatch.keys import SHINGLE_DOMAIN, WORD_BAG_DOMAIN, StoreKey, load_or_create_key, write_key
from leakwatch.pipeline import index_paths
from leakwatch.store import SQLiteStore
from leakwatch.store.segments import Segment, fold_bands
from leakwatch.store.sqlite import DB_NAME, KEY_NAME, segment_folder
from leakwatch.store.sqlite.store import FORWARD_FP
from leakwatch.text import content_mask, normalize_word, tokenize
from tests.conftest import make_text, make_vocabulary

K = 5
LOW32 = np.uint64(0xFFFF_FFFF)
# A fixed key makes the stored values, and so every comparison below, the same on each
# run: a chance 32-bit coincidence between thousands of values cannot make the test flaky.
TEST_KEY = StoreKey(hashlib.sha256(b"leakwatch confidentiality test key").digest())


def secret_document() -> str:
    """About 900 words of sentences made of long made-up words (all at least 7 letters,
    so that none turns up by chance in the stored binary values)."""
    vocabulary = [w for w in make_vocabulary(23, 4000) if len(w) >= 7][:700]
    return make_text(2024, 900, vocabulary)


@dataclass(frozen=True)
class Stored:
    """Every hash-like value in the store, read directly with sqlite3."""

    fingerprints: np.ndarray  # uint64
    bands: np.ndarray  # uint64
    bag_bands: np.ndarray  # uint64
    doc_signature: np.ndarray  # (num_perm,) uint32
    passage_signatures: np.ndarray  # (passages, num_perm) uint32
    bag_signatures: np.ndarray  # (passages, num_perm) uint32
    lsh: tuple[int, int, int, int]  # bands, rows, bag bands, bag rows

    @property
    def signatures(self) -> np.ndarray:
        return np.vstack([self.doc_signature[None, :], self.passage_signatures, self.bag_signatures])


def read_store(db: Path, num_perm: int) -> Stored:
    con = sqlite3.connect(db)
    try:
        def u64(sql: str) -> np.ndarray:
            return np.asarray([r[0] for r in con.execute(sql)], dtype=np.int64).view(np.uint64)

        def sigs(sql: str) -> np.ndarray:
            rows = [np.frombuffer(r[0], dtype="<u4") for r in con.execute(sql)]
            return np.asarray(rows, dtype=np.uint32).reshape(-1, num_perm)

        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        (doc_sig,) = sigs("SELECT signature FROM documents")
        forward = np.concatenate([np.frombuffer(r[0], dtype=FORWARD_FP)["hash"]
                                  for r in con.execute("SELECT fingerprints FROM documents")])
        segments = [Segment.open(segment_folder(db) / r[0]).postings for r in con.execute("SELECT name FROM segments")]
        # Format 2 keeps no passage signature, and LSH postings of the bag bands only.
        none = np.zeros((0, num_perm), dtype=np.uint32)
        return Stored(
            fingerprints=np.concatenate([forward, *(p["fp_hash"] for p in segments)]).astype(np.uint64),
            bands=np.zeros(0, dtype=np.uint64),
            bag_bands=np.concatenate([p["band_key"] for p in segments]).astype(np.uint64),
            doc_signature=doc_sig,
            passage_signatures=none,
            bag_signatures=none,
            lsh=(int(meta["lsh_bands"]), int(meta["lsh_rows"]), int(meta["bag_lsh_bands"]),
                 int(meta["bag_lsh_rows"])),
        )
    finally:
        con.close()


def shingle_strings(text: str) -> list[bytes]:
    """The document's 5-word shingles as text, as datasketch users hash them (both cases)."""
    raw = [w for w in text.replace(".", " ").split() if w]
    out = []
    for words in (raw, [normalize_word(w) for w in raw]):
        out += [" ".join(words[i : i + K]).encode() for i in range(len(words) - K + 1)]
    return out


def matches(stored: Stored, text: str, params: FingerprintParams,
            keyed: Callable[[np.ndarray, np.uint64], np.ndarray]) -> dict[str, int]:
    """How many stored values a guess of ``text`` explains, its hashes passed through ``keyed``
    (the identity for an attacker without the key)."""
    tokens = tokenize(text)
    shingles = keyed(shingle_hashes(tokens.ids, K), SHINGLE_DOMAIN)
    words = keyed(tokens.ids, WORD_BAG_DOMAIN)
    sha1 = np.asarray([sha1_hash32(s) for s in shingle_strings(text)], dtype=np.uint32)
    values32 = np.unique(np.concatenate([(shingles & LOW32).astype(np.uint32), (words & LOW32).astype(np.uint32),
                                         sha1]))
    values64 = np.concatenate([shingles, words])

    # The signatures and band keys the code computes from these values.
    stride = params.passage_stride
    blocks = block_minima(shingles, stride, params)
    passages = passages_from_blocks(blocks, shingles.shape[0], stride).signatures
    bag_blocks = block_minima(words, stride, params, mask=content_mask(tokens.ids))
    bags = passages_from_blocks(bag_blocks, words.shape[0], stride).signatures[: len(passages)]
    bands, rows, bag_bands, bag_rows = stored.lsh
    ds_default = MinHash()  # datasketch's defaults: sha1_hash32 of each string
    ds_default.update_batch(shingle_strings(text))
    ds_identity = MinHash(num_perm=params.num_perm, seed=params.seed, hashfunc=lambda v: v)
    ds_identity.update_batch((shingles & LOW32).astype(np.uint32).tolist())

    # Any stored slot value that the public permutations give for one of the 32-bit values.
    a, b = permutations(params.num_perm, params.seed)
    with np.errstate(over="ignore"):
        permuted = fmix32(values32)[:, None] * a[None, :] + b[None, :]
    all_sigs = stored.signatures
    slot_hits = sum(int(np.isin(all_sigs[:, i], permuted[:, i]).sum()) for i in range(params.num_perm))

    def equal_slots(mine: np.ndarray, theirs: np.ndarray) -> int:
        n = min(len(mine), len(theirs))
        return int(np.count_nonzero(mine[:n] == theirs[:n]))

    halves = np.concatenate([stored.fingerprints & LOW32, stored.fingerprints >> np.uint64(32)]).astype(np.uint32)
    return {
        "fingerprint hashes": int(np.isin(stored.fingerprints, values64).sum()),
        "fingerprint hash halves (32 bits)": int(np.isin(halves, values32).sum()),
        "band keys": int(np.isin(stored.bands, band_keys(passages, bands, rows).view(np.uint64)).sum()),
        "bag band keys": int(np.isin(stored.bag_bands, fold_bands(band_keys(bags, bag_bands, bag_rows))).sum()),
        "64-bit values among band keys": int(np.isin(np.concatenate([stored.bands, stored.bag_bands]), values64).sum()),
        "signature slots equal to a 32-bit value": int(np.isin(all_sigs, values32).sum()),
        "signature slots from the public permutations": slot_hits,
        "document signature slots": equal_slots(blocks.min(axis=0), stored.doc_signature),
        "passage signature slots": equal_slots(passages.ravel(), stored.passage_signatures.ravel()),
        "bag signature slots": equal_slots(bags.ravel(), stored.bag_signatures.ravel()),
        "datasketch default signature slots": equal_slots(ds_default.hashvalues, stored.doc_signature),
        "datasketch identity-hash signature slots": equal_slots(ds_identity.hashvalues, stored.doc_signature),
    }


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture()
def indexed(tmp_path: Path) -> tuple[Path, str, dict[str, bytes]]:
    """A store holding the secret document; (store folder, text, every store file's bytes,
    taken while the store is open and again after it is closed)."""
    text = secret_document()
    source = tmp_path / "src" / "memo.txt"
    source.parent.mkdir()
    source.write_text(text, encoding="utf-8")
    folder = tmp_path / "store"
    write_key(folder / KEY_NAME, TEST_KEY)
    files: dict[str, bytes] = {}
    with SQLiteStore(folder, create=True) as store:
        result = index_paths([source], store, Config(store=str(folder)), "confidential", None)
        assert len(result.added) == 1
        files.update({f"open:{p.name}": p.read_bytes() for p in folder.rglob("*") if p.is_file()})
    files.update({f"closed:{p.name}": p.read_bytes() for p in folder.rglob("*") if p.is_file()})
    assert f"open:{DB_NAME}-wal" in files
    return folder, text, files


def test_no_word_of_the_document_is_in_the_store_files(indexed: tuple[Path, str, dict[str, bytes]]) -> None:
    _, text, files = indexed
    words = {w for w in text.replace(".", " ").split() if len(w) >= 4}
    assert len(words) > 300
    forms = {form for w in words for form in (w, w.lower(), w.capitalize(), w.upper())}
    for name, data in files.items():
        if name.endswith(":" + KEY_NAME):
            continue
        for form in forms:
            for encoding in ("utf-8", "utf-16-le"):
                assert form.encode(encoding) not in data, (name, form, encoding)


def test_an_attacker_without_the_key_confirms_nothing(indexed: tuple[Path, str, dict[str, bytes]]) -> None:
    folder, text, _ = indexed
    params = FingerprintParams()
    stored = read_store(folder / DB_NAME, params.num_perm)
    assert len(stored.fingerprints) > 50 and len(stored.bag_bands) > 5 * stored.lsh[2]

    found = matches(stored, text, params, keyed=lambda values, domain: values)
    assert found == dict.fromkeys(found, 0)

    # The same computation with the key file explains every stored value.
    key = load_or_create_key(folder / KEY_NAME, create=False)
    assert key == TEST_KEY
    found = matches(stored, text, params, keyed=lambda values, domain: key.prf64(values, domain))
    n_slots = stored.signatures.size - int(np.count_nonzero(stored.signatures == 0xFFFF_FFFF))
    assert found["fingerprint hashes"] == len(stored.fingerprints)
    assert found["band keys"] == len(stored.bands)
    assert found["bag band keys"] == len(stored.bag_bands)
    assert found["signature slots from the public permutations"] == n_slots
    assert found["document signature slots"] == params.num_perm
    assert found["passage signature slots"] == stored.passage_signatures.size
    assert found["bag signature slots"] == stored.bag_signatures.size
    assert found["datasketch identity-hash signature slots"] == params.num_perm


def test_store_files_are_private_from_creation(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    with umask(0), SQLiteStore(folder, create=True):
        assert mode(folder) == 0o700
        names = sorted(p.name for p in folder.iterdir())
        assert {DB_NAME, KEY_NAME} <= set(names)
        for path in folder.rglob("*"):
            assert mode(path) == (0o700 if path.is_dir() else 0o600), path.name
    for path in folder.rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path.name

    # Through the command, with a permissive umask, in a folder that does not exist yet.
    doc = tmp_path / "memo.txt"
    doc.write_text(make_text(3, 300), encoding="utf-8")
    cli_store = tmp_path / "nested" / "cli-store"
    env = {k: v for k, v in os.environ.items() if k not in ("LEAKWATCH_DEBUG", "LEAKWATCH_STORE")}
    proc = subprocess.run([sys.executable, "-c", "from leakwatch.cli import main; main()", "index", "add", str(doc),
                           "--store", str(cli_store)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          preexec_fn=lambda: os.umask(0), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert mode(cli_store) == 0o700
    assert sorted(p.name for p in cli_store.iterdir())
    for path in cli_store.rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path.name
    assert any(p.suffix == ".seg" for p in cli_store.rglob("*"))
