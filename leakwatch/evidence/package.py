"""Evidence packages: one zip per finding, for legal review after a leak.

A package holds the deliverable as delivered (or only its SHA-256 where copying is not
allowed or the file is gone), the finding (JSON, as in reports), metadata (versions,
the store's key id, extractor versions, times, the report it came from), the decision log,
and ``manifest.json``: the SHA-256 and size of every other member. With a signing key,
``manifest.sig`` is the Ed25519 signature of the manifest's exact bytes and ``signer.pub``
the public key it verifies under (a verifier trusts a key it was given, not that one: it
only names the signer).

Layout (``leakwatch evidence verify`` refuses anything else)::

    finding.json  metadata.json  decisions.json  deliverable/<file name>   (listed in the manifest)
    manifest.json  manifest.sig  signer.pub                               (not listed)

The package holds no text of a registered document: only the deliverable the vendor
sent, which is the evidence itself (0600, like reports).
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import re
import socket
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import leakwatch
from leakwatch.evidence.keys import EvidenceError, load_private_key, public_pem
from leakwatch.evidence.safezip import (
    DECISIONS,
    DELIVERABLE_DIR,
    FINDING,
    MANIFEST,
    METADATA,
    SIGNATURE,
    SIGNER,
    check_package,
)

__all__ = ["EvidenceError", "VerifyResult", "export_package", "verify_package"]

FORMAT = "leakwatch-evidence"
FORMAT_VERSION = 1
_CHUNK = 1 << 20
# Characters kept in the deliverable's name inside the zip; the rest become "_" (the
# name is for people, its real path is in metadata.json).
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ +-]")


@dataclass
class VerifyResult:
    """What :func:`verify_package` found. ``ok`` is true only when every member matches the
    manifest, the layout is the package's own, and a signature (required when a public key
    was given) verifies."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    signed: bool = False
    # sha256:<hex> of the key the signature verified under (the given public key, else the
    # package's own signer.pub); None when unsigned or the signature failed.
    signer_fingerprint: str | None = None


