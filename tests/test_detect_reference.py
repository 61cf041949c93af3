"""Third-party references, the allow-list, and every kind of finding in one scan."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from click.testing import CliRunner

from leakwatch.cli import cli
from tests.conftest import make_text, make_vocabulary
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
