"""Third-party references, the allow-list, and every kind of finding in one scan."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from leakwatch.cli import cli
from tests.conftest import corpus, make_text, make_vocabulary
from tests.licence_texts import MIT

MIT_BODY = MIT.split("\n", 2)[2]  # the licence without its copyright line


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout


def scan(store: Path, *paths: Path) -> dict:
    code, out = run("scan", *map(str, paths), "--store", str(store), "--format", "json")
    report = json.loads(out)
    assert code in (0, 1), out
    return report


def test_one_scan_reports_every_kind_with_correct_spans(tmp_path: Path) -> None:
    store = tmp_path / "store"
    vocab = make_vocabulary(11)
    secret = make_text(201, 800, vocab)
    public = make_text(202, 800, make_vocabulary(12))
    (tmp_path / "secret.txt").write_text(secret, encoding="utf-8")
    (tmp_path / "public-report.txt").write_text(public, encoding="utf-8")
    assert run("index", "add", str(tmp_path / "secret.txt"), "--store", str(store))[0] == 0
    code, out = run("reference", "add", str(tmp_path / "public-report.txt"), "--name", "Acme report 2025",
                    "--licence", "CC-BY-4.0", "--store", str(store))
    assert code == 0, out

    excerpt = " ".join(secret.split()[300:360])
    quoted = " ".join(public.split()[100:160])
    notice = "Copyright © 2024 Northwind Analytics Ltd."
    parts = [make_text(203, 150), notice, make_text(204, 150), MIT_BODY, make_text(205, 150), quoted,
             make_text(206, 150), excerpt, make_text(207, 150)]
    deliverable = tmp_path / "deliverable.md"
    text = "\n\n".join(parts)
    deliverable.write_text(text, encoding="utf-8")

    report = scan(store, deliverable)
    by_kind = {f["kind"]: f for f in report["findings"]}
    assert sorted(by_kind) == ["confidential-excerpt", "copyright-notice", "licence-text", "third-party-text"]
    assert len(report["findings"]) == 4

    def span(kind: str) -> str:
        d = by_kind[kind]["deliverable"]
        return text[d["start"] : d["end"]]

    assert span("copyright-notice") == notice.rstrip(".")
    assert by_kind["copyright-notice"]["extra" if "extra" in by_kind["copyright-notice"] else "notice"]
    assert by_kind["copyright-notice"]["notice"]["holder"] == "Northwind Analytics Ltd"
    assert by_kind["copyright-notice"]["notice"]["years"] == [2024]
    assert span("licence-text").startswith("Permission is hereby granted")
    assert span("licence-text").rstrip().endswith("SOFTWARE")
    assert by_kind["licence-text"]["licence"]["spdx_id"] == "MIT"
    assert span("third-party-text") == quoted
    assert by_kind["third-party-text"]["reference"] == {"name": "Acme report 2025", "licence": "CC-BY-4.0"}
    assert by_kind["third-party-text"]["source"]["label"] == "Acme report 2025"
    assert span("confidential-excerpt") == excerpt


def test_references_stay_apart_from_the_confidential_index(tmp_path: Path) -> None:
    store = tmp_path / "store"
    (tmp_path / "ref.txt").write_text(make_text(301, 400), encoding="utf-8")
    assert run("reference", "add", str(tmp_path / "ref.txt"), "--name", "stock", "--store", str(store))[0] == 0
    code, out = run("index", "list", "--store", str(store), "--format", "json")
    assert code == 0 and json.loads(out)["documents"] == []
    code, out = run("reference", "list", "--store", str(store))
    assert code == 0 and "stock" in out and "1 reference(s)" in out
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    for name in ("references.sqlite", "references-code.sqlite", "leakwatch.sqlite", "leakwatch.key"):
        assert stat.S_IMODE((store / name).stat().st_mode) == 0o600, name
    # The reference database holds keyed hashes only: no word of the text.
    raw = (store / "references.sqlite").read_bytes()
    assert not any(w.encode() in raw for w in set(make_text(301, 400).split()) if len(w) > 6)
    assert run("reference", "remove", "stock", "--store", str(store))[0] == 0
    assert run("reference", "remove", "stock", "--store", str(store))[0] == 2
    deliverable = tmp_path / "d.txt"
    deliverable.write_text(make_text(301, 400), encoding="utf-8")
    assert [f["kind"] for f in scan(store, deliverable)["findings"]] == []


def test_allow_list_silences_a_shared_disclaimer_but_not_the_excerpt_beside_it(tmp_path: Path) -> None:
    store = tmp_path / "store"
    disclaimer = make_text(401, 80, make_vocabulary(41))
    memos = []
    for n in range(2):
        body = make_text(410 + n, 600)
        memo = tmp_path / f"memo{n}.txt"
        memo.write_text(body + "\n\n" + disclaimer, encoding="utf-8")
        memos.append(body)
    assert run("index", "add", str(tmp_path / "memo0.txt"), str(tmp_path / "memo1.txt"),
               "--store", str(store))[0] == 0
    excerpt = " ".join(memos[0].split()[-60:])
    deliverable = tmp_path / "deliverable.txt"
    text = make_text(420, 200) + "\n\n" + excerpt + "\n\n" + disclaimer + "\n\n" + make_text(421, 200)
    deliverable.write_text(text, encoding="utf-8")

    before = scan(store, deliverable)["findings"]
    assert any(text[f["deliverable"]["start"]:f["deliverable"]["end"]].endswith(disclaimer.rstrip(".")[-40:])
               or disclaimer[:40] in text[f["deliverable"]["start"]:f["deliverable"]["end"]] for f in before)

    (tmp_path / "disclaimer.txt").write_text(disclaimer, encoding="utf-8")
    code, out = run("allow", "add", str(tmp_path / "disclaimer.txt"), "--store", str(store))
    assert code == 0 and "1 file(s) added" in out
    after = scan(store, deliverable)["findings"]
    [f] = after
    found = text[f["deliverable"]["start"] : f["deliverable"]["end"]]
    assert found == excerpt.rstrip(".")  # spans run from the first to the last copied word
    assert disclaimer[:40] not in found
    code, out = run("allow", "list", "--store", str(store))
    assert "disclaimer.txt" in out
    assert run("allow", "clear", "--store", str(store))[0] == 0
    assert len(scan(store, deliverable)["findings"]) == len(before)


def test_allow_list_also_silences_licence_text(tmp_path: Path) -> None:
    store = tmp_path / "store"
    (tmp_path / "seed.txt").write_text(make_text(501, 300), encoding="utf-8")
    assert run("index", "add", str(tmp_path / "seed.txt"), "--store", str(store))[0] == 0
    deliverable = tmp_path / "d.txt"
    deliverable.write_text(make_text(502, 100) + "\n\n" + MIT_BODY, encoding="utf-8")
    assert [f["kind"] for f in scan(store, deliverable)["findings"]] == ["licence-text"]
    (tmp_path / "ours.txt").write_text(MIT_BODY, encoding="utf-8")
    assert run("allow", "add", str(tmp_path / "ours.txt"), "--store", str(store))[0] == 0
    assert scan(store, deliverable)["findings"] == []


ORIGINAL_PY = '''"""Invoice reconciliation helpers."""


def reconcile(invoices, payments, tolerance=0.01):
    """Match each payment to the open invoice with the same amount."""
    open_items = sorted(invoices, key=lambda inv: inv["due"])
    matched = []
    unmatched = []
    for payment in payments:
        for item in open_items:
            if abs(item["amount"] - payment["amount"]) <= tolerance and not item.get("paid"):
                item["paid"] = True
                matched.append((item["id"], payment["id"]))
                break
        else:
            unmatched.append(payment["id"])
    overdue = [inv["id"] for inv in open_items if not inv.get("paid") and inv["due"] < payments[0]["date"]]
    return {"matched": matched, "unmatched": unmatched, "overdue": overdue}


def summarise(result):
    total = len(result["matched"]) + len(result["unmatched"])
    rate = len(result["matched"]) / total if total else 0.0
    lines = ["matched: %d" % len(result["matched"]), "unmatched: %d" % len(result["unmatched"])]
    lines.append("match rate: %.1f%%" % (rate * 100))
    if result["overdue"]:
        lines.append("overdue: " + ", ".join(str(i) for i in result["overdue"]))
    return "\\n".join(lines)
'''

# The same code with every name changed, comments rewritten and the layout changed.
DISGUISED_PY = '''# Utilities written for the client engagement.

def match_all(bills, receipts, eps=0.5):
    # pair receipts with bills
    queue = sorted(bills, key=lambda b: b["deadline"])
    pairs = []
    leftovers = []
    for r in receipts:
        for b in queue:
            if abs(b["value"] - r["value"]) <= eps and not b.get("settled"):
                b["settled"] = True
                pairs.append((b["ref"], r["ref"]))
                break
        else:
            leftovers.append(r["ref"])
    late = [b["ref"] for b in queue if not b.get("settled") and b["deadline"] < receipts[0]["when"]]
    return {"pairs": pairs, "leftovers": leftovers, "late": late}


def report(out):
    n = len(out["pairs"]) + len(out["leftovers"])
    share = len(out["pairs"]) / n if n else 0.0
    text = ["pairs: %d" % len(out["pairs"]), "leftovers: %d" % len(out["leftovers"])]
    text.append("share: %.1f%%" % (share * 100))
    if out["late"]:
        text.append("late: " + ", ".join(str(x) for x in out["late"]))
    return "\\n".join(text)
'''

INDEPENDENT_PY = '''import csv


def load(path):
    with open(path, newline="") as fh:
        return [row for row in csv.DictReader(fh)]


def totals_by_region(rows):
    out = {}
    for row in rows:
        out[row["region"]] = out.get(row["region"], 0) + float(row["revenue"])
    return dict(sorted(out.items()))


if __name__ == "__main__":
    import sys
    print(totals_by_region(load(sys.argv[1])))
'''


def test_disguised_code_copy_is_copied_code_and_independent_code_is_not(tmp_path: Path) -> None:
    store = tmp_path / "store"
    lib = tmp_path / "libfoo"
    lib.mkdir()
    (lib / "reconcile.py").write_text(ORIGINAL_PY, encoding="utf-8")
    code, out = run("reference", "add", str(lib), "--name", "libfoo", "--licence", "GPL-3.0-only",
                    "--store", str(store))
    assert code == 0 and "1 as code" in out
    delivered = tmp_path / "delivery"
    delivered.mkdir()
    (delivered / "matching.py").write_text(DISGUISED_PY, encoding="utf-8")
    (delivered / "regions.py").write_text(INDEPENDENT_PY, encoding="utf-8")
    report = scan(store, delivered)
    [f] = report["findings"]
    assert f["kind"] == "copied-code" and f["deliverable"]["path"].endswith("matching.py")
    assert f["reference"] == {"name": "libfoo", "licence": "GPL-3.0-only"}
    assert f["method"] == "whole-file" and f["severity"] == "high"
    assert f["scores"]["containment_source"] >= 0.9
    # The span runs from the first to the last matched fingerprint: the copied code, give or
    # take a token at either end (only the reference's winnowed k-grams are stored, window 2).
    span = DISGUISED_PY[f["deliverable"]["start"] : f["deliverable"]["end"]]
    assert "match_all(" in span[:20] and 'return "\\n".join(text' in span[-30:]


def test_function_lifted_from_a_larger_reference_file_is_a_passage(tmp_path: Path) -> None:
    store = tmp_path / "store"
    big = "\n\n".join([INDEPENDENT_PY.replace("def ", f"def v{n}_") for n in range(6)] + [ORIGINAL_PY])
    (tmp_path / "vendor.py").write_text(big, encoding="utf-8")
    assert run("reference", "add", str(tmp_path / "vendor.py"), "--name", "vendor", "--store", str(store))[0] == 0
    deliverable = tmp_path / "tool.py"
    reconcile_only = DISGUISED_PY.split("\n\n\ndef report")[0]
    deliverable.write_text("import os\n\n\n" + reconcile_only + "\n", encoding="utf-8")
    [f] = scan(store, deliverable)["findings"]
    assert f["kind"] == "copied-code" and f["method"] == "passage"
    # Every dictionary key was renamed too: no verbatim evidence, so it takes a stretch too
    # long to be shared by chance (120 structure tokens, about 15 lines) covered to 95%.
    assert f["scores"]["matched_words"] >= 120
    assert f["scores"]["containment_source"] < 0.9
    source = big[f["source"]["start"]:f["source"]["end"]]
    assert source.startswith("def reconcile(") or source.startswith("reconcile(")
    assert source.endswith('"overdue": overdue')  # braces are not part of the structure


def test_code_pasted_into_a_document_is_copied_code_through_the_text_match(tmp_path: Path) -> None:
    store = tmp_path / "store"
    (tmp_path / "reconcile.py").write_text(ORIGINAL_PY, encoding="utf-8")
    assert run("reference", "add", str(tmp_path / "reconcile.py"), "--name", "libfoo", "--store", str(store))[0] == 0
    report_md = tmp_path / "report.md"
    report_md.write_text(make_text(601, 200) + "\n\n```python\n" + ORIGINAL_PY + "```\n\n" + make_text(602, 100),
                         encoding="utf-8")
    [f] = scan(store, report_md)["findings"]
    assert f["kind"] == "copied-code" and f["reference"]["name"] == "libfoo"


JAVA_ORIGINAL = """import java.util.Scanner;

