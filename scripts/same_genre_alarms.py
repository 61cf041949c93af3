"""False alarms between documents of one genre and subject that copy nothing from each other.

Usage (from the repository root, with ../shared present):

    python scripts/same_genre_alarms.py ../shared/corpora/longform-public-domain [--keys 10]

Registers the State of the Union addresses of 1945-1975 and scans those of 1976-2006
plus the Gutenberg books, with each of ``--keys`` public evaluation keys, and prints the
findings by method and severity per key. One subject, many authors: what a reworded
alarm there says is mostly that two presidents spoke about taxes, and the exact ones
are the addresses' shared opening formula and the odd quotation.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from leakwatch.config import Config
from leakwatch.detect import ConfidentialDetector
from leakwatch.evaluate.pan import evaluation_key, evaluation_store
from leakwatch.pipeline import index_paths, scan_paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path, help="longform-public-domain (state_union/ and gutenberg/)")
    parser.add_argument("--keys", type=int, default=10)
    args = parser.parse_args()
    addresses = sorted((args.corpus / "state_union").glob("*.txt"))
    registered = [p for p in addresses if int(p.name[:4]) <= 1975]
    scanned = [p for p in addresses if int(p.name[:4]) > 1975] + sorted((args.corpus / "gutenberg").glob("*.txt"))
    runs = []
    for n in range(args.keys):
        with evaluation_store(Config(), evaluation_key(n)) as (config, store):
            index_paths(registered, store, config, label="evaluation", owner=None)
            report = scan_paths(scanned, store, config, detectors=[ConfidentialDetector(store, config)])
        found = [f for f in report.findings if f.kind.startswith("confidential")]
        runs.append({"key": n, "findings": len(found),
                     "by_method": dict(Counter(str(f.extra.get("method")) for f in found)),
                     "by_severity": dict(Counter(str(f.severity) for f in found)),
                     "reworded": [(Path(f.deliverable_path).name, Path(f.source.path).name, str(f.severity),
                                   round(f.scores.confidence, 2), f.scores.matched_words)
                                  for f in found if f.source is not None and f.scores is not None
                                  and f.extra.get("method") != "exact"]})
    total = Counter()
    for r in runs:
        total.update(r["by_method"])
    print(json.dumps({"registered": len(registered), "scanned": len(scanned), "keys": args.keys,
                      "by_method_all_keys": dict(total), "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