def export_package(out: Path, *, finding: dict[str, Any], report_meta: dict[str, Any], deliverable: Path | None,
                   decisions: list[dict[str, Any]], copy_deliverable: bool = True,
                   signing_key: Path | None = None) -> Path:
    """Write the evidence package of ``finding`` to ``out`` (a zip, mode 0600, written
    whole or not at all) and return its path.

    Args:
        finding: the finding as in a JSON report (``id``, ``kind``, ``deliverable`` ...).
        report_meta: what is known of the report it came from (kept as given in
            metadata.json; the store key id is read from its ``index``, see
            :func:`store_key_id`).
        deliverable: the file as delivered (for a member of an archive, the archive);
            None or a missing file: only the SHA-256 the finding recorded is kept.
        decisions: the decision log, oldest first, kept as given.
        copy_deliverable: False where the deliverable may not be copied: its SHA-256 only.
        signing_key: an Ed25519 private key file (PEM PKCS8 or raw 32 bytes): the
            manifest is signed with it.

    Raises:
        EvidenceError: the key cannot be read, an argument cannot be written as JSON, or
            ``out`` cannot be written.
    """
    key = load_private_key(Path(signing_key)) if signing_key is not None else None
    out = Path(out)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            listed: list[dict[str, Any]] = []
            delivered = _add_deliverable(zf, deliverable, finding, copy_deliverable, created, listed)
            metadata = package_metadata(finding, report_meta, delivered, created)
            for name, value in ((FINDING, finding), (METADATA, metadata), (DECISIONS, decisions)):
                listed.append(_add_bytes(zf, name, _json_bytes(value, name), created))
            manifest = _json_bytes({"format": FORMAT, "format_version": FORMAT_VERSION, "created_at": created,
                                    "hash": "sha256", "finding_id": finding.get("id"),
                                    "deliverable_sha256": delivered.get("sha256"), "members": listed}, MANIFEST)
            _add_bytes(zf, MANIFEST, manifest, created)
            if key is not None:
                _add_bytes(zf, SIGNATURE, key.sign(manifest), created)
                _add_bytes(zf, SIGNER, public_pem(key.public_key()), created)
        os.replace(tmp, out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise EvidenceError(f"cannot write {out}: {exc.strerror or exc}") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return out


def verify_package(path: Path, public_key: Path | None = None) -> VerifyResult:
    """Check an evidence package: every listed member present with its SHA-256 and size,
    nothing more or less than the layout, and the signature of the manifest (under
    ``public_key`` when given; a package without a signature then fails). The zip is read
    as untrusted input: unsafe names, links, encrypted or oversized members are refused
    before anything is read, and nothing is extracted to disk.

    Raises:
        EvidenceError: ``public_key`` cannot be read (a usage error, not a verdict).
    """
    from leakwatch.evidence.keys import load_public_key

    trusted = load_public_key(Path(public_key)) if public_key is not None else None
    problems, signed, signer = check_package(Path(path), trusted)
    return VerifyResult(ok=not problems, problems=problems, signed=signed, signer_fingerprint=signer)


# --- metadata -------------------------------------------------------------------------------

def store_key_id(report_meta: dict[str, Any]) -> str | None:
    """The store key id the report names: ``index.key_id`` of a JSON scan report's summary,
    an audit record's ``audit`` part, a JSONL header, or report_meta itself. It is the
    key's public id (a one-way function of it), never the key."""
    for holder in (report_meta, report_meta.get("summary"), report_meta.get("audit"), report_meta.get("header")):
        if isinstance(holder, dict):
            index = holder.get("index")
            if isinstance(index, dict) and isinstance(index.get("key_id"), str):
                return str(index["key_id"])
            if isinstance(holder.get("key_id"), str):
                return str(holder["key_id"])
    return None


def extractor_versions() -> dict[str, str]:
    """The version of every extractor and container reader of this leakwatch, and of the
    libraries and programs whose reading they depend on (another Tesseract reads a scan
    differently): what re-reading the deliverable today would use."""
    from importlib import metadata

    from leakwatch.extract import CONTAINERS, EXTRACTORS
    from leakwatch.extract.ocr import tesseract_version

    versions = {f"extract/{name}": e.version for name, e in sorted(EXTRACTORS.items())}
    versions.update({f"container/{name}": c.version for name, c in sorted(CONTAINERS.items())})
    for library in ("pypdfium2", "pdfminer.six", "Pillow", "py7zr", "olefile", "xlrd", "pygments"):
        try:
            versions[f"python/{library}"] = metadata.version(library)
        except metadata.PackageNotFoundError:
            versions[f"python/{library}"] = "not installed"
    try:
        versions["program/tesseract"] = tesseract_version()
    except Exception:  # not installed: ExtractionError naming the package
        versions["program/tesseract"] = "not installed"
    return versions


def package_metadata(finding: dict[str, Any], report_meta: dict[str, Any], delivered: dict[str, Any],
                     created: str) -> dict[str, Any]:
    """metadata.json: who exported what, when, with which versions, from which report."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "created_at": created,
        "exported_by": user, "host": socket.gethostname(), "leakwatch": leakwatch.__version__,
        "finding_id": finding.get("id"), "store_key_id": store_key_id(report_meta),
        "extractor_versions": extractor_versions(), "deliverable": delivered, "report": report_meta,
    }


# --- writing --------------------------------------------------------------------------------

def _json_bytes(value: Any, name: str) -> bytes:
    try:
        return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise EvidenceError(f"{name}: cannot be written as JSON: {exc}") from exc


def _zip_info(name: str, created: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=datetime.fromisoformat(created).timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16  # a regular file, owner only, wherever it is unpacked
    return info


def _add_bytes(zf: zipfile.ZipFile, name: str, data: bytes, created: str) -> dict[str, Any]:
    zf.writestr(_zip_info(name, created), data)
    return {"name": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def member_name(path: Path) -> str:
    """The deliverable's name inside the package: its file name, with only portable
    characters (never a path: nothing in it can climb out when unpacked)."""
    name = _UNSAFE_NAME.sub("_", path.name).strip(" .") or "file"
    return DELIVERABLE_DIR + name[-200:]


def _add_deliverable(zf: zipfile.ZipFile, path: Path | None, finding: dict[str, Any], copy: bool,
                     created: str, listed: list[dict[str, Any]]) -> dict[str, Any]:
    """Copy (or only hash) the deliverable; its description for metadata.json."""
    shown = finding.get("deliverable", {}) if isinstance(finding.get("deliverable"), dict) else {}
    recorded = shown.get("sha256")
    about: dict[str, Any] = {"path": str(path) if path is not None else shown.get("path"), "copied": False,
                             "sha256_in_finding": recorded}
    try:
        st = os.stat(path) if path is not None else None
    except OSError:
        st = None
    if path is None or st is None or not os.path.isfile(path):
        about.update(sha256=recorded, sha256_of="the finding (the file was not available at export)")
        return about
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as src:
            if copy:
                name = member_name(path)
                with zf.open(_zip_info(name, created), "w", force_zip64=True) as dst:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        dst.write(chunk)
                        size += len(chunk)
                listed.append({"name": name, "sha256": digest.hexdigest(), "size": size})
                about.update(copied=True, member=name)
            else:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
    except OSError as exc:
        raise EvidenceError(f"cannot read the deliverable {path}: {exc.strerror or exc}") from exc
    about.update(sha256=digest.hexdigest(), sha256_of="the file at export", size=size,
                 modified_at=datetime.fromtimestamp(st.st_mtime, UTC).isoformat(timespec="seconds"))
    if recorded is not None and about["path"] == shown.get("path"):
        # A member of an archive records its own hash; the file here is the archive.
        about["matches_finding"] = recorded == about["sha256"]
    return about
