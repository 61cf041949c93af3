# ruff: noqa: F811 - the fixtures imported from test_console are arguments of the tests below
"""Reviewers' accounts: created from the CLI (hashed, never the password), then the console
asks for a name and password, the audit log's "who" is the account that logged in, failed
logins are logged, and disabling an account or changing its password ends its sessions."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

try:
    import flask  # noqa: F401
except ImportError:  # pragma: no cover - CI installs the console extra
    if os.environ.get("CI"):
        raise
    pytest.skip("the console extra is not installed (pip install -e '.[console]')", allow_module_level=True)

from leakwatch.console.accounts import disable_user, has_accounts, set_password
from leakwatch.console.db import ConsoleError, connect
from leakwatch.console.passages import TextReader
from leakwatch.console.server import check_bind
from tests.consoledata import Case

# The console tests' case (a real scan report imported), database and passage reader.
from tests.test_console import TOKEN, case, client, csrf, db, reader  # noqa: F401

PASSWORD = "correct horse battery staple"


def _cli(*args: str, stdin: str = "") -> tuple[int, str]:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "leakwatch", *args], input=stdin, capture_output=True, text=True,
                          timeout=120)
    return done.returncode, done.stdout + done.stderr


def _log_in(c: object, name: str, password: str) -> object:
    page = c.get("/login").data  # type: ignore[attr-defined]
    return c.post("/login", data={"name": name, "password": password,  # type: ignore[attr-defined]
                                  "csrf_token": csrf(page)})


def test_accounts_are_made_from_the_cli_and_keep_no_password(db: Path) -> None:
    assert _cli("serve", "users", "add", "ana", "--db", str(db), "--password-stdin", stdin=PASSWORD + "\n")[0] == 0
    code, out = _cli("serve", "users", "add", "bob", "--db", str(db), "--password-stdin", stdin="short\n")
    assert code == 2 and "12 characters" in out
    code, out = _cli("serve", "--db", str(db), "users", "add", "ana", "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 2 and "already an account" in out
    raw = db.read_bytes() + (Path(str(db) + "-wal").read_bytes() if Path(str(db) + "-wal").exists() else b"")
    assert PASSWORD.encode() not in raw
    conn = sqlite3.connect(db)
    (hashed,) = conn.execute("SELECT password_hash FROM users WHERE name = 'ana'").fetchone()
    assert hashed.startswith("scrypt:")
    assert [r[0] for r in conn.execute("SELECT action FROM audit_log WHERE target = 'ana'")] == ["account add"]
    code, out = _cli("serve", "users", "list", "--db", str(db))
    assert code == 0 and out.startswith("ana\tactive")


def test_with_accounts_the_log_names_who_logged_in(db: Path, reader: TextReader, case: Case) -> None:
    assert _cli("serve", "users", "add", "ana", "--db", str(db), "--password-stdin", stdin=PASSWORD + "\n")[0] == 0
    c = client(db, reader)  # no token: the accounts alone ask for a login
    fid = case.finding("acme")["id"]
    assert c.get("/").status_code == 302
    assert b'name="password"' in c.get("/login").data
    wrong = _log_in(c, "ana", "not the password at all")
    assert b"Wrong name or password" in wrong.data and c.get("/").status_code == 302
    assert b"Wrong name or password" in _log_in(c, "mallory", PASSWORD).data  # no such account: the same answer
    ok = _log_in(c, "ana", PASSWORD)
    assert ok.status_code == 302 and c.get("/").status_code == 200
    token = csrf(c.get(f"/finding/{fid}").data)
    c.post(f"/finding/{fid}/decide", data={"action": "comment", "note": "looking", "csrf_token": token})
    conn = connect(db)
    assert conn.execute("SELECT by FROM decisions").fetchone()[0] == "ana"
    assert [(r["action"], r["who"]) for r in conn.execute("SELECT action, who FROM audit_log WHERE action LIKE "
                                                          "'login%' ORDER BY id")] == \
        [("login failed", "ana"), ("login failed", "mallory"), ("login", "ana")]


def test_a_new_password_or_a_disabled_account_ends_its_sessions(db: Path, reader: TextReader) -> None:
    assert _cli("serve", "users", "add", "ana", "--db", str(db), "--password-stdin", stdin=PASSWORD + "\n")[0] == 0
    c = client(db, reader)
    _log_in(c, "ana", PASSWORD)
    assert c.get("/").status_code == 200
    conn = connect(db)
    set_password(conn, "ana", PASSWORD + " again", "admin")
    assert c.get("/").status_code == 302  # logged out
    _log_in(c, "ana", PASSWORD + " again")
    assert c.get("/").status_code == 200
    disable_user(conn, "ana", "admin")
    assert c.get("/").status_code == 302
    assert b"Wrong name or password" in _log_in(c, "ana", PASSWORD + " again").data
    # No active account left: still no way in but an account (not back to the token or
    # the open loopback console, where the disabled session would go on under its name).
    assert has_accounts(conn) and c.get("/").status_code == 302
    with pytest.raises(ConsoleError, match="no active account"):
        disable_user(conn, "ana", "admin")


def test_a_token_session_does_not_survive_the_first_account(db: Path, reader: TextReader) -> None:
    c = client(db, reader, token=TOKEN)
    page = c.get("/login").data
    c.post("/login", data={"name": "eve", "token": TOKEN, "csrf_token": csrf(page)})
    assert c.get("/").status_code == 200
    assert _cli("serve", "users", "add", "ana", "--db", str(db), "--password-stdin", stdin=PASSWORD + "\n")[0] == 0
    assert c.get("/").status_code == 302
    # The shared token no longer logs in: only an account does.
    page = c.get("/login").data
    c.post("/login", data={"name": "eve", "token": TOKEN, "csrf_token": csrf(page)})
    assert c.get("/").status_code == 302


def test_accounts_are_a_login_for_listening_beyond_loopback(tmp_path: Path) -> None:
    with pytest.raises(ConsoleError, match="without an access token"):
        check_bind("0.0.0.0", None, by_account=False)
    check_bind("0.0.0.0", None, by_account=True)


def test_failed_logins_are_throttled_per_address_and_a_good_one_is_not_counted(db: Path,
                                                                                reader: TextReader) -> None:
    assert _cli("serve", "users", "add", "ana", "--db", str(db), "--password-stdin", stdin=PASSWORD + "\n")[0] == 0
    c = client(db, reader)
    for _ in range(3):  # logins that succeed are not counted
        assert _log_in(c, "ana", PASSWORD).status_code == 302
    for _ in range(5):
        assert b"Wrong name or password" in _log_in(c, "ana", "a wrong guess, again").data
    blocked = _log_in(c, "ana", PASSWORD)  # even the right password waits: the address is throttled
    assert blocked.status_code == 429 and b"Too many failed logins" in blocked.data
    page = c.get("/login").data  # another client address of the same server is not
    ok = c.post("/login", data={"name": "ana", "password": PASSWORD, "csrf_token": csrf(page)},
                environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert ok.status_code == 302
