"""Tree scans: parallel results identical to serial, the scan cache, progress output."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from leakwatch.batch import ScanCache, TreeScanOptions, default_cache_path, scan_tree
from leakwatch.config import Config
from leakwatch.results import ScanReport
from tests.conftest import make_text, make_vocabulary
from tests.test_cli import run

FILLER = make_vocabulary(99)


@pytest.fixture()
def tree(tmp_path: Path, secret_text: str) -> tuple[Config, Path]:
    """A store with one confidential document, and a delivery tree of 40 files: copies,
    clean files, and files that cannot be scanned."""
    store = tmp_path / "store"
    doc = tmp_path / "confidential" / "plan.txt"
    doc.parent.mkdir()
    doc.write_text(secret_text)
    assert run("index", "add", str(doc), "--store", str(store))[0] == 0
    root = tmp_path / "delivery"
    words = secret_text.split()
    for vendor in ("acme", "globex"):
        for i in range(18):
            folder = root / vendor / ("q1" if i % 2 else "q2")
            folder.mkdir(parents=True, exist_ok=True)
            body = make_text(1000 + i, 150, FILLER)
            if i % 4 == 0:
                body += "\n\n" + " ".join(words[i * 30:i * 30 + 80]) + "\n\n" + make_text(2000 + i, 50, FILLER)
            (folder / f"report-{i:02d}.md").write_text(body)
    (root / "acme" / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\n%%EOF")
    (root / "acme" / "fake.docx").write_bytes(b"PK\x03\x04 not a zip")
    os.mkfifo(root / "globex" / "pipe.txt")
    (root / "globex" / "empty.txt").write_text("")
    return Config(store=str(store)), root


def as_json(report: ScanReport) -> str:
    return json.dumps({"findings": [f.to_dict() for f in report.findings],
                       "errors": [e.to_dict() for e in report.errors], "scanned": report.files_scanned},
                      sort_keys=True)


def test_two_workers_give_exactly_the_serial_results(tree: tuple[Config, Path]) -> None:
    config, root = tree
    serial = scan_tree([root], config, TreeScanOptions(workers=1, progress=False))
    parallel = scan_tree([root], config, TreeScanOptions(workers=2, progress=False))
    assert serial.findings and serial.errors
    assert as_json(parallel) == as_json(serial)
    assert len({f.deliverable_path for f in serial.findings}) == 10


def test_serial_tree_scan_matches_the_scan_command(tree: tuple[Config, Path]) -> None:
    config, root = tree
    _code, out, _ = run("scan", str(root), "--store", config.store, "--format", "json")
    cli = json.loads(out)
    report = scan_tree([root], config, TreeScanOptions(progress=False))
    assert [f.to_dict() for f in report.findings] == cli["findings"]
    assert [e.to_dict() for e in report.errors] == cli["errors"]


def test_cache_reuses_unchanged_files_and_rescans_changed_ones(tree: tuple[Config, Path],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    config, root = tree
    options = TreeScanOptions(cache=default_cache_path(config), progress=False)
    first = scan_tree([root], config, options)
    # A second run must not extract anything: count what it extracts.
    import leakwatch.pipeline as pipeline

    calls: list[Path] = []
    original = pipeline.analyse_members

    def counting(path: Path, *args: object, **kwargs: object) -> object:
        calls.append(path)
        return original(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "analyse_members", counting)
    second = scan_tree([root], config, options)
    assert as_json(second) == as_json(first)
    # Only the files that could not be scanned are tried again (errors are never cached).
    assert sorted(p.name for p in calls) == ["broken.pdf", "fake.docx"]
    calls.clear()
    changed = root / "acme" / "q1" / "report-01.md"
    changed.write_text(changed.read_text() + "\nOne more line.")
    only = scan_tree([root], config, TreeScanOptions(cache=options.cache, changed_only=True, progress=False))
    assert [p.name for p in calls if p.suffix == ".md"] == ["report-01.md"]
    assert only.files_scanned == 1 and only.files_unchanged == 36
    assert only.summary()["files_unchanged"] == 36


def test_cache_is_stale_when_the_index_changes(tree: tuple[Config, Path], tmp_path: Path) -> None:
    config, root = tree
    options = TreeScanOptions(cache=default_cache_path(config), changed_only=True, progress=False)
    scan_tree([root], config, options)
    assert scan_tree([root], config, options).files_scanned == 0
    other = tmp_path / "more" / "other.txt"
    other.parent.mkdir()
    other.write_text(make_text(77, 300))
    assert run("index", "add", str(other), "--store", config.store)[0] == 0
    assert scan_tree([root], config, options).files_scanned == 37


def test_same_size_and_mtime_but_new_content_is_rescanned(tree: tuple[Config, Path]) -> None:
    config, root = tree
    cache_path = default_cache_path(config)
    scan_tree([root], config, TreeScanOptions(cache=cache_path, progress=False))
    target = root / "globex" / "q2" / "report-00.md"
    st = target.stat()
    data = bytearray(target.read_bytes())
    data[0:5] = b"ZZZZZ"
    target.write_bytes(bytes(data))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    cache = ScanCache(cache_path, "any")
    try:
        assert cache.lookup(target) is None  # the identity differs anyway; and so does the hash
    finally:
        cache.close()
    only = scan_tree([root], config, TreeScanOptions(cache=cache_path, changed_only=True, progress=False))
    assert only.files_scanned == 1


def test_cache_file_holds_no_text(tree: tuple[Config, Path], secret_text: str) -> None:
    config, root = tree
    scan_tree([root], config, TreeScanOptions(cache=default_cache_path(config), progress=False))
    raw = default_cache_path(config).read_bytes()
    words = secret_text.split()
    assert not any(" ".join(words[i:i + 3]).encode() in raw for i in range(0, len(words) - 3))
    assert oct(default_cache_path(config).stat().st_mode & 0o777) == "0o600"


def test_progress_is_plain_lines_when_not_a_terminal(tree: tuple[Config, Path]) -> None:
    from leakwatch.batch import Progress

    config, root = tree
    out = io.StringIO()
    progress = Progress(out, every_s=0.0)
    report = scan_tree([root], config, TreeScanOptions(progress=False))
    from leakwatch.results import FileScan

    for _ in range(3):
        progress.update(FileScan("x", []), cached=False)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and "3 file(s)" in lines[-1] and "\x1b" not in out.getvalue()
    assert report.files_scanned == 37


def test_a_killed_worker_loses_no_file(tree: tuple[Config, Path]) -> None:
    """A pool worker killed mid-run (the OOM killer): its files are scanned again and the
    run goes on with a new pool."""
    import signal
    import time

    from leakwatch.batch import _in_order, _Pool
    from leakwatch.scanner import Scanner

    config, root = tree
    files = sorted(p for p in root.rglob("*.md"))
    local = Scanner.open(config, verify_sources=True)
    pool = _Pool(2, config, verify_sources=True)
    try:
        first = pool.submit(files[0])
        first.result(timeout=120)  # the workers are up
        pids = list(pool._executor._processes)  # the stdlib keeps them private
        futures = [(p, pool.submit(p), False, None) for p in files[1:10]]
        os.kill(pids[0], signal.SIGKILL)
        time.sleep(0.5)
        futures += [(p, pool.submit(p), False, None) for p in files[10:]]
        results = list(_in_order(iter(futures), window=100, fallback=local.scan))
    finally:
        pool.shutdown()
        local.close()
    assert [r[0] for r in results] == files[1:]
    assert all(r[1].error is None for r in results)
    assert pool.restarts == 1
    serial = scan_tree([root], config, TreeScanOptions(progress=False))
    expected = [f.to_dict() for f in serial.findings if Path(f.deliverable_path) in set(files[1:])]
    assert [f.to_dict() for r in results for f in r[1].findings] == expected
