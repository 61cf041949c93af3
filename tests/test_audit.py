"""IP audits per vendor and the end-of-engagement return check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import make_text, make_vocabulary
from tests.test_cli import run

FILLER = make_vocabulary(99)


@pytest.fixture()
def engagement(tmp_path: Path, secret_text: str, vocabulary: list[str]) -> tuple[Path, Path, str]:
    """Two confidential documents, three vendors: acme holds a whole copy of one and an
    excerpt of the other, globex nothing, initech a file that cannot be read."""
    store = tmp_path / "store"
    conf = tmp_path / "confidential"
    conf.mkdir()
    second = make_text(303, 900, vocabulary)
    (conf / "plan.txt").write_text(secret_text)
    (conf / "pricing.txt").write_text(second)
    assert run("index", "add", str(conf), "--store", str(store), "--label", "trade-secret", "--owner", "cfo")[0] == 0
    vendors = tmp_path / "vendors"
    for name in ("acme", "globex", "initech"):
        (vendors / name).mkdir(parents=True)
    (vendors / "acme" / "copy-of-plan.txt").write_text(secret_text)
    words = second.split()
    (vendors / "acme" / "deck.md").write_text(make_text(5, 200, FILLER) + "\n\n" + " ".join(words[300:450]))
    (vendors / "acme" / "notes.md").write_text(make_text(6, 300, FILLER))
    (vendors / "globex" / "report.md").write_text(make_text(7, 300, FILLER))
    (vendors / "initech" / "locked.pdf").write_bytes(b"%PDF-1.4\ntrailer << /Encrypt 5 0 R >>\n%%EOF")
    config = tmp_path / "leakwatch.toml"
    config.write_text(f'store = "{store}"\n' + "".join(
        f'[[watch.folders]]\npath = "{vendors / n}"\nvendor = "{n}"\n' for n in ("acme", "globex", "initech")))
    return config, tmp_path / "audits", second


def test_audit_writes_one_record_per_vendor(engagement: tuple[Path, Path, str]) -> None:
    config, out, _ = engagement
    code, stdout, stderr = run("audit", "--config", str(config), "-o", str(out))
    assert code == 1, stdout + stderr
    records = {json.loads(p.read_text())["audit"]["vendor"]: json.loads(p.read_text()) for p in out.glob("*.json")}
    html = {p.name.split("-audit-")[0]: p.read_text() for p in out.glob("*.html")}
    assert sorted(html) == ["acme", "globex", "initech"] and "copy-of-plan.txt" in html["acme"]
    assert sorted(records) == ["acme", "globex", "initech"]
    acme = records["acme"]
    assert acme["summary"]["files"] == 3 and acme["summary"]["files_with_findings"] == 2
    assert acme["summary"]["by_label"] == {"trade-secret": acme["summary"]["findings"]}
    assert acme["summary"]["by_kind"]["confidential-near-duplicate"] == 1
    assert all(len(f["sha256"]) == 64 and f["status"] == "ok" for f in acme["files"])
    assert acme["audit"]["leakwatch"] and acme["audit"]["config"]["sha256"] and acme["audit"]["index"]["documents"] == 2
    assert records["globex"]["summary"]["findings"] == 0 and records["globex"]["summary"]["complete"]
    initech = records["initech"]["summary"]
    assert initech["files_not_scanned"] == 1 and not initech["complete"]
    assert records["initech"]["not_scanned"][0]["status"] == "encrypted"
    for p in out.iterdir():
        assert oct(p.stat().st_mode & 0o777) == "0o600"


def test_return_check_lists_what_is_still_there(engagement: tuple[Path, Path, str]) -> None:
    config, out, _second = engagement
    code, stdout, _ = run("audit", "--config", str(config), "-o", str(out), "--return-check", "acme")
    assert code == 1
    [record] = [json.loads(p.read_text()) for p in out.iterdir()]
    present = {Path(d["path"]).name: d for d in record["still_present"]}
    assert present["plan.txt"]["still_present"] == "whole" and present["plan.txt"]["share_of_document"] == 1.0
    pricing = present["pricing.txt"]
    assert pricing["still_present"] == "parts" and pricing["owner"] == "cfo"
    assert 0.1 < pricing["share_of_document"] < 0.25  # 150 of 900 words
    assert [Path(w["path"]).name for w in pricing["where"]] == ["deck.md"]
    assert record["not_found"] == [] and record["return_check"]["complete"]
    assert "still present" in stdout


def test_return_check_of_a_clean_vendor_certifies_and_of_an_unreadable_one_does_not(
        engagement: tuple[Path, Path, str]) -> None:
    config, out, _ = engagement
    code, stdout, _ = run("audit", "--config", str(config), "-o", str(out), "--return-check", "globex")
    assert code == 0 and "returned or destroyed" in stdout
    code, stdout, _ = run("audit", "--config", str(config), "-o", str(out / "i"), "--return-check", "initech")
    assert code == 3 and "nothing is certified" in stdout


def test_unknown_vendor_is_a_usage_error(engagement: tuple[Path, Path, str]) -> None:
    config, _out, _ = engagement
    code, _, stderr = run("audit", "--config", str(config), "--return-check", "umbrella")
    assert code == 2 and "unknown vendor" in stderr
