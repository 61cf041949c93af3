"""Extraction in a limited worker process: same results, statuses for overruns, no pickle."""

from __future__ import annotations

import json
import random
import threading
from multiprocessing.connection import Connection
from pathlib import Path

import pytest
from click.testing import CliRunner

from leakwatch.cli import cli
from leakwatch.config import ExtractLimits
from leakwatch.extract import extract_file
from leakwatch.isolate import IsolatedExtractor
from leakwatch.model import ExtractionError, Status
from tests.conftest import make_text

# The slow PDF below is slow under pdfminer.six only (PDFium reads it in a fraction of a
# second): the tests of time limits and kills read it with that engine.
PDFMINER = "pdfminer"


@pytest.fixture(scope="module")
def slow_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real PDF that takes pdfminer a few seconds: 60 full pages of text."""
    from reportlab.pdfgen import canvas

    path = tmp_path_factory.mktemp("pdf") / "slow.pdf"
    rng = random.Random(1)
    c = canvas.Canvas(str(path))
    for _ in range(60):
        for i in range(60):
            c.drawString(40, 800 - i * 12, " ".join(rng.choice(["alpha", "beta", "gamma", "delta"]) for _ in range(12)))
        c.showPage()
    c.save()
    return path


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.md"
    path.write_text("# Title\n\n" + make_text(5, 200), encoding="utf-8")
    return path


def test_same_result_as_in_process(tmp_path: Path, small: Path) -> None:
    from reportlab.pdfgen import canvas

    pdf = tmp_path / "two.pdf"
    c = canvas.Canvas(str(pdf))
    for page in range(2):
        c.drawString(72, 700, f"Page {page} says something confidential about the merger")
        c.showPage()
    c.save()
    utf16 = tmp_path / "u16.txt"
    utf16.write_bytes("caf\u00e9 na\u00efve \U0001f600 text".encode("utf-16"))
    with IsolatedExtractor(ExtractLimits()) as iso:
        for path in (small, pdf, utf16):
            assert iso.extract(path) == extract_file(path, ExtractLimits())


def test_file_statuses_pass_through(tmp_path: Path, small: Path) -> None:
    binary = tmp_path / "program.txt"
    binary.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 10)
    with IsolatedExtractor(ExtractLimits()) as iso:
        with pytest.raises(ExtractionError) as err:
            iso.extract(binary)
        assert err.value.status == Status.UNSUPPORTED
        with pytest.raises(ExtractionError) as err:
            iso.extract(tmp_path / "gone.txt")
        assert err.value.status == Status.VANISHED
        assert iso.extract(small)[1].format == "markdown"
        assert iso.restarts == 0


def test_wall_clock_limit_stops_the_file_and_the_next_one_is_read(slow_pdf: Path, small: Path) -> None:
    with IsolatedExtractor(ExtractLimits(timeout_s=0.5, pdf_engine=PDFMINER)) as iso:
        with pytest.raises(ExtractionError) as err:
            iso.extract(slow_pdf)
        assert err.value.status == Status.TIMEOUT and "0.5 s" in err.value.message
        assert iso.restarts == 1
        assert iso.extract(small)[1].format == "markdown"


def test_cpu_limit_is_a_timeout(slow_pdf: Path, small: Path) -> None:
    with IsolatedExtractor(ExtractLimits(max_cpu_s=1, timeout_s=60, pdf_engine=PDFMINER)) as iso:
        with pytest.raises(ExtractionError) as err:
            iso.extract(slow_pdf)
        assert err.value.status == Status.TIMEOUT and "CPU" in err.value.message
        assert iso.extract(small)[1].format == "markdown"


def test_memory_limit_is_a_status_not_a_crash(tmp_path: Path, small: Path) -> None:
    huge = tmp_path / "huge.txt"
    with huge.open("w", encoding="utf-8") as fh:
        line = "déjà vu " * 16 + "\n"
        for _ in range(120_000_000 // len(line)):
            fh.write(line)
    limits = ExtractLimits(max_memory_mb=320, max_text_chars=500_000_000)
    with IsolatedExtractor(limits) as iso:
        with pytest.raises(ExtractionError) as err:
            iso.extract(huge)
        assert err.value.status == Status.MEMORY
        assert iso.extract(small)[1].format == "markdown"


def test_a_worker_killed_mid_file_gives_a_status_and_is_replaced(slow_pdf: Path, small: Path) -> None:
    with IsolatedExtractor(ExtractLimits(pdf_engine=PDFMINER)) as iso:
        iso._started()  # the worker starts in the background on entering
        worker = iso._worker
        assert worker is not None
        killer = threading.Timer(0.3, worker.process.kill)
        killer.start()
        with pytest.raises(ExtractionError) as err:
            iso.extract(slow_pdf)
        killer.join()
        assert err.value.status in (Status.MEMORY, Status.PARSE_ERROR)
        assert iso.extract(small)[1].format == "markdown"
        assert iso._worker is not None and iso._worker.process.pid != worker.process.pid


def test_workers_are_recycled(small: Path) -> None:
    with IsolatedExtractor(ExtractLimits(recycle_after=2)) as iso:
        pids = []
        for _ in range(5):
            iso.extract(small)
            assert iso._worker is not None
            pids.append(iso._worker.process.pid)
    assert len(set(pids)) == 3  # files 1-2, 3-4, 5


def test_the_parent_never_unpickles_what_a_worker_sends(monkeypatch: pytest.MonkeyPatch, small: Path) -> None:
    def refuse(self: Connection) -> object:
        raise AssertionError("Connection.recv unpickles: the worker's replies must be read as bytes")

    monkeypatch.setattr(Connection, "recv", refuse)
    with IsolatedExtractor(ExtractLimits()) as iso:
        assert iso.extract(small)[1].format == "markdown"


def test_scan_reports_a_timeout_and_scans_the_rest(tmp_path: Path, slow_pdf: Path) -> None:
    store = tmp_path / "store"
    secret = make_text(9, 400)
    (tmp_path / "secret.txt").write_text(secret, encoding="utf-8")
    delivery = tmp_path / "delivery"
    delivery.mkdir()
    (delivery / "slow.pdf").write_bytes(slow_pdf.read_bytes())
    (delivery / "copy.txt").write_text(" ".join(secret.split()[:80]), encoding="utf-8")
    config = tmp_path / "leakwatch.toml"
    config.write_text(f'[extract]\ntimeout_s = 0.5\npdf_engine = "{PDFMINER}"\n', encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["index", "add", str(tmp_path / "secret.txt"), "--store", str(store)]).exit_code == 0
    result = runner.invoke(cli, ["scan", str(delivery), "--store", str(store), "--config", str(config),
                                 "--format", "json"])
    report = json.loads(result.stdout)
    assert [(Path(e["path"]).name, e["status"]) for e in report["errors"]] == [("slow.pdf", "timeout")]
    assert [f["kind"] for f in report["findings"]] == ["confidential-excerpt"]
    # A leak is the news (exit 1); the error list still says the scan was incomplete.
    assert result.exit_code == 1 and report["summary"]["complete"] is False


def test_extract_check_counts_statuses_and_names_the_slowest_file(tmp_path: Path, small: Path,
                                                                  slow_pdf: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.md").write_text(small.read_text(encoding="utf-8"), encoding="utf-8")
    (tree / "slow.pdf").write_bytes(slow_pdf.read_bytes())
    (tree / "image.txt").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 10)
    result = CliRunner().invoke(cli, ["extract-check", str(tree), "--format", "json"])
    assert result.exit_code == 3, result.output
    data = json.loads(result.stdout)
    assert data["files"] == 3 and data["by_status"] == {"ok": 2, "unsupported": 1}
    assert data["slowest"]["path"].endswith("slow.pdf")
    assert 10 < data["peak_memory_mb"] < 1000
    assert [Path(e["path"]).name for e in data["errors"]] == ["image.txt"]


def test_a_worker_that_failed_to_start_in_the_background_is_started_by_extract(
        monkeypatch: pytest.MonkeyPatch, small: Path) -> None:
    real = IsolatedExtractor._ensure_worker
    calls = []

    def flaky(self: IsolatedExtractor) -> object:
        calls.append(threading.current_thread().name)
        if len(calls) == 1:
            raise OSError("no forkserver today")
        return real(self)

    monkeypatch.setattr(IsolatedExtractor, "_ensure_worker", flaky)
    with IsolatedExtractor(ExtractLimits()) as iso:
        assert iso.extract(small)[1].format == "markdown"
    assert calls[0] == "leakwatch-extract-start"  # entering started it in the background
    assert len(calls) >= 2


def test_a_worker_whose_parent_died_mid_file_ends_quietly(small: Path) -> None:
    """The scanner killed (kill -9) while its worker extracts: the worker's reply meets a
    closed pipe. It must end without a traceback, which would land in the stderr it
    shares with the daemon (a JSON-lines log)."""
    import subprocess
    import sys

    code = (
        "import json, multiprocessing, sys\n"
        "from leakwatch.config import ExtractLimits\n"
        "from leakwatch.isolate import _limits_json, _worker_main\n"
        "parent, child = multiprocessing.Pipe()\n"
        "parent.send_bytes(json.dumps({'path': sys.argv[1], 'skip': 0}).encode())\n"
        "parent.close()  # the parent is gone before the reply\n"
        "_worker_main(child, _limits_json(ExtractLimits()))\n"
        "print('ended')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(small)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.strip() == "ended"
