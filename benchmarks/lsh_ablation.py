"""What the LSH bands buy on PAN (issue 21): detection quality with fewer bands.

The store keeps, per passage, 25 shingle bands (threshold 0.5) and 37 content-word bag
bands (threshold 0.3): 62 postings, most of the index. This indexes a PAN corpus's
sources once and scans every suspicious document once per variant, each variant's
detector looking up only some of the bands (the first ``b`` bands of a family are
exactly an index built with ``b`` bands of the same rows):

    python benchmarks/lsh_ablation.py /work/shared/corpora/pan13-text-alignment-sample \\
        [--variants "all;no-shingle;shingle=0,bag=20"] [--json FILE]

A variant is ``shingle=S,bag=B`` (bands of each family looked up) or a name below.
Figures are PAN's (plagdet, recall, precision, granularity) per obfuscation class, in
listed-pairs and whole-index modes, as ``leakwatch evaluate pan`` reports them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from leakwatch.config import Config
from leakwatch.detect import ConfidentialDetector
from leakwatch.evaluate.pan import evaluation_store, finding_passages, read_pan_corpus, score_pairs
from leakwatch.pipeline import analyse_paths, index_paths, scan_analysed
from leakwatch.store.base import FingerprintStore, PassageHits

NAMED = {
    "all": (None, None),
    "no-shingle": (0, None),
    "no-shingle-bag24": (0, 24),
    "no-shingle-bag16": (0, 16),
    "shingle12-bag24": (12, 24),
}


class BandSubset:
    """A store that answers LSH look-ups from the first ``shingle`` / ``bag`` bands only."""

    def __init__(self, store: FingerprintStore, shingle: int | None, bag: int | None) -> None:
        self._store, self._shingle, self._bag = store, shingle, bag

    def lookup_passages(self, band_keys: np.ndarray, bag: bool = False) -> PassageHits:
        keep = self._bag if bag else self._shingle
        if keep is None:
            return self._store.lookup_passages(band_keys, bag=bag)
        if keep == 0:
            empty = np.zeros(0, dtype=np.int64)
            return PassageHits(empty, empty.copy(), empty.copy())
        # Keys of other bands that can never match: the first ``keep`` bands alone count.
        keys = np.array(band_keys, dtype=np.int64, copy=True)
        keys[:, keep:] = keys[:, :1]
        return self._store.lookup_passages(keys, bag=bag)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def parse_variant(text: str) -> tuple[int | None, int | None]:
    if text in NAMED:
        return NAMED[text]
    parts = dict(p.split("=") for p in text.split(","))
    return int(parts["shingle"]) if "shingle" in parts else None, int(parts["bag"]) if "bag" in parts else None


def summary(evaluation: Any) -> dict[str, Any]:
    out = {name: {"plagdet": round(s.plagdet, 4), "recall": round(s.recall, 4), "precision": round(s.precision, 4),
                  "granularity": round(s.granularity, 4)} for name, s in evaluation.classes.items()}
    o = evaluation.overall
    out["overall"] = {"plagdet": round(o.plagdet, 4), "recall": round(o.recall, 4),
                      "precision": round(o.precision, 4), "granularity": round(o.granularity, 4)}
    out["unlisted_detections"] = evaluation.unlisted_detections
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--variants", default="all;no-shingle;no-shingle-bag24;no-shingle-bag16",
                        help="variants separated by semicolons")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    variants = {v: parse_variant(v) for v in args.variants.split(";") if v}
    pairs = read_pan_corpus(args.corpus)
    with evaluation_store(Config()) as (config, store):
        t0 = time.monotonic()
        index_paths([args.corpus / "src"], store, config, label="evaluation", owner=None)
        print(f"indexed {store.count_documents()} sources in {time.monotonic() - t0:.0f} s", file=sys.stderr)
        detectors = {name: ConfidentialDetector(BandSubset(store, *v), config)  # type: ignore[arg-type]
                     for name, v in variants.items()}
        findings: dict[str, list[Any]] = {name: [] for name in variants}
        seconds = dict.fromkeys(variants, 0.0)
        for n, analysed in enumerate(analyse_paths([args.corpus / "susp"], config, store), start=1):
            for name, det in detectors.items():
                t = time.monotonic()
                findings[name].extend(scan_analysed(analysed, [det]).findings)
                seconds[name] += time.monotonic() - t
            if n % 100 == 0:
                print(f"  {n} scanned", file=sys.stderr)
    results: dict[str, Any] = {}
    for name in variants:
        dets = [p for f in findings[name] for p in finding_passages(f)]
        results[name] = {"bands": variants[name], "scan_seconds": round(seconds[name], 1),
                         "listed": summary(score_pairs(pairs, dets, "listed")),
                         "whole": summary(score_pairs(pairs, dets, "whole"))}
        r = results[name]
        print(f"{name:22s} listed plagdet {r['listed']['overall']['plagdet']:.4f} "
              f"(R {r['listed']['overall']['recall']:.4f} P {r['listed']['overall']['precision']:.4f}) "
              f"whole {r['whole']['overall']['plagdet']:.4f} (P {r['whole']['overall']['precision']:.4f}, "
              f"{r['whole']['unlisted_detections']} unlisted) scan {seconds[name]:.0f} s")
        print("    " + "  ".join(f"{c}: {v['plagdet']:.4f}" for c, v in r["listed"].items()
                                 if isinstance(v, dict) and c != "overall"))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
