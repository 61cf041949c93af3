"""Baselines and ignore files: findings a team has reviewed and accepted are not raised again.

A **baseline** is a versioned JSON file of accepted findings, each with who accepted it,
when and why::

    {"version": 1, "created_at": "...", "leakwatch": "0.1.0",
     "entries": [{"finding_id": "lw-...", "kind": "confidential-excerpt",
                  "deliverable_path": "/srv/vendors/acme/q1.docx", "deliverable_sha256": "...",
                  "accepted_by": "j.doe", "reason": "shared under NDA amendment 3",
                  "accepted_at": "..."}]}

It is made from scan reports (``--format json`` or ``jsonl``) by ``leakwatch baseline
create``. A finding is accepted when its id is in the baseline: finding ids are stable
across runs and survive edits elsewhere in the deliverable, and change when the copied
passage (its source span), the source document's version or the deliverable's path
changes. The deliverable's sha256 is kept as the record of what was reviewed; it is not
compared, so an accepted passage stays accepted when the vendor edits another part of the
file.

An **ignore file** is a small versioned text file (``--ignore FILE``; never read from the
scanned folders, where a vendor could drop one)::

    leakwatch-ignore 1
    # comments and blank lines are skipped
    *.log                 # a path pattern (gitignore-like)
    /srv/vendors/acme/returned-to-client/
    !/srv/vendors/acme/returned-to-client/new/
    id:lw-0123456789abcdef0123
    kind:copyright-notice

Path patterns match the deliverable's absolute path: ``*`` and ``?`` stay within one path
component, ``**`` crosses components, ``[...]`` is a character class, a trailing ``/``
matches directories only (everything beneath them), a leading ``/`` anchors the pattern at
the filesystem root, and any other pattern may match at any depth (as if it began with
``**/``; unlike git, which anchors patterns with an inner slash at the ignore file's
folder). ``!`` re-includes what an earlier path pattern excluded; the last matching path
pattern wins. ``id:`` and ``kind:`` lines suppress a finding id or a whole kind.

Both only suppress findings. A file that could not be scanned is still an error, ignored
path or not: a file that was not read is never known to be clean.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leakwatch.errors import UserError
from leakwatch.model import Finding, SuppressedFinding, Suppression

BASELINE_VERSION = 1
IGNORE_HEADER = "leakwatch-ignore"
IGNORE_VERSION = 1


class BaselineError(UserError, ValueError):
    """A baseline, an ignore file or a report given to ``baseline create`` is invalid (exit 2)."""


# --- baselines ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class BaselineEntry:
    finding_id: str
    kind: str
    deliverable_path: str
    deliverable_sha256: str
    accepted_by: str
    reason: str
    accepted_at: str

    def to_dict(self) -> dict[str, str]:
        return {"finding_id": self.finding_id, "kind": self.kind, "deliverable_path": self.deliverable_path,
                "deliverable_sha256": self.deliverable_sha256, "accepted_by": self.accepted_by,
                "reason": self.reason, "accepted_at": self.accepted_at}


@dataclass(frozen=True)
class Baseline:
    entries: tuple[BaselineEntry, ...]
    created_at: str
    leakwatch: str
    file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"version": BASELINE_VERSION, "created_at": self.created_at, "leakwatch": self.leakwatch,
                "entries": [e.to_dict() for e in self.entries]}

    def by_id(self) -> dict[str, BaselineEntry]:
        return {e.finding_id: e for e in self.entries}


_ENTRY_FIELDS = ("finding_id", "kind", "deliverable_path", "deliverable_sha256", "accepted_by", "reason",
                 "accepted_at")


def parse_baseline(data: Any, file: str | None = None) -> Baseline:
    """A baseline from its parsed JSON.

    Raises:
        BaselineError: not a baseline, another version, or an entry with missing fields.
    """
    where = file or "baseline"
    if not isinstance(data, dict) or "entries" not in data:
        raise BaselineError(f"{where} is not a leakwatch baseline (no entries)")
    if data.get("version") != BASELINE_VERSION:
        raise BaselineError(f"{where} has baseline version {data.get('version')!r}; this leakwatch reads "
                            f"version {BASELINE_VERSION}")
    if not isinstance(data["entries"], list):
        raise BaselineError(f"{where}: entries must be a list")
    entries = []
    for n, raw in enumerate(data["entries"]):
        if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in _ENTRY_FIELDS):
            raise BaselineError(f"{where}: entry {n} needs the string fields {', '.join(_ENTRY_FIELDS)}")
        entries.append(BaselineEntry(**{k: raw[k] for k in _ENTRY_FIELDS}))
    return Baseline(tuple(entries), str(data.get("created_at", "")), str(data.get("leakwatch", "")), file)


def load_baseline(path: Path) -> Baseline:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(f"baseline {path} is not JSON: {exc}") from exc
    return parse_baseline(data, str(path))


def read_report_findings(path: Path) -> list[dict[str, Any]]:
    """The findings of a scan report: ``--format json`` (one object) or ``--format jsonl``
    (``finding`` records; suppressed findings are already in a baseline and are skipped).

    Raises:
        BaselineError: the file is not a leakwatch JSON or JSONL report.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BaselineError(f"cannot read report {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise BaselineError(f"report {path} is not UTF-8 text") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and "leakwatch" in data and isinstance(data.get("findings"), list):
        findings = data["findings"]
    else:
        findings = []
        try:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise BaselineError(f"{path} is neither a leakwatch JSON nor a JSONL report: {exc}") from exc
        if not records or not isinstance(records[0], dict) or records[0].get("record") != "header":
            raise BaselineError(f"{path} is neither a leakwatch JSON nor a JSONL report")
        findings = [r for r in records if isinstance(r, dict) and r.get("record") == "finding"]
    for f in findings:
        if not (isinstance(f, dict) and isinstance(f.get("id"), str) and isinstance(f.get("kind"), str)
                and isinstance(f.get("deliverable"), dict)):
            raise BaselineError(f"{path}: a finding without id, kind or deliverable")
    return findings


def entries_from_findings(findings: Iterable[Mapping[str, Any]], accepted_by: str, reason: str,
                          accepted_at: str, only_ids: Sequence[str] = ()) -> list[BaselineEntry]:
    """Baseline entries accepting ``findings`` (finding objects of a JSON report), or only
    those whose id is in ``only_ids`` when it is not empty. One entry per id.

    Raises:
        BaselineError: an id of ``only_ids`` is not among the findings.
    """
    wanted = set(only_ids)
    entries: dict[str, BaselineEntry] = {}
    for f in findings:
        if wanted and f["id"] not in wanted:
            continue
        d = f["deliverable"]
        entries.setdefault(f["id"], BaselineEntry(
            finding_id=f["id"], kind=f["kind"], deliverable_path=str(d.get("path", "")),
            deliverable_sha256=str(d.get("sha256", "")), accepted_by=accepted_by, reason=reason,
            accepted_at=accepted_at))
    missing = sorted(wanted - set(entries))
    if missing:
        raise BaselineError(f"no finding with id {', '.join(missing)} in the report(s)")
    return list(entries.values())


def merge(old: Baseline | None, new: Iterable[BaselineEntry], created_at: str, version: str) -> Baseline:
    """``old``'s entries (an entry accepted earlier keeps its first who, when and why), then
    the new ones it does not hold yet."""
    entries = list(old.entries) if old is not None else []
    known = {e.finding_id for e in entries}
    for e in new:
        if e.finding_id not in known:
            entries.append(e)
            known.add(e.finding_id)
    return Baseline(tuple(entries), old.created_at if old is not None else created_at, version)


def dumps_baseline(baseline: Baseline) -> str:
    return json.dumps(baseline.to_dict(), indent=2, ensure_ascii=True) + "\n"


# --- ignore files ------------------------------------------------------------------------------

@dataclass(frozen=True)
class IgnoreRule:
    line: int
    text: str  # the rule as written
    negate: bool = False
    regex: re.Pattern[str] | None = None
    dir_only: bool = False
    finding_id: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class IgnoreFile:
    rules: tuple[IgnoreRule, ...]
    file: str | None = None


def _glob_regex(pattern: str) -> str:
    """The regular expression of one gitignore-like glob (no anchoring)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            j = i + 2 if pattern.startswith(("[!", "[^"), i) else i + 1
            close = pattern.find("]", j + 1 if pattern.startswith("]", j) else j)  # "[]a]": ] or a
            if close < 0:
                out.append(re.escape(c))
                i += 1
                continue
            body = pattern[i + 1 : close]
            negated = body.startswith(("!", "^"))
            body = (body[1:] if negated else body).replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
            out.append(f"(?!/)[{'^' if negated else ''}{body}]")
            i = close + 1
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def parse_ignore(text: str, file: str | None = None) -> IgnoreFile:
    """An ignore file from its text.

    Raises:
        BaselineError: the version line is missing or names another version, or a rule is empty.
    """
    where = file or "ignore file"
    lines = text.splitlines()
    header = lines[0].strip().split() if lines else []
    if len(header) != 2 or header[0] != IGNORE_HEADER:
        raise BaselineError(f"{where}: the first line must be '{IGNORE_HEADER} {IGNORE_VERSION}'")
    if header[1] != str(IGNORE_VERSION):
        raise BaselineError(f"{where} is ignore-file version {header[1]}; this leakwatch reads version "
                            f"{IGNORE_VERSION}")
    rules: list[IgnoreRule] = []
    for number, raw in enumerate(lines[1:], start=2):
        line = re.sub(r"\s+#.*$", "", raw).strip()
        if not line or line.startswith("#"):
            continue
        prefix = next((p for p in ("id:", "kind:") if line.startswith(p)), None)
        if prefix is not None:
            value = line[len(prefix):].strip()
            if not value:
                raise BaselineError(f"{where}:{number}: empty {'finding id' if prefix == 'id:' else 'kind'}")
            rules.append(IgnoreRule(number, line, finding_id=value) if prefix == "id:"
                         else IgnoreRule(number, line, kind=value))
            continue
        negate = line.startswith("!")
        pattern = line[1:] if negate else line
        dir_only = pattern.endswith("/")
        pattern = pattern.rstrip("/")
        if not pattern:
            raise BaselineError(f"{where}:{number}: empty path pattern")
        anchored = pattern.startswith("/")
        body = _glob_regex(pattern.lstrip("/"))
        regex = re.compile(("" if anchored else "(?:.*/)?") + body, re.DOTALL)
        rules.append(IgnoreRule(number, line, negate=negate, regex=regex, dir_only=dir_only))
    return IgnoreFile(tuple(rules), file)


def load_ignore(path: Path) -> IgnoreFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BaselineError(f"cannot read ignore file {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise BaselineError(f"ignore file {path} is not UTF-8 text") from exc
    return parse_ignore(text, str(path))


def _path_matches(rule: IgnoreRule, parts: Sequence[str]) -> bool:
    """Whether a path rule matches the path or one of its folders (which covers what is
    beneath it); a directory-only rule matches folders only."""
    assert rule.regex is not None
    last = len(parts) - 1 if rule.dir_only else len(parts)
    return any(rule.regex.fullmatch("/".join(parts[:k])) for k in range(1, last + 1))


def ignore_rule_for(ignore: IgnoreFile, finding: Finding) -> IgnoreRule | None:
    """The rule of ``ignore`` that suppresses ``finding``, or None.

    ``id:`` and ``kind:`` rules always apply; path rules are read in order and the last
    one that matches wins (a ``!`` rule that matches last keeps the finding).
    """
    for rule in ignore.rules:
        if rule.finding_id is not None and rule.finding_id == finding.id:
            return rule
        if rule.kind is not None and rule.kind == finding.kind:
            return rule
    parts = [p for p in finding.deliverable_path.replace("\\", "/").split("/") if p]
    decided: IgnoreRule | None = None
    for rule in ignore.rules:
        if rule.regex is not None and _path_matches(rule, parts):
            decided = rule
    return decided if decided is not None and not decided.negate else None


# --- applying both ----------------------------------------------------------------------------

def apply_suppressions(findings: Iterable[Finding], baseline: Baseline | None = None,
                       ignore: IgnoreFile | None = None) -> tuple[list[Finding], list[SuppressedFinding]]:
    """Split ``findings`` into those still raised and those a baseline entry (first) or an
    ignore rule accepts, each with why. Order is kept in both lists."""
    accepted = baseline.by_id() if baseline is not None else {}
    kept: list[Finding] = []
    suppressed: list[SuppressedFinding] = []
    for f in findings:
        entry = accepted.get(f.id)
        if entry is not None and entry.kind == f.kind:
            suppressed.append(SuppressedFinding(f, Suppression(
                "baseline", entry.reason, baseline.file if baseline else None, entry.accepted_by, entry.accepted_at)))
            continue
        rule = ignore_rule_for(ignore, f) if ignore is not None else None
        if rule is not None:
            where = f"{ignore.file}:{rule.line}" if ignore is not None and ignore.file else f"line {rule.line}"
            suppressed.append(SuppressedFinding(f, Suppression("ignore", f"ignore rule '{rule.text}' ({where})",
                                                               ignore.file if ignore else None)))
            continue
        kept.append(f)
    return kept, suppressed
