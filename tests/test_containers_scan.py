"""A vendor's mixed delivery folder of archives and e-mails, scanned end to end: one finding
per planted excerpt, naming the member and its container chain, against the right source,
in every report format; the same containers without excerpts give nothing; members that
cannot be read make the scan incomplete; the index side registers archive members and
verifies them again; the daemon alerts on a dropped zip naming its members."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from leakwatch.cli import cli
from tests.conftest import make_text, make_vocabulary
from tests.containerdata import (
    docx_bytes,
    eml_bytes,
    encrypted_zip,
    gzip_bytes,
    mbox_bytes,
    msg_bytes,
    sevenzip_bytes,
    tar_bytes,
    zip_bytes,
)

SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
FILLER = make_vocabulary(4242)
N_DOCS = 9


def filler(seed: int, words: int = 80) -> str:
    return make_text(seed, words, FILLER)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], list[str]]:
    """A store with nine confidential documents, each in its own vocabulary."""
    root = tmp_path_factory.mktemp("registered")
    docs, texts = [], []
    for i in range(N_DOCS):
        text = make_text(500 + i, 700, make_vocabulary(900 + i))
        path = root / "confidential" / f"doc-{i}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        docs.append(path)
        texts.append(text)
    code, _ = run("index", "add", str(root / "confidential"), "--store", str(root / "store"))
    assert code == 0
    return root / "store", docs, texts


def excerpt(text: str, seed: int) -> str:
    """A verbatim run of 70 to 110 words of ``text``."""
    words = text.split()
    length = 70 + (seed * 13) % 41
    start = (seed * 97) % (len(words) - length)
    return " ".join(words[start:start + length])


def planted(text: str, seed: int) -> str:
    return filler(seed) + "\n\n" + excerpt(text, seed) + "\n\n" + filler(seed + 1000)


def delivery(folder: Path, texts: list[str] | None) -> dict[str, tuple[int, str]]:
    """Write the mixed delivery; with ``texts``, container i carries an excerpt of
    document i. Returns the expected (document, member path) per container file."""
    folder.mkdir()

    def body(i: int) -> str:
        return planted(texts[i], i) if texts is not None else filler(3000 + i)

    nested_zip = zip_bytes({"deep/x.txt": body(3).encode(), "deep/other.txt": filler(71).encode()})
    files = {
        "delivery.zip": zip_bytes({"docs/a.docx": docx_bytes(*body(0).split("\n\n")),
                                   "notes.txt": filler(10).encode()}),
        "bundle.tar.gz": tar_bytes({"report.md": body(1).encode(), "readme.txt": filler(11).encode()}),
        "archive.7z": sevenzip_bytes({"memo/memo.txt": body(2).encode(), "memo/more.txt": filler(12).encode()}),
        "outer.tar": tar_bytes({"inner.zip": nested_zip, "list.txt": filler(13).encode()}, "w"),
        "summary.txt.gz": gzip_bytes(body(4).encode()),
        "mail.eml": eml_bytes(html_body=f"<html><body><p>{filler(14)}</p></body></html>",
                              attachments={"report.docx": ("application/vnd.openxmlformats-officedocument."
                                                           "wordprocessingml.document",
                                                           docx_bytes(*body(5).split("\n\n")))}),
        "html-mail.eml": eml_bytes(html_body="<html><body>" + "".join(f"<p>{p}</p>" for p in body(6).split("\n\n"))
                                   + "</body></html>", text_body=body(6),
                                   attachments={"a.zip": ("application/zip",
                                                          zip_bytes({"x.docx": docx_bytes(filler(15))}))}),
        "outlook.msg": msg_bytes(filler(16), attachments={"figures.docx": docx_bytes(*body(7).split("\n\n"))}),
        "inbox.mbox": mbox_bytes([eml_bytes(text_body=filler(17)), eml_bytes(text_body=body(8))]),
    }
    members = {"delivery.zip": "docs/a.docx", "bundle.tar.gz": "report.md", "archive.7z": "memo/memo.txt",
               "outer.tar": "inner.zip!/deep/x.txt", "summary.txt.gz": "summary.txt",
               "mail.eml": "report.docx", "html-mail.eml": "body.html", "outlook.msg": "figures.docx",
               "inbox.mbox": "message-2.eml!/body.txt"}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: (i, f"{folder.resolve() / name}!/{members[name]}") for i, name in enumerate(files)}


@pytest.fixture(scope="module")
def scanned(registered: tuple[Path, list[Path], list[str]], tmp_path_factory: pytest.TempPathFactory,
            ) -> tuple[Path, dict[str, tuple[int, str]], Path]:
    store, _docs, texts = registered
    folder = tmp_path_factory.mktemp("vendor") / "acme"
    return store, delivery(folder, texts), folder


def scan(store: Path, folder: Path, fmt: str, *more: str) -> tuple[int, str]:
    return run("scan", str(folder), "--store", str(store), "--format", fmt, "--no-cache", *more)


def test_one_finding_per_planted_excerpt_naming_the_member(
        scanned: tuple[Path, dict[str, tuple[int, str]], Path],
        registered: tuple[Path, list[Path], list[str]]) -> None:
    store, expected, folder = scanned
    docs = registered[1]
    code, out = scan(store, folder, "json")
    report = json.loads(out)
    assert report["errors"] == [] and code == 1
    found = {f["deliverable"]["path"]: f for f in report["findings"]}
    assert len(report["findings"]) == len(expected) == len(found)
    for name, (doc, member) in expected.items():
        f = found[member]
        assert f["source"]["path"] == str(docs[doc].resolve()), name
        assert f["kind"] == "confidential-excerpt" and f["verified"]
        assert f["container"]["path"] == str(folder.resolve() / name)
        assert len(f["container"]["sha256"]) == 64
        assert 60 <= f["scores"]["matched_words"] <= 115
    summary = report["summary"]
    assert summary["files_scanned"] == len(expected) and summary["members_scanned"] >= 2 * len(expected)
    mail = found[expected["mail.eml"][1]]
    assert mail["email"]["subject"] == "Q3 deliverables" and mail["email"]["from"].startswith("Vendor Analyst")
    assert found[expected["outlook.msg"][1]]["email"]["subject"] == "Q3 figures"
    assert "email" not in found[expected["delivery.zip"][1]]


def test_member_spans_index_the_members_own_text(
        scanned: tuple[Path, dict[str, tuple[int, str]], Path],
        registered: tuple[Path, list[Path], list[str]]) -> None:
    store, expected, folder = scanned
    texts = registered[2]
    report = json.loads(scan(store, folder, "json")[1])
    f = next(f for f in report["findings"] if f["deliverable"]["path"] == expected["bundle.tar.gz"][1])
    with tarfile.open(folder / "bundle.tar.gz") as archive:
        member = archive.extractfile("report.md").read().decode()  # type: ignore[union-attr]
    copied = " ".join(member[f["deliverable"]["start"]:f["deliverable"]["end"]].split())
    assert copied in " ".join(excerpt(texts[1], 1).split()) or excerpt(texts[1], 1) in copied
    import hashlib

    assert f["deliverable"]["sha256"] == hashlib.sha256(member.encode()).hexdigest()


def test_the_same_containers_without_excerpts_give_nothing(
        registered: tuple[Path, list[Path], list[str]], tmp_path: Path) -> None:
    store = registered[0]
    delivery(tmp_path / "clean", None)
    code, out = scan(store, tmp_path / "clean", "json")
    report = json.loads(out)
    assert (code, report["findings"], report["errors"]) == (0, [], [])
    assert report["summary"]["complete"]


def test_every_report_format_names_members(scanned: tuple[Path, dict[str, tuple[int, str]], Path]) -> None:
    store, expected, folder = scanned
    members = {member for _doc, member in expected.values()}
    text = scan(store, folder, "text")[1]
    assert all(m in text for m in members)
    assert "e-mail subject: Q3 deliverables" in text and "in file: " in text
    lines = [json.loads(line) for line in scan(store, folder, "jsonl")[1].splitlines()]
    assert {r["deliverable"]["path"] for r in lines if r["record"] == "finding"} == members
    rows = list(csv.DictReader(io.StringIO(scan(store, folder, "csv")[1])))
    assert {r["deliverable_path"] for r in rows} == members
    assert {r["container_path"] for r in rows} == {str(folder.resolve() / n) for n in expected}
    assert any(r["email_subject"] == "Q3 figures" for r in rows)
    sarif = json.loads(scan(store, folder, "sarif")[1])
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(sarif)
    run_ = sarif["runs"][0]
    artifacts = run_["artifacts"]
    for result in run_["results"]:
        location = result["locations"][0]["physicalLocation"]["artifactLocation"]
        chain, index = [], location["index"]
        while index is not None:
            chain.append(artifacts[index]["location"]["uri"])
            index = artifacts[index].get("parentIndex")
        assert chain[-1].startswith("file://") and location["uri"] == chain[0]
    nested = next(r for r in run_["results"] if "inner.zip" in r["properties"]["deliverable"]["path"])
    index = nested["locations"][0]["physicalLocation"]["artifactLocation"]["index"]
    assert artifacts[index]["location"]["uri"] == "/deep/x.txt"
    assert artifacts[artifacts[index]["parentIndex"]]["location"]["uri"] == "/inner.zip"
    html = scan(store, folder, "html", "--output", str(folder.parent / "r.html"))
    assert html[0] == 1
    page = (folder.parent / "r.html").read_text()
    assert "outer.tar!/inner.zip!/deep/x.txt" in page and "<mark" in page and "Q3 figures" in page


def test_members_that_cannot_be_read_make_the_scan_incomplete(
        registered: tuple[Path, list[Path], list[str]], tmp_path: Path) -> None:
    store, _docs, texts = registered
    folder = tmp_path / "v"
    folder.mkdir()
    (folder / "locked.zip").write_bytes(encrypted_zip({"open.txt": filler(1).encode(),
                                                       "secret.txt": planted(texts[0], 0).encode()}, {"secret.txt"}))
    (folder / "cut.tar.gz").write_bytes(tar_bytes({"a.txt": filler(2).encode() * 50})[:200])
    code, out = scan(store, folder, "json")
    report = json.loads(out)
    assert code == 3 and report["findings"] == []
    by_path = {e["path"]: e for e in report["errors"]}
    locked = by_path[f"{folder}/locked.zip!/secret.txt"]
    assert locked["status"] == "encrypted" and locked["container"] == {"path": f"{folder}/locked.zip",
                                                                       "members": ["secret.txt"]}
    assert by_path[f"{folder}/cut.tar.gz"]["status"] == "parse-error"
    # The scan cache never keeps a container some of whose members were not read.
    run("scan", str(folder), "--store", str(store), "--format", "json")
    again = json.loads(run("scan", str(folder), "--store", str(store), "--format", "json", "--changed-only")[1])
    assert again["summary"]["files_unchanged"] == 0 and again["errors"]


def test_an_archive_of_documents_is_registered_member_by_member(
        registered: tuple[Path, list[Path], list[str]], tmp_path: Path) -> None:
    store = tmp_path / "store"
    secrets = [make_text(700 + i, 600, make_vocabulary(800 + i)) for i in range(2)]
    archive = tmp_path / "secrets.zip"
    archive.write_bytes(zip_bytes({"plans/a.docx": docx_bytes(*secrets[0].split("\n\n")),
                                   "b.txt.gz": gzip_bytes(secrets[1].encode())}))
    code, out = run("index", "add", str(archive), "--store", str(store))
    assert code == 0, out
    listed = json.loads(run("index", "list", "--store", str(store), "--format", "json")[1])
    paths = sorted(d["path"] for d in listed["documents"]) if isinstance(listed, dict) else \
        sorted(d["path"] for d in listed)
    assert paths == [f"{archive}!/b.txt.gz!/b.txt", f"{archive}!/plans/a.docx"]
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    (vendor / "copy.txt").write_text(planted(secrets[0], 3) + "\n\n" + planted(secrets[1], 4))
    report = json.loads(scan(store, vendor, "json")[1])
    sources = sorted((f["source"]["path"], f["verified"]) for f in report["findings"])
    assert sources == [(f"{archive}!/b.txt.gz!/b.txt", True), (f"{archive}!/plans/a.docx", True)]
    code, _ = run("index", "remove", f"{archive}!/plans/a.docx", "--store", str(store))
    assert code == 0
    code, _ = run("index", "remove", str(archive), "--store", str(store))  # the rest of the archive
    assert code == 0
    assert json.loads(scan(store, vendor, "json")[1])["findings"] == []


def test_the_daemon_alerts_on_a_dropped_zip_naming_its_members(
        registered: tuple[Path, list[Path], list[str]], tmp_path: Path) -> None:
    store, _docs, texts = registered
    drop = tmp_path / "acme"
    drop.mkdir()
    config = tmp_path / "leakwatch.toml"
    config.write_text(f'store = "{store}"\n[watch]\nstate_dir = "{tmp_path / "state"}"\n'
                      f'[[watch.folders]]\npath = "{drop}"\nvendor = "acme"\n', encoding="utf-8")
    (drop / "delivery.zip").write_bytes(encrypted_zip({"leak.txt": planted(texts[2], 2).encode(),
                                                       "locked.txt": b"x" * 100}, {"locked.txt"}))
    result = subprocess.run([sys.executable, "-m", "leakwatch", "watch", "--once", "--config", str(config)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    alerts: list[dict[str, Any]] = [json.loads(line)
                                    for line in (tmp_path / "state" / "alerts.jsonl").read_text().splitlines()]
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["event"] == "findings" and alert["path"] == str(drop / "delivery.zip")
    assert [f["deliverable"]["path"] for f in alert["findings"]] == [f"{drop}/delivery.zip!/leak.txt"]
    assert [(e["path"], e["status"]) for e in alert["errors"]] == [(f"{drop}/delivery.zip!/locked.txt",
                                                                    "encrypted")]
    assert alert["status"] == "encrypted"
