"""Scores, severity and identity of findings."""

from __future__ import annotations

import hashlib
import math

import numpy as np

from leakwatch.config import DetectParams
from leakwatch.model import Severity


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact resemblance |A ∩ B| / |A ∪ B| of two arrays taken as sets."""
    sa, sb = np.unique(a), np.unique(b)
    if sa.size == 0 and sb.size == 0:
        return 0.0
    inter = np.intersect1d(sa, sb, assume_unique=True).size
    return inter / (sa.size + sb.size - inter)


def confidence(matched_words: int, resemblance: float, verified: bool) -> float:
    """How sure we are that a passage was copied, in [0, 1].

    A hand-set curve until a learned model replaces it: saturating in the number
    of matched words (20 words give 0.63, 60 give 0.95), scaled down when the two
    spans differ a lot, and a little lower when the source could not be re-read.
    """
    size = 1.0 - math.exp(-matched_words / 20.0)
    shape = 0.6 + 0.4 * max(0.0, min(1.0, resemblance))
    return round(size * shape * (1.0 if verified else 0.95), 4)


def exact_confidence(matched_words: int, verified: bool) -> float:
    """How sure we are that a verbatim passage was copied, in [0, 1].

    Independent texts do not share a run of 20 words or more (text many documents
    share is boilerplate, suppressed before this), so a verbatim passage is a copy
    all but surely: on the PAN training set under cross-validation every exact finding
    was real reuse. The curve only keeps the shortest runs, the ones quotations and
    stock phrases make, a little below (20 words 0.86, 30 words 0.95, 50 words 0.99),
    and a match only bounded by stored fingerprints (the source not re-read) lower.
    """
    return round((1.0 - math.exp(-matched_words / 10.0)) * (1.0 if verified else 0.95), 4)


def severity(matched_words: int, confidence: float, params: DetectParams, whole: bool = False) -> Severity:
    """How bad a finding is, from how sure it is and how much was taken, together.

    High: at least ``params.high_confidence`` sure (a calibrated probability: nine in
    ten such findings are real reuse) and at least ``high_words`` words, or a whole
    document. Medium: at least ``medium_words`` words, or a whole document found with
    less confidence. Low: the rest. A long passage the scorer is unsure of (0.59 for
    two pages on one subject) is medium at most, never high.
    """
    if confidence >= params.high_confidence and (whole or matched_words >= params.high_words):
        return Severity.HIGH
    if whole or matched_words >= params.medium_words:
        return Severity.MEDIUM
    return Severity.LOW


def finding_id(kind: str, doc_id: str, doc_version: int, source_start: int, source_end: int,
               deliverable_path: str) -> str:
    """Stable across runs, free of text: the same copy in the same file keeps its id
    when other parts of the deliverable change."""
    return stable_id(kind, doc_id, str(doc_version), str(source_start), str(source_end), deliverable_path)


def stable_id(kind: str, *parts: str) -> str:
    """A finding id from what identifies it (never its text): the same parts, the same id."""
    material = "\x00".join(["v1", kind, *parts])
    return "lw-" + hashlib.sha256(material.encode("utf-8", "surrogateescape")).hexdigest()[:20]
