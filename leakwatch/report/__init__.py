"""Output formats, one module each; adding one is a module and a registry line."""

from __future__ import annotations

from leakwatch.report.base import Reporter
from leakwatch.report.csv import CsvReporter
from leakwatch.report.html import HtmlReporter
from leakwatch.report.json import JsonReporter
from leakwatch.report.jsonl import JsonlReporter
from leakwatch.report.sarif import SarifReporter
from leakwatch.report.text import TextReporter

REPORTERS: dict[str, Reporter] = {r.format_name: r for r in (TextReporter(), JsonReporter(), HtmlReporter())}
# Machine-readable formats for batch jobs and CI (they hold no text of any document).
for _reporter in (JsonlReporter(), CsvReporter(), SarifReporter()):
    REPORTERS[_reporter.format_name] = _reporter

__all__ = ["REPORTERS", "Reporter"]
