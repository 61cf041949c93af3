"""What a first real user ran into (issue 17): store and key-file mistakes, empty reasons,
report files and their safety, table findings in the reports, the return check on tables."""

from __future__ import annotations

import itertools
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_text, make_vocabulary
from tests.tabledata import CLIENT_HEADER, client_rows, write_csv
from tests.test_cli import excerpt, run

FILLER = make_vocabulary(57)


def leakwatch(*args: str, cwd: Path | None = None,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real entry point (warnings and interruptions are handled there, not in click)."""
    return subprocess.run([sys.executable, "-m", "leakwatch", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env={**os.environ, **(env or {})})


@pytest.fixture()
def store_with_doc(tmp_path: Path, secret_text: str) -> tuple[Path, Path]:
    store = tmp_path / "store"
    doc = tmp_path / "conf" / "plan.txt"
    doc.parent.mkdir()
    doc.write_text(secret_text, encoding="utf-8")
    assert run("index", "add", str(doc), "--store", str(store))[0] == 0
    return store, doc


# --- the store and its key ----------------------------------------------------------------

def test_store_pointing_at_a_regular_file_says_so(tmp_path: Path, store_with_doc: tuple[Path, Path]) -> None:
    store, doc = store_with_doc
    for wrong in (doc, store / "leakwatch.sqlite"):
        code, _, err = run("scan", str(doc), "--store", str(wrong))
        assert code == 2 and "is a file, not a store folder" in err, err
        assert "register documents first" not in err
    code, _, err = run("index", "add", str(doc), "--store", str(doc))
    assert code == 2 and "is a file, not a store folder" in err


def test_an_empty_database_file_is_refused_and_left_alone(tmp_path: Path, secret_text: str) -> None:
    store = tmp_path / "store"
    store.mkdir()
    (store / "leakwatch.sqlite").write_bytes(b"")
    doc = tmp_path / "plan.txt"
    doc.write_text(secret_text)
    for command in (("scan", str(doc)), ("index", "add", str(doc))):
        code, _, err = run(*command, "--store", str(store))
        assert code == 2 and "is empty (0 bytes)" in err and "no such table" not in err, err
        assert (store / "leakwatch.sqlite").stat().st_size == 0  # not rewritten


def test_a_sqlite_file_of_another_program_is_not_written(tmp_path: Path) -> None:
    import sqlite3

    store = tmp_path / "store"
    store.mkdir()
    con = sqlite3.connect(store / "leakwatch.sqlite")
    con.execute("CREATE TABLE notes (x TEXT)")
    con.commit()
    con.close()
    from leakwatch.keys import StoreKey, write_key

    write_key(store / "leakwatch.key", StoreKey(b"k" * 32))
    before = (store / "leakwatch.sqlite").read_bytes()
    code, _, err = run("index", "list", "--store", str(store))
    assert code == 2 and "not a leakwatch store" in err
    con = sqlite3.connect(store / "leakwatch.sqlite")
    assert [r[0] for r in con.execute("SELECT name FROM sqlite_master")] == ["notes"]
    con.close()
    assert (store / "leakwatch.sqlite").read_bytes() == before


def test_a_key_file_others_can_read_is_used_with_a_warning(store_with_doc: tuple[Path, Path]) -> None:
    store, doc = store_with_doc
    key = store / "leakwatch.key"
    os.chmod(key, 0o644)
    result = leakwatch("scan", str(doc), "--store", str(store), "--format", "json")
    assert result.returncode == 1, result.stderr
    assert f"leakwatch: warning: key file {key} can be read by others (mode 0644): run chmod 600 {key}" \
        in result.stderr
    os.chmod(key, 0o600)
    assert "warning" not in leakwatch("scan", str(doc), "--store", str(store), "--format", "json").stderr


def test_a_scan_against_an_empty_store_warns(tmp_path: Path) -> None:
    store = tmp_path / "store"
    note = tmp_path / "other.txt"
    note.write_text(make_text(3, 200, FILLER))
    other = tmp_path / "table.csv"
    write_csv(other, CLIENT_HEADER, client_rows(20))
    assert run("index", "add-table", str(other), "--store", str(store))[0] == 0
    assert run("index", "remove", str(other), "--store", str(store))[0] == 0
    result = leakwatch("scan", str(note), "--store", str(store))
    assert result.returncode == 0
    assert "holds no registered document or table: no confidential material can be found" in result.stderr


# --- baselines, --changed-only ---------------------------------------------------------------

@pytest.mark.parametrize("reason", ["", "   "])
def test_baseline_create_requires_a_reason(tmp_path: Path, reason: str) -> None:
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"findings": []}))
    code, _, err = run("baseline", "create", str(report), "-o", str(tmp_path / "b.json"), "--reason", reason)
    assert code == 2 and "--reason" in err
    assert not (tmp_path / "b.json").exists()


def test_changed_only_with_nothing_changed_says_how_many_were_unchanged(store_with_doc: tuple[Path, Path],
                                                                       tmp_path: Path) -> None:
    store, _ = store_with_doc
    folder = tmp_path / "delivery"
    folder.mkdir()
    for i in range(3):
        (folder / f"n{i}.txt").write_text(make_text(i, 100, FILLER))
    code, out, _ = run("scan", str(folder), "--store", str(store), "--format", "json")
    assert code == 0 and json.loads(out)["summary"]["files_unchanged"] == 0
    code, out, _ = run("scan", str(folder), "--store", str(store), "--format", "json")
    assert json.loads(out)["summary"]["files_unchanged"] == 3  # cache hits count without --changed-only too
    result = leakwatch("scan", str(folder), "--store", str(store), "--changed-only")
    assert result.returncode == 0
    assert "3 file(s) unchanged since the last scan (not reported)" in result.stderr


def test_errors_and_findings_name_files_by_absolute_path(store_with_doc: tuple[Path, Path], tmp_path: Path,
                                                         secret_text: str) -> None:
    store, _ = store_with_doc
    folder = tmp_path / "delivery"
    folder.mkdir()
    (folder / "copy.txt").write_text(secret_text)
    (folder / "locked.pdf").write_bytes(b"%PDF-1.4\ntrailer << /Encrypt 5 0 R >>\n%%EOF")
    for fmt in ("json", "sarif", "csv", "text"):
        result = leakwatch("scan", "delivery", "--store", str(store), "--format", fmt, "--no-cache", cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        assert str(folder / "locked.pdf") in result.stdout and str(folder / "copy.txt") in result.stdout, fmt


# --- report files ----------------------------------------------------------------------------

@pytest.fixture()
def leaked(tmp_path: Path, store_with_doc: tuple[Path, Path], secret_text: str) -> tuple[Path, Path, str]:
    store, _ = store_with_doc
    copied, _, _ = excerpt(secret_text, 300, 90)
    deliverable = tmp_path / "delivery" / "memo.txt"
    deliverable.parent.mkdir()
    deliverable.write_text(make_text(4, 200, FILLER) + "\n\n" + copied + "\n\n" + make_text(5, 200, FILLER))
    return store, deliverable, copied


@pytest.mark.parametrize("fmt", ["text", "json", "jsonl", "csv", "sarif", "html"])
def test_every_report_file_is_written_0600(leaked: tuple[Path, Path, str], tmp_path: Path, fmt: str) -> None:
    store, deliverable, _ = leaked
    out = tmp_path / f"report.{fmt}"
    out.write_text("an old report, readable by all")
    os.chmod(out, 0o644)
    code, _, err = run("scan", str(deliverable), "--store", str(store), "--format", fmt, "-o", str(out))
    assert code == 1, err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "an old report" not in out.read_text()


def test_the_html_report_says_it_quotes_confidential_text(leaked: tuple[Path, Path, str], tmp_path: Path) -> None:
    store, deliverable, copied = leaked
    out = tmp_path / "r.html"
    assert run("scan", str(deliverable), "--store", str(store), "--format", "html", "-o", str(out))[0] == 1
    page = out.read_text()
    head = page[:page.index("<main>")]
    assert "quotes the text found in deliverables" in head and "--redact" in head
    assert "No text of any registered source document is included" not in page
    assert copied.split()[10] in page  # the passage is shown (it is what the banner warns of)


@pytest.mark.parametrize("fmt", ["text", "json", "jsonl", "csv", "sarif", "html"])
def test_redact_leaves_no_text_of_any_document_in_any_format(leaked: tuple[Path, Path, str], tmp_path: Path,
                                                             secret_text: str, fmt: str) -> None:
    store, deliverable, _ = leaked
    notice = "Copyright (c) 2024 Zanzibar Quillfeather Holdings. All rights reserved."
    deliverable.write_text(deliverable.read_text() + "\n\n" + notice + "\n")
    code, out, err = run("scan", str(deliverable), "--store", str(store), "--format", fmt, "--redact")
    assert code == 1, err
    words = {w for w in secret_text.split() if len(w) > 7} | {"Zanzibar", "Quillfeather"}
    shown = {w for w in words if w in out}
    assert not shown, (fmt, sorted(shown)[:5])
    assert "lw-" in out  # ids stay, and with them where and how much
    if fmt == "json":
        report = json.loads(out)
        assert report["summary"]["redacted"] is True
        finding = next(f for f in report["findings"] if f["kind"] == "confidential-excerpt")
        assert finding["deliverable"]["start"] < finding["deliverable"]["end"] and finding["scores"]["matched_words"]


# --- tables ------------------------------------------------------------------------------------

@pytest.fixture()
def client_list(tmp_path: Path) -> tuple[Path, Path, list[list[str]]]:
    store = tmp_path / "store"
    rows = client_rows(2000)
    table = write_csv(tmp_path / "clients.csv", CLIENT_HEADER, rows)
    code, out, err = run("index", "add-table", str(table), "--store", str(store), "--key-columns",
                         "Name,Company,Email,Account")
    assert code == 0, out + err
    return store, table, rows


def test_table_findings_read_as_rows_and_cells(client_list: tuple[Path, Path, list[list[str]]],
                                               tmp_path: Path) -> None:
    store, _, rows = client_list
    memo = tmp_path / "memo.txt"
    lines = [f"{r[0]} of {r[1]} ({r[2]}), account {r[3]}, was called." for r in rows[100:104]]
    memo.write_text(make_text(8, 150, FILLER) + "\n" + "\n".join(lines) + "\n" + make_text(9, 150, FILLER))
    code, out, _ = run("scan", str(memo), "--store", str(store), "--no-cache")
    assert code == 1
    assert "4 of 2,000 rows of clients.csv; 16 cells (Name, Company, Email, Account)" in out
    assert "words matched" not in out
    code, html, _ = run("scan", str(memo), "--store", str(store), "--no-cache", "--format", "html")
    assert "4 of 2,000 rows of clients.csv; 16 cells (Name, Company, Email, Account)" in html


def test_a_name_inside_an_email_address_is_not_a_second_cell(tmp_path: Path) -> None:
    store = tmp_path / "store"
    header = ["Name", "Company", "Email", "Account"]
    rows = [[f"{first} {last}", f"{co} Traders", f"{first.lower()}.{last.lower()}@{co.lower()}.example",
             f"ACC-{7000 + i}"]
            for i, (first, last, co) in enumerate([("Samuel", "Thorne", "Northwind"), ("Ada", "Quill", "Brightwater"),
                                                   ("Omar", "Vance", "Coldharbor"), ("Lena", "Marsh", "Eastgate")])]
    table = write_csv(tmp_path / "contacts.csv", header, rows)
    assert run("index", "add-table", str(table), "--store", str(store))[0] == 0
    memo = tmp_path / "memo.txt"
    memo.write_text(make_text(1, 80, FILLER) + f"\nPlease write to {rows[0][2]} at {rows[0][1]} about it.\n"
                    + make_text(2, 80, FILLER))
    code, out, _ = run("scan", str(memo), "--store", str(store), "--format", "json", "--no-cache")
    assert code == 1
    [finding] = json.loads(out)["findings"]
    rec = finding["records"]
    spans = [(s["start"], s["end"]) for s in rec["spans"]]
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans  # no overlapping cells
    assert rec["cells_matched"] == 2 and rec["columns"] == ["Company", "Email"]
    assert finding["severity"] == "low"


def test_return_check_finds_a_registered_tables_rows(client_list: tuple[Path, Path, list[list[str]]],
                                                     tmp_path: Path) -> None:
    store, table, rows = client_list
    vendor = tmp_path / "vendors" / "acme"
    vendor.mkdir(parents=True)
    (vendor / "leftover.csv").write_text("\n".join(",".join(r[:4]) for r in rows[500:520]) + "\n")
    (vendor / "notes.txt").write_text(make_text(11, 200, FILLER))
    config = tmp_path / "lw.toml"
    config.write_text(f'store = "{store}"\n[[watch.folders]]\npath = "{vendor}"\nvendor = "acme"\n')
    code, out, err = run("audit", "--config", str(config), "-o", str(tmp_path / "audits"), "--return-check", "acme")
    assert code == 1, out + err
    assert "confidential material is still present" in out and "1 of 1 table(s) still present" in out
    record = json.loads(next((tmp_path / "audits").glob("*return-check*.json")).read_text())
    [item] = record["still_present"]
    assert item["material"] == "table" and item["path"] == str(table.resolve())
    assert item["rows_still_present"] == 20 and item["rows"] == 2000
    # The audit summary counts the records finding among the confidential ones.
    code, out, err = run("audit", "--config", str(config), "-o", str(tmp_path / "audits2"))
    summary = json.loads(next((tmp_path / "audits2").glob("*-audit-*.json")).read_text())["summary"]
    assert summary["by_kind"] == {"confidential-records": 1} and summary["confidential_findings"] == 1
