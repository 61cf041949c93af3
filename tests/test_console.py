"""The review console without a browser: imports (good, corrupt, twice), the database's
guarantees (private files, append-only log), the pages through Flask's test client
(escaping of a hostile deliverable, both passages and their word diff, security headers,
CSRF, login with a token, oversized uploads), decisions and the baseline they write, and
the refusal to listen beyond loopback without a token."""

from __future__ import annotations

import html
import json
import os
import re
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

try:
    import flask  # noqa: F401
except ImportError:  # pragma: no cover - CI installs the console extra
    if os.environ.get("CI"):
        raise
    pytest.skip("the console extra is not installed (pip install -e '.[console]')", allow_module_level=True)

from leakwatch.baseline import load_baseline
from leakwatch.config import load_config
from leakwatch.console import queries
from leakwatch.console.app import ConsoleSettings, create_app
from leakwatch.console.db import ConsoleError, connect
from leakwatch.console.decisions import Decision, decide
from leakwatch.console.imports import import_report, parse_report
from leakwatch.console.passages import TextReader, word_diff
from leakwatch.console.server import check_bind, is_loopback, read_token
from tests.consoledata import HOSTILE_TEXT, Case, leakwatch, make_case

TOKEN = "s3cret-token-0123456789"


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory, secret_text: str, vocabulary: list[str]) -> Case:
    return make_case(tmp_path_factory.mktemp("console"), secret_text, vocabulary)


@pytest.fixture()
def db(tmp_path: Path, case: Case) -> Path:
    path = tmp_path / "console" / "db.sqlite3"
    conn = connect(path)
    import_report(conn, case.report_path.read_bytes(), "scan.json", "tester")
    conn.close()
    return path


@pytest.fixture(scope="module")
def reader(case: Case) -> Iterator[TextReader]:
    texts = TextReader(load_config(None).with_store(str(case.store)))
    yield texts
    texts.close()


def client(db: Path, reader: TextReader, token: str | None = None, **kw: Any) -> Any:
    app = create_app(ConsoleSettings(db=db, baseline=db.parent / "baseline.json", token=token, **kw), reader)
    return app.test_client()


def csrf(page: bytes) -> str:
    found = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1).decode()


# --- imports and the database -------------------------------------------------------------

def test_database_is_private_and_the_log_append_only(db: Path) -> None:
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    conn = connect(db)
    assert conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0] == 1
    for sql in ("UPDATE audit_log SET who = 'x'", "DELETE FROM audit_log",
                "INSERT INTO decisions(finding_id, action, by, at, note) SELECT finding_id, 'comment', 'a', 'b', 'c' "
                "FROM cases LIMIT 1", "UPDATE decisions SET note = 'rewritten'", "DELETE FROM decisions"):
        if sql.startswith("INSERT"):
            conn.execute(sql)
            continue
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)
    conn.close()


@pytest.mark.parametrize("data, message", [
    (b'{"leakwatch": "0.1.0", "findings": [{"id": "lw-1", "kind"', "not JSON"),
    (b"\xff\xfe binary", "not UTF-8"),
    (b"[1, 2, 3]", "not a leakwatch report"),
    (b'{"findings": 3}', "not a leakwatch report"),
    (b'{"leakwatch": "0.1.0", "findings": [{"id": "lw-1", "kind": "confidential-excerpt"}]}', "no severity"),
    (b'{"leakwatch": "0.1.0", "findings": [{"id": "lw-1", "kind": "k", "severity": "high", "deliverable": {}}]}',
     "no deliverable path"),
    (b"", "empty"),
])
def test_a_corrupt_report_is_refused_whole_with_the_reason(tmp_path: Path, data: bytes, message: str) -> None:
    conn = connect(tmp_path / "c" / "db.sqlite3")
    with pytest.raises(ConsoleError, match=message):
        import_report(conn, data, "broken.json", "tester")
    assert conn.execute("SELECT COUNT(*) FROM reports").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM findings").fetchone()[0] == 0


