"""The daemon's pure parts: settle rules, file selection, alerts, state, configuration."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from leakwatch.config import ConfigError, WatchFolder, load_config
from leakwatch.model import FileError, Status
from leakwatch.watch.actions import AlertsLog, FileOutcome, alert_id, backoff_s, build_alert, deliver_to_log
from leakwatch.watch.daemon import folder_of
from leakwatch.watch.observe import is_wanted
from leakwatch.watch.settle import Settler
from leakwatch.watch.state import StateDB

P = Path("/srv/vendors/acme/report.pdf")


class FakeStat:
    """A file's (size, mtime) as the test says it is now."""

    def __init__(self) -> None:
        self.now: dict[Path, tuple[int, int] | None] = {}

    def __call__(self, path: Path) -> tuple[int, int] | None:
        return self.now.get(path)


def test_closed_file_is_ready_after_the_debounce_and_only_once() -> None:
    s = Settler(debounce_s=0.25, settle_s=5.0, stat=FakeStat())
    s.written(P, 0.0)
    s.written(P, 0.1)
    s.closed(P, 0.2)
    assert s.due(0.4) == []
    assert s.next_due(0.4) == pytest.approx(0.05)
    assert s.due(0.45) == [P]
    assert s.due(10.0) == [] and len(s) == 0


def test_a_write_after_the_close_restarts_the_wait() -> None:
    stat = FakeStat()
    s = Settler(debounce_s=0.25, settle_s=2.0, stat=stat)
    s.closed(P, 0.0)
    stat.now[P] = (10, 1)
    s.written(P, 0.2)  # reopened and appended to
    assert s.due(0.5) == []  # no longer counts as closed: waits for the settle time
    assert s.due(2.3) == [P]


def test_file_without_close_needs_a_stable_size_and_mtime() -> None:
    stat = FakeStat()
    s = Settler(debounce_s=0.25, settle_s=2.0, stat=stat)
    stat.now[P] = (100, 1)
    s.written(P, 0.0)
    assert s.due(1.9) == []
    stat.now[P] = (200, 2)  # grew without an event (a network share)
    assert s.due(2.1) == []  # changed since the event: wait another settle time
    assert s.due(4.0) == []
    assert s.due(4.2) == [P]


def test_a_file_deleted_while_settling_is_forgotten() -> None:
    s = Settler(debounce_s=0.25, settle_s=2.0, stat=FakeStat())
    s.written(P, 0.0)
    s.forget(P)
    assert s.due(100.0) == [] and s.next_due(100.0) is None


def test_forget_under_a_folder() -> None:
    s = Settler(0.25, 2.0, stat=FakeStat())
    s.closed(P, 0.0)
    s.closed(Path("/srv/vendors/other/x.txt"), 0.0)
    s.forget_under(Path("/srv/vendors/acme"))
    assert s.due(1.0) == [Path("/srv/vendors/other/x.txt")]


@pytest.mark.parametrize(("name", "wanted"), [
    ("report.pdf", True), ("report.pdf.part", False), ("~$report.docx", False), ("x.crdownload", False),
    (".~lock.model.xlsx#", False), ("notes.tmp", False), ("draft.log", False), ("sub/keep.txt", True),
])
def test_temporary_names_and_patterns(name: str, wanted: bool) -> None:
    folder = WatchFolder(path="/srv/acme", exclude=("*.log",))
    assert is_wanted(Path("/srv/acme") / name, folder, ("*.part", "~$*", "*.crdownload", ".~lock.*#", "*.tmp")) \
        is wanted


def test_patterns_with_a_slash_match_the_relative_path() -> None:
    folder = WatchFolder(path="/srv/acme", include=("deliveries/*",))
    assert is_wanted(Path("/srv/acme/deliveries/a.txt"), folder, ())
    assert not is_wanted(Path("/srv/acme/scratch/a.txt"), folder, ())
    assert not is_wanted(Path("/elsewhere/a.txt"), folder, ())


def test_innermost_folder_wins() -> None:
    outer, inner = WatchFolder("/srv", vendor="all"), WatchFolder("/srv/acme", vendor="acme")
    assert folder_of(Path("/srv/acme/x.txt"), [outer, inner]) is inner
    assert folder_of(Path("/srv/other/x.txt"), [outer, inner]) is outer
    assert folder_of(Path("/tmp/x.txt"), [outer, inner]) is None


def test_alert_ids_follow_content_and_outcome() -> None:
    assert alert_id("/a", "00", "ok") == alert_id("/a", "00", "ok")
    assert len({alert_id("/a", "00", "ok"), alert_id("/a", "01", "ok"), alert_id("/b", "00", "ok"),
                alert_id("/a", "00", "timeout")}) == 4


