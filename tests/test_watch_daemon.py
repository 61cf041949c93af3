"""The daemon in real processes, on real file-system events (inotify and polling).

Nothing of watchdog is mocked: files are written, renamed and deleted in a temporary
folder while ``leakwatch watch`` runs as a child process, which is stopped, killed and
restarted with signals.
"""

from __future__ import annotations

import http.server
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.conftest import make_text, make_vocabulary

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="inotify events are Linux's")

LEAK_WORDS = 120
# Filler prose from words the confidential document does not use.
FILLER = make_vocabulary(99)


def filler(seed: int, n_words: int) -> str:
    return make_text(seed, n_words, FILLER)


class Env:
    """A store with one confidential document, a vendor folder and a config file."""

    def __init__(self, tmp_path: Path, secret: str) -> None:
        self.tmp = tmp_path
        self.secret = secret
        self.store = tmp_path / "store"
        self.drop = tmp_path / "acme"
        self.drop.mkdir()
        self.config = tmp_path / "leakwatch.toml"
        self.stderr_path = tmp_path / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None
        doc = tmp_path / "confidential" / "plan.txt"
        doc.parent.mkdir()
        doc.write_text(secret, encoding="utf-8")
        result = leakwatch("index", "add", str(doc), "--store", str(self.store), "--label", "trade-secret")
        assert result.returncode == 0, result.stderr
        self.write_config()

    def write_config(self, extra: str = "", folders: str | None = None, **watch: Any) -> None:
        settings = {"settle_s": 1.0, "debounce_s": 0.2, "reconcile_every_s": 0, "poll_interval_s": 0.2, **watch}
        lines = [f'store = "{self.store}"', "[extract]", "recycle_after = 5000", "[watch]"]
        lines += [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
        lines.append(folders if folders is not None else f'[[watch.folders]]\npath = "{self.drop}"\nvendor = "acme"')
        self.config.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")

    def leak(self, seed: int) -> str:
        """Unrelated prose around a verbatim excerpt of the confidential document."""
        words = self.secret.split()
        start = (seed * 37) % (len(words) - LEAK_WORDS)
        return (filler(10_000 + seed, 60) + "\n\n" + " ".join(words[start:start + LEAK_WORDS]) + "\n\n"
                + filler(20_000 + seed, 60))

    # --- the daemon ---

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        before = len(self.log_lines()) if self.stderr_path.exists() else 0
        self.stderr = open(self.stderr_path, "ab")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen([sys.executable, "-m", "leakwatch", "watch", "--config", str(self.config),
                                      *args], stdout=subprocess.DEVNULL, stderr=self.stderr)
        self.wait_log("watching", since=before)
        return self.proc

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = self.proc.wait(60)
        self.stderr.close()
        self.proc = None
        return code

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for raw in self.stderr_path.read_bytes().splitlines():
            assert not raw.startswith(b"Traceback"), raw
            lines.append(json.loads(raw))
        return lines

    def wait_log(self, event: str, since: int | None = None, timeout: float = 60.0) -> dict[str, Any]:
        seen = len(self.log_lines()) if since is None else since
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.log_lines()
            for line in lines[seen:]:
                if line["event"] == event:
                    return line
            assert self.proc is None or self.proc.poll() is None, self.stderr_path.read_text()
            time.sleep(0.05)
        raise AssertionError(f"no {event!r} in the daemon's log within {timeout}s")

    # --- its records ---

    def rows(self) -> dict[str, dict[str, Any]]:
        db = self.store / "watch-state.sqlite"
        if not db.exists():
            return {}
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        con.row_factory = sqlite3.Row
        try:
            return {r["display"]: dict(r) for r in con.execute("SELECT * FROM files")}
        finally:
            con.close()

    def alerts(self) -> list[dict[str, Any]]:
        path = self.store / "alerts.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def wait_alerts(self, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        """The alerts log once it holds ``count`` alerts (a file's state is committed just
        before its alert is written)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            alerts = self.alerts()
            if len(alerts) >= count:
                return alerts
            time.sleep(0.05)
        raise AssertionError(f"{len(self.alerts())} of {count} alerts within {timeout}s")

    def wait_rows(self, count: int, timeout: float = 120.0) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.rows()
            if len(rows) >= count:
                return rows
            assert self.proc is None or self.proc.poll() is None, self.stderr_path.read_text()[-3000:]
            time.sleep(0.1)
        raise AssertionError(f"{len(self.rows())} of {count} files recorded within {timeout}s")


def leakwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "leakwatch", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture()
def env(tmp_path: Path, secret_text: str) -> Iterator[Env]:
    e = Env(tmp_path, secret_text)
    yield e
    if e.proc is not None and e.proc.poll() is None:
        e.proc.kill()
        e.proc.wait()


def write_slowly(path: Path, text: str, chunks: int, pause_s: float) -> float:
    """Write ``text`` through one open handle in ``chunks`` pieces; returns when it closed."""
    data = text.encode()
    step = -(-len(data) // chunks)
    with open(path, "wb") as fh:
        for i in range(0, len(data), step):
            fh.write(data[i:i + step])
            fh.flush()
            os.fsync(fh.fileno())
            time.sleep(pause_s)
    return time.time()


@pytest.mark.parametrize("polling", [False, True], ids=["inotify", "polling"])
def test_file_written_slowly_is_scanned_once_after_its_last_byte(env: Env, polling: bool) -> None:
    folder = f'[[watch.folders]]\npath = "{env.drop}"\nvendor = "acme"\npolling = {str(polling).lower()}'
    env.write_config(folders=folder, settle_s=1.5)
    env.start()
    text = env.leak(1)
    target = env.drop / "slow.txt"
    write_slowly(target, text, chunks=6, pause_s=0.4)  # 2.4 s of writing, pauses under the settle time
    rows = env.wait_rows(1)
    time.sleep(2.0)  # any second scan would have happened by now
    row = env.rows()[str(target)]
    assert row["scans"] == 1 and row["size"] == len(text.encode()) and row["status"] == "ok"
    assert row["findings"] >= 1
    alerts = env.alerts()
    assert len(alerts) == 1 and alerts[0]["event"] == "findings" and alerts[0]["vendor"] == "acme"
    assert alerts[0]["findings"][0]["kind"] == "confidential-excerpt"
    assert len(rows) == 1
    assert env.stop() == 143


def test_temporary_name_is_scanned_after_the_rename(env: Env) -> None:
    env.start()
    part = env.drop / "report.md.part"
    write_slowly(part, env.leak(2), chunks=3, pause_s=0.2)
    time.sleep(1.5)  # longer than the settle time: the temporary name is never scanned
    assert env.rows() == {}
    part.rename(env.drop / "report.md")
    rows = env.wait_rows(1)
    assert list(rows) == [str(env.drop / "report.md")] and rows[str(env.drop / "report.md")]["findings"] >= 1
    assert env.stop() == 143


def test_alerts_hold_no_confidential_text(env: Env) -> None:
    env.start()
    (env.drop / "a.txt").write_text(env.leak(3))
    env.wait_alerts(1)
    raw = (env.store / "alerts.jsonl").read_text() + env.stderr_path.read_text()
    words = env.secret.split()
    runs = {" ".join(words[i:i + 4]) for i in range(0, len(words) - 4)}
    assert not any(run in raw for run in runs)
    assert env.stop() == 143


def test_2000_files_dropped_while_stopped_each_get_one_status(env: Env) -> None:
    proc = env.start()
    proc.send_signal(signal.SIGSTOP)
    try:
        for i in range(2000):
            body = env.leak(i) if i % 100 == 0 else filler(i, 40)
            (env.drop / f"f{i:04d}.txt").write_text(body)
    finally:
        proc.send_signal(signal.SIGCONT)
    rows = env.wait_rows(2000, timeout=600)
    time.sleep(1.0)
    rows = env.rows()
    assert len(rows) == 2000
    assert Counter(r["scans"] for r in rows.values()) == {1: 2000}
    assert {r["status"] for r in rows.values()} == {"ok"}
    alerts = env.wait_alerts(20)
    assert len(alerts) == 20 and len({a["path"] for a in alerts}) == 20
    assert env.stop() == 143


def test_kill_9_during_a_delivery_misses_nothing(env: Env) -> None:
    n = 1000
    done = threading.Event()

    def deliver() -> None:
        for i in range(n):
            body = env.leak(i) if i % 50 == 0 else filler(i, 40)
            tmp = env.drop / f"d{i:04d}.txt.part"
            tmp.write_text(body)
            tmp.rename(env.drop / f"d{i:04d}.txt")
            if i % 100 == 0:
                time.sleep(0.3)
        done.set()

    env.start()
    writer = threading.Thread(target=deliver)
    writer.start()
    kills = 0
    while not done.is_set() or kills < 5:
        time.sleep(0.7)
        env.stop(signal.SIGKILL)
        kills += 1
        env.start()
    writer.join()
    env.wait_rows(n, timeout=600)
    time.sleep(1.5)
    rows = env.rows()
    assert len(rows) == n, "files missed"
    assert {r["status"] for r in rows.values()} == {"ok"}
    # A file scanned when the daemon was killed, before its outcome was committed, is
    # scanned again after the restart; it is recorded once and alerted once.
    alerts = env.wait_alerts(n // 50)
    per_path = Counter(a["path"] for a in alerts)
    scans = Counter(r["scans"] for r in rows.values())
    print(f"kill -9: {kills} kills, {len(rows)} files, scans per file {dict(scans)}, "
          f"{len(alerts) - len(per_path)} duplicate alerts")
    assert scans == {1: n}
    assert len(per_path) == n // 50 and max(per_path.values()) == 1, per_path.most_common(3)
    assert env.stop() == 143
    assert kills >= 5



def test_sigterm_drains_and_nothing_is_lost(env: Env) -> None:
    env.start()
    for i in range(60):
        (env.drop / f"t{i:02d}.txt").write_text(env.leak(i) if i % 10 == 0 else filler(i, 80))
    assert env.stop(signal.SIGTERM) == 143
    drained = len(env.rows())
    assert env.wait_log("stopped", since=0)["scanned"] == drained
    # What was still settling at the stop is found by the next start's sweep, once.
    result = leakwatch("watch", "--once", "--config", str(env.config))
    assert result.returncode in (0, 1), result.stderr
    rows = env.rows()
    assert len(rows) == 60 and {r["scans"] for r in rows.values()} == {1}
    assert len(env.alerts()) == 6

def test_unscannable_files_are_alerted_and_the_next_file_still_scanned(env: Env) -> None:
    env.write_config(quarantine_dir=str(env.tmp / "quarantine"),
                     folders=f'[[watch.folders]]\npath = "{env.drop}"\nvendor = "acme"\nquarantine = "findings"')
    # The quarantine cannot be created (a file is in the way): moving fails, the daemon goes on.
    (env.tmp / "quarantine").write_text("not a folder")
    env.start()
    (env.drop / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\n%%EOF")
    (env.drop / "fake.docx").write_bytes(b"PK\x03\x04 this is no zip file at all")
    os.mkfifo(env.drop / "pipe.txt")
    time.sleep(0.5)
    (env.drop / "leak.txt").write_text(env.leak(4))
    rows = env.wait_rows(4)
    by_name = {Path(k).name: v for k, v in rows.items()}
    assert by_name["broken.pdf"]["status"] != "ok" and by_name["fake.docx"]["status"] != "ok"
    assert by_name["pipe.txt"]["status"] == "unsupported"
    assert by_name["leak.txt"]["status"] == "ok" and by_name["leak.txt"]["findings"] >= 1
    events = Counter((a["event"], Path(a["path"]).name) for a in env.wait_alerts(4))
    assert events[("findings", "leak.txt")] == 1 and events[("unscannable", "broken.pdf")] == 1
    assert events[("unscannable", "fake.docx")] == 1
    # quarantine failed: logged (just after the alert is written), and the file left in place
    env.wait_log("quarantine failed: the file stays in place", since=0)
    assert (env.drop / "leak.txt").exists()
    assert env.stop() == 143


def test_quarantine_moves_the_file_with_a_record(env: Env) -> None:
    qdir = env.tmp / "quarantine"
    env.write_config(quarantine_dir=str(qdir),
                     folders=f'[[watch.folders]]\npath = "{env.drop}"\nvendor = "acme"\nquarantine = "findings"')
    env.start()
    (env.drop / "clean.txt").write_text(filler(5, 300))
    (env.drop / "leak.txt").write_text(env.leak(5))
    rows = env.wait_rows(2)
    env.wait_log("quarantined", since=0)
    assert not (env.drop / "leak.txt").exists() and (env.drop / "clean.txt").exists()
    [moved] = [p for p in (qdir / "acme").iterdir() if not p.name.endswith(".json")]
    record = json.loads(Path(str(moved) + ".json").read_text())
    assert record["original_path"] == str(env.drop / "leak.txt") and record["vendor"] == "acme"
    assert moved.read_text() == env.leak(5)
    assert oct(moved.stat().st_mode & 0o777) == "0o600" and oct(qdir.stat().st_mode & 0o777) == "0o700"
    assert env.rows()[str(env.drop / "leak.txt")]["quarantined_to"] == str(moved)
    assert len(rows) == 2
    assert env.stop() == 143


class Hook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []
    failures_left = 0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if Hook.failures_left > 0:
            Hook.failures_left -= 1
            self.send_response(503)
        else:
            Hook.received.append(body)
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def hook_server() -> Iterator[str]:
    Hook.received, Hook.failures_left = [], 2
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts"
    server.shutdown()


def test_webhook_is_retried_until_accepted(env: Env, hook_server: str) -> None:
    env.write_config(webhook_url=hook_server, webhook_retries=4)
    env.start()
    (env.drop / "leak.txt").write_text(env.leak(6))
    deadline = time.monotonic() + 30
    while not Hook.received and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(Hook.received) == 1, "webhook not delivered"
    body = Hook.received[0]
    assert body["event"] == "findings" and body["path"] == str(env.drop / "leak.txt")
    assert body == env.alerts()[0]
    retries = [line for line in env.log_lines() if line["event"] == "webhook failed, will retry"]
    assert [r["attempt"] for r in retries] == [1, 2]
    assert env.stop() == 143


def test_restart_catches_up_and_unchanged_files_are_not_rescanned(env: Env) -> None:
    (env.drop / "before.txt").write_text(env.leak(7))
    env.start()
    env.wait_rows(1)
    assert env.stop() == 143
    (env.drop / "while-down.txt").write_text(env.leak(8))
    (env.drop / "sub").mkdir()
    (env.drop / "sub" / "nested.txt").write_text(filler(9, 200))
    env.start()
    rows = env.wait_rows(3)
    assert env.stop() == 143
    assert env.start() and env.stop() == 143
    rows = env.rows()
    assert {Path(k).name: r["scans"] for k, r in rows.items()} == {"before.txt": 1, "while-down.txt": 1,
                                                                  "nested.txt": 1}
    os.utime(env.drop / "before.txt")  # touched, content unchanged: not scanned, not alerted again
    result = leakwatch("watch", "--once", "--config", str(env.config))
    assert result.returncode == 0, result.stderr
    assert env.rows()[str(env.drop / "before.txt")]["scans"] == 1
    assert len(env.alerts()) == 2


def test_once_mode_exit_codes(env: Env) -> None:
    (env.drop / "clean.txt").write_text(filler(11, 200))
    result = leakwatch("watch", "--once", "--config", str(env.config))
    assert result.returncode == 0, result.stderr
    (env.drop / "leak.txt").write_text(env.leak(12))
    assert leakwatch("watch", "--once", "--config", str(env.config)).returncode == 1
    (env.drop / "locked.pdf").write_bytes(b"%PDF-1.4\ntrailer << /Encrypt 5 0 R >>\n%%EOF")
    result = leakwatch("watch", "--once", "--config", str(env.config))
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    status = leakwatch("watch", "--status", "--config", str(env.config))
    assert {json.loads(line)["path"] for line in status.stdout.splitlines()} == {
        str(env.drop / n) for n in ("clean.txt", "leak.txt", "locked.pdf")}


def test_documents_indexed_while_running_are_used(env: Env, vocabulary: list[str]) -> None:
    env.start()
    second = make_text(555, 800, vocabulary)
    doc = env.tmp / "confidential" / "second.txt"
    doc.write_text(second)
    assert leakwatch("index", "add", str(doc), "--store", str(env.store)).returncode == 0
    (env.drop / "copy.txt").write_text(filler(1, 50) + "\n\n" + " ".join(second.split()[100:250]))
    rows = env.wait_rows(1)
    assert rows[str(env.drop / "copy.txt")]["findings"] >= 1
    assert env.wait_alerts(1)[0]["findings"][0]["source"]["path"] == str(doc)
    assert env.stop() == 143


def test_sighup_reloads_the_folders(env: Env) -> None:
    env.start()
    other = env.tmp / "globex"
    other.mkdir()
    env.write_config(folders=f'[[watch.folders]]\npath = "{env.drop}"\nvendor = "acme"\n'
                             f'[[watch.folders]]\npath = "{other}"\nvendor = "globex"')
    assert env.proc is not None
    env.proc.send_signal(signal.SIGHUP)
    env.wait_log("configuration reloaded", since=0)
    (other / "leak.txt").write_text(env.leak(13))
    rows = env.wait_rows(1)
    assert rows[str(other / "leak.txt")]["vendor"] == "globex"
    assert env.wait_alerts(1)[0]["vendor"] == "globex"
    assert env.stop(signal.SIGINT) == 130


def test_bad_reload_keeps_the_old_config(env: Env) -> None:
    env.start()
    env.config.write_text("[watch\nbroken", encoding="utf-8")
    assert env.proc is not None
    env.proc.send_signal(signal.SIGHUP)
    env.wait_log("configuration not reloaded", since=0)
    (env.drop / "leak.txt").write_text(env.leak(14))
    assert env.wait_rows(1)
    assert env.stop() == 143


def run_in_thread(env: Env, tweak: Callable[[Any], None] | None = None) -> tuple[Any, threading.Thread]:
    """The daemon in this process (to reach its observers), on real events."""
    from leakwatch.config import load_config
    from leakwatch.watch import Daemon

    daemon = Daemon(load_config(env.config))
    thread = threading.Thread(target=daemon.run, kwargs={"install_signals": False}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not hasattr(daemon, "observers") and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    return daemon, thread


def test_a_dead_observer_is_restarted_and_a_sweep_finds_what_it_missed(env: Env) -> None:
    daemon, thread = run_in_thread(env)
    first = daemon.observers
    for emitter in first.emitters():
        emitter.stop()  # the emitter thread ends, as after an inotify error
        emitter.join(5)
    (env.drop / "missed.txt").write_text(env.leak(15))  # no observer saw this
    deadline = time.monotonic() + 30
    while daemon.observers is first and time.monotonic() < deadline:
        time.sleep(0.05)
    assert daemon.observers is not first and daemon.observers.healthy()
    assert env.wait_rows(1)[str(env.drop / "missed.txt")]["findings"] >= 1
    (env.drop / "after.txt").write_text(env.leak(16))  # and the new observer sees events
    assert str(env.drop / "after.txt") in env.wait_rows(2)
    daemon.request_stop()
    thread.join(30)
    assert not thread.is_alive()


def test_an_inotify_overflow_triggers_a_sweep(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="leakwatch.watch")
    daemon, thread = run_in_thread(env)
    # What watchdog's inotify reader logs when the kernel queue overflowed.
    logging.getLogger("watchdog.observers.inotify_c").warning("Inotify queue overflowed; filesystem events were lost")
    deadline = time.monotonic() + 10

    def swept() -> bool:
        return any(getattr(r, "fields", {}).get("reason") == "inotify queue overflow" for r in caplog.records)

    while not swept() and time.monotonic() < deadline:
        time.sleep(0.05)
    daemon.request_stop()
    thread.join(30)
    assert swept()



@pytest.mark.parametrize("polling", [False, True], ids=["inotify", "polling"])
def test_a_folder_that_goes_away_and_comes_back_is_watched_again(env: Env, polling: bool) -> None:
    folder = f'[[watch.folders]]\npath = "{env.drop}"\nvendor = "acme"\npolling = {str(polling).lower()}'
    env.write_config(folders=folder)
    env.start()
    (env.drop / "first.txt").write_text(env.leak(18))
    env.wait_rows(1)
    for child in env.drop.iterdir():
        child.unlink()
    env.drop.rmdir()  # the share was unmounted
    time.sleep(1.5)
    env.drop.mkdir()  # and is back
    time.sleep(1.5)
    (env.drop / "second.txt").write_text(env.leak(19))
    rows = env.wait_rows(2, timeout=60)
    assert rows[str(env.drop / "second.txt")]["findings"] >= 1
    assert env.stop() == 143

def test_systemd_unit_runs_the_daemon_and_reloads_with_sighup() -> None:
    import configparser

    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.read(Path(__file__).resolve().parents[1] / "configs" / "systemd" / "leakwatch-watch.service")
    assert " watch --config " in unit["Service"]["ExecStart"]
    assert "-HUP" in unit["Service"]["ExecReload"] and unit["Service"]["KillSignal"] == "SIGTERM"
    assert unit["Service"]["UMask"] == "0077"


def test_audit_timer_and_cron_example_run_the_audit() -> None:
    import configparser

    configs = Path(__file__).resolve().parents[1] / "configs"
    service = configparser.ConfigParser(interpolation=None, strict=False)
    service.read(configs / "systemd" / "leakwatch-audit.service")
    assert " audit --config " in service["Service"]["ExecStart"] and service["Service"]["Type"] == "oneshot"
    timer = configparser.ConfigParser(interpolation=None, strict=False)
    timer.read(configs / "systemd" / "leakwatch-audit.timer")
    assert timer["Timer"]["OnCalendar"] and timer["Timer"]["Persistent"] == "true"
    cron = [line.split() for line in (configs / "cron.example").read_text().splitlines()
            if line and not line.startswith("#") and "=" not in line.split()[0]]
    assert [fields[5:7] for fields in cron] == [["$LEAKWATCH", "audit"], ["$LEAKWATCH", "watch"]]


def test_folder_baseline_and_ignore_file_keep_accepted_findings_quiet(env: Env) -> None:
    (env.drop / "accepted.txt").write_text(env.leak(20))
    (env.drop / "notes").mkdir()
    (env.drop / "notes" / "ignored.txt").write_text(env.leak(21))
    report = env.tmp / "report.json"
    scan = leakwatch("scan", str(env.drop / "accepted.txt"), "--store", str(env.store), "--format", "json",
                     "-o", str(report))
    assert scan.returncode == 1, scan.stderr
    created = leakwatch("baseline", "create", str(report), "-o", str(env.tmp / "baseline.json"),
                        "--reason", "quoted under licence", "--by", "legal")
    assert created.returncode == 0, created.stderr
    (env.tmp / "lw.ignore").write_text("leakwatch-ignore 1\nnotes/\n")
    env.write_config(folders=f'[[watch.folders]]\npath = "{env.drop}"\nvendor = "acme"\n'
                             f'baseline = "{env.tmp / "baseline.json"}"\nignore = "{env.tmp / "lw.ignore"}"')
    result = leakwatch("watch", "--once", "--config", str(env.config))
    assert result.returncode == 0, result.stderr
    assert env.alerts() == [] and env.rows()[str(env.drop / "accepted.txt")]["findings"] >= 1
    (env.drop / "new.txt").write_text(env.leak(22))
    assert leakwatch("watch", "--once", "--config", str(env.config)).returncode == 1
    assert [Path(a["path"]).name for a in env.alerts()] == ["new.txt"]
    env.write_config(folders=f'[[watch.folders]]\npath = "{env.drop}"\nbaseline = "{env.tmp / "missing.json"}"')
    result = leakwatch("watch", "--once", "--config", str(env.config))
    assert result.returncode == 2 and "missing.json" in result.stderr and "Traceback" not in result.stderr


def _status(env: Env) -> dict[str, dict[str, Any]]:
    result = leakwatch("watch", "--status", "--config", str(env.config))
    assert result.returncode == 0, result.stderr
    return {row["path"]: row for row in map(json.loads, result.stdout.splitlines())}


def test_a_renamed_leak_is_one_incident_and_gone_files_are_marked(env: Env) -> None:
    env.start()
    first, renamed = env.drop / "q3-notes.txt", env.drop / "final" / "q3-deck.txt"
    clean = env.drop / "clean.txt"
    first.write_text(env.leak(5))
    clean.write_text(filler(77, 80))
    [alert] = env.wait_alerts(1)
    env.wait_rows(2)
    assert alert["event"] == "findings" and alert["incident"] == alert["id"]
    renamed.parent.mkdir()
    first.rename(renamed)
    clean.unlink()
    alerts = env.wait_alerts(2)
    assert len(alerts) == 2
    moved = alerts[1]
    # The same leak under a new name: one incident, its alert names the first one and where it was.
    assert moved["event"] == "renamed" and moved["incident"] == alert["id"]
    assert moved["renamed_from"] == str(first) and moved["path"] == str(renamed)
    assert moved["findings"] and moved["max_severity"] == alert["max_severity"]
    deadline = time.monotonic() + 30
    while not _status(env).get(str(clean), {}).get("gone") and time.monotonic() < deadline:
        time.sleep(0.1)
    status = _status(env)
    assert status[str(first)]["gone"] is True and status[str(first)]["gone_at"]
    assert status[str(clean)]["gone"] is True
    assert status[str(renamed)]["gone"] is False and status[str(renamed)]["incident"] == alert["id"]
    assert env.stop() == 143


def test_a_rename_while_the_daemon_is_down_is_found_by_the_sweep_as_one_incident(env: Env) -> None:
    leak, copy = env.drop / "a.txt", env.drop / "b.txt"
    leak.write_text(env.leak(6))
    assert leakwatch("watch", "--once", "--config", str(env.config)).returncode == 1
    [first] = env.alerts()
    leak.rename(copy)
    result = leakwatch("watch", "--once", "--config", str(env.config))
    assert result.returncode == 1, result.stderr  # the leak is still there
    alerts = env.alerts()
    assert [a["event"] for a in alerts] == ["findings", "renamed"] and alerts[1]["incident"] == first["id"]
    status = _status(env)
    assert status[str(leak)]["gone"] is True and status[str(copy)]["gone"] is False
    # A copy beside the renamed file is a new place of the leak, named after the same incident.
    third = env.drop / "c.txt"
    third.write_text(copy.read_text())
    leakwatch("watch", "--once", "--config", str(env.config))
    alerts = env.alerts()
    assert alerts[-1]["event"] == "findings" and alerts[-1]["incident"] == first["id"]
    assert alerts[-1]["path"] == str(third) and "renamed_from" not in alerts[-1]


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr is not installed")
def test_a_slow_file_does_not_hold_up_the_files_behind_it(env: Env) -> None:
    """A multi-page scan read by OCR (seconds a page) occupies one scan lane; a leak dropped
    right after it is scanned and alerted in the other lane before the scan is done."""
    from tests.scans import encoded, render

    pages = [render(filler(500 + i, 420), size=28) for i in range(4)]
    slow = env.drop / "scan.tif"
    buffer = io.BytesIO()
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:], compression="tiff_lzw")
    assert encoded(pages[0])  # the renderer works here
    env.write_config(scan_lanes=2)  # the default; with 1 lane the leak waits for the scan (checked by hand)
    env.start()
    slow.write_bytes(buffer.getvalue())
    time.sleep(1.0)  # the scan has started (debounce 0.25 s)
    (env.drop / "leak.txt").write_text(env.leak(9))
    [alert] = env.wait_alerts(1, timeout=120)
    assert alert["path"].endswith("leak.txt")
    assert str(slow) not in env.rows() or env.rows()[str(slow)]["scanned_at"] > alert["time"]
    env.wait_rows(2, timeout=300)
    assert env.stop() == 143