def test_import_cli_twice_and_corrupt(tmp_path: Path, case: Case) -> None:
    db = tmp_path / "c" / "db.sqlite3"
    bad = tmp_path / "cut.json"
    bad.write_bytes(case.report_path.read_bytes()[:500])
    done = leakwatch("serve", "import", str(case.report_path), str(bad), "--db", str(db))
    assert done.returncode == 2
    assert "imported" in done.stderr and "cut.json is not JSON" in done.stderr and "Traceback" not in done.stderr
    again = leakwatch("serve", "--db", str(db), "import", str(case.report_path))  # --db before "import" too
    assert again.returncode == 2 and "imported already" in again.stderr
    conn = connect(db)
    assert conn.execute("SELECT COUNT(*) FROM findings").fetchone()[0] == len(case.report["findings"])


def test_audit_records_and_alert_logs_name_their_vendor(case: Case) -> None:
    f = case.report["findings"][0]
    audit = {"audit": {"vendor": "initech", "started_at": "2026-03-02T01:00:00+00:00"}, "findings": [f],
             "not_scanned": [{"path": "/x", "status": "encrypted", "message": "m"}]}
    parsed = parse_report(json.dumps(audit).encode(), "audit.json")
    assert parsed.source == "audit" and parsed.n_errors == 1
    assert parsed.findings[0][:2] == ("initech", "2026-03-02T01:00:00+00:00")
    alerts = [{"event": "findings", "vendor": "hooli", "time": "2026-04-01T00:00:00+00:00", "findings": [f]},
              {"event": "unscannable", "vendor": "hooli", "time": "2026-04-02T00:00:00+00:00"}]
    parsed = parse_report("\n".join(json.dumps(a) for a in alerts).encode(), "alerts.jsonl")
    assert parsed.source == "alerts" and parsed.n_errors == 1 and parsed.findings[0][0] == "hooli"


# --- pages --------------------------------------------------------------------------------

def test_inbox_filters_and_counts(db: Path, reader: TextReader, case: Case) -> None:
    c = client(db, reader)
    page = c.get("/").data.decode()
    assert page.count('class="finding"') == len(case.report["findings"])
    only = c.get("/?vendor=globex").data.decode()
    assert only.count('class="finding"') == sum("/globex/" in f["deliverable"]["path"]
                                                 for f in case.report["findings"])
    assert c.get("/?status=dismissed").data.decode().count('class="finding"') == 0
    assert c.get("/?since=2999-01-01").data.decode().count('class="finding"') == 0


def test_finding_page_escapes_a_hostile_deliverable_and_shows_both_passages(db: Path, reader: TextReader,
                                                                           case: Case) -> None:
    f = case.finding("acme")
    response = client(db, reader).get(f"/finding/{f['id']}")
    assert response.status_code == 200
    page = response.data.decode()
    # The hostile text is there, as text: no tag of it reaches the page.
    assert html.escape(HOSTILE_TEXT, quote=False) in page or "&lt;script&gt;alert(" in page
    assert "<script" not in page and "onerror=alert" not in page.replace("&lt;img src=x onerror=alert", "")
    assert "<img" not in page
    # Both passages, read from the files, and the edited words marked on both sides.
    deliverable = re.search(r'class="side deliverable".*?<mark class="passage">(.*?)</mark>', page, re.S)
    source = re.search(r'class="side source".*?<mark class="passage">(.*?)</mark>', page, re.S)
    assert deliverable and source
    assert "<ins>EDITED" in deliverable.group(1)
    text = case.source.read_text(encoding="utf-8")[f["source"]["start"]:f["source"]["end"]]
    assert re.sub(r"<[^>]+>", "", source.group(1)) == html.escape(text, quote=False)
    assert "Resemblance" in page and "words of the deliverable match" in page


