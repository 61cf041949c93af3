"""Output formats, one module each; adding one is a module and a registry line."""

from __future__ import annotations

from leakwatch.report.base import Reporter
from leakwatch.report.csv import CsvReporter
from leakwatch.report.html import HtmlReporter
from leakwatch.report.json import JsonReporter
from leakwatch.report.jsonl import JsonlReporter
from leakwatch.report.sarif import SarifReporter
from leakwatch.report.text import TextReporter

# Text, JSON and HTML for people; JSON lines, CSV and SARIF for batch jobs and CI (they hold no
# text of any document). A format that needs the run's context says so (Reporter.for_run).
REPORTERS: dict[str, Reporter] = {r.format_name: r for r in (
    TextReporter(), JsonReporter(), HtmlReporter(), JsonlReporter(), CsvReporter(), SarifReporter())}

__all__ = ["REPORTERS", "Reporter"]
