"""The store key: file handling and the keyed functions derived from it."""

from __future__ import annotations

import hashlib
import hmac
import stat
import threading
from pathlib import Path

import numpy as np
import pytest

from leakwatch.keys import (
    KEY_BYTES,
    KEY_HEADER,
    SHINGLE_DOMAIN,
    WORD_BAG_DOMAIN,
    KeyFileError,
    StoreKey,
    load_or_create_key,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture()
def key() -> StoreKey:
    return StoreKey(bytes(range(KEY_BYTES)))


@pytest.fixture()
def other_key() -> StoreKey:
    return StoreKey(bytes(range(1, KEY_BYTES + 1)))


def test_created_key_file_is_private(tmp_path: Path) -> None:
    folder = tmp_path / "new-folder"
    path = folder / "leakwatch.key"
    created = load_or_create_key(path, create=True)
    assert mode(folder) == 0o700
    assert mode(path) == 0o600
    content = path.read_text(encoding="ascii")
    assert content.startswith(KEY_HEADER)
    assert content == KEY_HEADER + created.secret.hex() + "\n"
    assert len(created.secret) == KEY_BYTES


def test_existing_folder_mode_is_left_alone(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    load_or_create_key(tmp_path / "k", create=True)
    assert mode(tmp_path) == 0o755
    assert mode(tmp_path / "k") == 0o600


def test_reload_gives_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "leakwatch.key"
    first = load_or_create_key(path, create=True)
    again = load_or_create_key(path, create=False)
    also = load_or_create_key(path, create=True)  # an existing key is never replaced
    assert again.secret == first.secret == also.secret
    assert again.key_id == first.key_id
    assert len(first.key_id) == 16


def test_two_created_keys_differ(tmp_path: Path) -> None:
    a = load_or_create_key(tmp_path / "a.key", create=True)
    b = load_or_create_key(tmp_path / "b.key", create=True)
    assert a.secret != b.secret
    assert a.key_id != b.key_id


def test_missing_key_without_create(tmp_path: Path) -> None:
    path = tmp_path / "absent.key"
    with pytest.raises(KeyFileError, match="not found"):
        load_or_create_key(path, create=False)
    assert not path.exists()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a key\n",
        (KEY_HEADER + "zz" * KEY_BYTES + "\n").encode(),
        (KEY_HEADER + "ab" * (KEY_BYTES - 1) + "\n").encode(),
        (KEY_HEADER + "ab" * (KEY_BYTES + 1) + "\n").encode(),
        b"leakwatch-key-v1:\xff\xfe",
        ("leakwatch-key-v2:" + "ab" * KEY_BYTES).encode(),
    ],
)
def test_malformed_key_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.key"
    path.write_bytes(content)
    with pytest.raises(KeyFileError):
        load_or_create_key(path, create=True)
    assert path.read_bytes() == content  # never overwritten


def test_key_file_roundtrip_of_known_secret(tmp_path: Path, key: StoreKey) -> None:
    path = tmp_path / "known.key"
    path.write_text(KEY_HEADER + key.secret.hex() + "\n", encoding="ascii")
    path.chmod(0o600)
    assert load_or_create_key(path, create=False) == key


def test_a_key_file_others_can_read_is_used_with_a_warning(tmp_path: Path, key: StoreKey) -> None:
    from leakwatch.model import LeakwatchWarning

    path = tmp_path / "shared.key"
    path.write_text(KEY_HEADER + key.secret.hex() + "\n", encoding="ascii")
    path.chmod(0o640)
    with pytest.warns(LeakwatchWarning, match=r"can be read by others \(mode 0640\): run chmod 600"):
        assert load_or_create_key(path, create=False) == key


def test_key_id_does_not_reveal_the_secret(key: StoreKey) -> None:
    assert key.secret.hex()[:16] != key.key_id
    assert key.key_id not in key.secret.hex()


def test_prf64_keeps_equality(key: StoreKey) -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(0, 2**63, size=500, dtype=np.uint64)
    values[::7] = values[0]
    values[1::11] = np.uint64(2**64 - 1)
    out = key.prf64(values)
    assert out.dtype == np.uint64
    assert out.shape == values.shape
    # Equal inputs give equal outputs, different inputs different outputs.
    n_distinct = np.unique(values).size
    assert n_distinct < values.size
    assert np.unique(out).size == n_distinct
    assert np.unique(np.stack([values, out], axis=1), axis=0).shape[0] == n_distinct
    assert np.all(out[values == values[0]] == out[0])
    # Deterministic, and element-wise (a value's output does not depend on its neighbours).
    assert np.array_equal(key.prf64(values), out)
    assert np.array_equal(key.prf64(values[::-1]), out[::-1])
    assert np.array_equal(key.prf64(values[3:4]), out[3:4])
    assert not np.array_equal(out, values)


