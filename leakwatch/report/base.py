"""The report interface: one class per output format, registered explicitly."""

from __future__ import annotations

import abc
from typing import ClassVar, TextIO

from leakwatch.model import Finding
from leakwatch.pipeline import ScanReport

# The e-mail headers a finding on a member of an e-mail shows, in this order.
EMAIL_FIELDS = ("from", "to", "cc", "subject", "date", "message_id")


def container_facts(f: Finding) -> list[tuple[str, str]]:
    """What a member's finding says about where the member is (plain text, in report
    order): the file holding it and its sha256, and the headers of the e-mail holding it.
    Empty for a file that is not in a container."""
    facts: list[tuple[str, str]] = []
    container = f.extra.get("container")
    if isinstance(container, dict):
        sha = container.get("sha256")
        facts.append(("in file", f"{container.get('path')}" + (f" (sha256 {sha})" if sha else "")))
    mail = f.extra.get("email")
    if isinstance(mail, dict):
        facts += [(f"e-mail {key.replace('_', '-')}", str(mail[key])) for key in EMAIL_FIELDS if mail.get(key)]
    return facts


class Reporter(abc.ABC):
    """Writes a :class:`ScanReport` in one format."""

    format_name: ClassVar[str]

    @abc.abstractmethod
    def write(self, report: ScanReport, out: TextIO) -> None:
        """Write the whole report to ``out``."""
