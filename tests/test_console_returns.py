"""Return-or-destroy checks in the console: a real ``leakwatch audit --return-check`` record
(after a real ``leakwatch index add``) imported with ``leakwatch serve import`` and through
the Import page, stored per vendor, and shown on the vendor page newest first, an
incomplete check marked as such, present material by path and label, never its text. Also
the upgrade of a console database of the previous schema version."""

from __future__ import annotations

import html
import json
import os
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

try:
    import flask  # noqa: F401
except ImportError:  # pragma: no cover - CI installs the console extra
    if os.environ.get("CI"):
        raise
    pytest.skip("the console extra is not installed (pip install -e '.[console]')", allow_module_level=True)

from leakwatch.console.app import ConsoleSettings, create_app
from leakwatch.console.db import SCHEMA_VERSION, ConsoleError, connect
from leakwatch.console.imports import import_report
from leakwatch.console.returns import return_checks
from tests.conftest import make_text
from tests.test_cli import run


class Engagement:
    """One confidential document and one table-free store; acme still holds a copy of the
    document, initech a file that cannot be read."""

    def __init__(self, root: Path, secret: str, vocabulary: list[str]) -> None:
        self.root, self.secret = root, secret
        self.store = root / "store"
        self.doc = root / "confidential" / "plan.txt"
        self.doc.parent.mkdir()
        self.doc.write_text(secret, encoding="utf-8")
        code, _, err = run("index", "add", str(self.doc), "--store", str(self.store), "--label", "trade-secret")
        assert code == 0, err
        self.vendors = root / "vendors"
        for name in ("acme", "initech"):
            (self.vendors / name).mkdir(parents=True)
        self.copy = self.vendors / "acme" / "copy-of-plan.txt"
        self.copy.write_text(make_text(8, 80, vocabulary) + "\n\n" + secret, encoding="utf-8")
        (self.vendors / "initech" / "locked.pdf").write_bytes(b"%PDF-1.4\ntrailer << /Encrypt 5 0 R >>\n%%EOF")
        self.config = root / "leakwatch.toml"
        self.config.write_text(f'store = "{self.store}"\n' + "".join(
            f'[[watch.folders]]\npath = "{self.vendors / n}"\nvendor = "{n}"\n' for n in ("acme", "initech")))

    def return_check(self, vendor: str, out: str) -> Path:
        code, _, err = run("audit", "--config", str(self.config), "-o", str(self.root / out), "--return-check", vendor)
        assert code in (0, 1, 3), err
        [record] = (self.root / out).glob("*-return-check-*.json")
        return record


@pytest.fixture()
def engagement(tmp_path: Path, secret_text: str, vocabulary: list[str]) -> Engagement:
    return Engagement(tmp_path, secret_text, vocabulary)


def vendor_page(db: Path, vendor: str) -> str:
    client = create_app(ConsoleSettings(db=db)).test_client()
    response = client.get(f"/vendor/{vendor}")
    assert response.status_code == 200
    return response.data.decode()


def rows_of(page: str) -> list[str]:
    table = page.split('<table class="return-checks">', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr class="return-check[^"]*">.*?</tr>', table, re.S)


