"""Index-wide precision: findings that point at text the deliverable wrote itself.

PAN scores only the pairs it lists. A user scans with every source registered and
no pair given, so a finding may name any source. The training corpus keeps, in
``upstream-annotations/``, the annotation of every pair of the upstream corpus whose
suspicious document is in it: together they mark every passage of a suspicious
document that reuses some source, whichever. A confidential finding is
**unbacked** when its deliverable span overlaps none of those passages *and* its
two spans share less than a quarter of the smaller span's word 3-grams: it points
at the document's own text, and shares no real wording with the source it names.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from leakwatch.fingerprint import shingle_hashes
from leakwatch.model import Finding, matched_parts
from leakwatch.text import tokenize

UPSTREAM = "upstream-annotations"
# Word n-grams compared, and the share of the smaller span's that makes two spans share wording.
NGRAM = 3
MIN_SHARED = 0.25


def read_upstream_reuse(folder: Path) -> dict[str, list[tuple[int, int]]] | None:
    """Every annotated reused passage of each suspicious document (character ranges), from
    ``folder/*/*.xml`` (a corpus's ``upstream-annotations/``); None when there is no such folder."""
    if not folder.is_dir():
        return None
    reuse: dict[str, list[tuple[int, int]]] = {}
    for xml_path in sorted(folder.glob("*/*.xml")):
        document = ET.parse(xml_path).getroot()
        susp = document.get("reference") or xml_path.name.split("-source-")[0] + ".txt"
        spans = reuse.setdefault(susp, [])
        for e in document:
            if e.get("name") == "plagiarism":
                start = int(e.get("this_offset", 0))
                spans.append((start, start + int(e.get("this_length", 0))))
    return reuse


def shared_ngram_share(a: str, b: str, n: int = NGRAM) -> float:
    """Share of the smaller text's distinct word n-grams that the other text also has."""
    ga = np.unique(shingle_hashes(tokenize(a).ids, n))
    gb = np.unique(shingle_hashes(tokenize(b).ids, n))
    smaller = min(ga.size, gb.size)
    if smaller == 0:
        return 0.0
    return np.intersect1d(ga, gb, assume_unique=True).size / smaller


def overlaps_any(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in spans)


@dataclass
class UnbackedReport:
    """Unbacked confidential findings among all of a run's, with their breakdown."""

    findings: int = 0
    unbacked: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    by_severity: Counter[str] = field(default_factory=Counter)
    # Per method: how many findings it made in all (the rate's denominator per method).
    findings_by_method: Counter[str] = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.unbacked / self.findings if self.findings else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"findings": self.findings, "unbacked": self.unbacked, "rate": round(self.rate, 4),
                "by_method": {m: {"unbacked": self.by_method[m], "findings": n}
                              for m, n in sorted(self.findings_by_method.items())},
                "by_severity": dict(sorted(self.by_severity.items())),
                "examples": self.examples}


def judge_findings(findings: Iterable[Finding], reuse: dict[str, list[tuple[int, int]]],
                   read_text: Callable[[str], str], max_examples: int = 20) -> UnbackedReport:
    """Count the unbacked among the confidential findings (see the module docstring).

    ``read_text`` gives a document's extracted text from its path (the offsets index it).
    """
    report = UnbackedReport()
    for f in findings:
        if not f.kind.startswith("confidential") or f.source is None or f.source.span is None:
            continue
        source, s_span, scores = matched_parts(f)
        method = str(f.extra.get("method", "exact"))
        report.findings += 1
        report.findings_by_method[method] += 1
        if not is_unbacked(f, reuse.get(Path(f.deliverable_path).name, []), read_text):
            continue
        report.unbacked += 1
        report.by_method[method] += 1
        report.by_severity[str(f.severity)] += 1
        if len(report.examples) < max_examples:
            report.examples.append({
                "deliverable": Path(f.deliverable_path).name, "start": f.deliverable_span.start,
                "end": f.deliverable_span.end, "source": Path(source.path).name, "source_start": s_span.start,
                "source_end": s_span.end, "method": method, "severity": str(f.severity),
                "confidence": scores.confidence, "resemblance": scores.resemblance,
                "matched_words": scores.matched_words})
    return report


def is_unbacked(f: Finding, reused: list[tuple[int, int]], read_text: Callable[[str], str]) -> bool:
    """True for a finding on text annotated as no reuse that shares little wording with its source."""
    source, s_span, _ = matched_parts(f)
    d = f.deliverable_span
    if overlaps_any(d.start, d.end, reused):
        return False
    d_text = read_text(f.deliverable_path)[d.start : d.end]
    s_text = read_text(source.path)[s_span.start : s_span.end]
    return shared_ngram_share(d_text, s_text) < MIN_SHARED


def unbacked_lines(report: dict[str, Any]) -> list[str]:
    """The text report's lines for :meth:`UnbackedReport.to_dict` output."""
    by_method = ", ".join(f"{m} {v['unbacked']}/{v['findings']}" for m, v in report["by_method"].items())
    by_severity = ", ".join(f"{s} {n}" for s, n in report["by_severity"].items()) or "none"
    return [f"unbacked findings: {report['unbacked']} of {report['findings']} confidential findings "
            f"({report['rate']:.1%}); by method {by_method}; by severity {by_severity}"]
