"""The report interface: one class per output format, registered explicitly."""

from __future__ import annotations

import abc
from typing import ClassVar, TextIO

from leakwatch.pipeline import ScanReport


class Reporter(abc.ABC):
    """Writes a :class:`ScanReport` in one format."""

    format_name: ClassVar[str]

    @abc.abstractmethod
    def write(self, report: ScanReport, out: TextIO) -> None:
        """Write the whole report to ``out``."""