def test_prf64_depends_on_the_key(key: StoreKey, other_key: StoreKey) -> None:
    values = np.arange(1000, dtype=np.uint64)
    a, b = key.prf64(values), other_key.prf64(values)
    assert np.count_nonzero(a == b) == 0


@pytest.mark.parametrize("dtype", [np.uint64, np.int64, np.uint32])
def test_prf64_accepts_integer_arrays(key: StoreKey, dtype: type) -> None:
    values = np.arange(10, dtype=dtype)
    out = key.prf64(values)
    assert out.dtype == np.uint64
    assert np.array_equal(out, key.prf64(np.arange(10, dtype=np.uint64)))


def reference_prf64(secret: bytes, values: np.ndarray, domain: np.uint64) -> np.ndarray:
    """The PRF as first written: a fresh AES-ECB context per call."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    subkey = hmac.new(secret, b"leakwatch/shingle-prf", hashlib.sha256).digest()[:16]
    blocks = np.empty((values.shape[0], 2), dtype="<u8")
    blocks[:, 0] = values
    blocks[:, 1] = domain
    encryptor = Cipher(algorithms.AES(subkey), modes.ECB()).encryptor()
    out = encryptor.update(blocks.tobytes()) + encryptor.finalize()
    return np.frombuffer(out, dtype="<u8").reshape(-1, 2)[:, 0].astype(np.uint64)


def test_prf64_reuses_its_cipher_without_changing_outputs(key: StoreKey, other_key: StoreKey) -> None:
    # The encryptor is kept per thread and subkey: interleaved keys, domains and sizes
    # (including one value, an odd count) give exactly the fresh-context outputs.
    rng = np.random.default_rng(8)
    for size in (1, 7, 1000, 1, 33):
        values = rng.integers(0, 2**64 - 1, size, dtype=np.uint64, endpoint=True)
        for k in (key, other_key, key):
            for domain in (SHINGLE_DOMAIN, WORD_BAG_DOMAIN):
                assert np.array_equal(k.prf64(values, domain), reference_prf64(k.secret, values, domain))


def test_prf64_from_many_threads(key: StoreKey) -> None:
    values = np.arange(20_000, dtype=np.uint64)
    want = reference_prf64(key.secret, values, SHINGLE_DOMAIN)
    results: list[bool] = []

    def work() -> None:
        results.extend(np.array_equal(key.prf64(values), want) for _ in range(20))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 120


def test_prf64_empty(key: StoreKey) -> None:
    out = key.prf64(np.zeros(0, dtype=np.uint64))
    assert out.shape == (0,)
    assert out.dtype == np.uint64


def test_content_mac(key: StoreKey, other_key: StoreKey) -> None:
    data = b"quarterly figures"
    mac = key.content_mac(data)
    assert mac == key.content_mac(data)
    assert len(mac) == 64
    assert mac != key.content_mac(data + b" ")
    assert mac != other_key.content_mac(data)
    import hashlib

    assert mac != hashlib.sha256(data).hexdigest()  # keyed, not a plain digest


@pytest.mark.parametrize(
    "path",
    ["/srv/confidential/merger-plan.docx", "relative/strategy.txt", "C:\\Users\\ceo\\secret.pdf",
     "/data/bad\udcff-name.txt", "/données/été.txt"],
)
def test_doc_id_is_stable_and_opaque(key: StoreKey, other_key: StoreKey, path: str) -> None:
    doc_id = key.doc_id(path)
    assert doc_id == key.doc_id(path)
    assert doc_id.startswith("doc-")
    assert len(doc_id) == len("doc-") + 16
    assert all(c in "0123456789abcdef" for c in doc_id[4:])
    for part in path.replace("\\", "/").split("/"):
        for piece in part.replace(".", " ").replace("-", " ").split():
            if len(piece) >= 3:
                assert piece.lower() not in doc_id
    assert doc_id != other_key.doc_id(path)
    assert doc_id != key.doc_id(path + "x")
