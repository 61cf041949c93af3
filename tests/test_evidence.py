"""Evidence packages from a real index and scan: export, verify, and every way a package
can be changed or made hostile (a byte of a member, the manifest, a member added or
removed, another signer, a path that climbs out of the folder it is unpacked in)."""

from __future__ import annotations

import json
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from leakwatch.cli import cli
from leakwatch.evidence.keys import EvidenceError, generate_signing_key, load_public_key
from leakwatch.evidence.package import export_package, verify_package
from leakwatch.evidence.reports import delivered_file, finding_in_report
from tests.conftest import make_text, make_vocabulary


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    out = result.stdout + result.stderr
    assert "Traceback" not in out
    return result.exit_code, result.stdout, result.stderr


class Scanned:
    """A store with one confidential document, a deliverable that copies a passage of it,
    and the JSON report of scanning it."""

    def __init__(self, root: Path, secret: str) -> None:
        self.root = root
        store = root / "store"
        doc = root / "confidential" / "plan.txt"
        doc.parent.mkdir(parents=True)
        doc.write_text(secret, encoding="utf-8")
        code, out, err = run("index", "add", str(doc), "--store", str(store), "--label", "trade-secret")
        assert code == 0, out + err
        words = secret.split()
        filler = make_vocabulary(99)
        self.deliverable = root / "acme" / "q3 report.txt"
        self.deliverable.parent.mkdir()
        self.deliverable.write_text(make_text(5, 80, filler) + "\n\n" + " ".join(words[300:430]) + "\n\n"
                                    + make_text(6, 80, filler), encoding="utf-8")
        self.report = root / "scan.json"
        code, out, err = run("scan", str(self.deliverable.parent), "--store", str(store), "--format", "json",
                             "-o", str(self.report))
        assert code == 1, out + err
        self.data = json.loads(self.report.read_text())
        assert self.data["findings"], "the scan must find the copied passage"
        self.finding_id = self.data["findings"][0]["id"]
        self.key = root / "keys" / "legal.key"
        self.key.parent.mkdir()
        self.pub = generate_signing_key(self.key)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory, secret_text: str) -> Scanned:
    return Scanned(tmp_path_factory.mktemp("evidence"), secret_text)


def export(scanned: Scanned, out: Path, *, sign: bool = True, copy: bool = True,
           decisions: list[dict[str, Any]] | None = None) -> Path:
    finding, meta = finding_in_report(scanned.report, scanned.finding_id)
    return export_package(out, finding=finding, report_meta=meta, deliverable=delivered_file(finding),
                          decisions=decisions if decisions is not None else [],
                          copy_deliverable=copy, signing_key=scanned.key if sign else None)


def rewrite(package: Path, out: Path, change: Callable[[dict[str, bytes]], None]) -> Path:
    """A copy of ``package`` with its members changed by ``change`` (a valid zip: the CRCs
    are right, only the content differs)."""
    with zipfile.ZipFile(package) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    change(members)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out


def flip_byte(data: bytes) -> bytes:
    at = len(data) // 2
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def test_export_from_a_scan_report_holds_the_evidence_and_verifies(scanned: Scanned, tmp_path: Path) -> None:
    decisions = [{"at": "2026-12-01T10:00:00Z", "by": "j.doe", "action": "confirm", "from": "10.0.0.7"}]
    package = export(scanned, tmp_path / "incident.zip", decisions=decisions)
    assert stat.S_IMODE(package.stat().st_mode) == 0o600
    assert stat.S_IMODE(scanned.key.stat().st_mode) == 0o600
    with zipfile.ZipFile(package) as zf:
        names = set(zf.namelist())
        assert names == {"finding.json", "metadata.json", "decisions.json", "manifest.json", "manifest.sig",
                         "signer.pub", "deliverable/q3 report.txt"}
        assert zf.read("deliverable/q3 report.txt") == scanned.deliverable.read_bytes()
        assert json.loads(zf.read("finding.json")) == scanned.data["findings"][0]
        assert json.loads(zf.read("decisions.json")) == decisions
        meta = json.loads(zf.read("metadata.json"))
        manifest = json.loads(zf.read("manifest.json"))
    assert meta["store_key_id"] == scanned.data["summary"]["index"]["key_id"]
    assert meta["finding_id"] == scanned.finding_id and meta["report"]["kind"] == "scan"
    assert meta["deliverable"]["matches_finding"] is True and meta["deliverable"]["copied"] is True
    assert meta["extractor_versions"]["extract/pdf"] and meta["created_at"]
    assert {m["name"] for m in manifest["members"]} == names - {"manifest.json", "manifest.sig", "signer.pub"}
    # The store's key never enters a package: only its public id.
    secret = (scanned.root / "store" / "leakwatch.key").read_text().split(":")[1].strip()
    assert secret not in json.dumps(meta)

    result = verify_package(package, scanned.pub)
    assert result.ok and result.problems == [] and result.signed
    assert result.signer_fingerprint is not None and result.signer_fingerprint.startswith("sha256:")