def test_unscannable_alert_names_the_status() -> None:
    folder = WatchFolder("/srv/acme", vendor="acme")
    outcome = FileOutcome("/srv/acme/x.pdf", folder, 10, None, (), FileError("/srv/acme/x.pdf", Status.ENCRYPTED,
                                                                              "password protected"))
    alert = build_alert(outcome, [])
    assert alert["event"] == "unscannable" and alert["status"] == "encrypted" and alert["vendor"] == "acme"
    assert "findings" not in alert


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_s(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert backoff_s(30) == 60.0


def test_outbox_delivers_once_even_after_a_crash_between_write_and_mark(tmp_path: Path) -> None:
    state = StateDB(tmp_path / "state")
    log = AlertsLog(tmp_path / "state" / "alerts.jsonl")
    folder = WatchFolder(str(tmp_path), vendor="v")
    alerts = []
    for i in range(3):
        path = tmp_path / f"f{i}"
        outcome = FileOutcome(str(path), folder, 1, f"{i:02d}", (), FileError(str(path), Status.TIMEOUT, "slow"))
        alerts.append(build_alert(outcome, []))
        state.record(path, str(path), "v", 1, 1, f"{i:02d}", "timeout", 0, "slow", alert=alerts[-1])
    # A crash after the first alert reached the log but before it was marked logged,
    # leaving half a line of the second behind.
    log.append(alerts[0])
    with open(log.path, "ab") as fh:
        fh.write(b'{"id": "al-trunc')
    assert deliver_to_log(state, log) == 2
    assert deliver_to_log(state, log) == 0
    lines = [json.loads(line) for line in log.path.read_bytes().splitlines() if line.startswith(b'{"event"')]
    assert sorted(a["id"] for a in lines) == sorted(a["id"] for a in alerts)
    assert oct(os.stat(log.path).st_mode & 0o777) == "0o600"
    assert oct(os.stat(state.path).st_mode & 0o777) == "0o600"
    assert oct(os.stat(tmp_path / "state").st_mode & 0o777) == "0o700"
    state.close()


def test_same_alert_recorded_twice_is_one_alert(tmp_path: Path) -> None:
    state = StateDB(tmp_path)
    folder = WatchFolder(str(tmp_path))
    outcome = FileOutcome("/x", folder, 1, "ab", (), FileError("/x", Status.UNREADABLE, "denied"))
    for _ in range(2):
        state.record(Path("/x"), "/x", "v", 1, 1, "ab", "unreadable", 0, "denied", alert=build_alert(outcome, []))
    assert state.count_alerts() == 1
    assert state.get(Path("/x")).scans == 2  # type: ignore[union-attr]
    state.close()


def test_undecodable_names_are_kept_exactly(tmp_path: Path) -> None:
    state = StateDB(tmp_path)
    odd = Path(os.fsdecode(b"/srv/acme/r\xe9sum\xe9.txt"))
    state.record(odd, "shown", "v", 1, 1, None, "ok", 0, None)
    row = state.get(odd)
    assert row is not None and row.path == b"/srv/acme/r\xe9sum\xe9.txt"
    state.close()


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "leakwatch.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_watch_section_is_read(tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path, f"""
[watch]
settle_s = 3
reconcile_every_s = 600
webhook_url = "http://127.0.0.1:9/hook"
quarantine_dir = "{tmp_path / 'q'}"
temporary = ["*.part"]

[[watch.folders]]
path = "{tmp_path / 'acme'}"
vendor = "acme"
exclude = ["*.log"]
polling = true
alert_on = "medium"
quarantine = "findings"

[[watch.folders]]
path = "{tmp_path / 'globex'}"
"""))
    w = cfg.watch
    assert w.settle_s == 3.0 and w.reconcile_every_s == 600.0 and w.temporary == ("*.part",)
    assert [f.name for f in w.folders] == ["acme", "globex"]
    assert w.folders[0].exclude == ("*.log",) and w.folders[0].polling and w.folders[0].quarantine == "findings"
    assert w.folders[1].include == ("*",) and not w.folders[1].polling


@pytest.mark.parametrize(("body", "message"), [
    ('[watch]\nsettle_s = 0\n', "settle_s"),
    ('[watch]\nwebhook_url = "ftp://x"\n', "http"),
    ('[watch]\nbogus = 1\n', "bogus"),
    ('[[watch.folders]]\nvendor = "x"\n', "path"),
    ('[[watch.folders]]\npath = "/srv"\nalert_on = "urgent"\n', "alert_on"),
    ('[[watch.folders]]\npath = "/srv"\nquarantine = "findings"\n', "quarantine_dir"),
    ('[watch]\nquarantine_dir = "/srv/acme/q"\n[[watch.folders]]\npath = "/srv/acme"\n', "inside"),
])
def test_bad_watch_settings_are_refused(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write_config(tmp_path, body))
