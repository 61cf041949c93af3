"""Training the reworded-passage scorer on a PAN corpus, by the detector's own candidates.

The candidates are what a scan asks the scorer about: every source registered, every
document scanned, and every reworded fragment the paraphrase stage proposes logged
(:attr:`ConfidentialDetector.candidate_log`). Two scans supply them, labelled so:

* suspicious documents against the sources: on a listed pair, a copy when the
  fragment overlaps an annotated case of that pair on both sides, else not (a fragment
  beside the case, on the wrong source span, or on a pair without reuse);
* sources against the other sources: not a copy, unless the two spans share a quarter
  of their word 3-grams (mirrored web text). Sources of one topic are pages written
  independently on one subject, the negatives a scanner meets most: same vocabulary,
  no shared passage.

Fragments of suspicious documents on pairs the corpus does not list are left out, even
where ``upstream-annotations/`` marks no reuse: read by hand, most of those the scorer
accepts are reworded copies of the source they name (the suspicious documents hold
reuse that no pair of the corpus annotates), so "own text" there is not a label.
Fragments whose shingles mostly match are left out too: the exact stage reports those.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from leakwatch.config import Config
from leakwatch.detect import ConfidentialDetector
from leakwatch.detect.confidential import CandidateFragment
from leakwatch.detect.paraphrase import FEATURES
from leakwatch.detect.paraphrase_scorer import LogisticScorer
from leakwatch.evaluate.measures import Passage, detects
from leakwatch.evaluate.pan import PanPair
from leakwatch.evaluate.unbacked import MIN_SHARED, shared_ngram_share
from leakwatch.pipeline import scan_paths
from leakwatch.store.base import FingerprintStore

# Fragments whose shingles mostly match are verbatim copies: the exact stage reports
# them and the detector drops a paraphrase fragment that exact alignments explain.
VERBATIM_JACCARD = 0.5
# A copy is reported when the scorer's probability is at least this: the model is a
# calibrated logistic regression, so this is "more likely a copy than not".
DECISION_THRESHOLD = 0.5
# Label values: a copy, not a copy, left out.
COPY, NOT_COPY, LEFT_OUT = 1, 0, -1


@dataclass(frozen=True)
class LabelledFragments:
    """Candidate fragments with their features, labels and the documents they join."""

    features: np.ndarray  # (n, len(FEATURES))
    labels: np.ndarray  # int: COPY or NOT_COPY (LEFT_OUT removed)
    susp: np.ndarray  # str: suspicious document name
    src: np.ndarray  # str: source document name

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def select(self, mask: np.ndarray) -> LabelledFragments:
        return LabelledFragments(self.features[mask], self.labels[mask], self.susp[mask], self.src[mask])


def accept_all() -> LogisticScorer:
    """A scorer that keeps every candidate (probability 0.5, threshold 0): logging needs
    the candidates a scan would score, whatever a model would make of them."""
    n = len(FEATURES)
    return LogisticScorer(FEATURES, np.zeros(n), np.ones(n), np.zeros(n), 0.0, 0.0, {})


def log_candidates(paths: list[Path], store: FingerprintStore, config: Config) -> list[CandidateFragment]:
    """Scan ``paths`` against ``store`` and return every reworded candidate a scan scores."""
    detector = ConfidentialDetector(store, config, scorer=accept_all())
    detector.candidate_log = []
    scan_paths(paths, store, config, detectors=[detector])
    return detector.candidate_log


def label(fragment: CandidateFragment, listed: dict[tuple[str, str], PanPair],
          read_text: Callable[[str], str]) -> int:
    """COPY, NOT_COPY or LEFT_OUT for one candidate (see the module docstring)."""
    d_path = Path(fragment.deliverable)
    susp, src = d_path.name, Path(fragment.source).name
    pair = listed.get((susp, src))
    if pair is not None:
        passage = Passage(susp, src, *fragment.d_chars, *fragment.s_chars)
        return COPY if any(detects(c, passage) for c in pair.cases) else NOT_COPY
    if d_path.parent.name != "src" or susp == src:
        return LEFT_OUT
    d_text = read_text(fragment.deliverable)[slice(*fragment.d_chars)]
    s_text = read_text(fragment.source)[slice(*fragment.s_chars)]
    return LEFT_OUT if shared_ngram_share(d_text, s_text) >= MIN_SHARED else NOT_COPY


def label_candidates(log: list[CandidateFragment], pairs: list[PanPair],
                     read_text: Callable[[str], str]) -> LabelledFragments:
    """The logged candidates, labelled, without verbatim ones and those left out."""
    listed = {(p.susp, p.src): p for p in pairs}
    rows = [(f, label(f, listed, read_text)) for f in log if f.verbatim < VERBATIM_JACCARD]
    rows = [(f, y) for f, y in rows if y != LEFT_OUT]
    width = len(FEATURES)
    return LabelledFragments(
        np.array([f.features for f, _ in rows], dtype=np.float64).reshape(-1, width),
        np.array([y for _, y in rows], dtype=np.int64),
        np.array([Path(f.deliverable).name for f, _ in rows], dtype=object),
        np.array([Path(f.source).name for f, _ in rows], dtype=object),
    )


def fit_scorer(data: LabelledFragments, metadata: dict[str, Any] | None = None) -> LogisticScorer:
    """A logistic regression over the fragments' features (standardised), thresholded at
    :data:`DECISION_THRESHOLD`. Plain maximum likelihood with a light L2 penalty: no class
    weights, so the probabilities stay calibrated to how often candidates are copies."""
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    if len(np.unique(data.labels)) < 2:
        raise ValueError("training needs both copies and non-copies")
    scaler = StandardScaler().fit(data.features)
    model = LogisticRegression(C=1.0, max_iter=2000).fit(scaler.transform(data.features), data.labels)
    return LogisticScorer(
        features=FEATURES, mean=scaler.mean_, scale=scaler.scale_, coef=model.coef_[0],
        intercept=float(model.intercept_[0]), threshold=DECISION_THRESHOLD,
        metadata={"trained": datetime.now(UTC).date().isoformat(), "scikit_learn": sklearn.__version__,
                  "samples": len(data), "copies": int(data.labels.sum()), **(metadata or {})},
    )