public class Cylinder {
    public static void main(String[] args) {
        Scanner input = new Scanner(System.in);
        System.out.print("Enter the radius and length of a cylinder: ");
        double radius = input.nextDouble();
        double length = input.nextDouble();
        double area = radius * radius * 3.14159;
        double volume = area * length;
        System.out.println("The area is " + area);
        System.out.println("The volume of the cylinder is " + volume);
    }
}
"""

# Declarations moved, a method split out and placed first, names and layout changed.
JAVA_COPY = """import java.util.*;

class Silinder
{
    private static double jari, panjang;

    static double luas(double r) { return r * r * 3.14159; }

    public static void main(String[] x)
    {
        Scanner masukan = new Scanner(System.in);
        System.out.print("Enter the radius and length of a cylinder: ");
        jari = masukan.nextDouble();
        panjang = masukan.nextDouble();
        double l = luas(jari);
        double v = l * panjang;
        System.out.println("The area is " + l);
        System.out.println("The volume of the cylinder is " + v);
    }
}
"""

# Written independently from the same task: the same structure, the task's prompts, but
# its own last message.
JAVA_INDEPENDENT = JAVA_ORIGINAL.replace("Scanner input", "Scanner sc").replace("input.", "sc.").replace(
    "The volume of the cylinder is ", "The volume is ").replace("Cylinder", "T02")


def test_disguised_java_copy_is_found_and_the_look_alike_is_not(tmp_path: Path) -> None:
    store = tmp_path / "store"
    (tmp_path / "Cylinder.java").write_text(JAVA_ORIGINAL, encoding="utf-8")
    assert run("reference", "add", str(tmp_path / "Cylinder.java"), "--name", "textbook", "--store", str(store))[0] == 0
    delivered = tmp_path / "delivery"
    delivered.mkdir()
    (delivered / "Silinder.java").write_text(JAVA_COPY, encoding="utf-8")
    (delivered / "T02.java").write_text(JAVA_INDEPENDENT, encoding="utf-8")
    [f] = scan(store, delivered)["findings"]
    assert f["deliverable"]["path"].endswith("Silinder.java")
    assert f["kind"] == "copied-code" and f["method"] == "whole-file" and f["severity"] == "high"
    assert f["evidence"]["literals"] == f["evidence"]["literals_found"] == 3
    assert f["scores"]["containment_source"] >= 0.7


def test_a_reference_method_inside_a_new_file_is_a_passage(tmp_path: Path) -> None:
    store = tmp_path / "store"
    method = """    static String describe(double[] values) {
        double sum = 0, max = values[0];
        for (double v : values) {
            sum += v;
            if (v > max) max = v;
        }
        return "mean " + (sum / values.length) + ", largest value seen " + max;
    }
