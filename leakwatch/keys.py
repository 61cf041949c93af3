"""The store's secret key and the keyed functions derived from it.

Stored fingerprints are keyed so that the store alone gives no text back: a
plain hash of word 5-grams can be inverted with a dictionary, a PRF output
cannot without the key. The PRF is AES applied in bulk to 64-bit values (one
ECB call per array), which keeps equality (so LSH and matching still work) and
costs far less than the tokenizer.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from leakwatch.model import LeakwatchWarning

# The key file of a store folder (``key_file`` in the configuration moves it elsewhere).
KEY_NAME = "leakwatch.key"
KEY_HEADER = "leakwatch-key-v1:"
KEY_BYTES = 32
# The upper half of each AES block is this constant: a domain tag that keeps
# the PRF over shingle values apart from any other use of the same key.
SHINGLE_DOMAIN = np.uint64(0x6C77_7368_696E_676C)  # "lwshingl"
WORD_BAG_DOMAIN = np.uint64(0x6C77_776F_7264_6267)  # "lwwordbg"
CELL_DOMAIN = np.uint64(0x6C77_7265_636F_7264)  # "lwrecord": registered table cells


# Per thread, the AES-ECB encryptor of each PRF subkey in use: setting one up (key
# derivation, cipher context) costs more than encrypting a document's values. ECB
# keeps no state between blocks, and every call passes whole blocks, so one context
# serves every call; contexts are not shared between threads.
_ENCRYPTORS = threading.local()
_MAX_ENCRYPTORS = 8


class KeyFileError(Exception):
    """The key file is missing, unreadable or malformed."""


@dataclass(frozen=True)
class StoreKey:
    """A master secret and the subkeys derived from it."""

    secret: bytes

    @property
    def key_id(self) -> str:
        """Public identifier of the key (a one-way function of it), recorded in the store."""
        return hashlib.sha256(b"leakwatch/key-id\x00" + self.secret).hexdigest()[:16]

    def _subkey(self, purpose: bytes, size: int = 32) -> bytes:
        return hmac.new(self.secret, b"leakwatch/" + purpose, hashlib.sha256).digest()[:size]

    def prf64(self, values: np.ndarray, domain: np.uint64 = SHINGLE_DOMAIN) -> np.ndarray:
        """Keyed pseudo-random function over an array of uint64 values.

        Each value is encrypted as one AES block (value, domain tag); the first 8
        bytes of the ciphertext are the output. Equal inputs give equal outputs
        within a domain; the same value in two domains gives unrelated outputs.
        """
        values = np.ascontiguousarray(values, dtype="<u8")
        if values.size == 0:
            return values.copy()
        blocks = np.empty((values.shape[0], 2), dtype="<u8")
        blocks[:, 0] = values
        blocks[:, 1] = domain
        out = self._prf_encryptor().update(blocks.data.cast("B"))
        return np.frombuffer(out, dtype="<u8")[::2].astype(np.uint64)

    def _prf_encryptor(self) -> Any:
        """This thread's AES-ECB encryptor under the PRF subkey (see ``_ENCRYPTORS``)."""
        cache: dict[bytes, Any] | None = getattr(_ENCRYPTORS, "by_secret", None)
        if cache is None:
            cache = _ENCRYPTORS.by_secret = {}
        encryptor = cache.get(self.secret)
        if encryptor is None:
            if len(cache) >= _MAX_ENCRYPTORS:
                cache.clear()
            encryptor = cache[self.secret] = Cipher(algorithms.AES(self._subkey(b"shingle-prf", 16)),
                                                    modes.ECB()).encryptor()
        return encryptor

    def content_mac(self, data: bytes) -> str:
        """Keyed digest of a file's bytes: tells "same file" without an unkeyed hash."""
        return hmac.new(self._subkey(b"content"), data, hashlib.sha256).hexdigest()

    def doc_id(self, path: str) -> str:
        """Stable document id for a registered path; reveals nothing of the path or text."""
        return "doc-" + hmac.new(self._subkey(b"doc-id"), path.encode("utf-8", "surrogateescape"),
                                 hashlib.sha256).hexdigest()[:16]


    def table_id(self, path: str) -> str:
        """Stable id of a table registered from ``path`` (distinct from its document id)."""
        return "tbl-" + hmac.new(self._subkey(b"table-id"), path.encode("utf-8", "surrogateescape"),
                                 hashlib.sha256).hexdigest()[:16]


def _write_private(path: Path, data: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(data)


def write_key(path: Path, key: StoreKey) -> None:
    """Write a key file (mode 0600); it must not exist yet."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_private(path, KEY_HEADER + key.secret.hex() + "\n")


def load_or_create_key(path: Path, create: bool) -> StoreKey:
    """Read the key file, or create it (mode 0600) when ``create`` is true and it is absent.

    Raises:
        KeyFileError: the file is absent (and not to be created) or malformed.
    """
    if not path.exists():
        if not create:
            raise KeyFileError(f"key file {path} not found: the store cannot be read without its key")
        key = StoreKey(secrets.token_bytes(KEY_BYTES))
        write_key(path, key)
        return key
    try:
        raw = path.read_text(encoding="ascii").strip()
        mode = path.stat().st_mode
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc}") from exc
    if not raw.startswith(KEY_HEADER):
        raise KeyFileError(f"{path} is not a leakwatch key file")
    try:
        secret = bytes.fromhex(raw[len(KEY_HEADER):])
    except ValueError as exc:
        raise KeyFileError(f"{path} is not a leakwatch key file: {exc}") from exc
    if len(secret) != KEY_BYTES:
        raise KeyFileError(f"{path} holds a key of the wrong length")
    if mode & 0o077:
        # Used anyway: refusing would stop a nightly job over a permission, and the
        # warning says how to fix it. Whoever can read the key can test guesses of the
        # confidential text against the store.
        warnings.warn(f"key file {path} can be read by others (mode {mode & 0o777:04o}): run chmod 600 {path}",
                      LeakwatchWarning, stacklevel=2)
    return StoreKey(secret)
