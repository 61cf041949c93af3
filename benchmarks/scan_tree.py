"""Throughput of a tree scan on 1 and 2 workers, and of a second run served by the scan cache.

Builds a store with one confidential document and a tree of text deliverables (some
quoting it), then times `scan_tree` serially, with 2 workers (checking the findings are
identical), and again with the cache warm. Prints files/s and MB/s per run and the ratios.

    python benchmarks/scan_tree.py [--files 300] [--words 3000]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from leakwatch.batch import TreeScanOptions, default_cache_path, scan_tree
from leakwatch.config import Config


def prose(rng: random.Random, n: int, vocab: list[str]) -> str:
    return " ".join(rng.choice(vocab) for _ in range(n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--words", type=int, default=3000, help="words per deliverable")
    args = parser.parse_args()
    rng = random.Random(3)
    vocab = [f"w{i}x{rng.randrange(10**6)}" for i in range(5000)]
    secret_vocab = [f"s{i}y{rng.randrange(10**6)}" for i in range(5000)]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        secret = prose(rng, 5000, secret_vocab)
        (tmp / "conf").mkdir()
        (tmp / "conf" / "plan.txt").write_text(secret)
        store = tmp / "store"
        subprocess.run([sys.executable, "-m", "leakwatch", "index", "add", str(tmp / "conf"), "--store", str(store)],
                       check=True, capture_output=True)
        root = tmp / "tree"
        words = secret.split()
        size = 0
        for i in range(args.files):
            folder = root / f"vendor{i % 3}" / f"batch{i % 7}"
            folder.mkdir(parents=True, exist_ok=True)
            body = prose(rng, args.words, vocab)
            if i % 10 == 0:
                start = rng.randrange(len(words) - 100)
                body += "\n\n" + " ".join(words[start:start + 100])
            (folder / f"d{i:04d}.txt").write_text(body)
            size += len(body.encode())
        config = Config(store=str(store))
        results = {}
        runs = [("1 worker", TreeScanOptions(workers=1, cache=None, progress=False)),
                ("2 workers", TreeScanOptions(workers=2, cache=None, progress=False)),
                ("cache cold (1 worker)", TreeScanOptions(workers=1, cache=default_cache_path(config), progress=False)),
                ("cache warm (1 worker)", TreeScanOptions(workers=1, cache=default_cache_path(config), progress=False))]
        for name, options in runs:
            t0 = time.perf_counter()
            report = scan_tree([root], config, options)
            elapsed = time.perf_counter() - t0
            results[name] = (elapsed, json.dumps([f.to_dict() for f in report.findings], sort_keys=True))
            print(f"{name:24} {args.files / elapsed:7.1f} files/s  {size / elapsed / 1e6:6.2f} MB/s  "
                  f"({elapsed:.1f} s, {len(report.findings)} findings)")
        base = results["1 worker"]
        assert all(r[1] == base[1] for r in results.values()), "findings differ between runs"
        print(f"2 workers / 1 worker: {base[0] / results['2 workers'][0]:.2f}x; "
              f"warm cache / no cache: {base[0] / results['cache warm (1 worker)'][0]:.1f}x; findings identical")


if __name__ == "__main__":
    main()
