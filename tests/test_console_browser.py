"""The path a reviewer takes, in headless Chromium against a real ``leakwatch serve``
process: log in, import a real scan, open the inbox, open a finding and see both
passages (the hostile deliverable shown as text, nothing run), dismiss one with a reason,
accept one into the baseline and export its evidence package (``evidence
verify`` passes on it, fails on a tampered copy); the server is killed (-9) and restarted and the decisions
are there; a rescan with the baseline no longer reports the accepted finding.

``LEAKWATCH_SCREENSHOTS=DIR`` also saves the screenshots README shows (docs/images/).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.consoledata import HOSTILE_NAME, Case, leakwatch, make_case
from tests.test_report_html import chromium  # noqa: F401  (the fixture: the system Chromium, or skip)

pytest.importorskip("flask") if not os.environ.get("CI") else None

TOKEN = "browser-test-token-0123456789"


@contextmanager
def console(case: Case, db: Path, baseline: Path) -> Iterator[str]:
    """A real ``leakwatch serve`` on a free loopback port; its URL."""
    env = {**os.environ, "LEAKWATCH_CONSOLE_TOKEN": TOKEN}
    proc = subprocess.Popen([sys.executable, "-m", "leakwatch", "serve", "--port", "0", "--store", str(case.store),
                             "--db", str(db), "--baseline", str(baseline)],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert found, line + proc.stderr.read()
        yield found.group()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def kill_hard(url: str) -> None:
    """kill -9 the server listening at ``url`` (no chance to flush or close anything)."""
    port = url.rstrip("/").rsplit(":", 1)[1]
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True).stdout
    pid = int(re.search(r"pid=(\d+)", out).group(1))  # type: ignore[union-attr]
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def test_review_in_a_browser(chromium: str, tmp_path: Path, secret_text: str,  # noqa: F811
                             vocabulary: list[str]) -> None:
    from playwright.sync_api import Page, sync_playwright

    case = make_case(tmp_path / "case", secret_text, vocabulary)
    acme, globex = case.finding("acme"), case.finding("globex")
    db, baseline = tmp_path / "console" / "db.sqlite3", tmp_path / "console" / "baseline.json"
    shots = os.environ.get("LEAKWATCH_SCREENSHOTS")
    problems: list[str] = []
    dialogs: list[str] = []

    def watch(page: Page) -> None:
        page.set_default_timeout(20_000)
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    def log_in(page: Page, url: str) -> None:
        page.goto(url)
        assert "/login" in page.url  # nothing is shown before logging in
        assert page.locator("table").count() == 0
        page.fill("input[name=name]", "ana.reviewer")
        page.fill("input[name=token]", TOKEN)
        page.click("button[type=submit]")

    def shot(page: Page, name: str) -> None:
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(shots) / name), full_page=False)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, timeout=60_000,
                                     args=["--disable-gpu", "--no-first-run"])
        try:
            with console(case, db, baseline) as url:
                page = browser.new_page(viewport={"width": 1280, "height": 860})
                watch(page)
                log_in(page, url)

                # import the scan through the form
                page.click("text=Import")
                page.set_input_files("input[name=report]", str(case.report_path))
                page.click("form.import button[type=submit]")
                assert "finding(s)" in page.locator(".flash.ok").inner_text()

                # the inbox lists every finding, with counts
                rows = page.locator("tr.finding")
                assert rows.count() == len(case.report["findings"])
                assert page.locator("[data-count=total]").inner_text() == str(len(case.report["findings"]))
                assert page.locator(f"tr.finding:has-text('{HOSTILE_NAME}')").count() >= 1
                shot(page, "console-inbox.png")

                # a finding: both passages, the hostile HTML shown as text and run nowhere
                page.locator(f"tr[data-finding-id='{acme['id']}'] a").click()
                deliverable = page.locator(".side.deliverable .text mark.passage")
                source = page.locator(".side.source .text mark.passage")
                assert deliverable.count() == 1 and source.count() == 1
                assert "EDITED" in deliverable.locator("ins").first.inner_text()
                expected = case.source.read_text(encoding="utf-8")[acme["source"]["start"]:acme["source"]["end"]]
                assert source.inner_text().split() == expected.split()
                assert '<script>alert("pwned")</script>' in page.locator(".side.deliverable .text").inner_text()
                assert page.evaluate("document.querySelectorAll('script, img, iframe').length") == 0
                shot(page, "console-finding.png")

                # dismiss it (a reason is required), then accept the other one into the baseline
                page.fill("form.dismiss textarea", "quoted in the public 2025 annual report")
                page.click("form.dismiss button")
                assert page.locator("#status").inner_text() == "dismissed"
                page.goto(url + f"finding/{globex['id']}")
                page.fill("form.accept textarea", "shared with globex under NDA amendment 3")
                page.click("form.accept button")
                assert page.locator("#status").inner_text() == "accepted"
                assert page.locator("table.decisions tr[data-action=accept] td").nth(1).inner_text() == "ana.reviewer"

                # its evidence package: verifies, and a tampered copy does not
                with page.expect_download() as download:
                    page.click("form.evidence button")
                package = tmp_path / "evidence.zip"
                download.value.save_as(package)
                verified = leakwatch("evidence", "verify", str(package))
                assert verified.returncode == 0 and "OK" in verified.stdout, verified.stdout + verified.stderr
                with zipfile.ZipFile(package) as zf:
                    decisions = json.loads(zf.read("decisions.json"))
                    assert [d["action"] for d in decisions] == ["accept"]
                    tampered = tmp_path / "tampered.zip"
                    with zipfile.ZipFile(tampered, "w") as out:
                        for info in zf.infolist():
                            data = zf.read(info)
                            out.writestr(info, data.replace(b"ana.reviewer", b"eve.intruder")
                                         if info.filename == "decisions.json" else data)
                failed = leakwatch("evidence", "verify", str(tampered))
                assert failed.returncode == 1 and "FAILED" in failed.stdout
                page.close()
                kill_hard(url)

            # decisions survive kill -9
            entries = json.loads(baseline.read_text(encoding="utf-8"))["entries"]
            assert [e["finding_id"] for e in entries] == [globex["id"]]
            assert entries[0]["accepted_by"] == "ana.reviewer"

            rescan_path = tmp_path / "rescan.json"
            done = leakwatch("scan", str(case.vendors), "--store", str(case.store), "--baseline", str(baseline),
                             "--format", "json", "-o", str(rescan_path))
            rescan: dict[str, Any] = json.loads(rescan_path.read_text(encoding="utf-8"))
            ids = {f["id"] for f in rescan["findings"]}
            assert globex["id"] not in ids and acme["id"] in ids, done.stderr

            with console(case, db, baseline) as url:
                page = browser.new_page(viewport={"width": 1280, "height": 860})
                watch(page)
                log_in(page, url + f"finding/{acme['id']}")
                assert page.locator("#status").inner_text() == "dismissed"
                row = page.locator("table.decisions tr[data-action=dismiss] td")
                assert row.nth(3).inner_text() == "quoted in the public 2025 annual report"
                page.goto(url + "?status=accepted")
                assert page.locator("tr.finding").count() == 1
                # the rescan, as a second delivery on the vendor page
                subprocess.run([sys.executable, "-m", "leakwatch", "serve", "import", str(rescan_path), "--db",
                                str(db)], check=True, capture_output=True)
                page.goto(url + "vendor/acme")
                assert page.locator("svg.chart rect").count() >= 2
                assert page.locator("table.deliveries tbody tr").count() == 2
                shot(page, "console-vendor.png")
                page.close()
        finally:
            browser.close()
    assert not problems, problems
    assert not dialogs, dialogs
