"""The corpus run over the generated hostile set: benchmarks/hostile_set.py writes it,
``leakwatch extract-check`` reads it the way scans do (isolated, default limits), and
every file gets the status the generator expects for it. Without the two large text
files (300 MB and 60 MB); the run takes about 40 s, most of it on the slow PDFs."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from leakwatch.cli import cli
from leakwatch.results import EXIT_INCOMPLETE

ROOT = Path(__file__).resolve().parents[1]


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hostile_set", ROOT / "benchmarks" / "hostile_set.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, frozenset[str]], int, dict]:
    out = tmp_path_factory.mktemp("hostile") / "set"
    written = generator().build(out, huge=False)
    expected = {str(w.path): w.expected for w in written}
    result = CliRunner().invoke(cli, ["extract-check", str(out), "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return out, expected, result.exit_code, json.loads(result.stdout)


def display(path: str) -> str:
    """A path as extract-check prints it (undecodable bytes escaped)."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def status_of(out: Path, report: dict, path: str) -> str:
    """The status of the file at ``path`` under ``out``: ``ok`` unless it (or, for an
    archive, its first member with an error) is among the errors."""
    errors: dict[str, str] = {}
    for e in report["errors"]:
        errors.setdefault((e.get("container") or {}).get("path") or e["path"], e["status"])
    return errors.get(display(os.path.join(str(out), path)), "ok")


def test_the_run_ends_with_every_file_counted(hostile_run: tuple[Path, dict, int, dict]) -> None:
    _, expected, exit_code, report = hostile_run

    assert exit_code == EXIT_INCOMPLETE
    assert report["files"] == len(expected) == sum(report["by_status"].values())
    assert report["slowest"] is not None and report["slowest"]["seconds"] > 0
    assert 10 < report["peak_memory_mb"] < 2000
    print(f"hostile set: {report['files']} files in {report['seconds']:.1f} s, {report['by_status']}; "
          f"slowest {Path(report['slowest']['path']).name} ({report['slowest']['seconds']:.1f} s), "
          f"peak worker memory {report['peak_memory_mb']:.0f} MB")


def test_every_file_has_the_expected_status(hostile_run: tuple[Path, dict, int, dict]) -> None:
    out, expected, _, report = hostile_run
    wrong = {display(path): (status_of(out, report, path), sorted(want)) for path, want in expected.items()
             if status_of(out, report, path) not in want}

    assert wrong == {}
    assert all(e["message"] for e in report["errors"])  # every status says why


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("office/bomb-document.docx", "too-large"),
        ("office/entity-bomb-docx-footer.docx", "parse-error"),
        ("office/password.xlsx", "encrypted"),
        ("pdf/stream-bomb-4gib.pdf", "too-large"),
        ("pdf/encrypted-rc4-128.pdf", "encrypted"),
        ("pdf/glyph-flood.pdf", "too-large"),
        ("pdf/page-tree-loop.pdf", "ok"),
        ("text/utf-16-le-cjk.txt", "ok"),
        ("text/utf-16-be-odd-length.txt", "ok"),
        ("text/utf-16-le-bom.md", "ok"),
        ("text/mentions-pdf-header.txt", "ok"),
        ("text/binary-after-8k.txt", "unsupported"),
        ("binary/elf.txt", "unsupported"),
        ("fs/fifo", "unsupported"),
        ("fs/loop-a", "unsupported"),
        ("fs/leaves-root", "unsupported"),
        ("names/r\udce9sum\udce9.txt", "ok"),
    ],
)
def test_named_files(hostile_run: tuple[Path, dict, int, dict], path: str, status: str) -> None:
    out, expected, _, report = hostile_run

    assert path in expected
    assert status_of(out, report, path) == status
