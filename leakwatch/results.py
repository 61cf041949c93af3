"""What a scan gives back, the results every front end and report works with: one file's
scan (:class:`FileScan`), a run's report (:class:`ScanReport`, with the one exit-code rule)
and how a path is shown. Reports import these and the model, nothing of the scanning.
"""

from __future__ import annotations

import dataclasses
import os
import signal
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import leakwatch
from leakwatch.model import MEMBER_SEPARATOR, FileError, Finding, Severity, SuppressedFinding

# Exit codes (DESIGN.md): computed here, in one place.
EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3


def display_path(path: Path | str) -> str:
    """A path as text that can always be printed (undecodable bytes escaped)."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def absolute_error(error: FileError) -> FileError:
    """The error naming its file by absolute path, as findings do (one rule for every
    report: a path relative to whatever the scan was given is ambiguous in a nightly
    job's record). Links are not resolved: an error names the path as listed."""
    if os.path.isabs(error.path):
        return error
    # Only the file's own path is made absolute; a member's chain stays as written.
    file_path, sep, chain = error.path.partition(MEMBER_SEPARATOR)
    container = error.container
    if container is not None and not os.path.isabs(container):
        container = os.path.abspath(container)
    return dataclasses.replace(error, path=os.path.abspath(file_path) + sep + chain, container=container)


@dataclass(frozen=True)
class FileScan:
    """One file's scan: its findings (in reading order), or why it could not be scanned.

    For a container file (archive, e-mail), ``findings`` are its members' (each naming
    its member), ``members`` counts the members scanned and ``member_errors`` lists the
    members (or nested containers) that could not be: a file with member errors is not
    clean. ``sha256`` is the file's own (for a member finding, the member's sha256 is in
    the finding).
    """

    path: str
    findings: list[Finding]
    error: FileError | None = None
    sha256: str | None = None
    member_errors: tuple[FileError, ...] = ()
    members: int = 0

    @property
    def complete(self) -> bool:
        return self.error is None and not self.member_errors

    def to_dict(self) -> dict[str, Any]:
        """As plain data (JSON): what a Dask worker sends back, what the scan cache keeps."""
        return {"path": self.path, "findings": [f.to_dict() for f in self.findings],
                "error": None if self.error is None else self.error.to_dict(), "sha256": self.sha256,
                "member_errors": [e.to_dict() for e in self.member_errors], "members": self.members}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileScan:
        error = data.get("error")
        return cls(str(data["path"]), [Finding.from_dict(f) for f in data["findings"]],
                   None if error is None else FileError.from_dict(error), data.get("sha256"),
                   tuple(FileError.from_dict(e) for e in data.get("member_errors", ())), int(data.get("members", 0)))


@dataclass
class ScanReport:
    """Everything a scan found, and everything it could not look at."""

    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    files_scanned: int = 0
    # Members of archives and e-mails scanned (each a deliverable of its own).
    members_scanned: int = 0
    # Files left out because the scan cache shows them unchanged (``--changed-only``).
    files_unchanged: int = 0
    duration_s: float = 0.0
    index: dict[str, Any] = field(default_factory=dict)
    # Findings a baseline or an ignore file keeps out of ``findings`` and the exit code.
    suppressed: list[SuppressedFinding] = field(default_factory=list)
    # The settings the scan ran with (:func:`leakwatch.config.config_identity`), and when.
    config: dict[str, Any] = field(default_factory=dict)
    started_at: str | None = None
    # The signal that stopped the run before every file was scanned (SIGINT, SIGTERM), or
    # None. The files it left are in ``errors`` with status ``interrupted``.
    interrupted: int | None = None
    # An interrupted run lists what it had not reached for a few seconds at most: False
    # when that listing was cut short too (more files may be missing from the errors).
    listing_complete: bool = True
    # Findings keep locations, ids and scores only, and no report quotes text (``--redact``).
    redacted: bool = False

    @property
    def complete(self) -> bool:
        return not self.errors and self.interrupted is None

    def add(self, scanned: FileScan) -> None:
        if scanned.error is not None:
            self.errors.append(absolute_error(scanned.error))
        else:
            self.findings.extend(scanned.findings)
            self.files_scanned += 1
            self.members_scanned += scanned.members
        # Members of a container that could not be read: the file is not clean either.
        self.errors.extend(absolute_error(e) for e in scanned.member_errors)

    def exit_code(self, fail_on: Severity) -> int:
        """128 + the signal for an interrupted run (130, 143: it answers nothing), else 1
        for findings at or above ``fail_on`` (this wins: a leak is the news), else 3 when
        any file could not be scanned, else 0."""
        if self.interrupted is not None:
            return 128 + self.interrupted
        if any(f.severity >= fail_on for f in self.findings):
            return EXIT_FINDINGS
        if self.errors:
            return EXIT_INCOMPLETE
        return EXIT_CLEAN

    def summary(self) -> dict[str, Any]:
        return {
            "files_scanned": self.files_scanned,
            "members_scanned": self.members_scanned,
            "files_with_findings": len({f.deliverable_path for f in self.findings}),
            "files_not_scanned": len(self.errors),
            "files_unchanged": self.files_unchanged,
            "findings": len(self.findings),
            "suppressed": len(self.suppressed),
            "by_kind": dict(sorted(Counter(f.kind for f in self.findings).items())),
            "by_severity": dict(sorted(Counter(str(f.severity) for f in self.findings).items())),
            "complete": self.complete,
            "redacted": self.redacted,
            "duration_s": round(self.duration_s, 3),
            "index": self.index,
            **({"interrupted": signal.Signals(self.interrupted).name,
                "listing_complete": self.listing_complete} if self.interrupted is not None else {}),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "leakwatch": leakwatch.__version__,
            "findings": [f.to_dict() for f in self.findings],
            "errors": [e.to_dict() for e in self.errors],
            "summary": self.summary(),
        }
