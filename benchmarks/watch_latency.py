"""Latency of the daemon from a file's close to its alert, on real inotify events.

Starts ``leakwatch watch`` with the default settle rules on a fresh store holding one
confidential document, then drops 100 KB text deliverables, each quoting a passage of
it, one at a time, and times each from the writer's close() to the alert's line being
in the alerts log (polled every 2 ms). Prints the median and p95.

    python benchmarks/watch_latency.py [--files 40] [--size-kb 100]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = [f"{a}{b}{c}" for a in ("ka", "lo", "mer", "ti", "san", "vo", "quel", "dra")
         for b in ("ni", "por", "es", "tu", "lim", "ba", "rek", "o") for c in ("fen", "gra", "shu", "wy", "", "x")]


def prose(rng: random.Random, n_words: int, vocab: list[str]) -> str:
    return " ".join(rng.choice(vocab) for _ in range(n_words))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--size-kb", type=int, default=100)
    args = parser.parse_args()
    rng = random.Random(1)
    secret_vocab = [w + "q" for w in WORDS]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        secret = prose(rng, 3000, secret_vocab)
        (tmp / "conf").mkdir()
        (tmp / "conf" / "plan.txt").write_text(secret)
        store, drop = tmp / "store", tmp / "drop"
        drop.mkdir()
        subprocess.run([sys.executable, "-m", "leakwatch", "index", "add", str(tmp / "conf"), "--store", str(store)],
                       check=True, capture_output=True)
        log = open(tmp / "daemon.log", "wb")  # noqa: SIM115 (closed below)
        daemon = subprocess.Popen([sys.executable, "-m", "leakwatch", "watch", str(drop), "--store", str(store)],
                                  stderr=log)
        alerts = store / "alerts.jsonl"
        try:
            while b'"watching"' not in (tmp / "daemon.log").read_bytes():
                time.sleep(0.05)
            secret_words = secret.split()
            latencies = []
            for i in range(args.files + 1):
                start = rng.randrange(len(secret_words) - 150)
                body = prose(rng, 200, WORDS) + "\n\n" + " ".join(secret_words[start:start + 120]) + "\n\n"
                body += prose(rng, args.size_kb * 1024 // 7, WORDS)
                body = body[: args.size_kb * 1024]
                path = drop / f"deliverable-{i:03d}.txt"
                with open(path, "w") as fh:
                    fh.write(body)
                closed = time.monotonic()
                needle = json.dumps(str(path))
                while True:
                    text = alerts.read_text() if alerts.exists() else ""
                    if needle in text:
                        break
                    if daemon.poll() is not None:
                        raise SystemExit("the daemon stopped:\n" + (tmp / "daemon.log").read_text()[-2000:])
                    time.sleep(0.002)
                if i:  # the first file also pays for loading the detectors
                    latencies.append(time.monotonic() - closed)
        finally:
            daemon.terminate()
            daemon.wait(60)
            log.close()
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    print(f"{len(latencies)} files of {args.size_kb} KB, close to alert: median {statistics.median(latencies):.3f} s,"
          f" p95 {p95:.3f} s, max {latencies[-1]:.3f} s (debounce 0.25 s included)")


if __name__ == "__main__":
    main()
