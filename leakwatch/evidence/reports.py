"""A finding and what is known of its report, read from a saved report: ``leakwatch scan
--format json`` or ``jsonl``, or an audit record (``leakwatch audit``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from leakwatch.evidence.keys import EvidenceError, read_bounded

# Reports of very large scans run to tens of megabytes; more is not a report.
MAX_REPORT_BYTES = 512 * 1024 * 1024


def _records(text: str, path: Path) -> tuple[list[Any], dict[str, Any]]:
    """(findings, report_meta) of a report's text."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("findings"), list):
        if "audit" in data:
            return data["findings"], {"kind": "audit", "audit": data["audit"], "summary": data.get("summary")}
        if "leakwatch" in data:
            return data["findings"], {"kind": "scan", "leakwatch": data["leakwatch"], "summary": data.get("summary")}
    try:
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError:
        records = []
    if not records or not isinstance(records[0], dict) or records[0].get("record") != "header":
        raise EvidenceError(f"{path} is not a leakwatch scan report (--format json or jsonl) or audit record")
    summary = next((r for r in records if isinstance(r, dict) and r.get("record") == "summary"), None)
    findings = [r for r in records if isinstance(r, dict) and r.get("record") == "finding"]
    return findings, {"kind": "scan-jsonl", "header": records[0], "summary": summary}


def finding_in_report(path: Path, finding_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The finding ``finding_id`` of the report at ``path``, and the report's metadata
    (its kind, path, SHA-256, version, summary and index; not its other findings).

    Raises:
        EvidenceError: the report cannot be read, or has no such finding.
    """
    raw = read_bounded(path, MAX_REPORT_BYTES, "report")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EvidenceError(f"report {path} is not UTF-8 text") from exc
    findings, meta = _records(text, path)
    matches = [f for f in findings if isinstance(f, dict) and f.get("id") == finding_id]
    if not matches:
        raise EvidenceError(f"no finding {finding_id} in {path} ({len(findings)} finding(s) there)")
    finding = {k: v for k, v in matches[0].items() if k != "record"}
    if not isinstance(finding.get("deliverable"), dict):
        raise EvidenceError(f"{path}: finding {finding_id} names no deliverable")
    meta = {"path": str(Path(path).resolve()), "sha256": hashlib.sha256(raw).hexdigest(), **meta}
    return finding, meta


def delivered_file(finding: dict[str, Any]) -> Path | None:
    """The file the vendor delivered that holds the finding: the deliverable itself, or
    for a member of an archive or e-mail, the outermost container (that is what was
    delivered). None when the finding names no path."""
    from leakwatch.extract import split_member_path

    shown = finding.get("deliverable", {}).get("path")
    if not isinstance(shown, str) or not shown:
        return None
    split = split_member_path(shown)
    return split[0] if split is not None else Path(shown)
