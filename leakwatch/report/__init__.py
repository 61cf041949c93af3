"""Output formats, one module each; adding one is a module and a registry line."""

from __future__ import annotations

from leakwatch.report.base import Reporter
from leakwatch.report.json import JsonReporter
from leakwatch.report.text import TextReporter

REPORTERS: dict[str, Reporter] = {r.format_name: r for r in (TextReporter(), JsonReporter())}

__all__ = ["REPORTERS", "Reporter"]
