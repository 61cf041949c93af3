"""The report interface: one class per output format, registered explicitly."""

from __future__ import annotations

import abc
import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TextIO

from leakwatch.model import Finding, ReadAgain
from leakwatch.results import ScanReport

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


@dataclass(frozen=True)
class ReportContext:
    """What a run offers the reporter it writes with: ``read_again`` re-reads a deliverable
    in the isolated extraction worker (None: not offered, e.g. a redacted report); ``roots``
    are the paths the run was given (they name the vendors)."""

    read_again: ReadAgain | None = None
    roots: Sequence[str] = ()


class Reporter(abc.ABC):
    """Writes a :class:`ScanReport` in one format."""

    format_name: ClassVar[str]
    # True for a format that quotes deliverables: the caller then starts an extraction
    # worker and offers its ``read_again`` (see :meth:`for_run`).
    reads_deliverables: ClassVar[bool] = False

    def for_run(self, context: ReportContext) -> Reporter:
        """The reporter to write this run's report with (formats that need no context
        are their own)."""
        return self

    @abc.abstractmethod
    def write(self, report: ScanReport, out: TextIO) -> None:
        """Write the whole report to ``out``."""


def records_summary(f: Finding) -> str | None:
    """A ``confidential-records`` finding in the table's own terms (rows and cells, not
    words): "4 of 2,000 rows of clients.csv; 16 cells (Name, Company, Email, Account)".
    None for other findings."""
    rec = f.extra.get("records")
    if not isinstance(rec, dict) or f.source is None:
        return None
    table = os.path.basename(f.source.path) + (f" [{rec['sheet']}]" if rec.get("sheet") else "")
    columns = rec.get("columns") or []
    return (f"{rec.get('rows_matched', 0):,} of {rec.get('rows_registered', 0):,} rows of {table}; "
            f"{rec.get('cells_matched', 0):,} cells" + (f" ({', '.join(map(str, columns))})" if columns else ""))


def write_private(path: Path, write: Callable[[TextIO], None]) -> None:
    """Write a report file readable by its owner only (0600: reports name confidential
    documents, and the HTML report quotes their text), whole or not at all: it is
    written beside ``path`` and renamed over it when complete, so an interrupted run
    (Ctrl-C, SIGTERM, a full disk) never leaves a truncated report that looks whole.

    Raises:
        OSError: the file cannot be written.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def ocr_lines(f: Finding) -> list[str]:
    """Where on an image the passage was read (OCR): the image and the box of its words."""
    lines = []
    for region in f.extra.get("ocr") or []:
        box = region.get("bbox")
        width, height = region.get("image_size") or (0, 0)
        where = f", pixels {box[0]},{box[1]}-{box[2]},{box[3]}" if box else ""
        lines.append(f"read by OCR from {region.get('image')}{where} of {width}x{height}")
    return lines
