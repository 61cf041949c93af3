"""Cross-validated PAN evaluation: every suspicious document judged by a scorer that never
saw it, nor any document of its fold.

1. The pairs are dealt into folds by connected component of the pair graph
   (:mod:`leakwatch.evaluate.folds`): no document, source or suspicious, in two folds.
2. One store holds every source; every suspicious document and every source is scanned
   once with every reworded candidate logged, and the candidates are labelled
   (:mod:`leakwatch.evaluate.training`).
3. For each fold, a scorer is trained on the candidates whose two documents both lie
   outside it.
4. Each fold's suspicious documents are scanned again, with their fold's scorer, against
   the store of every source (as a user scans: everything registered), and all findings
   are scored together: listed pairs, whole index, unbacked findings, calibration.

With several keys, steps 1-3 run with the first key (a fragment's features do not
depend on the key) and step 4 with every key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from leakwatch.config import Config
from leakwatch.detect.paraphrase_scorer import LogisticScorer
from leakwatch.evaluate.calibration import Reliability
from leakwatch.evaluate.folds import Fold, fold_of, plan_folds
from leakwatch.evaluate.pan import (
    EVALUATION_KEY,
    PanPair,
    PanRun,
    ScanGroup,
    corpus_reader,
    evaluation_key,
    evaluation_store,
    read_pan_corpus,
    run_pan,
    with_key_spread,
)
from leakwatch.evaluate.training import (
    DECISION_THRESHOLD,
    LabelledFragments,
    fit_scorer,
    label_candidates,
    log_candidates,
)
from leakwatch.pipeline import index_paths


def candidate_fragments(root: Path, pairs: list[PanPair], config: Config) -> LabelledFragments:
    """Every reworded candidate of whole-index scans of ``root``'s suspicious documents and
    of its sources (each against all sources), labelled."""
    with evaluation_store(config, EVALUATION_KEY) as (config, store):
        index_paths([root / "src"], store, config, label="evaluation", owner=None)
        log = log_candidates(sorted((root / "susp").iterdir()) + sorted((root / "src").iterdir()), store, config)
    return label_candidates(log, pairs, corpus_reader())


def outside(fold: Fold, data: LabelledFragments, folds: list[Fold]) -> np.ndarray:
    """Mask of the candidates whose two documents both lie outside ``fold``."""
    where = fold_of(folds)
    return np.array([where.get(s, -1) != fold.number and where.get(r, -1) != fold.number
                     for s, r in zip(data.susp, data.src, strict=True)], dtype=bool)


def fold_scorers(folds: list[Fold], data: LabelledFragments) -> tuple[list[LogisticScorer], dict[str, Any]]:
    """One scorer per fold, and the candidates' out-of-fold figures (each candidate scored
    by the scorer of its suspicious document's fold)."""
    from sklearn.metrics import brier_score_loss, precision_score, recall_score, roc_auc_score

    scorers, held_out = [], np.full(len(data), np.nan)
    where = fold_of(folds)
    for fold in folds:
        scorer = fit_scorer(data.select(outside(fold, data, folds)), {"fold": fold.number})
        scorers.append(scorer)
        test = np.array([where.get(s, -1) == fold.number for s in data.susp], dtype=bool)
        if test.any():
            held_out[test] = scorer.probability(data.features[test])
    scored = ~np.isnan(held_out)
    y, p = data.labels[scored], held_out[scored]
    kept = p >= DECISION_THRESHOLD
    figures: dict[str, Any] = {"candidates": int(scored.sum()), "copies": int(y.sum()),
               "roc_auc": round(float(roc_auc_score(y, p)), 4) if 0 < y.sum() < y.size else None,
               "brier": round(float(brier_score_loss(y, p)), 4), "threshold": DECISION_THRESHOLD,
               "precision": round(float(precision_score(y, kept, zero_division=1.0)), 4),
               "recall": round(float(recall_score(y, kept, zero_division=1.0)), 4),
               "false_positive_rate": round(float(kept[y == 0].mean()), 4) if (y == 0).any() else None}
    table = Reliability()
    for probability, copy in zip(p.tolist(), y.tolist(), strict=True):
        table.add(probability, bool(copy), "reworded")
    figures["reliability"] = table.table()
    return scorers, figures


def evaluate_pan_cv(root: Path, config: Config, folds: int = 5, keys: int = 1, upstream: Path | None = None) -> PanRun:
    """Grouped ``folds``-fold cross-validation of the reworded-passage scorer on a PAN corpus."""
    pairs = read_pan_corpus(root)
    plan = plan_folds(pairs, folds)
    data = candidate_fragments(root, pairs, config)
    scorers, figures = fold_scorers(plan, data)
    groups = [ScanGroup(sorted(root / "susp" / name for name in fold.susp), scorer)
              for fold, scorer in zip(plan, scorers, strict=True)]
    run = with_key_spread([run_pan(root, pairs, config, evaluation_key(n), groups, upstream) for n in range(keys)])
    run.folds = [{**fold.to_dict(), "training_candidates": scorer.metadata["samples"],
                  "training_copies": scorer.metadata["copies"]} for fold, scorer in zip(plan, scorers, strict=True)]
    run.folds.append({"candidates_out_of_fold": figures})
    return run
