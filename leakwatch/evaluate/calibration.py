"""Is ``confidence`` a probability? Reliability of findings' confidence against what they are.

A finding counts as real reuse when it detects an annotated case of its own pair (both
spans overlap it, PAN's test) or when its two spans share at least a quarter of the
smaller one's word 3-grams (real shared wording, annotated or not). Anything else is
not: a finding on reused text that names a source the text did not come from is a
false alarm to the user too. Binned by confidence, the share of real findings should
match the confidence; the Brier score sums it up (0 is perfect; always answering the
base rate p scores p(1 - p)).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leakwatch.evaluate.measures import Passage, detects
from leakwatch.evaluate.unbacked import MIN_SHARED, shared_ngram_share
from leakwatch.model import Finding, matched_parts

BINS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)


@dataclass
class Reliability:
    """Confidence against outcome for a run's confidential findings."""

    confidences: list[float] = field(default_factory=list)
    real: list[bool] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)

    def add(self, confidence: float, real: bool, method: str) -> None:
        self.confidences.append(confidence)
        self.real.append(real)
        self.methods.append(method)

    def brier(self, method: str | None = None) -> float | None:
        pairs = [(c, r) for c, r, m in zip(self.confidences, self.real, self.methods, strict=True)
                 if method is None or m == method]
        return sum((c - r) ** 2 for c, r in pairs) / len(pairs) if pairs else None

    def table(self) -> list[dict[str, Any]]:
        rows = []
        for lo, hi in itertools.pairwise(BINS):
            inside = [(c, r) for c, r in zip(self.confidences, self.real, strict=True)
                      if lo <= c < hi or (hi == BINS[-1] and c == hi)]
            if inside:
                rows.append({"confidence": f"{lo:.2f}-{hi:.2f}", "findings": len(inside),
                             "mean_confidence": round(sum(c for c, _ in inside) / len(inside), 4),
                             "real": round(sum(r for _, r in inside) / len(inside), 4)})
        return rows

    def to_dict(self) -> dict[str, Any]:
        methods = sorted(set(self.methods))
        brier = self.brier()
        return {"findings": len(self.real), "real": sum(self.real),
                "brier": round(brier, 4) if brier is not None else None,
                "brier_by_method": {m: round(b, 4) for m in methods if (b := self.brier(m)) is not None},
                "bins": self.table()}


def reliability(findings: Iterable[Finding], cases: dict[tuple[str, str], list[Passage]],
                read_text: Callable[[str], str]) -> Reliability:
    """The reliability of every confidential finding's confidence (see the module docstring)."""
    out = Reliability()
    for f in findings:
        if not f.kind.startswith("confidential") or f.source is None or f.source.span is None:
            continue
        source, s_span, scores = matched_parts(f)
        passage = Passage(Path(f.deliverable_path).name, Path(source.path).name, f.deliverable_span.start,
                          f.deliverable_span.end, s_span.start, s_span.end)
        real = any(detects(c, passage) for c in cases.get((passage.susp, passage.src), []))
        if not real:
            d_text = read_text(f.deliverable_path)[f.deliverable_span.start : f.deliverable_span.end]
            real = shared_ngram_share(d_text, read_text(source.path)[s_span.start : s_span.end]) >= MIN_SHARED
        out.add(scores.confidence, real, str(f.extra.get("method", "exact")))
    return out


def reliability_lines(report: dict[str, Any]) -> list[str]:
    """The text report's lines for :meth:`Reliability.to_dict` output."""
    lines = [f"calibration: Brier score {report['brier']} over {report['findings']} findings "
             f"({report['real']} real); by method "
             + ", ".join(f"{m} {b}" for m, b in report["brier_by_method"].items())]
    lines += [f"  confidence {b['confidence']}: {b['findings']:5} findings, mean {b['mean_confidence']:.3f}, "
              f"real {b['real']:.3f}" for b in report["bins"]]
    return lines
