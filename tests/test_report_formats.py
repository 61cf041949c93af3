"""The machine-readable formats through the CLI: JSON Lines, CSV and SARIF 2.1.0 (validated
against the official OASIS schema), their agreement with the JSON report, and that none of
them holds text of any document."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

import leakwatch
from leakwatch.cli import cli
from leakwatch.detect.registry import finding_kinds
from leakwatch.report.csv import COLUMNS, _cell
from leakwatch.report.sarif import FINGERPRINT_KEY, artifact_uri
from tests.conftest import make_text, words_of

SCHEMA_PATH = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def scan(store: Path, fmt: str, *paths: Path, extra: tuple[str, ...] = ()) -> tuple[int, str]:
    code, out, _ = run("scan", *map(str, paths), "--store", str(store), "--format", fmt, *extra)
    return code, out


def excerpt(text: str, first_word: int, n_words: int) -> tuple[str, int, int]:
    spans = [m.span() for m in re.finditer(r"\w+", text)]
    start, end = spans[first_word][0], spans[first_word + n_words - 1][1]
    return text[start:end], start, end


def sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def assert_valid_sarif(log: dict[str, Any]) -> None:
    errors = sorted(sarif_validator().iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:300]}" for e in errors[:10])


@pytest.fixture()
def delivery(tmp_path: Path, secret_text: str, vocabulary: list[str]) -> dict[str, Any]:
    """A store with one confidential document, and a delivery folder with a copied
    excerpt beside a copyright notice, a broken PDF and a binary file."""
    store = tmp_path / "store"
    doc = tmp_path / "confidential" / "strategy.txt"
    doc.parent.mkdir()
    doc.write_text(secret_text, encoding="utf-8")
    code, out, _ = run("index", "add", str(doc), "--store", str(store), "--label", "trade-secret")
    assert code == 0, out
    folder = tmp_path / "delivery"
    folder.mkdir()
    copied, s_start, s_end = excerpt(secret_text, 400, 90)
    report = folder / "report.txt"
    report.write_text(make_text(5, 300, vocabulary) + "\n\n" + copied + "\n\nCopyright (c) 2021 Foo Inc.\n\n"
                      + make_text(6, 300, vocabulary), encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage")
    (folder / "data.txt").write_bytes(b"\x00\x01\x02binary\x00" * 100)
    code, out = scan(store, "json", folder)
    assert code == 1
    return {"store": store, "folder": folder, "report": report, "doc": doc, "copied": copied,
            "source_span": (s_start, s_end), "json": json.loads(out)}


def test_jsonl_has_a_header_then_findings_errors_and_summary(delivery: dict[str, Any]) -> None:
    code, out = scan(delivery["store"], "jsonl", delivery["folder"])
    assert code == 1
    lines = out.splitlines()
    records = [json.loads(line) for line in lines]
    assert all(line == json.dumps(r, separators=(",", ":")) for line, r in zip(lines, records, strict=True))
    header, *body, summary = records
    assert header["record"] == "header" and header["leakwatch"] == leakwatch.__version__
    assert header["format"] == "leakwatch-jsonl" and header["format_version"] == 1
    assert re.fullmatch(r"[0-9a-f]{64}", header["config"]["sha256"])
    assert header["config"]["fingerprint"]["shingle_size"] == 5
    assert header["config"]["guaranteed_run_words"] == 20
    assert header["index"]["documents"] == 1 and header["index"]["store"] == str(delivery["store"])
    assert header["index"]["key_id"] == delivery["json"]["summary"]["index"]["key_id"]
    assert datetime.fromisoformat(header["started_at"]).utcoffset() == timedelta(0)
    findings = [r for r in body if r["record"] == "finding"]
    errors = [r for r in body if r["record"] == "error"]
    assert len(findings) + len(errors) == len(body)
    # a finding line is the JSON report's finding, typed
    assert [{k: v for k, v in f.items() if k != "record"} for f in findings] == delivery["json"]["findings"]
    assert {Path(e["path"]).name: e["status"] for e in errors} == {"broken.pdf": "parse-error",
                                                                   "data.txt": "unsupported"}
    assert summary["record"] == "summary" and summary["findings"] == len(findings) == 2
    assert summary["suppressed"] == 0 and summary["complete"] is False
    # the same settings give the same config identity
    _, again = scan(delivery["store"], "jsonl", delivery["report"])
    assert json.loads(again.splitlines()[0])["config"] == header["config"]


def test_config_identity_changes_with_a_detection_setting(delivery: dict[str, Any], tmp_path: Path) -> None:
    _, out = scan(delivery["store"], "jsonl", delivery["report"])
    config = tmp_path / "lw.toml"
    config.write_text("[detect]\nmin_words = 25\n", encoding="utf-8")
    _, changed = scan(delivery["store"], "jsonl", delivery["report"], extra=("--config", str(config)))
    first, second = json.loads(out.splitlines()[0]), json.loads(changed.splitlines()[0])
    assert first["config"]["sha256"] != second["config"]["sha256"]
    assert first["config"]["fingerprint"] == second["config"]["fingerprint"]


def test_csv_has_one_row_per_finding_and_per_unscannable_file(delivery: dict[str, Any]) -> None:
    code, out = scan(delivery["store"], "csv", delivery["folder"])
    assert code == 1
    reader = csv.DictReader(io.StringIO(out))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    rows = list(reader)
    findings = [r for r in rows if r["kind"] != "error"]
    errors = [r for r in rows if r["kind"] == "error"]
    by_id = {f["id"]: f for f in delivery["json"]["findings"]}
    assert [r["id"] for r in findings] == list(by_id)
    excerpt_row = next(r for r in findings if r["kind"] == "confidential-excerpt")
    f = by_id[excerpt_row["id"]]
    text = delivery["report"].read_text(encoding="utf-8")
    assert text[int(excerpt_row["start"]) : int(excerpt_row["end"])] == delivery["copied"]
    assert (int(excerpt_row["source_start"]), int(excerpt_row["source_end"])) == delivery["source_span"]
    assert excerpt_row["severity"] == "high" and excerpt_row["status"] == "open"
    assert excerpt_row["deliverable_path"] == f["deliverable"]["path"]
    assert excerpt_row["deliverable_sha256"] == f["deliverable"]["sha256"]
    assert excerpt_row["source_doc_id"] == f["source"]["doc_id"]
    assert excerpt_row["source_path"] == str(delivery["doc"].resolve())
    assert excerpt_row["source_label"] == "trade-secret"
    assert int(excerpt_row["matched_words"]) == 90
    for key in ("resemblance", "containment_deliverable", "containment_source", "confidence"):
        assert float(excerpt_row[key]) == f["scores"][key]
    assert excerpt_row["verified"] == "true" and excerpt_row["method"] == "exact"
    assert excerpt_row["page"] == "" and excerpt_row["message"] == ""
    notice = next(r for r in findings if r["kind"] == "copyright-notice")
    assert notice["source_doc_id"] == "" and notice["matched_words"] == "" and notice["severity"] == "low"
    assert {Path(r["deliverable_path"]).name: r["status"] for r in errors} == {"broken.pdf": "parse-error",
                                                                              "data.txt": "unsupported"}
    for r in errors:
        assert r["message"] and r["id"] == "" and r["start"] == "" and r["severity"] == ""


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted() -> None:
    assert _cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert _cell("+1") == "'+1" and _cell("@SUM(A1)") == "'@SUM(A1)" and _cell("-x") == "'-x"
    assert _cell("/srv/a.txt") == "/srv/a.txt" and _cell(None) == "" and _cell(True) == "true"
    assert _cell(0.25) == "0.25" and _cell(12) == "12"


def test_sarif_validates_against_the_official_schema(delivery: dict[str, Any]) -> None:
    code, out = scan(delivery["store"], "sarif", delivery["folder"])
    assert code == 1
    log = json.loads(out)
    assert_valid_sarif(log)
    assert log["version"] == "2.1.0"
    [run_] = log["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "leakwatch" and driver["version"] == leakwatch.__version__
    rule_ids = [r["id"] for r in driver["rules"]]
    kinds = finding_kinds()
    assert rule_ids[: len(kinds)] == list(kinds)  # every declared kind, in a fixed order: stable ruleIds
    assert "confidential-records" in rule_ids
    assert all("code points into the text leakwatch extracted" in r["help"]["text"] for r in driver["rules"])
    assert run_["columnKind"] == "unicodeCodePoints"
    json_findings = {f["id"]: f for f in delivery["json"]["findings"]}
    results = run_["results"]
    assert [r["partialFingerprints"][FINGERPRINT_KEY] for r in results] == list(json_findings)
    for r in results:
        f = json_findings[r["partialFingerprints"][FINGERPRINT_KEY]]
        assert r["ruleId"] == f["kind"] and rule_ids[r["ruleIndex"]] == f["kind"]
        assert r["level"] == {"high": "error", "medium": "warning", "low": "note"}[f["severity"]]
        [loc] = r["locations"]
        assert loc["physicalLocation"]["artifactLocation"]["uri"] == delivery["report"].resolve().as_uri()
        region = loc["physicalLocation"]["region"]
        d = f["deliverable"]
        assert (region["charOffset"], region["charLength"]) == (d["start"], d["end"] - d["start"])
        assert "suppressions" not in r
    excerpt_result = next(r for r in results if r["ruleId"] == "confidential-excerpt")
    region = excerpt_result["locations"][0]["physicalLocation"]["region"]
    text = delivery["report"].read_text(encoding="utf-8")
    assert text[region["charOffset"] : region["charOffset"] + region["charLength"]] == delivery["copied"]
    [related] = excerpt_result["relatedLocations"]
    assert related["physicalLocation"]["artifactLocation"]["uri"] == delivery["doc"].resolve().as_uri()
    s_start, s_end = delivery["source_span"]
    assert related["physicalLocation"]["region"]["charOffset"] == s_start
    assert related["physicalLocation"]["region"]["charLength"] == s_end - s_start
    [invocation] = run_["invocations"]
    assert invocation["executionSuccessful"] is False
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", invocation["startTimeUtc"])
    notes = invocation["toolExecutionNotifications"]
    assert {Path(n["properties"]["path"]).name: n["descriptor"]["id"] for n in notes} == {
        "broken.pdf": "parse-error", "data.txt": "unsupported"}
    assert all(n["level"] == "error" for n in notes)
    assert all(n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("file:///")
               for n in notes)
    assert {d["id"] for d in driver["notifications"]} >= {"parse-error", "unsupported", "encrypted"}


def test_sarif_of_a_clean_scan_validates(delivery: dict[str, Any], tmp_path: Path, vocabulary: list[str]) -> None:
    clean = tmp_path / "clean.txt"
    clean.write_text(make_text(77, 200, vocabulary), encoding="utf-8")
    code, out = scan(delivery["store"], "sarif", clean)
    assert code == 0
    log = json.loads(out)
    assert_valid_sarif(log)
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is True


def test_artifact_uris() -> None:
    assert artifact_uri("/srv/vendors/acme/q1 report#2.pdf") == "file:///srv/vendors/acme/q1%20report%232.pdf"
    assert artifact_uri("https://spdx.org/licenses/MIT.html") == "https://spdx.org/licenses/MIT.html"
    assert artifact_uri("rel/a.txt") == Path("rel/a.txt").resolve().as_uri()
    # an undecodable name, as reports print it (backslash escapes), stays a valid URI
    uri = artifact_uri("/srv/bad\\xff.txt")
    assert uri == "file:///srv/bad%5Cxff.txt"


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "sarif"])
def test_findings_are_stable_and_hold_no_text(fmt: str, tmp_path: Path, secret_text: str,
                                              vocabulary: list[str]) -> None:
    store = tmp_path / "store"
    doc = tmp_path / "strategy.txt"
    doc.write_text(secret_text, encoding="utf-8")
    assert run("index", "add", str(doc), "--store", str(store))[0] == 0
    copied, _, _ = excerpt(secret_text, 50, 70)
    deliverable = tmp_path / "d.txt"
    filler = make_text(13, 100, vocabulary)
    deliverable.write_text(filler + " " + copied, encoding="utf-8")
    code, first = scan(store, fmt, deliverable)
    assert code == 1
    _, second = scan(store, fmt, deliverable)
    ids = re.findall(r"lw-[0-9a-f]{20}", first)
    assert ids and ids == re.findall(r"lw-[0-9a-f]{20}", second)
    # an edit elsewhere in the deliverable keeps the id
    deliverable.write_text(make_text(14, 130, vocabulary) + " " + copied, encoding="utf-8")
    _, third = scan(store, fmt, deliverable)
    assert re.findall(r"lw-[0-9a-f]{20}", third) == ids
    # no run of three words of the source or of the deliverable, in any form
    dumped = first.lower()
    for words in (words_of(copied), words_of(filler), words_of(secret_text)):
        for i in range(0, len(words) - 3, 3):
            assert " ".join(words[i : i + 3]) not in dumped
