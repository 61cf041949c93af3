"""PAN's character-level detection measures (Potthast et al., COLING 2010).

A case (annotated reuse) and a detection (a finding) are each a pair of
character ranges, one in the suspicious document and one in the source. With S
the cases and R the detections of a document pair set::

    rec(S, R)  = 1/|S| * sum_s |union_{r in R} (s ⊓ r)| / |s|
    prec(S, R) = 1/|R| * sum_r |union_{s in S} (s ⊓ r)| / |r|
    gran(S, R) = 1/|S_R| * sum_{s in S_R} |R_s|          (S_R: detected cases)
    plagdet    = F1 / log2(1 + gran)

where s ⊓ r is the set of characters the two share on both sides when r
detects s (they overlap in both documents, for the same document pair), and
|s| counts the characters of both ranges.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Passage:
    """A case or a detection: a span in a suspicious document and one in a source."""

    susp: str
    src: str
    this_start: int
    this_end: int
    src_start: int
    src_end: int

    @property
    def size(self) -> int:
        return (self.this_end - self.this_start) + (self.src_end - self.src_start)


def _overlap(a0: int, a1: int, b0: int, b1: int) -> tuple[int, int] | None:
    lo, hi = max(a0, b0), min(a1, b1)
    return (lo, hi) if lo < hi else None


def detects(case: Passage, det: Passage) -> bool:
    return (
        case.susp == det.susp and case.src == det.src
        and _overlap(case.this_start, case.this_end, det.this_start, det.this_end) is not None
        and _overlap(case.src_start, case.src_end, det.src_start, det.src_end) is not None
    )


def union_length(ranges: Sequence[tuple[int, int]]) -> int:
    """Length covered by the union of half-open ``ranges`` (character spans)."""
    total, end = 0, -1
    for lo, hi in sorted(ranges):
        if hi <= end:
            continue
        total += hi - max(lo, end)
        end = hi
    return total


def _shared(target: Passage, others: Sequence[Passage]) -> int:
    """Characters of ``target`` (both sides) covered by the passages that detect / are detected by it."""
    this_ranges, src_ranges = [], []
    for o in others:
        t = _overlap(target.this_start, target.this_end, o.this_start, o.this_end)
        s = _overlap(target.src_start, target.src_end, o.src_start, o.src_end)
        if t and s:
            this_ranges.append(t)
            src_ranges.append(s)
    return union_length(this_ranges) + union_length(src_ranges)


@dataclass(frozen=True)
class PanScores:
    precision: float
    recall: float
    granularity: float
    plagdet: float
    cases: int
    detections: int
    detected_cases: int

    def to_dict(self) -> dict[str, float | int]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def pan_scores(cases: Sequence[Passage], detections: Sequence[Passage]) -> PanScores:
    """Precision, recall, granularity and plagdet of ``detections`` against ``cases``.

    Conventions at the edges follow PAN's evaluator: with no cases recall is 1
    when there are no detections either; with no detections precision is 1 when
    there are no cases.
    """
    by_pair: dict[tuple[str, str], list[Passage]] = {}
    for d in detections:
        by_pair.setdefault((d.susp, d.src), []).append(d)
    cases_by_pair: dict[tuple[str, str], list[Passage]] = {}
    for c in cases:
        cases_by_pair.setdefault((c.susp, c.src), []).append(c)

    recall_terms = [_shared(c, by_pair.get((c.susp, c.src), [])) / max(1, c.size) for c in cases]
    precision_terms = [_shared(d, cases_by_pair.get((d.susp, d.src), [])) / max(1, d.size) for d in detections]
    detected = [sum(detects(c, d) for d in by_pair.get((c.susp, c.src), [])) for c in cases]
    detected = [n for n in detected if n > 0]

    recall = sum(recall_terms) / len(recall_terms) if cases else (1.0 if not detections else 0.0)
    precision = sum(precision_terms) / len(precision_terms) if detections else (1.0 if not cases else 0.0)
    granularity = sum(detected) / len(detected) if detected else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PanScores(
        precision=precision,
        recall=recall,
        granularity=granularity,
        plagdet=f1 / math.log2(1 + granularity),
        cases=len(cases),
        detections=len(detections),
        detected_cases=len(detected),
    )
