"""The daemon writing its alerts straight into the review console's database: a real
``leakwatch watch`` process (as in tests/test_watch_daemon.py) with ``watch.console_db``
set, a leaking file dropped into its folder, and the console's own queries and pages
listing the finding; the same without Flask installed; a database that cannot be used is
a one-line error at start; and a console write that fails loses no alert (the alerts log
has it; it is written with the next alert, or at the next start)."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakwatch.console import queries
from leakwatch.console.db import connect
from leakwatch.watch.console_sink import ConsoleAlertsLog
from tests.test_watch_daemon import Env

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="inotify events are Linux's")


@pytest.fixture()
def env(tmp_path: Path, secret_text: str) -> Iterator[Env]:
    e = Env(tmp_path, secret_text)
    yield e
    if e.proc is not None and e.proc.poll() is None:
        e.proc.kill()
        e.proc.wait()


def inbox(db: Path) -> list[sqlite3.Row]:
    conn = connect(db, init=False)
    try:
        return queries.inbox(conn, queries.InboxFilter())
    finally:
        conn.close()


def wait_inbox(db: Path, count: int, timeout: float = 60.0) -> list[sqlite3.Row]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.exists() and len(rows := inbox(db)) >= count:
            return rows
        time.sleep(0.1)
    raise AssertionError(f"the console did not list {count} finding(s) within {timeout}s")


def test_the_daemon_records_each_alert_into_the_console(env: Env) -> None:
    db = env.tmp / "console" / "console.sqlite3"
    env.write_config(console_db=str(db))
    env.start()
    (env.drop / "leak.txt").write_text(env.leak(3))
    [row] = wait_inbox(db, 1)
    [alert] = env.wait_alerts(1)
    # The console holds what the alerts log holds: the same finding, vendor and file.
    assert row["finding_id"] == alert["findings"][0]["id"]
    assert (row["vendor"], row["status"], row["deliverable_path"]) == ("acme", "open", alert["path"])
    assert row["severity"] == alert["findings"][0]["severity"] and row["source_label"] == "trade-secret"
    conn = connect(db, init=False)
    [report] = conn.execute("SELECT * FROM reports").fetchall()
    assert report["source"] == "alerts" and report["name"] == f"alerts.jsonl:{alert['id']}"
    assert report["imported_by"] == "leakwatch watch"
    conn.close()
    # A file that cannot be read is an alert too (not a finding): the report counts it.
    (env.drop / "fake.docx").write_bytes(b"PK\x03\x04 this is no zip file at all")
    env.wait_alerts(2)
    deadline = time.monotonic() + 30
    while connect(db, init=False).execute("SELECT COUNT(*) FROM reports").fetchone()[0] < 2:
        assert time.monotonic() < deadline, "the unscannable alert did not reach the console"
        time.sleep(0.1)
    assert env.stop() == 143
    flask = pytest.importorskip("flask", reason="the console extra is not installed")
    del flask
    from leakwatch.console.app import ConsoleSettings, create_app

    page = create_app(ConsoleSettings(db=db)).test_client().get("/").data.decode()
    assert f"/finding/{row['finding_id']}" in page and "leak.txt" in page


def test_without_flask_the_daemon_still_writes_into_the_console(env: Env) -> None:
    db = env.tmp / "console.sqlite3"
    (env.drop / "leak.txt").write_text(env.leak(4))
    # Flask made unimportable in the child: the database code needs only sqlite3.
    code = ("import sys; sys.modules['flask'] = sys.modules['flask_wtf'] = sys.modules['waitress'] = None; "
            "sys.argv[0] = 'leakwatch'; from leakwatch.entry import main; main()")
    result = subprocess.run([sys.executable, "-c", code, "watch", "--once", "--config", str(env.config),
                             "--console-db", str(db)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    [row] = inbox(db)
    assert row["finding_id"] == env.alerts()[0]["findings"][0]["id"]


def test_a_console_database_that_cannot_be_used_stops_the_start(env: Env) -> None:
    bad = env.tmp / "not-a-console.sqlite3"
    bad.write_bytes(b"this is not an SQLite database at all, but it is long enough to look like a header" * 4)
    result = subprocess.run([sys.executable, "-m", "leakwatch", "watch", "--once", "--config", str(env.config),
                             "--console-db", str(bad)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"leakwatch: error: watch.console_db: {bad} is not a leakwatch console database")
    assert "Traceback" not in result.stderr
    inside = subprocess.run([sys.executable, "-m", "leakwatch", "watch", "--once", "--config", str(env.config),
                             "--console-db", str(env.drop / "c.sqlite3")], capture_output=True, text=True, timeout=300)
    assert inside.returncode == 2 and "must not be inside the watched folder" in inside.stderr


def test_a_failed_console_write_loses_no_alert(env: Env, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Real alerts: a leak and an unreadable file, from one sweep of the real daemon.
    (env.drop / "leak.txt").write_text(env.leak(5))
    (env.drop / "fake.docx").write_bytes(b"PK\x03\x04 this is no zip file at all")
    (env.drop / "leak2.txt").write_text(env.leak(6))
    (env.drop / "leak3.txt").write_text(env.leak(7))
    done = subprocess.run([sys.executable, "-m", "leakwatch", "watch", "--once", "--config", str(env.config)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    alerts = env.alerts()
    assert len(alerts) == 4

    db, log_path = tmp_path / "c" / "console.sqlite3", tmp_path / "out" / "alerts.jsonl"

    def reports() -> list[str]:
        conn = connect(db, init=False)
        try:
            return [r[0] for r in conn.execute("SELECT name FROM reports ORDER BY id")]
        finally:
            conn.close()

    names = [f"alerts.jsonl:{a['id']}" for a in alerts]
    sink = ConsoleAlertsLog(log_path, db)
    sink.conn.execute("PRAGMA busy_timeout = 50")
    locker = sqlite3.connect(db, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another writer holds the database
    with caplog.at_level(logging.ERROR, logger="leakwatch.watch"):
        sink.append(alerts[0])
    assert [json.loads(line)["id"] for line in log_path.read_text().splitlines()] == [alerts[0]["id"]]
    assert "console write failed: retried with the next alert or sweep" in caplog.text
    assert len(sink.pending) == 1
    locker.execute("COMMIT")
    assert reports() == []
    # A sweep (Daemon._sweep calls flush) writes what the failure left.
    assert sink.flush() == 1 and reports() == names[:1] and sink.pending == []

    locker.execute("BEGIN EXCLUSIVE")
    sink.append(alerts[1])
    locker.execute("COMMIT")
    assert len(sink.pending) == 1 and reports() == names[:1]
    # The next alert writes the one left first: the log's order is kept.
    sink.append(alerts[2])
    assert sink.pending == [] and reports() == names[:3]
    # A failure just before a stop: written at the next start.
    locker.execute("BEGIN EXCLUSIVE")
    sink.append(alerts[3])
    assert len(sink.pending) == 1
    sink.close()
    locker.execute("COMMIT")
    locker.close()
    again = ConsoleAlertsLog(log_path, db)
    assert again.pending == [] and reports() == names
    again.close()
    # Nothing is written twice: another start finds nothing missing.
    ConsoleAlertsLog(log_path, db).close()
    assert reports() == names
