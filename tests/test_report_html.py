"""The HTML report: rendered from a real scan, escaped, and loaded in a real headless
Chromium (Debian's package, driven by Playwright over the DevTools protocol).

The browser test skips when Chromium or Playwright is missing on a user's machine, and
fails instead on CI (``CI`` set), where ``.ci/run`` installs both.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from leakwatch.cli import cli
from leakwatch.model import Finding, Scores, Severity, SourceRef, Span
from leakwatch.report.html import DeliverableText, render_html, vendor_of
from leakwatch.results import ScanReport
from tests.conftest import make_text

HOSTILE_NAME = "<img src=x onerror=alert(1)><script>alert(2)<\\script>.txt"
HOSTILE_TEXT = '<script>alert("pwned")</script><img src=x onerror=alert(3)> &amp; "quoted" </div>'


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def words(text: str, first: int, n: int) -> str:
    spans = [m.span() for m in re.finditer(r"\w+", text)]
    return text[spans[first][0] : spans[first + n - 1][1]]


def file_text(path: Path) -> str:
    """A deliverable's text as the scan sees it: decoded bytes, newlines untouched."""
    return path.read_bytes().decode("utf-8")


@pytest.fixture()
def delivery(tmp_path: Path, secret_text: str, vocabulary: list[str]) -> dict[str, Any]:
    """A store with one confidential document and a tree of two vendors' deliveries:
    acme has a verbatim excerpt, a CRLF file with an excerpt across paragraphs and a
    short excerpt (low severity); globex has a near-duplicate of the whole document, a
    file with a hostile name and hostile text around an excerpt, and two files that
    cannot be scanned."""
    store = tmp_path / "store"
    doc = tmp_path / "confidential" / "strategy.txt"
    doc.parent.mkdir()
    doc.write_text(secret_text, encoding="utf-8")
    code, out, _ = run("index", "add", str(doc), "--store", str(store), "--label", "trade-secret",
                       "--owner", "finance")
    assert code == 0, out
    root = tmp_path / "vendors"
    acme, globex = root / "acme" / "2026-q1", root / "globex"
    acme.mkdir(parents=True)
    globex.mkdir(parents=True)
    (acme / "report.txt").write_text(
        make_text(5, 300, vocabulary) + "\n\n" + words(secret_text, 400, 90) + "\n\n" + make_text(6, 300, vocabulary),
        encoding="utf-8")
    across = words(secret_text, 600, 200)
    assert "\n\n" in across  # the CRLF case needs line breaks inside the passage
    (acme / "minutes.md").write_bytes(
        (make_text(7, 120, vocabulary) + "\n\n" + across + "\n\n" + make_text(8, 80, vocabulary))
        .replace("\n", "\r\n").encode("utf-8"))
    (acme / "short.txt").write_text(make_text(15, 200, vocabulary) + " " + words(secret_text, 300, 24),
                                    encoding="utf-8")
    edited = " ".join("changed" if i % 40 == 0 else w for i, w in enumerate(secret_text.split(" ")))
    (globex / "final-v2.txt").write_text(edited, encoding="utf-8")
    (globex / HOSTILE_NAME).write_text(
        HOSTILE_TEXT + "\n" + words(secret_text, 1100, 60) + "\n" + HOSTILE_TEXT, encoding="utf-8")
    (globex / "data.txt").write_bytes(b"\x00\x01\x02binary\x00" * 100)
    (globex / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage")
    code, out, err = run("scan", str(root), "--store", str(store), "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    html_path = tmp_path / "report.html"
    code, _, err = run("scan", str(root), "--store", str(store), "--format", "html", "--output", str(html_path))
    assert code == 1 and "report written to" in err
    return {"root": root, "store": store, "report": report, "html": html_path}


# --- without a browser --------------------------------------------------------------------

class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attrs: set[str] = set()
        self.marks: list[str] = []
        self._in_mark = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.update(name for name, _ in attrs)
        if tag == "mark":
            self._in_mark += 1
            self.marks.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "mark":
            self._in_mark -= 1

    def handle_data(self, data: str) -> None:
        if self._in_mark:
            self.marks[-1] += data


def test_hostile_names_and_text_are_escaped(delivery: dict[str, Any]) -> None:
    page = delivery["html"].read_text(encoding="utf-8")
    report = delivery["report"]
    assert any(Path(f["deliverable"]["path"]).name == HOSTILE_NAME for f in report["findings"])
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    parsed = _Elements()
    parsed.feed(page)
    assert {"script", "img", "iframe", "object", "embed", "link", "a", "form"}.isdisjoint(parsed.tags)
    assert not [a for a in parsed.attrs if a.startswith("on")]
    # the hostile name and text are shown, as text
    assert "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;\\script&gt;.txt" in page
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in page or \
        '&lt;script&gt;alert("pwned")&lt;/script&gt;' in page
    assert "&amp;amp;" in page  # an entity in the deliverable is shown as written, not decoded
    # nothing is loaded from anywhere, and no script may run even if an escape were missed
    assert "default-src 'none'" in page
    assert "http://" not in page and "https://" not in page


def test_html_report_holds_no_source_text_beyond_the_deliverable(delivery: dict[str, Any],
                                                                 secret_text: str) -> None:
    """What the page shows of the confidential document is what the deliverables contain:
    every highlighted passage is the deliverable's own text at the reported offsets."""
    page = delivery["html"].read_text(encoding="utf-8")
    parsed = _Elements()
    parsed.feed(page)
    findings = delivery["report"]["findings"]
    assert len(parsed.marks) == len(findings)
    for mark, f in zip(parsed.marks, findings, strict=True):
        text = file_text(Path(f["deliverable"]["path"]))
        passage = text[f["deliverable"]["start"] : f["deliverable"]["end"]]
        if "characters of the passage not shown" not in mark:
            # html.parser turns CR LF into LF like a browser does; the browser test checks the CRs
            assert mark.replace("\r\n", "\n") == passage.replace("\r\n", "\n")


def _finding(path: str, sha: str, start: int, end: int, n: int = 1) -> Finding:
    return Finding(
        id=f"lw-{n:020x}", kind="confidential-excerpt", severity=Severity.HIGH, deliverable_path=path,
        deliverable_sha256=sha, deliverable_span=Span(start, end), verified=True,
        source=SourceRef("doc-1", "/secret/<b>plan</b>.docx", "<i>label</i>", Span(10, 20), owner="o&o"),
        scores=Scores(1.0, 0.5, 0.1, 40, 0.95),
    )


def test_changed_or_missing_deliverable_says_so_and_shows_no_text(delivery: dict[str, Any]) -> None:
    from leakwatch.config import Config
    from leakwatch.pipeline import extraction
    from leakwatch.report.html import read_deliverable_text

    report = delivery["report"]
    f = next(f for f in report["findings"] if f["deliverable"]["path"].endswith("report.txt"))
    path, sha = f["deliverable"]["path"], f["deliverable"]["sha256"]
    with extraction(Config()) as reader:
        again = reader.read_again
        assert read_deliverable_text(path, sha, again).text == file_text(Path(path))
        Path(path).write_text(file_text(Path(path)) + " appended", encoding="utf-8")
        changed = read_deliverable_text(path, sha, again)
        assert changed.text is None and "changed since the scan" in (changed.problem or "")
        Path(path).unlink()
        gone = read_deliverable_text(path, sha, again)
        assert gone.text is None and "vanished" in (gone.problem or "")
        # the page says it, instead of showing text
        page = render_html(ScanReport(findings=[_finding(path, sha, 0, 10)]),
                           lambda p, s: read_deliverable_text(p, s, again))
    assert "cannot be read again (vanished" in page and "<mark" not in page


def test_the_html_report_reads_deliverables_in_the_isolated_worker(delivery: dict[str, Any], tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The deliverables a report quotes are parsed again only in the sandbox (issue 22): with
    every parser of this process made to fail, the report still shows every passage."""
    import leakwatch.extract as extract

    def no_parsing_here(*args: object, **kwargs: object) -> None:
        raise AssertionError("a deliverable was parsed in the reporting process")

    monkeypatch.setattr(extract, "read_again", no_parsing_here)
    monkeypatch.setattr(extract, "extract_bytes", no_parsing_here)
    out = tmp_path / "r.html"
    code, _, err = run("scan", str(delivery["root"]), "--store", str(delivery["store"]), "--format", "html",
                       "-o", str(out), "--no-cache")
    assert code == 1, err
    page = out.read_text()
    assert page.count('<mark class="passage"') == page.count('<article class="finding') >= 4
    assert "cannot be extracted again" not in page and "cannot be read again" not in page


def test_render_is_a_pure_function_of_report_and_texts() -> None:
    text = "line one\r\nA copied passage\r\nwith a <tag> & more\x00.\r\nlast line"
    start = text.index("A copied")
    end = text.index(".\r\nlast")
    report = ScanReport(findings=[_finding("/v/acme/x.txt", "ab" * 32, start, end)], files_scanned=1)
    calls: list[tuple[str, str]] = []

    def text_of(path: str, sha: str) -> DeliverableText:
        calls.append((path, sha))
        return DeliverableText(text=text)

    page = render_html(report, text_of, roots=["/v"])
    assert calls == [("/v/acme/x.txt", "ab" * 32)]
    assert "A copied passage&#13;\nwith a &lt;tag&gt; &amp; more\ufffd" in page
    assert "&lt;b&gt;plan&lt;/b&gt;.docx" in page and "&lt;i&gt;label&lt;/i&gt;" in page and "o&amp;o" in page
    # a span outside the text is reported, not sliced
    bad = ScanReport(findings=[_finding("/v/acme/x.txt", "ab" * 32, 5, len(text) + 50)])
    assert "outside the text of the file" in render_html(bad, text_of)


def test_vendor_is_the_first_folder_under_the_scanned_root() -> None:
    roots = ["/srv/vendors", "/data/single.txt", "/srv/vendors/acme"]
    assert vendor_of("/srv/vendors/globex/2026/q1/report.pdf", roots) == "globex"
    assert vendor_of("/srv/vendors/loose.txt", roots) == "vendors"
    # the longest root wins: a vendor folder scanned by itself names its own sub-folders
    assert vendor_of("/srv/vendors/acme/deliveries/x.pdf", roots) == "deliveries"
    assert vendor_of("/data/single.txt", roots) == "data"
    assert vendor_of("/elsewhere/beta/file.txt", roots) == "beta"
    assert vendor_of("/srv/vendorsX/a/b.txt", ["/srv/vendors"]) == "a"


def test_hidden_controls_in_names_are_made_visible() -> None:
    from leakwatch.report.html import esc

    assert esc("invoice\u202etxt.exe") == "invoice&lt;U+202E&gt;txt.exe"
    assert esc("a\udcffb") == "a\\udcffb"


# --- in a real browser ----------------------------------------------------------------------

@pytest.fixture()
def chromium() -> str:
    """The Chromium binary, or skip (fail on CI, where .ci/run installs it)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    missing = None if found else "Chromium is not installed (Debian: apt-get install chromium)"
    if found:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "Playwright is not installed (pip install -e '.[test]')"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}: .ci/run must install it, the browser test must run on CI")
        pytest.skip(missing)
    assert found is not None
    return found


def test_html_report_in_headless_chromium(chromium: str, delivery: dict[str, Any], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    report = delivery["report"]
    findings = report["findings"]
    problems: list[str] = []
    requests: list[str] = []
    dialogs: list[str] = []
    url = delivery["html"].resolve().as_uri()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, timeout=60_000,
                                     args=["--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(url, wait_until="load")
            page.wait_for_load_state("networkidle")

            # the page is self-contained and runs nothing
            assert requests == [url]
            assert page.locator("script").count() == 0
            assert page.evaluate("document.querySelectorAll('img,iframe,object,embed,link').length") == 0
            assert page.title().startswith("leakwatch report")

            # one element per finding, in report order, each with its passage at the reported offsets
            articles = page.locator("article.finding")
            assert articles.count() == len(findings) >= 5
            marks = page.locator("article.finding mark.passage")
            assert marks.count() == len(findings)
            truncated = 0
            for i, f in enumerate(findings):
                d = f["deliverable"]
                article = articles.nth(i)
                assert article.get_attribute("data-kind") == f["kind"]
                assert article.get_attribute("data-severity") == f["severity"]
                mark = marks.nth(i)
                assert mark.is_visible()
                assert (int(mark.get_attribute("data-start") or -1),
                        int(mark.get_attribute("data-end") or -1)) == (d["start"], d["end"])
                passage = file_text(Path(d["path"]))[d["start"] : d["end"]]
                shown = mark.evaluate("m => m.textContent")
                if mark.get_attribute("data-truncated") == "true":
                    truncated += 1
                    head, _, tail = shown.partition("[…")
                    assert passage.startswith(head) and passage.endswith(tail.split("…]", 1)[1])
                else:
                    assert shown == passage  # CRs included
                facts = article.locator("dl.facts").inner_text()
                assert f["source"]["doc_id"] in facts and f["source"]["label"] in facts
                assert f"{f['scores']['matched_words']:,} words matched" in facts
                assert f"chars {d['start']:,}–{d['end']:,}" in facts
            assert truncated == 1  # the near-duplicate: the whole file is the passage
            crlf = next(i for i, f in enumerate(findings) if f["deliverable"]["path"].endswith("minutes.md"))
            assert "\r\n" in marks.nth(crlf).evaluate("m => m.textContent")

            # the summary numbers
            summary = report["summary"]
            for key, value in (("files-scanned", summary["files_scanned"]), ("findings", summary["findings"]),
                               ("files-with-findings", summary["files_with_findings"]),
                               ("files-not-scanned", summary["files_not_scanned"])):
                assert page.locator(f'[data-count="{key}"] .n').inner_text() == f"{value:,}"
            for severity in ("high", "medium", "low"):
                row = page.locator("table.by-severity tbody tr", has_text=severity)
                assert row.locator("td").nth(1).inner_text() == str(summary["by_severity"].get(severity, 0))
            for kind, count in summary["by_kind"].items():
                assert page.locator("table.by-kind tbody tr", has_text=kind).locator("td").nth(1).inner_text() \
                    == str(count)
            vendors = {r.locator("td").nth(0).inner_text(): [c.inner_text() for c in r.locator("td").all()[1:]]
                       for r in page.locator("table.by-vendor tbody tr").all()}
            assert set(vendors) == {"acme", "globex"}
            for v in vendors:  # columns: files with findings, findings, high, medium, low, not scanned
                mine = [f for f in findings if f"{os.sep}vendors{os.sep}{v}{os.sep}" in f["deliverable"]["path"]]
                assert vendors[v][:2] == [str(len({f["deliverable"]["path"] for f in mine})), str(len(mine))]
                assert vendors[v][2:5] == [str(sum(f["severity"] == s for f in mine))
                                           for s in ("high", "medium", "low")]
            assert vendors["globex"][-1] == "2" and vendors["acme"][-1] == "0"
            assert sum(int(row[1]) for row in vendors.values()) == len(findings)

            # the files that could not be scanned, with their status
            errors = {r.locator("td").nth(0).inner_text(): r.locator("td").nth(2).inner_text()
                      for r in page.locator("table.errors tbody tr").all()}
            assert {Path(p).name: s for p, s in errors.items()} == {"data.txt": "unsupported",
                                                                      "broken.pdf": "parse-error"}
            assert page.get_by_text("NOT known to be clean").first.is_visible()

            # the hostile name is shown as text
            assert page.get_by_text(HOSTILE_NAME, exact=False).count() >= 1

            # it says at the top that it quotes the confidential text it found
            assert page.locator("header p.quotes").is_visible()
            assert "quotes the text found in deliverables" in page.locator("header p.quotes").inner_text()

            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            # README's picture: LEAKWATCH_SCREENSHOTS=docs/images python -m pytest -k chromium
            if os.environ.get("LEAKWATCH_SCREENSHOTS"):
                page.screenshot(path=str(Path(os.environ["LEAKWATCH_SCREENSHOTS"]) / "html-report.png"))
                articles.nth(0).screenshot(path=str(Path(os.environ["LEAKWATCH_SCREENSHOTS"])
                                                    / "html-report-finding.png"))
        finally:
            browser.close()
    assert not problems, problems
    assert not dialogs, dialogs
    assert shot.stat().st_size > 10_000
    print(f"screenshot of the HTML report: {shot}")


def _maxrss_run(args: list[str]) -> tuple[int, int, str]:
    """Run the CLI in a process of its own; (exit code, that process's peak RSS in KiB,
    stderr). Extraction workers are processes of their own: their memory is not counted."""
    import subprocess
    import sys

    # VmHWM, not getrusage: ru_maxrss survives exec, so a child would start with the peak of
    # the test process that spawned it.
    probe = ("import atexit, re, sys\n"
             "atexit.register(lambda: print('MAXRSS', re.search(r'VmHWM:\\s+(\\d+)',"
             " open('/proc/self/status').read()).group(1), file=sys.stderr))\n"
             "from leakwatch.cli import cli\n"
             "cli.main(sys.argv[1:], prog_name='leakwatch')\n")
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=600)
    found = re.search(r"MAXRSS (\d+)", done.stderr)
    assert found, done.stderr
    return done.returncode, int(found.group(1)), done.stderr


def _docx_with_padding(path: Path, excerpt: str, padding_mb: int) -> None:
    """A DOCX whose body holds ``excerpt`` and then ``padding_mb`` MB of empty paragraphs
    (random revision ids, so the part stays under the compression-ratio cap): to read it,
    a process holds the whole part in memory."""
    import random
    import zipfile

    from docx import Document

    Document().save(str(path))
    rng = random.Random(5)
    para = '<w:p w:rsidR="{:08X}" w:rsidRDefault="{:08X}"><w:r><w:t xml:space="preserve"> </w:t></w:r></w:p>'
    filler = "".join(para.format(rng.getrandbits(32), rng.getrandbits(32)) for _ in range(padding_mb * 10_000))
    with zipfile.ZipFile(path) as src:
        parts = {name: src.read(name) for name in src.namelist()}
    body = parts["word/document.xml"].decode("utf-8")
    start = body.index("<w:body>") + len("<w:body>")
    text = excerpt.replace("&", "&amp;").replace("<", "&lt;")
    parts["word/document.xml"] = (body[:start] + f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>" + filler
                                  + body[start:]).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)


def test_heavy_files_are_read_again_for_verification_and_the_html_report_in_the_sandbox(
        tmp_path: Path, secret_text: str) -> None:
    """Issue 22: source verification and the HTML report read files again only in the
    isolated worker. A registered DOCX whose body part is 60 MB (a 7 MB file), delivered
    unchanged, is read by the scan, again to verify the source, and again for the report;
    the scanning process's own peak memory stays that of the same scan of a small DOCX,
    so none of those reads happened there, and the report still quotes the passage."""
    excerpt = words(secret_text, 10, 80)
    peaks: dict[tuple[str, str], int] = {}
    for name, padding_mb in (("small", 1), ("heavy", 60)):
        source, delivered = tmp_path / name / "confidential", tmp_path / name / "vendor"
        source.mkdir(parents=True)
        delivered.mkdir()
        _docx_with_padding(source / "plan.docx", excerpt, padding_mb)
        shutil.copy(source / "plan.docx", delivered / "plan-copy.docx")
        store = tmp_path / name / "store"
        assert run("index", "add", str(source), "--store", str(store))[0] == 0
        for fmt in ("json", "html"):
            out = tmp_path / f"{name}.{fmt}"
            code, peaks[name, fmt], err = _maxrss_run(["scan", str(delivered), "--store", str(store), "--format",
                                                       fmt, "-o", str(out), "--no-cache"])
            assert code == 1, err
        findings = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))["findings"]
        assert [f["verified"] for f in findings] == [True]  # the source was read again
        page = (tmp_path / f"{name}.html").read_text(encoding="utf-8")
        assert page.count('<mark class="passage"') == 1 and "cannot be" not in page
    # 60 MB read in this process raises its peak by about 85 MB (measured with isolate = false).
    for fmt in ("json", "html"):
        assert peaks["heavy", fmt] < peaks["small", fmt] + 30 * 1024, peaks