"""
    other = "\n".join(f"    static int helper{n}(int a) {{ int b = a * {n}; while (b > {n}) b -= a; return b; }}"
                      for n in range(12))
    (tmp_path / "Stats.java").write_text("class Stats {\n" + other + "\n" + method + "}\n", encoding="utf-8")
    assert run("reference", "add", str(tmp_path / "Stats.java"), "--name", "statlib", "--store", str(store))[0] == 0
    report = """public class Report {
    public static void main(String[] args) {
        System.out.println(summary(new double[] {1, 2, 3}));
    }

""" + method.replace("values", "xs").replace("describe", "summary") + "}\n"
    (tmp_path / "Report.java").write_text(report, encoding="utf-8")
    [f] = scan(store, tmp_path / "Report.java")["findings"]
    assert f["method"] == "passage" and f["scores"]["containment_source"] < 0.5
    original = (tmp_path / "Stats.java").read_text(encoding="utf-8")
    # The spans are the method, give or take an operand at its start (the token before
    # it, `b` in the reference and `3` in the deliverable, is an operand on both sides).
    source = original[f["source"]["start"]:f["source"]["end"]]
    assert "String describe(" in source[:40] and source.endswith("+ max")
    assert report[f["deliverable"]["start"]:f["deliverable"]["end"]].endswith("+ max")


def test_a_code_database_of_the_old_format_is_refused(tmp_path: Path) -> None:
    from leakwatch.references import CODE_DB, CODE_FORMAT_NOTE
    from leakwatch.store.sqlite import SQLiteStore

    store = tmp_path / "store"
    (tmp_path / "Cylinder.java").write_text(JAVA_ORIGINAL, encoding="utf-8")
    assert run("reference", "add", str(tmp_path / "Cylinder.java"), "--name", "textbook", "--store", str(store))[0] == 0
    old = SQLiteStore(store, db_name=CODE_DB)
    old.write_note(CODE_FORMAT_NOTE, None)  # as written by format 1, which had no such note
    old.close()
    code, _ = run("scan", str(tmp_path / "Cylinder.java"), "--store", str(store))
    assert code == 2
    result = CliRunner().invoke(cli, ["scan", str(tmp_path / "Cylinder.java"), "--store", str(store)])
    assert "format 1" in result.output and "Remove that file" in result.output and "Traceback" not in result.output


@pytest.mark.corpus
def test_evaluate_code_on_ir_plag_through_the_scan() -> None:
    data_dir = corpus("ir-plag-java-sample")
    code, out = run("evaluate", "code", str(data_dir), "--format", "json")
    assert code == 0, out
    data = json.loads(out)
    found = {level: v["found"] for level, v in data["recall_by_level"].items()}
    assert found["L1"] == 18 and found["L2"] >= 13 and found["L3"] >= 12 and found["L4"] >= 9
    assert data["cross_case_findings"] == 0
    # The one independent file flagged is the original token for token, with the same
    # message up to its case ("Welcome To Java"): see README.
    assert data["false_positives"] <= 1 and data["precision"] >= 0.95
    assert data["by_case"]["case-02"]["false_positives"] == 0
    assert data["by_case"]["case-02"]["recall_by_level"]["L4"] == {"found": 9, "files": 9}
    assert not data["errors"]


@pytest.mark.corpus
def test_evaluate_licences_command() -> None:
    code, out = run("evaluate", "licences", str(corpus("licenses-in-the-wild-sample")))
    assert code == 0, out
    assert "top-1 agreement" in out and "MISS" in out  # every miss is listed


def test_licence_block_inside_a_registered_document_is_licence_text_not_a_leak(tmp_path: Path) -> None:
    store = tmp_path / "store"
    secret = make_text(701, 500)
    (tmp_path / "model-readme.txt").write_text(secret + "\n\n" + MIT_BODY, encoding="utf-8")
    (tmp_path / "vendored.txt").write_text(MIT_BODY + "\n\n" + make_text(703, 300), encoding="utf-8")
    assert run("index", "add", str(tmp_path / "model-readme.txt"), "--store", str(store))[0] == 0
    assert run("reference", "add", str(tmp_path / "vendored.txt"), "--name", "vendored", "--store", str(store))[0] == 0
    excerpt = " ".join(secret.split()[-50:])
    deliverable = tmp_path / "d.txt"
    text = make_text(702, 200) + "\n\n" + excerpt + "\n\n" + MIT_BODY
    deliverable.write_text(text, encoding="utf-8")
    findings = scan(store, deliverable)["findings"]
    assert sorted(f["kind"] for f in findings) == ["confidential-excerpt", "licence-text"]
    [leak] = [f for f in findings if f["kind"] == "confidential-excerpt"]
    assert text[leak["deliverable"]["start"] : leak["deliverable"]["end"]] == excerpt.rstrip(".")
