"""End-to-end through the CLI: click's runner for most cases, a real subprocess for the entry point."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from leakwatch.cli import cli
from tests.conftest import make_text, words_of


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def scan_json(store: Path, *paths: Path, extra: tuple[str, ...] = ()) -> tuple[int, dict]:
    code, out, err = run("scan", *map(str, paths), "--store", str(store), "--format", "json", *extra)
    assert "Traceback" not in out + err
    return code, json.loads(out)


def excerpt(text: str, first_word: int, n_words: int) -> tuple[str, int, int]:
    """The text of words first_word .. first_word + n_words - 1, with its char span in ``text``."""
    spans = [m.span() for m in re.finditer(r"\w+", text)]
    start, end = spans[first_word][0], spans[first_word + n_words - 1][1]
    return text[start:end], start, end


@pytest.fixture()
def indexed(tmp_path: Path, secret_text: str) -> tuple[Path, Path]:
    """A store holding one confidential document; returns (store, document path)."""
    store = tmp_path / "store"
    doc = tmp_path / "confidential" / "strategy.txt"
    doc.parent.mkdir()
    doc.write_text(secret_text, encoding="utf-8")
    code, out, _ = run("index", "add", str(doc.parent), "--store", str(store), "--label", "trade-secret",
                       "--owner", "finance")
    assert code == 0, out
    assert "1 added" in out
    return store, doc


def test_verbatim_excerpt_gives_one_finding_with_exact_spans(tmp_path: Path, indexed: tuple[Path, Path],
                                                            secret_text: str, vocabulary: list[str]) -> None:
    store, doc = indexed
    copied, s_start, s_end = excerpt(secret_text, 400, 90)
    before, after = make_text(5, 300, vocabulary), make_text(6, 300, vocabulary)
    deliverable = tmp_path / "out" / "report.txt"
    deliverable.parent.mkdir()
    deliverable.write_text(before + "\n\n" + copied + "\n\n" + after, encoding="utf-8")
    code, report = scan_json(store, deliverable)
    assert code == 1
    [f] = report["findings"]
    assert f["kind"] == "confidential-excerpt"
    assert f["severity"] == "high"
    d = f["deliverable"]
    text = deliverable.read_text(encoding="utf-8")
    assert text[d["start"] : d["end"]] == copied
    assert (f["source"]["start"], f["source"]["end"]) == (s_start, s_end)
    assert f["source"]["label"] == "trade-secret"
    assert f["source"]["path"] == str(doc.resolve())
    assert f["scores"]["matched_words"] == 90
    assert f["scores"]["resemblance"] == 1.0
    assert f["scores"]["containment_source"] == pytest.approx(90 / 1500, abs=0.002)
    assert 0.0 < f["scores"]["containment_deliverable"] < 0.2
    assert 0.9 < f["scores"]["confidence"] <= 1.0
    assert f["verified"] is True
    assert report["summary"]["files_scanned"] == 1
    assert report["errors"] == []


def test_lightly_edited_excerpt_is_one_finding(tmp_path: Path, indexed: tuple[Path, Path], secret_text: str,
                                               vocabulary: list[str]) -> None:
    store, _ = indexed
    copied, s_start, s_end = excerpt(secret_text, 200, 120)
    words = copied.split(" ")
    edited = " ".join("EDITED" if i % 13 == 6 else w for i, w in enumerate(words))
    deliverable = tmp_path / "edited.md"
    deliverable.write_text(make_text(8, 200, vocabulary) + "\n\n" + edited + "\n", encoding="utf-8")
    code, report = scan_json(store, deliverable)
    assert code == 1
    [f] = report["findings"]
    assert f["kind"] == "confidential-excerpt"
    # the finding covers most of the copied passage on both sides
    text = deliverable.read_text(encoding="utf-8")
    e_start = text.index(edited)
    overlap = min(f["deliverable"]["end"], e_start + len(edited)) - max(f["deliverable"]["start"], e_start)
    assert overlap > 0.8 * len(edited)
    s_overlap = min(f["source"]["end"], s_end) - max(f["source"]["start"], s_start)
    assert s_overlap > 0.8 * (s_end - s_start)
    assert f["scores"]["resemblance"] < 1.0


def test_excerpt_converted_to_pdf_reports_the_page(tmp_path: Path, indexed: tuple[Path, Path],
                                                   secret_text: str, vocabulary: list[str]) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    store, _ = indexed
    copied, s_start, s_end = excerpt(secret_text, 700, 80)
    style = getSampleStyleSheet()["BodyText"]
    pdf = tmp_path / "deliverable.pdf"
    SimpleDocTemplate(str(pdf), pagesize=A4).build([
        Paragraph(make_text(9, 150, vocabulary), style), PageBreak(),
        Paragraph(make_text(10, 60, vocabulary), style), Paragraph(copied, style),
    ])
    code, report = scan_json(store, pdf)
    assert code == 1
    [f] = report["findings"]
    assert f["deliverable"]["page"] == 2
    assert f["source"]["page"] is None
    s_overlap = min(f["source"]["end"], s_end) - max(f["source"]["start"], s_start)
    assert s_overlap > 0.9 * (s_end - s_start)
    assert f["scores"]["matched_words"] >= 75


def test_excerpt_in_docx(tmp_path: Path, indexed: tuple[Path, Path], secret_text: str,
                         vocabulary: list[str]) -> None:
    import docx

    store, _ = indexed
    copied, s_start, s_end = excerpt(secret_text, 1000, 60)
    document = docx.Document()
    document.add_heading("Quarterly review", level=1)
    document.add_paragraph(make_text(11, 120, vocabulary))
    document.add_paragraph(copied)
    path = tmp_path / "review.docx"
    document.save(str(path))
    code, report = scan_json(store, path)
    assert code == 1
    [f] = report["findings"]
    assert (f["source"]["start"], f["source"]["end"]) == (s_start, s_end)
    assert f["scores"]["matched_words"] == 60


def test_unrelated_text_is_clean(tmp_path: Path, indexed: tuple[Path, Path], vocabulary: list[str]) -> None:
    store, _ = indexed
    clean = tmp_path / "clean.txt"
    clean.write_text(make_text(12, 2000, vocabulary), encoding="utf-8")
    code, report = scan_json(store, clean)
    assert code == 0
    assert report["findings"] == [] and report["errors"] == []
    assert report["summary"]["complete"] is True


def test_renamed_near_duplicate(tmp_path: Path, indexed: tuple[Path, Path], secret_text: str) -> None:
    store, _ = indexed
    words = secret_text.split(" ")
    edited = " ".join("changed" if i % 40 == 0 else w for i, w in enumerate(words))
    copy = tmp_path / "final-deliverable-v2.txt"
    copy.write_text(edited, encoding="utf-8")
    code, report = scan_json(store, copy)
    assert code == 1
    [f] = report["findings"]
    assert f["kind"] == "confidential-near-duplicate"
    assert f["severity"] == "high"
    assert f["scores"]["containment_source"] > 0.9
    assert f["scores"]["containment_deliverable"] > 0.9
    assert len(f["passages"]) >= 1


def test_findings_are_stable_and_hold_no_text(tmp_path: Path, indexed: tuple[Path, Path],
                                              secret_text: str, vocabulary: list[str]) -> None:
    store, _ = indexed
    copied, _, _ = excerpt(secret_text, 50, 70)
    deliverable = tmp_path / "d.txt"
    deliverable.write_text(make_text(13, 100, vocabulary) + " " + copied, encoding="utf-8")
    _, first = scan_json(store, deliverable)
    _, second = scan_json(store, deliverable)
    assert [f["id"] for f in first["findings"]] == [f["id"] for f in second["findings"]]
    # an edit elsewhere in the deliverable keeps the id
    deliverable.write_text(make_text(14, 130, vocabulary) + " " + copied, encoding="utf-8")
    _, third = scan_json(store, deliverable)
    assert [f["id"] for f in third["findings"]] == [f["id"] for f in first["findings"]]
    dumped = json.dumps(first).lower()
    source_words = words_of(copied)
    for i in range(0, len(source_words) - 3, 3):
        assert " ".join(source_words[i : i + 3]) not in dumped
    assert set(first) == {"leakwatch", "findings", "errors", "summary"}


def test_fail_on_threshold(tmp_path: Path, indexed: tuple[Path, Path], secret_text: str,
                           vocabulary: list[str]) -> None:
    store, _ = indexed
    copied, _, _ = excerpt(secret_text, 300, 24)  # a short excerpt: low severity
    deliverable = tmp_path / "short.txt"
    deliverable.write_text(make_text(15, 200, vocabulary) + " " + copied, encoding="utf-8")
    code, report = scan_json(store, deliverable)
    assert code == 1 and report["findings"][0]["severity"] == "low"
    code, _ = scan_json(store, deliverable, extra=("--fail-on", "high"))
    assert code == 0


def test_unreadable_file_makes_scan_incomplete(tmp_path: Path, indexed: tuple[Path, Path],
                                               vocabulary: list[str]) -> None:
    store, _ = indexed
    folder = tmp_path / "delivery"
    folder.mkdir()
    (folder / "notes.txt").write_text(make_text(16, 100, vocabulary), encoding="utf-8")
    (folder / "data.txt").write_bytes(b"\x00\x01\x02binary\x00" * 100)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage")
    code, report = scan_json(store, folder)
    assert code == 3
    statuses = {Path(e["path"]).name: e["status"] for e in report["errors"]}
    assert statuses == {"data.txt": "unsupported", "broken.pdf": "parse-error"}
    assert report["summary"]["files_scanned"] == 1
    assert report["summary"]["complete"] is False
    # the text report says these files are not known to be clean
    code, out, _ = run("scan", str(folder), "--store", str(store))
    assert code == 3 and "NOT known to be clean" in out


def test_usage_errors_exit_2(tmp_path: Path, vocabulary: list[str]) -> None:
    target = tmp_path / "a.txt"
    target.write_text(make_text(17, 50, vocabulary), encoding="utf-8")
    code, _, err = run("scan", str(target), "--store", str(tmp_path / "nowhere"))
    assert code == 2 and "no fingerprint store" in err
    bad = tmp_path / "bad.toml"
    bad.write_text("[detect]\nmin_words = 'many'\n", encoding="utf-8")
    code, _, err = run("scan", str(target), "--config", str(bad))
    assert code == 2 and "min_words" in err
    code, _, _ = run("scan", str(tmp_path / "missing.txt"))
    assert code == 2


def test_config_file_sets_store_and_thresholds(tmp_path: Path, indexed: tuple[Path, Path],
                                               secret_text: str, vocabulary: list[str]) -> None:
    store, _ = indexed
    copied, _, _ = excerpt(secret_text, 300, 40)
    deliverable = tmp_path / "d.txt"
    deliverable.write_text(make_text(18, 100, vocabulary) + " " + copied, encoding="utf-8")
    config = tmp_path / "leakwatch.toml"
    config.write_text(f'store = "{store}"\n[detect]\nmin_words = 60\n', encoding="utf-8")
    code, _ = scan_json(store, deliverable)
    assert code == 1
    code, out, _ = run("scan", str(deliverable), "--config", str(config), "--format", "json")
    assert code == 0 and json.loads(out)["findings"] == []


def test_reindex_remove_and_list(tmp_path: Path, indexed: tuple[Path, Path], secret_text: str) -> None:
    store, doc = indexed
    code, out, _ = run("index", "add", str(doc), "--store", str(store), "--label", "trade-secret",
                       "--owner", "finance")
    assert code == 0 and "unchanged" in out
    doc.write_text(secret_text + " Appendix added later with more words to change the content.",
                   encoding="utf-8")
    code, out, _ = run("index", "add", str(doc), "--store", str(store), "--label", "trade-secret",
                       "--owner", "finance")
    assert code == 0 and "replaced" in out and "v2" in out
    code, out, _ = run("index", "list", "--store", str(store), "--format", "json")
    [listed] = json.loads(out)["documents"]
    assert listed["version"] == 2 and listed["owner"] == "finance"
    code, out, _ = run("index", "remove", listed["doc_id"], "--store", str(store))
    assert code == 0 and "removed" in out
    code, out, _ = run("index", "list", "--store", str(store))
    assert "0 document(s)" in out
    code, _, err = run("index", "remove", "doc-unknown", "--store", str(store))
    assert code == 2 and "no indexed document" in err


def test_fingerprints_only_when_source_moved(tmp_path: Path, indexed: tuple[Path, Path], secret_text: str,
                                             vocabulary: list[str]) -> None:
    store, doc = indexed
    copied, s_start, s_end = excerpt(secret_text, 500, 100)
    deliverable = tmp_path / "d.txt"
    deliverable.write_text(make_text(19, 150, vocabulary) + "\n" + copied, encoding="utf-8")
    shutil.move(str(doc), str(tmp_path / "moved.txt"))
    code, report = scan_json(store, deliverable)
    assert code == 1
    [f] = report["findings"]
    assert f["verified"] is False
    # spans rest on winnowed fingerprints: inside the true span, within one window of its ends
    assert s_start <= f["source"]["start"] and f["source"]["end"] <= s_end
    assert f["scores"]["matched_words"] >= 70


def test_store_folder_inside_scanned_tree_is_skipped(tmp_path: Path, secret_text: str) -> None:
    doc = tmp_path / "doc.txt"
    doc.write_text(secret_text, encoding="utf-8")
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert run("index", "add", "doc.txt")[0] == 0  # default store ./fingerprints
        _, report = scan_json(Path("fingerprints"), Path("."))
    finally:
        os.chdir(old)
    assert report["errors"] == []
    assert {Path(f["deliverable"]["path"]).name for f in report["findings"]} == {"doc.txt"}


def test_console_script_in_a_real_process(tmp_path: Path, secret_text: str, vocabulary: list[str]) -> None:
    exe = shutil.which("leakwatch") or str(Path(sys.executable).parent / "leakwatch")
    store = tmp_path / "s"
    doc = tmp_path / "doc.txt"
    doc.write_text(secret_text, encoding="utf-8")
    env = {**os.environ, "LEAKWATCH_STORE": str(store)}
    subprocess.run([exe, "index", "add", str(doc)], check=True, env=env, capture_output=True)
    copied, _, _ = excerpt(secret_text, 100, 50)
    deliverable = tmp_path / "deliverable.txt"
    deliverable.write_text(make_text(20, 80, vocabulary) + " " + copied, encoding="utf-8")
    proc = subprocess.run([exe, "scan", str(deliverable), "--format", "json"], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["findings"][0]["scores"]["matched_words"] == 50
    proc = subprocess.run([exe, "scan", str(deliverable), "--store", str(tmp_path / "none")],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    help_text = subprocess.run([exe, "scan", "--help"], capture_output=True, text=True).stdout
    assert "Examples:" in help_text and "--fail-on" in help_text


def test_evaluate_refuses_a_folder_that_is_not_a_corpus(tmp_path: Path) -> None:
    code, _, err = run("evaluate", "pan", str(tmp_path))
    assert code == 2 and "not a PAN text-alignment corpus" in err
    code, _, err = run("evaluate", "labels", str(tmp_path))
    assert code == 2 and "file_information.csv" in err


def test_passage_in_two_registered_documents_is_one_finding(tmp_path: Path, secret_text: str,
                                                            vocabulary: list[str]) -> None:
    copied, _, _ = excerpt(secret_text, 600, 80)
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "memo.txt").write_text(make_text(30, 300, vocabulary) + "\n\n" + copied, encoding="utf-8")
    (folder / "board-pack.txt").write_text(copied + "\n\n" + make_text(31, 500, vocabulary), encoding="utf-8")
    store = tmp_path / "store"
    assert run("index", "add", str(folder), "--store", str(store))[0] == 0
    deliverable = tmp_path / "d.txt"
    deliverable.write_text(make_text(32, 100, vocabulary) + "\n\n" + copied, encoding="utf-8")
    code, report = scan_json(store, deliverable)
    assert code == 1
    [f] = report["findings"]
    [other] = f["also_in"]
    assert {Path(f["source"]["path"]).name, Path(other["path"]).name} == {"memo.txt", "board-pack.txt"}
    assert other["matched_words"] == 80
    code, out, _ = run("scan", str(deliverable), "--store", str(store))
    assert "also in:" in out
