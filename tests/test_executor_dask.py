"""The Dask executor of tree scans: the local executor's report, finding for finding,
on a LocalCluster of worker processes; files never lost when workers die."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from leakwatch.batch import TreeScanOptions, scan_tree
from leakwatch.config import Config
from leakwatch.results import FileScan, ScanReport
from tests.conftest import make_text, make_vocabulary
from tests.test_cli import run

distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed "
                                  "(pip install 'leakwatch[dask]')")

from distributed.diagnostics.plugin import WorkerPlugin  # noqa: E402

pytestmark = pytest.mark.dask

FILLER = make_vocabulary(99)


def as_json(report: ScanReport) -> str:
    return json.dumps({"findings": [f.to_dict() for f in report.findings],
                       "errors": [e.to_dict() for e in report.errors], "scanned": report.files_scanned,
                       "unchanged": report.files_unchanged}, sort_keys=True)


def build_tree(base: Path, secret_text: str) -> tuple[Config, Path]:
    """A store with one confidential document; a delivery tree of copies, clean files,
    and files that cannot be scanned (broken PDF, fake DOCX, binary, FIFO, empty)."""
    store = base / "store"
    doc = base / "confidential" / "plan.txt"
    doc.parent.mkdir(parents=True)
    doc.write_text(secret_text)
    assert run("index", "add", str(doc), "--store", str(store))[0] == 0
    root = base / "delivery"
    words = secret_text.split()
    for vendor in ("acme", "globex"):
        for i in range(12):
            folder = root / vendor / ("q1" if i % 2 else "q2")
            folder.mkdir(parents=True, exist_ok=True)
            body = make_text(1000 + i, 150, FILLER)
            if i % 3 == 0:
                body += "\n\n" + " ".join(words[i * 30:i * 30 + 80]) + "\n\n" + make_text(2000 + i, 50, FILLER)
            (folder / f"report-{i:02d}.md").write_text(body)
    (root / "acme" / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\n%%EOF")
    (root / "acme" / "fake.docx").write_bytes(b"PK\x03\x04 not a zip")
    (root / "acme" / "data.txt").write_bytes(b"\x00\x01\x02binary\x00" * 100)
    locked = root / "acme" / "locked.txt"
    locked.write_text(make_text(31, 100, FILLER))
    locked.chmod(0)  # unreadable, except to root
    os.mkfifo(root / "globex" / "pipe.txt")
    (root / "globex" / "empty.txt").write_text("")
    return Config(store=str(store)), root


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory, secret_text: str) -> tuple[Config, Path]:
    return build_tree(tmp_path_factory.mktemp("dask"), secret_text)


@pytest.fixture(scope="module")
def local_report(tree: tuple[Config, Path]) -> ScanReport:
    config, root = tree
    return scan_tree([root], config, TreeScanOptions(workers=1, progress=False))


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """Two worker processes of one thread each, shared by the tests of this module.
    A task may be on a worker that died once: the second death makes it KilledWorker."""
    import dask
    from distributed import LocalCluster

    # As leakwatch.executors sets them for the LocalCluster a run starts.
    with dask.config.set({"distributed.worker.daemon": False, "distributed.deploy.lost-worker-timeout": "3650 days",
                          "distributed.scheduler.worker-saturation": 1.0}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                               scheduler_kwargs={"dashboard_address": ":0"})
        try:
            yield cluster
        finally:
            cluster.close()


@pytest.fixture()
def allowed_failures(cluster: Any) -> Iterator[Callable[[int], None]]:
    """Sets how often a task may be on a worker that died before it is KilledWorker
    (the scheduler runs in this process)."""
    before = cluster.scheduler.allowed_failures

    def set_to(n: int) -> None:
        cluster.scheduler.allowed_failures = n

    yield set_to
    cluster.scheduler.allowed_failures = before


def dask_options(cluster: Any, **kwargs: Any) -> TreeScanOptions:
    return TreeScanOptions(executor="dask", scheduler=cluster.scheduler_address, progress=False, **kwargs)


def test_findings_and_errors_are_the_local_executors(tree: tuple[Config, Path], local_report: ScanReport,
                                                      cluster: Any) -> None:
    config, root = tree
    assert len({f.deliverable_path for f in local_report.findings}) == 8
    statuses = {Path(e.path).name: str(e.status) for e in local_report.errors}
    assert statuses["broken.pdf"] == "parse-error" and statuses["data.txt"] == "unsupported"
    assert {"fake.docx", "pipe.txt"} <= set(statuses)
    for batch_size in (1, 5):  # batches split the tree differently: the same report
        report = scan_tree([root], config, dask_options(cluster, batch_size=batch_size))
        assert as_json(report) == as_json(local_report)


def test_relative_paths_are_named_absolute_by_both_executors(tree: tuple[Config, Path], local_report: ScanReport,
                                                             cluster: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, root = tree
    monkeypatch.chdir(root.parent)
    relative = Config(store="store")
    local = scan_tree([Path("delivery")], relative, TreeScanOptions(progress=False))
    report = scan_tree([Path("delivery")], relative, dask_options(cluster))
    assert as_json(report) == as_json(local)
    # One rule for every report (issue 17): errors name files by absolute path, as findings do.
    assert Path(local.errors[0].path).is_absolute() and local.errors[0].path.startswith(str(root.parent))
    assert [f.to_dict() for f in report.findings] == [f.to_dict() for f in local_report.findings]


def test_cache_changed_only_and_progress_work_on_the_client(tree: tuple[Config, Path], local_report: ScanReport,
                                                            cluster: Any, tmp_path: Path) -> None:
    config, root = tree
    cache = tmp_path / "cache.sqlite"
    seen: list[tuple[str, bool]] = []
    first = scan_tree([root], config, dask_options(cluster, cache=cache),
                      on_file=lambda s, cached: seen.append((s.path, cached)))
    assert as_json(first) == as_json(local_report)
    assert len(seen) == first.files_scanned + len(first.errors) and not any(c for _, c in seen)
    changed = root / "acme" / "q1" / "report-01.md"
    original = changed.read_text()
    try:
        changed.write_text(original + "\nOne more line.")
        only = scan_tree([root], config, dask_options(cluster, cache=cache, changed_only=True))
    finally:
        changed.write_text(original)
    assert only.files_scanned == 1 and only.files_unchanged == first.files_scanned - 1
    assert only.errors == local_report.errors  # errors are never cached: scanned again


class _DieOn(WorkerPlugin):
    """A worker plugin (test only): the worker process exits, as if killed, when it
    comes to a file of this name, every time or only while ``marker`` exists."""

    name = "leakwatch-test-die-on"

    def __init__(self, filename: str, marker: str | None) -> None:
        self.filename, self.marker = filename, marker

    def setup(self, worker: Any) -> None:
        import leakwatch.scanner as scanner_module

        original = scanner_module.Scanner.scan
        filename, marker = self.filename, self.marker

        def scan(scanner: Any, path: Path) -> FileScan:
            if path.name == filename:
                if marker is None:
                    os._exit(1)
                try:
                    os.unlink(marker)
                except FileNotFoundError:
                    pass
                else:
                    os._exit(1)
            return original(scanner, path)

        scanner_module.Scanner.scan = scan  # type: ignore[method-assign]


def test_a_worker_killed_mid_task_loses_no_file(tree: tuple[Config, Path], local_report: ScanReport,
                                                cluster: Any, tmp_path: Path,
                                                allowed_failures: Callable[[int], None]) -> None:
    """The worker dies once, scanning a batch: Dask runs the batch again elsewhere."""
    from distributed import Client

    config, root = tree
    allowed_failures(1)
    marker = tmp_path / "die-once"
    marker.write_text("")
    with Client(cluster) as client:
        client.register_plugin(_DieOn("report-05.md", str(marker)), name=_DieOn.name)
        try:
            seen: list[str] = []
            report = scan_tree([root], config, dask_options(cluster, batch_size=3),
                               on_file=lambda s, _c: seen.append(s.path))
        finally:
            client.unregister_worker_plugin(_DieOn.name)
    assert not marker.exists()  # a worker did die
    assert len(seen) == len(set(seen)) == local_report.files_scanned + len(local_report.errors)
    assert as_json(report) == as_json(local_report)


def test_a_file_that_always_kills_its_worker_is_an_error(tree: tuple[Config, Path], local_report: ScanReport,
                                                         cluster: Any, allowed_failures: Callable[[int], None],
                                                         ) -> None:
    """A batch that keeps killing workers is split; only the file that does it is
    reported, as not scanned, and its batch mates are scanned."""
    from distributed import Client

    config, root = tree
    allowed_failures(0)  # the first death is KilledWorker: two deaths in all, not four
    poison = root / "acme" / "q2" / "report-poison.md"
    poison.write_text(make_text(5, 100, FILLER))
    try:
        with Client(cluster) as client:
            client.register_plugin(_DieOn(poison.name, None), name=_DieOn.name)
            try:
                report = scan_tree([root], config, dask_options(cluster, batch_size=4))
            finally:
                client.unregister_worker_plugin(_DieOn.name)
    finally:
        poison.unlink()
    died = [e for e in report.errors if Path(e.path).name == poison.name]
    assert len(died) == 1 and str(died[0].status) == "parse-error" and "worker died" in died[0].message
    assert [e for e in report.errors if e not in died] == local_report.errors
    assert [f.to_dict() for f in report.findings] == [f.to_dict() for f in local_report.findings]
    assert report.files_scanned == local_report.files_scanned


def test_cli_scan_on_a_local_cluster_exit_codes(tree: tuple[Config, Path], local_report: ScanReport,
                                                cluster: Any, tmp_path: Path) -> None:
    config, root = tree
    # -j 2 without --scheduler: the command starts (and stops) its own LocalCluster
    code, out, _ = run("scan", str(root), "--store", config.store, "--format", "json", "--no-cache",
                       "--executor", "dask", "-j", "2")
    assert code == 1  # findings win over the files that could not be scanned
    data = json.loads(out)
    assert data["findings"] == [f.to_dict() for f in local_report.findings]
    assert data["errors"] == [e.to_dict() for e in local_report.errors]
    address = ("--executor", "dask", "--scheduler", cluster.scheduler_address, "--no-cache")
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "a.txt").write_text(make_text(41, 200, FILLER))
    assert run("scan", str(clean), "--store", config.store, *address)[0] == 0
    (clean / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage")
    code, out, _ = run("scan", str(clean), "--store", config.store, "--format", "json", *address)
    assert code == 3 and json.loads(out)["errors"][0]["status"] == "parse-error"


def test_cli_usage_errors_exit_2(tree: tuple[Config, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    config, root = tree
    code, _, err = run("scan", str(root), "--store", config.store, "--scheduler", "tcp://127.0.0.1:8786")
    assert code == 2 and "dask" in err
    import leakwatch.executors as executors

    monkeypatch.setattr(executors, "dask_available", lambda: False)
    code, _, err = run("scan", str(root), "--store", config.store, "--executor", "dask")
    assert code == 2 and "pip install 'leakwatch[dask]'" in err


def test_unreachable_scheduler_is_a_usage_error(tree: tuple[Config, Path]) -> None:
    import dask

    config, root = tree
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code, _, err = run("scan", str(root), "--store", config.store, "--executor", "dask",
                           "--scheduler", "tcp://127.0.0.1:9")
    assert code == 2 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err


def test_config_file_names_the_executor(tree: tuple[Config, Path], local_report: ScanReport, cluster: Any,
                                        tmp_path: Path) -> None:
    config, root = tree
    toml = tmp_path / "lw.toml"
    toml.write_text(f'[batch]\nexecutor = "dask"\nscheduler = "{cluster.scheduler_address}"\n')
    code, out, _ = run("scan", str(root), "--store", config.store, "--config", str(toml), "--format", "json",
                       "--no-cache")
    assert code == 1 and json.loads(out)["findings"] == [f.to_dict() for f in local_report.findings]
    toml.write_text('[batch]\nexecutor = "ray"\n')
    code, _, err = run("scan", str(root), "--store", config.store, "--config", str(toml))
    assert code == 2 and "batch.executor must be one of local, dask" in err
    toml.write_text('[batch]\nscheduler = "tcp://127.0.0.1:8786"\n')
    code, _, err = run("scan", str(root), "--store", config.store, "--config", str(toml))
    assert code == 2 and 'batch.scheduler needs batch.executor = "dask"' in err
