"""Checking an evidence package, read as untrusted input.

A package comes back from a lawyer's mailbox or a shared drive: it may be damaged, edited,
or made to harm whoever opens it. Before any member is read, every entry's name must be
one of the package's own (no absolute path, no ``..``, no backslash, no link, no
encryption, no duplicate: a name that could climb out of a folder when unpacked is
refused by name), the entry count and sizes are bounded, and members are hashed as
streams, never extracted to disk.
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
import zipfile
import zlib
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from leakwatch.evidence.keys import MAX_KEY_FILE_BYTES, EvidenceError, fingerprint, public_key_from_bytes

FINDING = "finding.json"
METADATA = "metadata.json"
DECISIONS = "decisions.json"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
SIGNER = "signer.pub"
DELIVERABLE_DIR = "deliverable/"
REQUIRED = (FINDING, METADATA, DECISIONS)
UNLISTED = (MANIFEST, SIGNATURE, SIGNER)

# A package has at most 7 entries; a few more are reported as extra, thousands are refused
# unread (a central directory made to exhaust memory).
MAX_ENTRIES = 64
MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_DELIVERABLE_BYTES = 16 * 1024 ** 3
_CHUNK = 1 << 20
_HEX64 = re.compile(r"[0-9a-f]{64}")
_DELIVERABLE = re.compile(r"deliverable/[A-Za-z0-9._ +-]{1,200}")


def unsafe_name(name: str) -> str | None:
    """Why an entry name is unsafe to unpack, or None."""
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        return "an absolute path"
    if "\\" in name:
        return "a backslash (a Windows path separator)"
    if any(part in ("..", ".") for part in name.split("/")):
        return "path traversal ('..')"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "control characters"
    return None


def in_layout(name: str) -> bool:
    return name in REQUIRED or name in UNLISTED or bool(_DELIVERABLE.fullmatch(name))


def _entry_problems(infos: list[zipfile.ZipInfo]) -> list[str]:
    """What makes the zip unsafe to read further (nothing is read when this is not empty)."""
    problems: list[str] = []
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        shown = json.dumps(name)
        why = unsafe_name(name)
        if why is not None:
            problems.append(f"unsafe member name {shown}: {why}; nothing was read")
        elif name in seen:
            problems.append(f"member {shown} appears twice (which copy is the evidence?)")
        elif stat.S_ISLNK(info.external_attr >> 16):
            problems.append(f"member {shown} is a symbolic link")
        elif info.flag_bits & 0x1:
            problems.append(f"member {shown} is encrypted")
        elif info.is_dir():
            problems.append(f"member {shown} is a folder entry, not part of the package layout")
        elif info.file_size > (MAX_DELIVERABLE_BYTES if name.startswith(DELIVERABLE_DIR) else MAX_JSON_BYTES):
            problems.append(f"member {shown} is too large ({info.file_size} bytes)")
        seen.add(name)
    return problems


def _read_small(zf: zipfile.ZipFile, name: str, limit: int = MAX_JSON_BYTES) -> bytes:
    with zf.open(name) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise EvidenceError(f"{name} is larger than {limit} bytes")
    return data


def _stream_digest(zf: zipfile.ZipFile, name: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with zf.open(name) as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _manifest_members(data: bytes) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The manifest's member list, each entry checked for shape.

    Raises:
        EvidenceError: the manifest is not the package's manifest.
    """
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvidenceError(f"manifest.json is not JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != "leakwatch-evidence":
        raise EvidenceError("manifest.json is not a leakwatch evidence manifest")
    if manifest.get("format_version") != 1:
        raise EvidenceError(f"manifest format version {manifest.get('format_version')!r} is not supported (1 is)")
    members = manifest.get("members")
    if not isinstance(members, list) or not all(
            isinstance(m, dict) and isinstance(m.get("name"), str) and isinstance(m.get("size"), int)
            and isinstance(m.get("sha256"), str) and _HEX64.fullmatch(m["sha256"]) for m in members):
        raise EvidenceError("manifest.json: members must each have a name, a size and a SHA-256")
    return members, manifest


def _signature_problems(zf: zipfile.ZipFile, names: set[str], manifest: bytes,
                        trusted: Ed25519PublicKey | None) -> tuple[list[str], bool, str | None]:
    """(problems, signed, fingerprint of the key the signature verified under)."""
    if SIGNATURE not in names:
        if trusted is not None:
            return ["the package is not signed, but a public key was given to check its signature"], False, None
        return [], False, None
    signature = _read_small(zf, SIGNATURE, 1024)
    key = trusted
    if key is None:
        if SIGNER not in names:
            return ["manifest.sig is there but signer.pub is not: give the signer's public key"], True, None
        try:
            key = public_key_from_bytes(_read_small(zf, SIGNER, MAX_KEY_FILE_BYTES), SIGNER)
        except EvidenceError as exc:
            return [str(exc)], True, None
    try:
        key.verify(signature, manifest)
    except InvalidSignature:
        who = "the given public key" if trusted is not None else "the package's signer.pub"
        return [f"bad signature: manifest.sig does not verify under {who} ({fingerprint(key)}): the manifest "
                "was changed, or another key signed it"], True, None
    return [], True, fingerprint(key)


def _member_problems(zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo],
                     members: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    listed: dict[str, dict[str, Any]] = {}
    for m in members:
        name = m["name"]
        if name in listed or not in_layout(name) or name in UNLISTED:
            problems.append(f"manifest.json lists {json.dumps(name)}, which is not part of the package layout")
            continue
        listed[name] = m
    problems += [f"missing member {n} (the manifest requires it)" for n in REQUIRED if n not in listed]
    for name, m in listed.items():
        info = infos.get(name)
        if info is None:
            problems.append(f"missing member {json.dumps(name)} (listed in the manifest)")
        elif info.file_size != m["size"]:
            problems.append(f"member {json.dumps(name)} is {info.file_size} bytes, the manifest says {m['size']}")
        else:
            try:
                digest = _stream_digest(zf, name)[0]
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
                problems.append(f"member {json.dumps(name)} cannot be read (damaged): {exc}")
                continue
            if digest != m["sha256"]:
                problems.append(f"member {json.dumps(name)} was changed: its SHA-256 differs from the manifest's")
    problems += [f"extra member {json.dumps(n)} (not in the manifest)" for n in infos
                 if n not in listed and n not in UNLISTED]
    return problems


def check_package(path: Path, trusted: Ed25519PublicKey | None) -> tuple[list[str], bool, str | None]:
    """(problems, signed, signer fingerprint) of the package at ``path``; no problems means
    it verifies. Every failure is a problem, never an exception."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ENTRIES:
                return [f"not an evidence package: {len(infos)} entries (a package has at most 7)"], False, None
            problems = _entry_problems(infos)
            if problems:
                return problems, False, None
            names = {i.filename: i for i in infos}
            if MANIFEST not in names:
                return ["missing member manifest.json: nothing can be verified"], SIGNATURE in names, None
            manifest = _read_small(zf, MANIFEST)
            problems, signed, signer = _signature_problems(zf, set(names), manifest, trusted)
            try:
                members, _ = _manifest_members(manifest)
            except EvidenceError as exc:
                return [*problems, str(exc)], signed, signer
            problems += _member_problems(zf, names, members)
            return problems, signed, signer
    except FileNotFoundError:
        return [f"{path} not found"], False, None
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError) as exc:
        return [f"not a readable zip file (damaged or not a package): {exc}"], False, None
    except EvidenceError as exc:
        return [str(exc)], False, None
    except OSError as exc:
        return [f"cannot read {path}: {exc.strerror or exc}"], False, None