def test_cli_keygen_export_verify(scanned: Scanned, tmp_path: Path) -> None:
    code, out, _ = run("evidence", "keygen", str(tmp_path / "k.key"))
    assert code == 0 and "fingerprint sha256:" in out
    out_zip = tmp_path / "p.zip"
    code, out, err = run("evidence", "export", scanned.finding_id, "--report", str(scanned.report),
                         "-o", str(out_zip), "--sign", str(tmp_path / "k.key"))
    assert code == 0, err
    code, out, _ = run("evidence", "verify", str(out_zip), "--public-key", str(tmp_path / "k.key.pub"))
    assert code == 0 and "OK, signature verified" in out
    # Never overwritten; an unknown id is a usage error in one line.
    code, _, err = run("evidence", "export", scanned.finding_id, "--report", str(scanned.report), "-o", str(out_zip))
    assert code == 2 and "never overwritten" in err
    code, _, err = run("evidence", "export", "lw-00000000000000000000", "--report", str(scanned.report),
                       "-o", str(tmp_path / "q.zip"))
    assert code == 2 and err.strip().splitlines() == [
        f"leakwatch: error: no finding lw-00000000000000000000 in {scanned.report} (1 finding(s) there)"]
    code, _, err = run("evidence", "keygen", str(tmp_path / "k.key"))
    assert code == 2 and "never overwritten" in err


@pytest.mark.parametrize("member", ["finding.json", "metadata.json", "decisions.json", "deliverable/q3 report.txt"])
@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_one_changed_byte_of_a_member_fails(scanned: Scanned, tmp_path: Path, member: str, signed: bool) -> None:
    package = export(scanned, tmp_path / "p.zip", sign=signed)
    assert verify_package(package).ok

    def tamper(members: dict[str, bytes]) -> None:
        members[member] = flip_byte(members[member])

    bad = rewrite(package, tmp_path / "tampered.zip", tamper)
    result = verify_package(bad)
    assert not result.ok
    assert result.problems == [f"member {json.dumps(member)} was changed: its SHA-256 differs from the manifest's"]
    code, out, err = run("evidence", "verify", str(bad))
    assert code == 1 and "FAILED" in out and "was changed" in err


def test_a_manifest_changed_to_match_fails_its_signature(scanned: Scanned, tmp_path: Path) -> None:
    package = export(scanned, tmp_path / "p.zip")

    def forge(members: dict[str, bytes]) -> None:
        import hashlib

        members["finding.json"] = members["finding.json"].replace(b'"high"', b'"low"').replace(b'"medium"', b'"low"')
        manifest = json.loads(members["manifest.json"])
        for m in manifest["members"]:
            if m["name"] == "finding.json":
                m["sha256"] = hashlib.sha256(members["finding.json"]).hexdigest()
                m["size"] = len(members["finding.json"])
        members["manifest.json"] = json.dumps(manifest).encode()

    result = verify_package(rewrite(package, tmp_path / "forged.zip", forge))
    assert not result.ok and result.signed and result.signer_fingerprint is None
    assert any(p.startswith("bad signature") for p in result.problems)


def test_wrong_public_key_and_missing_signature_fail(scanned: Scanned, tmp_path: Path) -> None:
    other = generate_signing_key(tmp_path / "other.key")
    package = export(scanned, tmp_path / "p.zip")
    result = verify_package(package, other)
    assert not result.ok and result.signed
    assert result.problems[0].startswith("bad signature: manifest.sig does not verify under the given public key")
    code, _, err = run("evidence", "verify", str(package), "--public-key", str(other))
    assert code == 1 and "bad signature" in err
    # Changed and re-signed by someone else with their own signer.pub: it verifies only against
    # that key (whose fingerprint is shown), never under the real signer's.
    from leakwatch.evidence.keys import fingerprint, load_private_key, public_pem

    forger = load_private_key(tmp_path / "other.key")

    def resign(members: dict[str, bytes]) -> None:
        members["decisions.json"] = b"[]\n"
        manifest = json.loads(members["manifest.json"])
        import hashlib

        for m in manifest["members"]:
            if m["name"] == "decisions.json":
                m["sha256"], m["size"] = hashlib.sha256(b"[]\n").hexdigest(), 3
        members["manifest.json"] = json.dumps(manifest).encode()
        members["manifest.sig"] = forger.sign(members["manifest.json"])
        members["signer.pub"] = public_pem(forger.public_key())

    forged = rewrite(export(scanned, tmp_path / "d.zip", decisions=[{"by": "a"}]), tmp_path / "f.zip", resign)
    alone = verify_package(forged)
    assert alone.ok and alone.signer_fingerprint == fingerprint(load_public_key(other))
    assert alone.signer_fingerprint != fingerprint(load_public_key(scanned.pub))
    assert not verify_package(forged, scanned.pub).ok
    unsigned = export(scanned, tmp_path / "u.zip", sign=False)
    result = verify_package(unsigned, scanned.pub)
    assert not result.ok and not result.signed and "not signed" in result.problems[0]


