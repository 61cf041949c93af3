"""Human-readable report for a terminal: one block per finding, then what was not scanned."""

from __future__ import annotations

from typing import TextIO

from leakwatch.model import Finding
from leakwatch.pipeline import ScanReport, display_path
from leakwatch.report.base import Reporter


def _where(start: int, end: int, page: int | None) -> str:
    return f"chars {start}-{end}" + (f", page {page}" if page is not None else "")


def _finding_block(f: Finding) -> list[str]:
    s = f.scores
    head = f"{str(f.severity).upper():6} {f.kind}  {display_path(f.deliverable_path)}"
    method = f.extra.get("method")
    also = f.extra.get("also_in", [])
    lines = [
        head,
        f"       where:  {_where(f.deliverable_span.start, f.deliverable_span.end, f.deliverable_span.page)}",
        f"       source: {display_path(f.source.path)} [{f.source.label}] "
        f"{_where(f.source.span.start, f.source.span.end, f.source.span.page)} ({f.source.doc_id})",
        f"       {s.matched_words} words matched, resemblance {s.resemblance:.2f}, "
        f"{s.containment_deliverable:.1%} of the deliverable, {s.containment_source:.1%} of the source, "
        f"confidence {s.confidence:.2f}" + (f", {method} match" if method else "")
        + ("" if f.verified else " (fingerprints only)"),
    ]
    if also:
        lines.append("       also in: " + ", ".join(
            f"{display_path(a['path'])} chars {a['start']}-{a['end']}" for a in also))
    return [*lines, f"       id: {f.id}"]


class TextReporter(Reporter):
    format_name = "text"

    def write(self, report: ScanReport, out: TextIO) -> None:
        lines: list[str] = []
        for f in report.findings:
            lines.extend([*_finding_block(f), ""])
        if report.errors:
            lines.append("Not scanned (these files are NOT known to be clean):")
            lines.extend(
                f"  {e.status:12} {display_path(e.path)}: {e.message}" for e in report.errors
            )
            lines.append("")
        summary = report.summary()
        verdict = (
            f"{summary['findings']} finding(s) in {summary['files_with_findings']} file(s)"
            if report.findings else "no findings"
        )
        lines.append(
            f"Scanned {summary['files_scanned']} file(s) against {summary['index'].get('documents', 0)} "
            f"indexed document(s) in {summary['duration_s']:.2f}s: {verdict}"
            + (f"; {len(report.errors)} file(s) could not be scanned." if report.errors else ".")
        )
        out.write("\n".join(lines) + "\n")
