"""Train the learned scoring stage for reworded passages and write it as JSON.

Usage (from the repository root, with ../shared present):

    python scripts/train_scorer.py --pan ../shared/corpora/pan13-text-alignment-train

The candidates are those a scan asks the scorer about (leakwatch.evaluate.training):
every source of the corpus registered, every suspicious document and every source
scanned, every reworded fragment logged and labelled against the annotations (listed
pairs: copies and the fragments beside them; sources against sources of one topic:
independently written text on one subject). The figures are cross-validated with the
grouped fold plan of ``leakwatch evaluate pan --folds`` (no document, source or
suspicious, in two folds): each candidate scored by a model trained without its
fold. The shipped model is then trained on every candidate. ``--cache FILE.npz``
keeps the labelled candidates (the scans take a few minutes) for a rerun.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from leakwatch.config import Config
from leakwatch.detect.paraphrase import FEATURES
from leakwatch.detect.paraphrase_scorer import MODEL_RESOURCE
from leakwatch.evaluate.crossval import candidate_fragments, fold_scorers
from leakwatch.evaluate.folds import plan_folds
from leakwatch.evaluate.pan import read_pan_corpus
from leakwatch.evaluate.training import VERBATIM_JACCARD, LabelledFragments, fit_scorer


def load_or_record(root: Path, cache: Path | None) -> LabelledFragments:
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            return LabelledFragments(z["features"], z["labels"], z["susp"].astype(object), z["src"].astype(object))
    data = candidate_fragments(root, read_pan_corpus(root), Config())
    if cache is not None:
        np.savez(cache, features=data.features, labels=data.labels, susp=data.susp.astype(str),
                 src=data.src.astype(str))
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pan", type=Path, required=True, help="a PAN text-alignment corpus (the training set)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--cache", type=Path, help="labelled candidates (.npz): read if present, else written")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "leakwatch" / "detect"
                        / MODEL_RESOURCE)
    args = parser.parse_args()

    data = load_or_record(args.pan, args.cache)
    plan = plan_folds(read_pan_corpus(args.pan), args.folds)
    _, figures = fold_scorers(plan, data)
    scorer = fit_scorer(data, {
        "corpus": args.pan.name,
        "candidates": "reworded fragments a whole-index scan scores (suspicious documents and sources against"
                      f" every source), shingle Jaccard under {VERBATIM_JACCARD}; labelled by"
                      " leakwatch.evaluate.training",
        "cross_validation": {"folds": f"{args.folds} folds by connected component of the pair graph"
                                      " (leakwatch.evaluate.folds)", **figures},
    })
    args.out.write_text(json.dumps(scorer.to_dict(), indent=2) + "\n", encoding="utf-8")
    print(json.dumps(scorer.metadata, indent=2))
    print("coefficients:", dict(zip(FEATURES, np.round(scorer.coef, 3).tolist(), strict=True)))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