def test_source_not_available_when_the_file_changed(tmp_path: Path, case: Case, secret_text: str) -> None:
    # A copy of the case whose source file is then rewritten: the keyed digest no longer matches.
    moved = tmp_path / "source.txt"
    moved.write_text(secret_text, encoding="utf-8")
    store = tmp_path / "store"
    assert leakwatch("index", "add", str(moved), "--store", str(store)).returncode == 0
    done = leakwatch("scan", str(case.vendors / "globex"), "--store", str(store), "--format", "json",
                     "-o", str(tmp_path / "r.json"))
    assert done.returncode == 1, done.stderr
    moved.write_text(secret_text.replace(" ", "  ", 3), encoding="utf-8")
    db = tmp_path / "c" / "db.sqlite3"
    conn = connect(db)
    import_report(conn, (tmp_path / "r.json").read_bytes(), "r.json", "t")
    fid = conn.execute("SELECT finding_id FROM findings").fetchone()[0]
    texts = TextReader(load_config(None).with_store(str(store)))
    try:
        page = client(db, texts).get(f"/finding/{fid}").data.decode()
    finally:
        texts.close()
    assert "source not available" in page and "not the one indexed" in page
    assert page.count('<mark class="passage">') == 1  # the deliverable still shows


def test_security_headers_and_no_script(db: Path, reader: TextReader) -> None:
    response = client(db, reader).get("/")
    h = response.headers
    assert "script-src" not in h["Content-Security-Policy"] and "default-src 'none'" in h["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
    assert h["X-Frame-Options"] == "DENY" and h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "no-referrer" and h["Cache-Control"] == "no-store"
    assert "<script" not in response.data.decode()


def test_posts_without_a_csrf_token_are_refused(db: Path, reader: TextReader, case: Case) -> None:
    c = client(db, reader)
    fid = case.report["findings"][0]["id"]
    response = c.post(f"/finding/{fid}/decide", data={"action": "dismiss", "note": "forged"})
    assert response.status_code == 400
    conn = connect(db)
    assert conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 0


def test_with_a_token_nothing_is_shown_before_login(db: Path, reader: TextReader, case: Case) -> None:
    c = client(db, reader, token=TOKEN)
    fid = case.finding("acme")["id"]
    for path in ("/", f"/finding/{fid}", "/vendors", "/vendor/acme", "/log", "/import"):
        response = c.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    login = c.get("/login").data
    wrong = c.post("/login", data={"name": "eve", "token": "wrong-token-xxxxxxxx", "csrf_token": csrf(login)})
    assert b"Wrong token" in wrong.data
    assert c.get("/").status_code == 302
    ok = c.post(f"/login?next=/finding/{fid}", data={"name": "ana", "token": TOKEN, "csrf_token": csrf(login)})
    assert ok.status_code == 302 and ok.headers["Location"].endswith(f"/finding/{fid}")
    assert c.get("/").status_code == 200
    # An open redirect is not followed off the console.
    for target in ("//evil.example/", "/\\evil.example/", "https://evil.example/"):
        c2 = client(db, reader, token=TOKEN)
        login = c2.get("/login").data
        r = c2.post(f"/login?next={target}", data={"name": "a", "token": TOKEN, "csrf_token": csrf(login)})
        assert r.headers["Location"] == "/", target


def test_oversized_uploads_are_refused(db: Path, reader: TextReader) -> None:
    c = client(db, reader, max_upload=4096)
    token = csrf(c.get("/import").data)
    import io

    response = c.post("/import", data={"csrf_token": token, "report": (io.BytesIO(b"x" * 10_000), "big.json")},
                      content_type="multipart/form-data")
    assert response.status_code == 413
    corrupt = c.post("/import", data={"csrf_token": token, "report": (io.BytesIO(b'{"leak'), "c.json")},
                     content_type="multipart/form-data")
    assert corrupt.status_code == 200 and b"not JSON" in corrupt.data


def test_decisions_and_the_baseline(db: Path, reader: TextReader, case: Case) -> None:
    c = client(db, reader)
    acme, globex = case.finding("acme")["id"], case.finding("globex")["id"]
    token = csrf(c.get(f"/finding/{acme}").data)
    empty = c.post(f"/finding/{acme}/decide", data={"action": "dismiss", "note": "  ", "csrf_token": token},
                   follow_redirects=True)
    assert b"say why" in empty.data
    c.post(f"/finding/{acme}/decide", data={"action": "dismiss", "note": "<b>public</b> text", "csrf_token": token})
    c.post(f"/finding/{globex}/decide", data={"action": "assign", "note": "j.doe", "csrf_token": token})
    c.post(f"/finding/{globex}/decide", data={"action": "accept", "note": "licensed, contract 17", "csrf_token": token})
    page = c.get(f"/finding/{acme}").data.decode()
    assert "&lt;b&gt;public&lt;/b&gt; text" in page and 'id="status">dismissed' in page
    baseline = load_baseline(db.parent / "baseline.json")
    assert [e.finding_id for e in baseline.entries] == [globex]
    assert baseline.entries[0].reason == "licensed, contract 17" and baseline.entries[0].accepted_by
    assert stat.S_IMODE((db.parent / "baseline.json").stat().st_mode) == 0o600
    conn = connect(db)
    row = queries.case(conn, globex)
    assert row is not None and row["status"] == "accepted" and row["assignee"] == "j.doe"
    log = [r["action"] for r in conn.execute("SELECT action FROM audit_log ORDER BY id")]
    assert log == ["import", "dismiss", "assign", "accept"]
    vendor = c.get("/vendor/globex").data.decode()
    assert "<svg" in vendor and "<rect" in vendor and 'data-count="accepted">1' in vendor


def test_accept_without_baseline_records_nothing(db: Path, case: Case) -> None:
    conn = connect(db)
    fid = case.report["findings"][0]["id"]
    with pytest.raises(ConsoleError, match="no baseline"):
        decide(conn, Decision(fid, "accept", "ana", "ok"), None)
    assert conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 0
    assert queries.case(conn, fid)["status"] == "open"


def test_word_diff_marks_only_what_differs() -> None:
    a, b = word_diff("The rate is 5% for gold clients.", "the rate is 7% for gold  clients.")
    assert [s.text for s in a if s.changed] == ["5% "] and [s.text for s in b if s.changed] == ["7% "]
    assert "".join(s.text for s in a) == "The rate is 5% for gold clients."


# --- listening --------------------------------------------------------------------------------

def test_no_listening_beyond_loopback_without_a_token(tmp_path: Path) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")
    with pytest.raises(ConsoleError, match="without an access token"):
        check_bind("0.0.0.0", None)
    check_bind("0.0.0.0", TOKEN)
    done = leakwatch("serve", "--host", "0.0.0.0", "--db", str(tmp_path / "db.sqlite3"),
                     env={"LEAKWATCH_CONSOLE_TOKEN": ""})
    assert done.returncode == 2 and "without an access token" in done.stderr
    loose = tmp_path / "token"
    loose.write_text(TOKEN + "\n")
    loose.chmod(0o644)
    with pytest.raises(ConsoleError, match="readable by others"):
        read_token(loose)
    loose.chmod(0o600)
    assert read_token(loose) == TOKEN
    loose.write_text("short\n")
    with pytest.raises(ConsoleError, match="too short"):
        read_token(loose)


def test_evidence_package_is_signed_and_logged(db: Path, reader: TextReader, case: Case, tmp_path: Path) -> None:
    from leakwatch.evidence.keys import generate_signing_key
    from leakwatch.evidence.package import verify_package

    key = tmp_path / "legal.key"
    public = generate_signing_key(key)
    c = client(db, reader, signing_key=key)
    fid = case.finding("globex")["id"]
    token = csrf(c.get(f"/finding/{fid}").data)
    c.post(f"/finding/{fid}/decide", data={"action": "confirm", "note": "incident 17", "csrf_token": token})
    response = c.post(f"/finding/{fid}/evidence", data={"csrf_token": token, "copy": "1"})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    package = tmp_path / "p.zip"
    package.write_bytes(response.data)
    result = verify_package(package, public)
    assert result.ok and result.signed, result.problems
    import zipfile

    with zipfile.ZipFile(package) as zf:
        meta = json.loads(zf.read("metadata.json"))
        assert json.loads(zf.read("decisions.json"))[0]["note"] == "incident 17"
        assert any(n.startswith("deliverable/") for n in zf.namelist())
    assert case.report["summary"]["index"]["key_id"] in json.dumps(meta)
    kept = list((db.parent / "evidence").glob("*.zip"))
    assert len(kept) == 1 and stat.S_IMODE(kept[0].stat().st_mode) == 0o600
    conn = connect(db)
    assert conn.execute("SELECT detail FROM audit_log WHERE action = 'evidence'").fetchone()[0].endswith("signed")
