"""Ed25519 signing keys of evidence packages (``leakwatch evidence keygen``).

Ed25519 through ``cryptography`` (already a dependency: the store's PRF is AES from it): a
standard signature any OpenSSL 3 can check (``openssl pkeyutl -verify -rawin``), a 32-byte
public key a reviewer can compare by its fingerprint. Key files are PEM (PKCS8 private,
SubjectPublicKeyInfo public), or the raw 32 bytes other tools write.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from leakwatch.errors import UserError

RAW_KEY_BYTES = 32
# A key file is a few hundred bytes; anything much larger is not one.
MAX_KEY_FILE_BYTES = 16 * 1024


class EvidenceError(UserError):
    """An evidence package cannot be written, or a key cannot be read: exit code 2."""


def public_key_path(private: Path) -> Path:
    """Where :func:`generate_signing_key` puts the public half: ``KEYFILE.pub``."""
    return private.with_name(private.name + ".pub")


def generate_signing_key(path: Path) -> Path:
    """A new Ed25519 key pair: the private key at ``path`` (PEM PKCS8, mode 0600, never
    overwritten) and the public key beside it (``path.pub``, PEM); returns the latter.

    Raises:
        EvidenceError: either file exists or cannot be written.
    """
    path = Path(path)
    pub = public_key_path(path)
    for existing in (path, pub):
        if os.path.lexists(existing):
            raise EvidenceError(f"{existing} exists: a signing key is never overwritten")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        _write_new(path, private_pem, 0o600)
        _write_new(pub, public_pem, 0o644)
    except OSError as exc:
        raise EvidenceError(f"cannot write the key pair at {path}: {exc.strerror or exc}") from exc
    return pub


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def read_bounded(path: Path, limit: int, what: str) -> bytes:
    """A file's bytes, refused past ``limit`` (read as ``what``: "signing key", "report").

    Raises:
        EvidenceError: the file cannot be read or is too large to be ``what``.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise EvidenceError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise EvidenceError(f"{path} is larger than {limit} bytes: too large to be a {what}")
    return data


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in ``path``: PEM PKCS8 or the raw 32-byte seed.

    Raises:
        EvidenceError: unreadable, or not an unencrypted Ed25519 private key.
    """
    data = read_bounded(Path(path), MAX_KEY_FILE_BYTES, "signing key")
    if len(data) == RAW_KEY_BYTES:
        return Ed25519PrivateKey.from_private_bytes(data)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise EvidenceError(f"{path} is not an unencrypted PEM (PKCS8) or raw 32-byte Ed25519 private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise EvidenceError(f"{path} holds a {type(key).__name__}, not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key in ``path``: PEM SubjectPublicKeyInfo or the raw 32 bytes.

    Raises:
        EvidenceError: unreadable, or not an Ed25519 public key.
    """
    data = read_bounded(Path(path), MAX_KEY_FILE_BYTES, "public key")
    return public_key_from_bytes(data, str(path))


def public_key_from_bytes(data: bytes, where: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM or raw bytes (``where`` names it in the error)."""
    if len(data) == RAW_KEY_BYTES:
        return Ed25519PublicKey.from_public_bytes(data)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise EvidenceError(f"{where} is not a PEM or raw 32-byte Ed25519 public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise EvidenceError(f"{where} holds a {type(key).__name__}, not an Ed25519 public key")
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: Ed25519PublicKey) -> str:
    """``sha256:<hex>`` of the raw public key: what a reviewer compares with the signer's
    published fingerprint."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()