def test_missing_and_extra_members_fail(scanned: Scanned, tmp_path: Path) -> None:
    package = export(scanned, tmp_path / "p.zip", sign=False)
    gone = rewrite(package, tmp_path / "gone.zip", lambda m: m.pop("decisions.json"))
    assert verify_package(gone).problems == ['missing member "decisions.json" (listed in the manifest)']
    extra = rewrite(package, tmp_path / "extra.zip", lambda m: m.update({"deliverable/more.txt": b"x"}))
    assert verify_package(extra).problems == ['extra member "deliverable/more.txt" (not in the manifest)']
    no_manifest = rewrite(package, tmp_path / "nm.zip", lambda m: m.pop("manifest.json"))
    assert verify_package(no_manifest).problems == ["missing member manifest.json: nothing can be verified"]


@pytest.mark.parametrize(("name", "why"), [
    ("../../../tmp/evil.sh", "path traversal ('..')"),
    ("deliverable/../../evil.sh", "path traversal ('..')"),
    ("/etc/cron.d/evil", "an absolute path"),
    ("..\\evil.bat", "a backslash (a Windows path separator)"),
])
def test_a_path_traversal_zip_is_refused_unread(scanned: Scanned, tmp_path: Path, name: str, why: str) -> None:
    package = export(scanned, tmp_path / "p.zip", sign=False)
    hostile = rewrite(package, tmp_path / "hostile.zip", lambda m: m.update({name: b"#!/bin/sh\nrm -rf ~\n"}))
    result = verify_package(hostile)
    assert not result.ok
    assert result.problems == [f"unsafe member name {json.dumps(name)}: {why}; nothing was read"]
    code, _, err = run("evidence", "verify", str(hostile))
    assert code == 1 and f"unsafe member name {json.dumps(name)}" in err


def test_links_damaged_and_foreign_zips_fail_clearly(scanned: Scanned, tmp_path: Path) -> None:
    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as zf:
        info = zipfile.ZipInfo("finding.json")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    assert verify_package(link).problems == ['member "finding.json" is a symbolic link']
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    result = verify_package(junk)
    assert not result.ok and result.problems[0].startswith("not a readable zip file")
    code, _, err = run("evidence", "verify", str(junk))
    assert code == 1 and "not a readable zip file" in err
    code, _, _ = run("evidence", "verify", str(tmp_path / "absent.zip"))
    assert code == 2


def test_no_copy_and_a_vanished_deliverable_keep_the_hash(scanned: Scanned, tmp_path: Path) -> None:
    package = export(scanned, tmp_path / "p.zip", copy=False)
    with zipfile.ZipFile(package) as zf:
        assert not any(n.startswith("deliverable/") for n in zf.namelist())
        meta = json.loads(zf.read("metadata.json"))
    assert meta["deliverable"]["sha256"] == scanned.data["findings"][0]["deliverable"]["sha256"]
    assert meta["deliverable"]["copied"] is False and verify_package(package, scanned.pub).ok
    finding, report_meta = finding_in_report(scanned.report, scanned.finding_id)
    gone = export_package(tmp_path / "gone.zip", finding=finding, report_meta=report_meta,
                          deliverable=tmp_path / "deleted.txt", decisions=[])
    with zipfile.ZipFile(gone) as zf:
        meta = json.loads(zf.read("metadata.json"))
    assert meta["deliverable"]["sha256"] == finding["deliverable"]["sha256"]
    assert "not available" in meta["deliverable"]["sha256_of"]


def test_raw_key_files_and_bad_key_files(scanned: Scanned, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    raw_private, raw_public = tmp_path / "raw.key", tmp_path / "raw.pub"
    raw_private.write_bytes(key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                              serialization.NoEncryption()))
    raw_public.write_bytes(key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    finding, meta = finding_in_report(scanned.report, scanned.finding_id)
    package = export_package(tmp_path / "p.zip", finding=finding, report_meta=meta, deliverable=None,
                             decisions=[], signing_key=raw_private)
    assert verify_package(package, raw_public).ok
    assert load_public_key(raw_public) is not None
    with pytest.raises(EvidenceError, match="not an unencrypted PEM"):
        export_package(tmp_path / "q.zip", finding=finding, report_meta=meta, deliverable=None, decisions=[],
                       signing_key=scanned.report)
    assert not (tmp_path / "q.zip").exists()
    with pytest.raises(EvidenceError, match="not a PEM or raw 32-byte Ed25519 public key"):
        verify_package(package, scanned.report)
