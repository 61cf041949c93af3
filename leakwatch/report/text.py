"""Human-readable report for a terminal: one block per finding, then what was not scanned."""

from __future__ import annotations

from typing import TextIO

import click

from leakwatch.model import Finding, Severity
from leakwatch.report.base import Reporter, container_facts, ocr_lines, records_summary
from leakwatch.results import ScanReport, display_path


def _where(start: int, end: int, page: int | None) -> str:
    return f"chars {start}-{end}" + (f", page {page}" if page is not None else "")


def _details(f: Finding) -> list[str]:
    """What a third-party finding is: the licence and how it was told from its nearest
    variant, the notice's holder and years, the reference and its licence."""
    lines: list[str] = []
    lic = f.extra.get("licence")
    if lic:
        lines.append(f"       licence: {lic['spdx_id']} ({lic['name']}), {lic['coverage']:.0%} of its text present"
                     + (f"; same text as {', '.join(lic['same_text_as'])}" if lic.get("same_text_as") else ""))
        d = lic.get("distinguished_from")
        if d:
            lines.append(f"       told from {d['spdx_id']}: {d['only_this_present']} shingle(s) only in "
                         f"{lic['spdx_id']} present, {d['only_that_present']} only in {d['spdx_id']}, "
                         f"{d['coverage']:.0%} of {d['spdx_id']} present")
    notice = f.extra.get("notice")
    if notice:
        if notice.get("expression"):
            lines.append(f"       licence expression: {notice['expression']}")
        else:
            years = ", ".join(str(y) for y in notice.get("years", []))
            lines.append(f"       holder: {notice.get('holder') or '(none)'}" + (f"; years: {years}" if years else ""))
    parts = f.extra.get("parts")
    if parts:
        lines.append(f"       summary of {len(parts)} part(s): "
                     + ", ".join(f"{p['start']}-{p['end']} <- {p['source_start']}-{p['source_end']}" for p in parts))
    ref = f.extra.get("reference")
    if ref:
        lines.append(f"       reference: {ref['name']}" + (f", licence {ref['licence']}" if ref.get("licence") else ""))
    return lines


# Severity colours on a terminal (click.style names); none with NO_COLOR or when piped.
_COLOURS = {"HIGH": "red", "MEDIUM": "yellow", "LOW": "cyan"}


def _finding_block(f: Finding, color: bool = False) -> list[str]:
    severity = f"{str(f.severity).upper():6}"
    if color:
        severity = click.style(severity, fg=_COLOURS.get(severity.strip()), bold=f.severity == Severity.HIGH)
    head = f"{severity} {f.kind}  {display_path(f.deliverable_path)}"
    method = f.extra.get("method")
    also = f.extra.get("also_in", [])
    where = f.deliverable_span
    lines = [head, f"       where:  {_where(where.start, where.end, where.page)}"]
    lines += [f"       {name}: {display_path(value)}" for name, value in container_facts(f)]
    lines.extend(f"       image:  {line}" for line in ocr_lines(f))
    if f.source is not None:
        span = f.source.span
        lines.append(f"       source: {display_path(f.source.path)} [{f.source.label}]"
                     + (f" {_where(span.start, span.end, span.page)}" if span else "") + f" ({f.source.doc_id})")
    lines.extend(_details(f))
    s = f.scores
    records = records_summary(f)
    if records is not None:
        lines.append(f"       {records}; confidence {s.confidence:.2f}" if s is not None else f"       {records}")
    elif s is not None:
        lines.append(
            f"       {s.matched_words} words matched, resemblance {s.resemblance:.2f}, "
            f"{s.containment_deliverable:.1%} of the deliverable, {s.containment_source:.1%} of the source, "
            f"confidence {s.confidence:.2f}" + (f", {method} match" if method else "")
            + ("" if f.verified or not f.kind.startswith("confidential") else " (fingerprints only)")
        )
    if also:
        lines.append("       also in: " + ", ".join(
            f"{display_path(a['path'])} chars {a['start']}-{a['end']}" for a in also))
    return [*lines, f"       id: {f.id}"]


def finding_text(f: Finding, color: bool = False) -> str:
    """One finding as the text report shows it (a block and a blank line), for a scan that
    prints each file's findings as it finishes."""
    return "\n".join([*_finding_block(f, color), ""]) + "\n"


class TextReporter(Reporter):
    format_name = "text"

    def __init__(self, color: bool = False) -> None:
        self.color = color

    def write(self, report: ScanReport, out: TextIO) -> None:
        out.write("".join(finding_text(f, self.color) for f in report.findings))
        self.write_tail(report, out)

    def write_tail(self, report: ScanReport, out: TextIO) -> None:
        """What follows the findings: the files not scanned, and the verdict."""
        lines: list[str] = []
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
        ) + (f" ({len(report.suppressed)} more suppressed by a baseline or ignore file)" if report.suppressed else "")
        if report.interrupted is not None:
            lines.append(f"INTERRUPTED ({summary['interrupted']}): this report is incomplete.")
        lines.append(
            f"Scanned {summary['files_scanned']} file(s) against {summary['index'].get('documents', 0)} "
            f"indexed document(s) in {summary['duration_s']:.2f}s: {verdict}"
            + (f"; {len(report.errors)} file(s) could not be scanned." if report.errors else ".")
        )
        out.write("\n".join(lines) + "\n")
