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


def severity(kind: str, matched_words: int, params: DetectParams) -> Severity:
    if kind == "confidential-near-duplicate" or matched_words >= params.high_words:
        return Severity.HIGH
    if matched_words >= params.medium_words:
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
