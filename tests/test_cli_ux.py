"""What users expect of a command-line tool (issue 17): configuration found where gitleaks
and semgrep find theirs, -q and -v on every command, JSON listings, one error prefix,
colour only on a terminal, findings as each file finishes, a progress total."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from leakwatch.cli import cli
from tests.conftest import make_text, make_vocabulary
from tests.test_cli import excerpt, run
from tests.test_field_defects import leakwatch

FILLER = make_vocabulary(71)


@pytest.fixture()
def project(tmp_path: Path, secret_text: str) -> Path:
    """A working folder with a store, a leak and a clean file."""
    store = tmp_path / "store"
    (tmp_path / "plan.txt").write_text(secret_text)
    assert run("index", "add", str(tmp_path / "plan.txt"), "--store", str(store))[0] == 0
    delivery = tmp_path / "delivery"
    delivery.mkdir()
    copied, _, _ = excerpt(secret_text, 200, 80)
    (delivery / "a-leak.txt").write_text(make_text(1, 150, FILLER) + "\n\n" + copied + "\n")
    (delivery / "b-clean.txt").write_text(make_text(2, 150, FILLER))
    return tmp_path


# --- configuration ----------------------------------------------------------------------------

def test_config_is_found_in_the_environment_then_the_working_folder(project: Path) -> None:
    (project / "leakwatch.toml").write_text(f'store = "{project / "store"}"\n')
    # No --store, no --config: ./leakwatch.toml names the store.
    result = leakwatch("scan", "delivery", "--format", "json", cwd=project)
    assert result.returncode == 1, result.stderr
    elsewhere = project / "elsewhere.toml"
    elsewhere.write_text(f'store = "{project / "nowhere"}"\n')
    result = leakwatch("scan", "delivery", cwd=project, env={"LEAKWATCH_CONFIG": str(elsewhere)})
    assert result.returncode == 2 and "no fingerprint store at" in result.stderr  # the variable wins
    result = leakwatch("scan", "delivery", "--config", "leakwatch.toml", cwd=project,
                       env={"LEAKWATCH_CONFIG": str(elsewhere)})
    assert result.returncode == 1  # and --config wins over it


def test_an_unknown_key_names_the_file_and_the_closest_key(tmp_path: Path) -> None:
    bad = tmp_path / "lw.toml"
    bad.write_text("[extract]\ntimeout = 5\n[detect]\nmin_word = 3\n")
    code, _, err = run("index", "list", "--config", str(bad), "--store", str(tmp_path / "s"))
    assert code == 2 and f"config file {bad}" in err and "'timeout' (did you mean 'timeout_s'?)" in err
    bad.write_text("max_file_bytes = 5\n")
    code, _, err = run("index", "list", "--config", str(bad))
    assert code == 2 and "'max_file_bytes' (it belongs in [extract])" in err


# --- verbosity, listings, errors ----------------------------------------------------------------

def test_quiet_and_verbose_are_accepted_by_every_command() -> None:
    commands = [("index", "add"), ("index", "list"), ("index", "remove"), ("index", "add-table"),
                ("reference", "add"), ("reference", "list"), ("allow", "list"), ("scan",), ("audit",),
                ("watch",), ("baseline", "create"), ("store", "copy"), ("extract-check",), ("evaluate", "pan")]
    for command in commands:
        group = cli
        for name in command:
            group = group.commands[name]  # type: ignore[attr-defined]
        names = {opt for p in group.params for opt in p.opts}
        assert {"-q", "--quiet", "-v", "--verbose"} <= names, command


def test_quiet_scan_says_nothing_but_the_report_and_verbose_says_each_file(project: Path) -> None:
    out = project / "r.json"
    result = leakwatch("scan", "delivery", "--store", "store", "-q", "-o", str(out), "--format", "json", cwd=project)
    assert result.returncode == 1 and result.stderr == "" and result.stdout == ""
    result = leakwatch("-v", "scan", "delivery", "--store", "store", "--no-cache", cwd=project)
    assert result.returncode == 1
    assert f"leakwatch: {project / 'delivery' / 'b-clean.txt'}: 0 finding(s)" in result.stderr
    assert f"leakwatch: {project / 'delivery' / 'a-leak.txt'}: 1 finding(s)" in result.stderr


def test_reference_and_allow_lists_as_json(project: Path) -> None:
    store = str(project / "store")
    assert run("allow", "add", str(project / "delivery" / "b-clean.txt"), "--store", store)[0] == 0
    assert run("reference", "add", str(project / "delivery" / "b-clean.txt"), "--name", "Acme report",
               "--store", store)[0] == 0
    code, out, _ = run("allow", "list", "--store", store, "--format", "json")
    allowed = json.loads(out)
    assert code == 0 and allowed["files"][0]["path"].endswith("b-clean.txt") and allowed["shingles"] > 0
    code, out, _ = run("reference", "list", "--store", store, "--format", "json")
    assert code == 0 and json.loads(out)["references"][0]["name"] == "Acme report"


def test_every_error_has_one_prefix(project: Path) -> None:
    for args in (["scan", "--bogus", "x"], ["index", "remove", "doc-0000", "--store", "store"],
                 ["scan", "delivery", "--store", "nowhere"], ["baseline", "create", "delivery/b-clean.txt",
                                                              "-o", "b.json", "--reason", " "]):
        result = leakwatch(*args, cwd=project)
        assert result.returncode == 2, (args, result.stderr)
        errors = [line for line in result.stderr.splitlines() if "rror" in line]
        assert errors and all(line.startswith("leakwatch: error: ") for line in errors), result.stderr


# --- the terminal ---------------------------------------------------------------------------------

def _on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run with stdout and stderr on a pseudo-terminal; what it printed."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))  # a terminal has a width
    proc = subprocess.Popen([sys.executable, "-m", "leakwatch", *args], cwd=cwd, stdout=child, stderr=child,
                            env={**os.environ, **env})
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(120)
    os.close(main)
    return b"".join(chunks).decode("utf-8", "replace")


def test_severity_is_coloured_on_a_terminal_only(project: Path) -> None:
    args = ["scan", "delivery", "--store", "store", "--no-cache"]
    shown = _on_a_terminal(args, project, {"NO_COLOR": ""})
    assert "\x1b[" in shown and "HIGH" in shown
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    plain = _on_a_terminal(args, project, {**env, "NO_COLOR": "1"})
    assert "HIGH" in plain and "\x1b[31m" not in plain and "\x1b[1m" not in plain
    piped = leakwatch(*args, cwd=project)
    assert "HIGH" in piped.stdout and "\x1b[" not in piped.stdout


def test_the_progress_bar_gets_a_total_and_findings_stream(project: Path, secret_text: str) -> None:
    folder = project / "delivery"
    for i in range(60):
        (folder / f"z{i:02d}.txt").write_text(make_text(100 + i, 200, FILLER))
    shown = _on_a_terminal(["scan", "delivery", "--store", "store", "--no-cache"], project, {"NO_COLOR": "1"})
    assert "/62" in shown  # tqdm's "n/total" once the listing is counted
    # The leak (first in walk order) is printed before the verdict line, as it was found.
    assert shown.index("confidential-excerpt") < shown.index("Scanned 62 file(s)")


# Libraries only some commands need: a scan or an index add that imported them paid for it
# at every start (scikit-learn alone was 0.8 s of it, through the error handler).
_NOT_FOR_A_SCAN = ("sklearn", "watchdog", "flask", "waitress", "prometheus_client", "dask", "redis",
                   "leakwatch.audit", "leakwatch.evaluate.labels", "leakwatch.watch.daemon")
_LOADED = f"""
import sys
from leakwatch.entry import main
sys.argv = ["leakwatch", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
print("LOADED", code, sorted(m for m in {_NOT_FOR_A_SCAN!r} if m in sys.modules), file=sys.stderr)
"""


@pytest.mark.parametrize(("command", "code"), [
    (["index", "add", "plan.txt", "--store", "store"], 0),
    (["scan", "delivery", "--store", "store"], 1),
    (["scan", "delivery", "--store", "missing-store"], 2),  # the error handler imports nothing either
])
def test_a_scan_or_an_index_add_imports_only_what_it_uses(project: Path, command: list[str], code: int) -> None:
    done = subprocess.run([sys.executable, "-c", _LOADED, *command, "-q"], cwd=project, capture_output=True,
                          text=True, timeout=120)
    line = next(x for x in done.stderr.splitlines() if x.startswith("LOADED"))
    assert line == f"LOADED {code} []", done.stderr
    assert "Traceback" not in done.stderr
