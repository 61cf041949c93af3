"""Baselines and ignore files: accepted findings are not raised again, new ones still are."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from leakwatch.baseline import (
    BaselineError,
    apply_suppressions,
    entries_from_findings,
    merge,
    parse_baseline,
    parse_ignore,
)
from leakwatch.cli import cli
from leakwatch.model import Finding, Severity, Span
from tests.conftest import make_text
from tests.test_report_formats import assert_valid_sarif

# --- pure functions ------------------------------------------------------------------------------


def finding(path: str, kind: str = "confidential-excerpt", fid: str = "lw-00000000000000000001") -> Finding:
    return Finding(id=fid, kind=kind, severity=Severity.HIGH, deliverable_path=path, deliverable_sha256="0" * 64,
                   deliverable_span=Span(0, 10), source=None, scores=None)


IGNORE = """leakwatch-ignore 1
# vendor scratch files
*.log
drafts/
/srv/vendors/acme/returned/
!/srv/vendors/acme/returned/new/
/srv/vendors/*/archive/**/*.txt
report-[0-9].md   # numbered reports
id:lw-aaaaaaaaaaaaaaaaaaaa
kind:copyright-notice
"""


@pytest.mark.parametrize(("path", "ignored"), [
    ("/srv/vendors/acme/build.log", True),
    ("/srv/vendors/acme/logs/build.log.txt", False),
    ("/srv/vendors/acme/drafts/q1.docx", True),
    ("/srv/vendors/acme/drafts", False),  # drafts/ matches folders only
    ("/srv/vendors/acme/my-drafts/q1.docx", False),
    ("/srv/vendors/acme/returned/memo.pdf", True),
    ("/srv/vendors/acme/returned/new/memo.pdf", False),  # re-included by the later ! rule
    ("/srv/vendors/other/returned/memo.pdf", False),  # anchored at the root
    ("/srv/vendors/beta/archive/2024/q1/a.txt", True),
    ("/srv/vendors/beta/archive/a.txt", True),
    ("/srv/vendors/beta/archive/a.pdf", False),
    ("/srv/x/report-7.md", True),
    ("/srv/x/report-77.md", False),
    ("/srv/x/q1.md", False),
])
def test_ignore_path_patterns(path: str, ignored: bool) -> None:
    rules = parse_ignore(IGNORE, "lw.ignore")
    kept, suppressed = apply_suppressions([finding(path)], None, rules)
    assert (len(suppressed) == 1) is ignored and (len(kept) == 1) is not ignored
    if ignored:
        s = suppressed[0].suppression
        assert s.origin == "ignore" and s.file == "lw.ignore" and "lw.ignore:" in s.justification


def test_ignore_ids_and_kinds() -> None:
    rules = parse_ignore(IGNORE)
    by_id = finding("/a/b.txt", fid="lw-aaaaaaaaaaaaaaaaaaaa")
    by_kind = finding("/a/b.txt", kind="copyright-notice", fid="lw-bbbbbbbbbbbbbbbbbbbb")
    other = finding("/a/b.txt", fid="lw-cccccccccccccccccccc")
    kept, suppressed = apply_suppressions([by_id, other, by_kind], None, rules)
    assert kept == [other]
    assert [s.finding for s in suppressed] == [by_id, by_kind]
    assert "id:lw-aaaaaaaaaaaaaaaaaaaa" in suppressed[0].suppression.justification


@pytest.mark.parametrize("text", ["*.log\n", "leakwatch-ignore 2\n*.log\n", "", "leakwatch-ignore\n",
                                  "leakwatch-ignore 1\nid:\n", "leakwatch-ignore 1\n!/\n"])
def test_bad_ignore_files_are_refused(text: str) -> None:
    with pytest.raises(BaselineError):
        parse_ignore(text, "lw.ignore")


def test_baseline_versions_and_fields() -> None:
    entry = {"finding_id": "lw-1", "kind": "k", "deliverable_path": "/a", "deliverable_sha256": "0",
             "accepted_by": "me", "reason": "why", "accepted_at": "2025-01-01T00:00:00Z"}
    b = parse_baseline({"version": 1, "created_at": "t", "leakwatch": "0.1.0", "entries": [entry]})
    assert b.by_id()["lw-1"].reason == "why"
    assert parse_baseline(b.to_dict()) == b
    with pytest.raises(BaselineError, match="version"):
        parse_baseline({"version": 2, "entries": []})
    with pytest.raises(BaselineError, match="entry 0"):
        parse_baseline({"version": 1, "entries": [{**entry, "reason": None}]})
    with pytest.raises(BaselineError):
        parse_baseline([1, 2])


def test_baseline_matches_id_and_kind_and_merge_keeps_first_acceptance() -> None:
    report = [{"id": "lw-1", "kind": "confidential-excerpt", "deliverable": {"path": "/a", "sha256": "s"}},
              {"id": "lw-2", "kind": "copyright-notice", "deliverable": {"path": "/a", "sha256": "s"}}]
    first = merge(None, entries_from_findings(report[:1], "alice", "ok", "t1"), "t1", "0.1.0")
    second = merge(first, entries_from_findings(report, "bob", "later", "t2"), "t2", "0.1.0")
    assert [(e.finding_id, e.accepted_by, e.reason) for e in second.entries] == [
        ("lw-1", "alice", "ok"), ("lw-2", "bob", "later")]
    assert second.created_at == "t1"
    with pytest.raises(BaselineError, match="lw-9"):
        entries_from_findings(report, "a", "r", "t", only_ids=["lw-9"])
    same_id_other_kind = finding("/a", kind="copied-code", fid="lw-1")
    accepted = finding("/a", kind="confidential-excerpt", fid="lw-1")
    kept, suppressed = apply_suppressions([same_id_other_kind, accepted], second)
    assert kept == [same_id_other_kind]
    s = suppressed[0].suppression
    assert (s.origin, s.accepted_by, s.accepted_at, s.justification) == ("baseline", "alice", "t1", "ok")


# --- through the CLI -----------------------------------------------------------------------------

def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def passage(text: str, first_word: int, n_words: int) -> str:
    spans = [m.span() for m in re.finditer(r"\w+", text)]
    return text[spans[first_word][0] : spans[first_word + n_words - 1][1]]


@pytest.fixture()
def project(tmp_path: Path, secret_text: str, vocabulary: list[str]) -> dict[str, Any]:
    store = tmp_path / "store"
    doc = tmp_path / "confidential" / "strategy.txt"
    doc.parent.mkdir()
    doc.write_text(secret_text, encoding="utf-8")
    assert run("index", "add", str(doc), "--store", str(store))[0] == 0
    folder = tmp_path / "delivery"
    folder.mkdir()
    # two deliverables, three excerpts (one in a.txt, two far apart in b.txt)
    (folder / "a.txt").write_text(make_text(21, 200, vocabulary) + "\n\n" + passage(secret_text, 100, 60)
                                  + "\n\n" + make_text(22, 200, vocabulary), encoding="utf-8")
    (folder / "b.txt").write_text(passage(secret_text, 600, 50) + "\n\n" + make_text(23, 300, vocabulary)
                                  + "\n\n" + passage(secret_text, 1100, 70), encoding="utf-8")
    return {"store": store, "folder": folder, "tmp": tmp_path, "secret": secret_text, "vocabulary": vocabulary}


def scan(p: dict[str, Any], fmt: str = "json", *extra: str) -> tuple[int, Any]:
    code, out, err = run("scan", str(p["folder"]), "--store", str(p["store"]), "--format", fmt, *extra)
    assert code != 2, err
    return code, (json.loads(out) if fmt in ("json", "sarif") else out)


def test_baseline_suppresses_exactly_the_accepted_findings(project: dict[str, Any]) -> None:
    code, report = scan(project)
    assert code == 1
    ids = [f["id"] for f in report["findings"]]
    assert len(ids) == 3 and all(f["kind"] == "confidential-excerpt" for f in report["findings"])
    report_file = project["tmp"] / "scan.json"
    report_file.write_text(json.dumps(report), encoding="utf-8")
    baseline = project["tmp"] / "baseline.json"
    # accept two of the three
    code, out, _ = run("baseline", "create", str(report_file), "--output", str(baseline), "--reason",
                       "shared under NDA amendment 3", "--by", "j.doe", "--id", ids[0], "--id", ids[2])
    assert code == 0 and "2 finding(s) accepted" in out
    data = json.loads(baseline.read_text(encoding="utf-8"))
    assert data["version"] == 1 and data["leakwatch"] and data["created_at"]
    assert [e["finding_id"] for e in data["entries"]] == [ids[0], ids[2]]
    by_id = {f["id"]: f for f in report["findings"]}
    for e in data["entries"]:
        assert e["accepted_by"] == "j.doe" and e["reason"] == "shared under NDA amendment 3"
        assert e["kind"] == "confidential-excerpt" and e["accepted_at"]
        assert e["deliverable_sha256"] == by_id[e["finding_id"]]["deliverable"]["sha256"]
        assert e["deliverable_path"] == by_id[e["finding_id"]]["deliverable"]["path"]

    code, again = scan(project, "json", "--baseline", str(baseline))
    assert code == 1  # the third is still raised
    assert [f["id"] for f in again["findings"]] == [ids[1]]
    assert again["summary"]["suppressed"] == 2 and again["summary"]["findings"] == 1

    # accept the rest: the scan is clean
    code, _, _ = run("baseline", "create", str(report_file), "--output", str(baseline), "--reason", "all",
                     "--by", "k.roe", "--update")
    assert code == 0
    data = json.loads(baseline.read_text(encoding="utf-8"))
    assert [(e["finding_id"], e["accepted_by"]) for e in data["entries"]] == [
        (ids[0], "j.doe"), (ids[2], "j.doe"), (ids[1], "k.roe")]
    code, clean = scan(project, "json", "--baseline", str(baseline))
    assert code == 0 and clean["findings"] == [] and clean["summary"]["suppressed"] == 3

    # a new leak still raises exit code 1, with only the new finding
    new = project["folder"] / "c.txt"
    new.write_text(make_text(24, 100, project["vocabulary"]) + " " + passage(project["secret"], 800, 60),
                   encoding="utf-8")
    code, later = scan(project, "json", "--baseline", str(baseline))
    assert code == 1
    [f] = later["findings"]
    assert f["deliverable"]["path"] == str(new.resolve()) and f["id"] not in ids
    assert later["summary"]["suppressed"] == 3

    # SARIF: the accepted findings are results with suppressions, and the log is valid
    code, log = scan(project, "sarif", "--baseline", str(baseline))
    assert code == 1
    assert_valid_sarif(log)
    results = log["runs"][0]["results"]
    suppressed = {r["partialFingerprints"]["leakwatchFindingId/v1"]: r["suppressions"] for r in results
                  if "suppressions" in r}
    assert set(suppressed) == set(ids)
    for sup in suppressed.values():
        [s] = sup
        assert s["kind"] == "external" and s["status"] == "accepted" and s["justification"]
        assert s["properties"]["origin"] == "baseline" and s["properties"]["acceptedBy"] in ("j.doe", "k.roe")
    assert [r["partialFingerprints"]["leakwatchFindingId/v1"] for r in results if "suppressions" not in r] == [
        f["id"]]

    # JSONL and CSV list them as suppressed, the text report counts them
    _, jsonl = scan(project, "jsonl", "--baseline", str(baseline))
    records = [json.loads(line) for line in jsonl.splitlines()]
    assert sorted(r["id"] for r in records if r["record"] == "suppressed") == sorted(ids)
    assert all(r["suppression"]["origin"] == "baseline" for r in records if r["record"] == "suppressed")
    _, table = scan(project, "csv", "--baseline", str(baseline))
    statuses = sorted(line.split(",")[3] for line in table.splitlines()[1:])
    assert statuses == ["open", "suppressed", "suppressed", "suppressed"]
    code, text, _ = run("scan", str(project["folder"]), "--store", str(project["store"]), "--baseline",
                        str(baseline))
    assert code == 1 and "3 more suppressed" in text


def test_baseline_from_a_jsonl_report(project: dict[str, Any]) -> None:
    _, jsonl = scan(project, "jsonl")
    report_file = project["tmp"] / "scan.jsonl"
    report_file.write_text(jsonl, encoding="utf-8")
    baseline = project["tmp"] / "baseline.json"
    code, out, _ = run("baseline", "create", str(report_file), "-o", str(baseline), "--reason", "reviewed")
    assert code == 0 and "3 finding(s) accepted" in out
    code, clean = scan(project, "json", "--baseline", str(baseline))
    assert code == 0 and clean["summary"]["suppressed"] == 3


def test_baseline_usage_errors_exit_2(project: dict[str, Any]) -> None:
    _, report = scan(project)
    report_file = project["tmp"] / "scan.json"
    report_file.write_text(json.dumps(report), encoding="utf-8")
    baseline = project["tmp"] / "baseline.json"
    assert run("baseline", "create", str(report_file), "-o", str(baseline), "--reason", "r")[0] == 0
    code, _, err = run("baseline", "create", str(report_file), "-o", str(baseline), "--reason", "r")
    assert code == 2 and "--update" in err
    code, _, err = run("baseline", "create", str(report_file), "-o", str(project["tmp"] / "x.json"),
                       "--reason", "r", "--id", "lw-ffffffffffffffffffff")
    assert code == 2 and "lw-ffffffffffffffffffff" in err
    not_a_report = project["tmp"] / "other.json"
    not_a_report.write_text('{"a": 1}', encoding="utf-8")
    code, _, err = run("baseline", "create", str(not_a_report), "-o", str(project["tmp"] / "y.json"),
                       "--reason", "r")
    assert code == 2 and "report" in err
    code, _, _ = run("baseline", "create", str(report_file), "-o", str(project["tmp"] / "z.json"))
    assert code == 2  # --reason is required: who and why
    newer = project["tmp"] / "v2.json"
    newer.write_text('{"version": 2, "entries": []}', encoding="utf-8")
    code, _, err = run("scan", str(project["folder"]), "--store", str(project["store"]), "--baseline", str(newer))
    assert code == 2 and "version" in err


def test_ignore_file_through_the_cli(project: dict[str, Any]) -> None:
    _, report = scan(project)
    b_ids = [f["id"] for f in report["findings"] if f["deliverable"]["path"].endswith("b.txt")]
    a_id = next(f["id"] for f in report["findings"] if f["deliverable"]["path"].endswith("a.txt"))
    ignore = project["tmp"] / "lw.ignore"
    ignore.write_text("leakwatch-ignore 1\n# b.txt is the client's own memo, returned\nb.txt\n", encoding="utf-8")
    code, out = scan(project, "json", "--ignore", str(ignore))
    assert code == 1 and [f["id"] for f in out["findings"]] == [a_id]
    assert out["summary"]["suppressed"] == 2
    ignore.write_text(f"leakwatch-ignore 1\nb.txt\nid:{a_id}\n", encoding="utf-8")
    code, out = scan(project, "json", "--ignore", str(ignore))
    assert code == 0 and out["findings"] == [] and out["summary"]["suppressed"] == 3
    code, log = scan(project, "sarif", "--ignore", str(ignore))
    assert_valid_sarif(log)
    sups = [r["suppressions"][0] for r in log["runs"][0]["results"]]
    assert len(sups) == 3 and all(s["properties"]["origin"] == "ignore" for s in sups)
    assert sorted(r["partialFingerprints"]["leakwatchFindingId/v1"] for r in log["runs"][0]["results"]) == sorted(
        [*b_ids, a_id])
    # a file that cannot be read is never hidden by the ignore file: the scan is incomplete
    (project["folder"] / "b.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage")
    ignore.write_text(f"leakwatch-ignore 1\nb.*\nid:{a_id}\n", encoding="utf-8")
    code, out = scan(project, "json", "--ignore", str(ignore))
    assert code == 3 and [Path(e["path"]).name for e in out["errors"]] == ["b.pdf"]
    ignore.write_text("*.txt\n", encoding="utf-8")
    code, _, err = run("scan", str(project["folder"]), "--store", str(project["store"]), "--ignore", str(ignore))
    assert code == 2 and "leakwatch-ignore 1" in err
