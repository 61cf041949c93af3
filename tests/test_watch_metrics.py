"""The daemon's Prometheus endpoint, scraped over HTTP from a real ``leakwatch watch``
process while it scans files dropped into its folder (as in tests/test_watch_daemon.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_watch_daemon import Env

prometheus_client = pytest.importorskip("prometheus_client", reason="the metrics extra is not installed")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="inotify events are Linux's")

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_for(port: int, name: str, at_least: float, timeout: float = 60.0, **labels: str) -> Samples:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        samples = scrape(port)
        if value(samples, name, **labels) >= at_least:
            return samples
        time.sleep(0.1)
    raise AssertionError(f"{name}{labels} did not reach {at_least} within {timeout}s: {value(samples, name, **labels)}")


@pytest.fixture()
def env(tmp_path: Path, secret_text: str) -> Iterator[Env]:
    e = Env(tmp_path, secret_text)
    yield e
    if e.proc is not None and e.proc.poll() is None:
        e.proc.kill()
        e.proc.wait()


def test_counters_move_while_the_daemon_scans(env: Env) -> None:
    port = free_port()
    env.write_config(metrics_port=port)
    env.start()
    served = env.wait_log("metrics served", since=0)
    assert served["address"] == "127.0.0.1" and served["port"] == port
    before = scrape(port)
    assert value(before, "leakwatch_watch_files_scanned_total") == 0
    assert value(before, "leakwatch_watch_last_sweep_timestamp_seconds") > time.time() - 120
    assert value(before, "leakwatch_store_generation") >= 1
    assert value(before, "leakwatch_watch_files_queued", stage="ready") == 0

    (env.drop / "clean.txt").write_text("A short note about the weather and nothing else at all.\n")
    after_one = wait_for(port, "leakwatch_watch_files_scanned_total", 1)
    assert value(after_one, "leakwatch_watch_files_seen_total") >= 1

    (env.drop / "leak.txt").write_text(env.leak(5))
    (env.drop / "fake.docx").write_bytes(b"PK\x03\x04 this is no zip file at all")
    samples = wait_for(port, "leakwatch_watch_files_scanned_total", 3)
    samples = wait_for(port, "leakwatch_watch_alert_latency_seconds_count", 2)
    findings = {dict(labels)["severity"]: v for (name, labels), v in samples.items()
                if name == "leakwatch_watch_findings_total"}
    assert findings and sum(findings.values()) >= 1 and set(findings) <= {"low", "medium", "high"}
    not_scanned = {dict(labels)["status"]: v for (name, labels), v in samples.items()
                   if name == "leakwatch_watch_files_not_scanned_total"}
    assert sum(not_scanned.values()) == 1, not_scanned
    # Two alerts (the leak, the unreadable file), each within the scan's time of settling.
    assert value(samples, "leakwatch_watch_alert_latency_seconds_bucket", le="+Inf") == 2
    assert 0 < value(samples, "leakwatch_watch_alert_latency_seconds_sum") < 120
    assert value(samples, "leakwatch_watch_files_queued", stage="scanning") == 0
    # Indexing a document while the daemon runs moves the store's generation.
    doc = env.tmp / "confidential" / "more.txt"
    doc.write_text(env.leak(6))
    result = subprocess.run([sys.executable, "-m", "leakwatch", "index", "add", str(doc), "--store", str(env.store)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    wait_for(port, "leakwatch_store_generation", value(samples, "leakwatch_store_generation") + 1, timeout=30)
    assert env.stop() == 143


def test_without_the_extra_the_port_is_a_clear_error(env: Env) -> None:
    # prometheus_client made unimportable in the child: what a user without the extra sees.
    code = ("import sys; sys.modules['prometheus_client'] = None; sys.argv[0] = 'leakwatch'; "
            "from leakwatch.entry import main; main()")
    result = subprocess.run([sys.executable, "-c", code, "watch", "--config", str(env.config), "--metrics-port",
                             str(free_port())], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == ("leakwatch: error: the metrics endpoint needs the "
                                                      "prometheus_client package: pip install 'leakwatch[metrics]'")
    assert "Traceback" not in result.stderr


def test_a_port_in_use_is_a_clear_error(env: Env) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "leakwatch", "watch", "--config", str(env.config),
                                 "--metrics-port", str(port)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert f"leakwatch: error: cannot serve metrics on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
