"""SARIF 2.1.0 report, for code-scanning dashboards and CI. Holds no text of any document.

- one rule per finding kind in ``tool.driver.rules``; ``ruleId`` is the kind
  (``confidential-excerpt`` ...), stable across versions;
- one result per finding, ``level`` from the severity (high: error, medium: warning, low:
  note), the finding id as ``partialFingerprints["leakwatchFindingId/v1"]``, the deliverable
  as ``artifactLocation.uri`` (a ``file:`` URI) and its span as ``region.charOffset`` /
  ``charLength``: **Unicode code points into the text leakwatch extracted from the file**
  (the decoded file itself for plain-text formats; for PDF, DOCX, PPTX and XLSX the extracted
  text, not the file's bytes), said in each rule's help and in the region's properties;
  the source document is a related location; the finding's other fields (scores, source,
  page, sha256) are in ``properties``;
- findings a baseline or an ignore file accepted are results with ``suppressions``
  (``kind: external``, ``status: accepted``, the justification);
- files that could not be scanned are ``toolExecutionNotifications`` of the invocation, level
  ``error``, with the file's status as descriptor id; ``executionSuccessful`` is false when
  any file could not be scanned;
- a member of an archive or an e-mail (``delivery.zip!/inner.tar.gz!/x.txt``) is a nested
  artifact: ``run.artifacts`` lists the file (a ``file:`` URI) and each member under its
  container (``parentIndex``, its name as a URI relative to the container,
  ``/inner.tar.gz``), and the result's or notification's ``artifactLocation`` names the
  innermost member by ``index`` (and its relative ``uri``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from typing import Any, TextIO
from urllib.parse import quote

import leakwatch
from leakwatch.detect.registry import finding_kinds
from leakwatch.model import FileError, Finding, FindingKind, Severity, Status, Suppression
from leakwatch.report.base import Reporter
from leakwatch.results import ScanReport

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT_KEY = "leakwatchFindingId/v1"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

OFFSETS_NOTE = ("Offsets: region.charOffset and charLength count Unicode code points into the text leakwatch "
                "extracted from the file, end exclusive. For plain-text formats (text, Markdown, CSV, JSON, "
                "source code, HTML and XML) that text is the decoded file, so the offsets index the file; for "
                "PDF, DOCX, PPTX and XLSX they index the extracted text, not the file's bytes (the page is in "
                "the result's properties).")

_LEVELS = {Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note"}

_STATUS_TEXT = {
    Status.ENCRYPTED: "The file is encrypted: it was not scanned.",
    Status.TOO_LARGE: "The file exceeds a configured size limit: it was not scanned.",
    Status.TIMEOUT: "Extracting the file's text ran over the time limit: it was not scanned.",
    Status.MEMORY: "Extracting the file's text ran over the memory limit: it was not scanned.",
    Status.UNREADABLE: "The file could not be read: it was not scanned.",
    Status.VANISHED: "The file disappeared during the scan: it was not scanned.",
    Status.PARSE_ERROR: "The file could not be parsed: it was not scanned.",
    Status.UNSUPPORTED: "The file's format is not supported or it holds no text: it was not scanned.",
    Status.INTERRUPTED: "The run was interrupted before the file was scanned: it was not scanned.",
}


def artifact_uri(path: str) -> str:
    """A ``file:`` URI for a path as reports print it (made absolute against the working
    directory), or a URL (a licence's SPDX page) unchanged."""
    if _URL.match(path):
        return path
    # Errors carry the path as walked (relative to the working directory when given so);
    # SARIF consumers resolve a relative URI against a base the report does not name.
    return "file://" + quote(os.path.abspath(path), safe="/")


def _rule(kind: str, declared: FindingKind | None) -> dict[str, Any]:
    # A kind no detector declares (a report from a newer version, read back) still gets a rule.
    declared = declared or FindingKind(kind, "".join(w.capitalize() for w in kind.split("-")), f"A {kind} finding",
                                       f"A {kind} finding.", Severity.MEDIUM)
    return {
        "id": kind, "name": declared.name,
        "shortDescription": {"text": declared.title},
        "fullDescription": {"text": declared.description},
        "help": {"text": f"{declared.description} {OFFSETS_NOTE}"},
        "defaultConfiguration": {"level": _LEVELS[declared.default_severity]},
        "properties": {"offsets": "unicode code points into the extracted text", "tags": ["leakwatch", kind]},
    }


def _message(f: Finding) -> str:
    where = f"characters {f.deliverable_span.start}-{f.deliverable_span.end}" + (
        f", page {f.deliverable_span.page}" if f.deliverable_span.page is not None else "")
    what = f"{f.kind} ({f.severity}) at {where}"
    if f.source is not None:
        what += f": from {f.source.doc_id} [{f.source.label}]"
    if f.scores is not None:
        what += (f", {f.scores.matched_words} words matched, resemblance {f.scores.resemblance:.2f}, "
                 f"confidence {f.scores.confidence:.2f}")
    return what + f". Finding id {f.id}."


def _region(start: int, end: int) -> dict[str, Any]:
    return {"charOffset": start, "charLength": max(0, end - start),
            "properties": {"offsetUnit": "unicodeCodePoints", "offsetsInto": "extracted-text"}}


def _suppression(s: Suppression) -> dict[str, Any]:
    props: dict[str, Any] = {"origin": s.origin}
    for key, value in (("file", s.file), ("acceptedBy", s.accepted_by), ("acceptedAt", s.accepted_at)):
        if value is not None:
            props[key] = value
    return {"kind": "external", "status": "accepted", "justification": s.justification, "properties": props}


class _Artifacts:
    """``run.artifacts``: the files holding members, and their members, nested."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self._index: dict[tuple[str, ...], int] = {}

    def _add(self, key: tuple[str, ...], uri: str, parent: int | None) -> int:
        if key not in self._index:
            item: dict[str, Any] = {"location": {"uri": uri}}
            if parent is not None:
                item["parentIndex"] = parent
            self._index[key] = len(self.items)
            self.items.append(item)
        return self._index[key]

    def location(self, path: str, container: str | None, members: Sequence[str]) -> dict[str, Any]:
        """The ``artifactLocation`` of a file, or of a member (nested artifacts)."""
        if container is None or not members:
            return {"uri": artifact_uri(path)}
        index = self._add((container,), artifact_uri(container), None)
        for depth in range(len(members)):
            index = self._add((container, *members[: depth + 1]), _member_uri(members[depth]), index)
        return {"uri": _member_uri(members[-1]), "index": index}


def _member_uri(name: str) -> str:
    """A member's name as a URI relative to its container (SARIF's nested artifacts)."""
    return "/" + quote(name, safe="/")


def _member_of(f: Finding) -> tuple[str | None, list[str]]:
    container = f.extra.get("container")
    if not isinstance(container, dict):
        return None, []
    return container.get("path"), [str(m) for m in container.get("members", [])]


def _result(f: Finding, rule_index: int, suppression: Suppression | None, artifacts: _Artifacts) -> dict[str, Any]:
    span = f.deliverable_span
    result: dict[str, Any] = {
        "ruleId": f.kind,
        "ruleIndex": rule_index,
        "level": _LEVELS[f.severity],
        "message": {"text": _message(f)},
        "locations": [{"physicalLocation": {"artifactLocation": artifacts.location(f.deliverable_path, *_member_of(f)),
                                            "region": _region(span.start, span.end)}}],
        "partialFingerprints": {FINGERPRINT_KEY: f.id},
        "properties": {k: v for k, v in f.to_dict().items() if k not in ("id", "kind")},
    }
    if f.source is not None:
        physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(f.source.path)}}
        if f.source.span is not None:
            physical["region"] = _region(f.source.span.start, f.source.span.end)
        result["relatedLocations"] = [{"id": 1, "physicalLocation": physical,
                                       "message": {"text": f"source {f.source.doc_id} [{f.source.label}]"}}]
    if suppression is not None:
        result["suppressions"] = [_suppression(suppression)]
    return result


def _notification(e: FileError, artifacts: _Artifacts) -> dict[str, Any]:
    return {
        "level": "error",
        "message": {"text": f"{e.path}: not scanned ({e.status}): {e.message}"},
        "locations": [{"physicalLocation": {"artifactLocation": artifacts.location(e.path, e.container, e.members)}}],
        "descriptor": {"id": str(e.status)},
        "properties": {"path": e.path, "status": str(e.status)},
    }


def sarif_log(report: ScanReport) -> dict[str, Any]:
    """The SARIF log object of a report."""
    declared = finding_kinds()
    kinds = list(declared)  # every declared kind, in the registry's order: stable rule indexes
    kinds += sorted(({f.kind for f in report.findings} | {s.finding.kind for s in report.suppressed}) - set(declared))
    index = {k: i for i, k in enumerate(kinds)}
    artifacts = _Artifacts()
    results = [_result(f, index[f.kind], None, artifacts) for f in report.findings]
    results += [_result(s.finding, index[s.finding.kind], s.suppression, artifacts) for s in report.suppressed]
    invocation: dict[str, Any] = {
        "executionSuccessful": report.complete,
        "toolExecutionNotifications": [_notification(e, artifacts) for e in report.errors],
    }
    if report.started_at:
        invocation["startTimeUtc"] = report.started_at.replace("+00:00", "Z")  # SARIF: UTC, "Z"
    driver = {
        "name": "leakwatch",
        "version": leakwatch.__version__,
        "semanticVersion": leakwatch.__version__,
        "rules": [_rule(k, declared.get(k)) for k in kinds],
        "notifications": [{"id": str(status), "shortDescription": {"text": text},
                           "defaultConfiguration": {"level": "error"}} for status, text in _STATUS_TEXT.items()],
    }
    run = {
        "tool": {"driver": driver},
        "invocations": [invocation],
        "columnKind": "unicodeCodePoints",
        **({"artifacts": artifacts.items} if artifacts.items else {}),
        "results": results,
        "properties": {"index": report.index, "config": report.config, "summary": report.summary()},
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


class SarifReporter(Reporter):
    format_name = "sarif"

    def write(self, report: ScanReport, out: TextIO) -> None:
        json.dump(sarif_log(report), out, indent=2, ensure_ascii=True)
        out.write("\n")