def test_return_checks_are_imported_and_shown_newest_first(engagement: Engagement) -> None:
    db = engagement.root / "console" / "console.sqlite3"
    first = engagement.return_check("acme", "checks-1")
    code, out, err = run("serve", "import", str(first), "--db", str(db))
    assert code == 0 and "imported" in out + err, out + err
    # The vendor removes the copy; the second check certifies.
    engagement.copy.unlink()
    second = engagement.return_check("acme", "checks-2")
    assert run("serve", "import", str(second), "--db", str(db))[0] == 0

    conn = connect(db)
    checks = return_checks(conn, "acme")
    assert [c["whole"] for c in checks] == [0, 1] and [c["complete"] for c in checks] == [True, True]
    assert checks[1]["present"] == [{"material": "document", "path": str(engagement.doc), "sheet": None,
                                     "label": "trade-secret", "still_present": "whole", "share": 1.0,
                                     "found_in": [str(engagement.copy)]}]
    assert (checks[0]["parts"], checks[0]["absent"]) == (0, 1)
    assert [tuple(r) for r in conn.execute("SELECT source, n_findings FROM reports ORDER BY id")] == [
        ("return-check", 0), ("return-check", 0)]
    assert "1 whole, 0 in parts, 0 absent, complete" in conn.execute(
        "SELECT detail FROM audit_log WHERE action = 'import' ORDER BY id").fetchone()[0]
    conn.close()

    page = vendor_page(db, "acme")
    rows = rows_of(page)
    assert len(rows) == 2
    # Newest first: the clean check, then the one that found the copy (path, label, where).
    assert "returned or destroyed" in rows[0] and "nothing" in rows[0]
    assert "still present" in rows[1] and html.escape(str(engagement.doc)) in rows[1]
    assert "trade-secret" in rows[1] and html.escape(str(engagement.copy)) in rows[1]
    assert 'data-count="whole">1<' in rows[1] and "incomplete" not in page.split("<h2>Return")[1]
    # Never any text of the registered document.
    for words in (engagement.secret.split()[i:i + 6] for i in (0, 400, 1200)):
        assert " ".join(words) not in page
    # A vendor that only has return checks is listed too.
    vendors = create_app(ConsoleSettings(db=db)).test_client().get("/vendors").data.decode()
    assert "/vendor/acme" in vendors


def test_an_incomplete_check_is_marked_and_the_import_page_takes_it(engagement: Engagement) -> None:
    db = engagement.root / "console" / "console.sqlite3"
    record = engagement.return_check("initech", "checks")
    assert json.loads(record.read_text())["return_check"]["complete"] is False
    client = create_app(ConsoleSettings(db=db)).test_client()
    token = re.search(rb'name="csrf_token" value="([^"]+)"', client.get("/import").data)
    assert token is not None
    with record.open("rb") as fh:
        response = client.post("/import", data={"csrf_token": token.group(1).decode(),
                                                "report": (fh, record.name)}, content_type="multipart/form-data")
    assert response.status_code == 302, response.data[:500]
    [row] = rows_of(vendor_page(db, "initech"))
    assert 'class="return-check incomplete"' in row
    assert '<span class="status status-incomplete">incomplete</span>' in row and "nothing certified" in row
    assert re.search(r'<td class="num">1</td>', row)  # the unreadable file


@pytest.mark.parametrize(("record", "message"), [
    ({"return_check": {"complete": True}, "still_present": []}, "names no vendor"),
    ({"return_check": {"vendor": "acme"}, "still_present": []}, "whether it is complete"),
    ({"return_check": {"vendor": "acme", "complete": True}, "still_present": {}}, "still_present is not a list"),
    ({"return_check": {"vendor": "acme", "complete": True}, "still_present": [{"path": "/x"}]}, "whole/parts"),
])
def test_a_malformed_return_check_is_refused_whole(tmp_path: Path, record: dict[str, Any], message: str) -> None:
    conn = connect(tmp_path / "c" / "db.sqlite3")
    with pytest.raises(ConsoleError, match=message):
        import_report(conn, json.dumps(record).encode(), "check.json", "tester")
    assert conn.execute("SELECT COUNT(*) FROM reports").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM return_checks").fetchone()[0] == 0


def test_a_database_of_the_previous_version_is_upgraded_and_a_newer_one_refused(tmp_path: Path) -> None:
    path = tmp_path / "c" / "db.sqlite3"
    connect(path).close()
    # What version 1 made: everything but return_checks.
    raw = sqlite3.connect(path)
    raw.execute("DROP TABLE return_checks")
    raw.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    raw.commit()
    raw.close()
    conn = connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0] == str(SCHEMA_VERSION)
    assert conn.execute("SELECT COUNT(*) FROM return_checks").fetchone()[0] == 0
    assert conn.execute("SELECT detail FROM audit_log WHERE action = 'upgrade'").fetchone()[0] == \
        f"schema 1 -> {SCHEMA_VERSION}"
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    conn.close()
    with pytest.raises(ConsoleError, match="version 99; this leakwatch reads version"):
        connect(path)
