"""JSON report: the finding contract of DESIGN.md. Holds no text of any document."""

from __future__ import annotations

import json
from typing import TextIO

from leakwatch.report.base import Reporter
from leakwatch.results import ScanReport


class JsonReporter(Reporter):
    format_name = "json"

    def write(self, report: ScanReport, out: TextIO) -> None:
        json.dump(report.to_dict(), out, indent=2, ensure_ascii=True)
        out.write("\n")
