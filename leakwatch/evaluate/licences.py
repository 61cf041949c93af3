"""Licence identification measured on real licence files with declared licences.

Layout (``licenses-in-the-wild``): ``labels.csv`` with one row per file (``path``,
``kind`` = ``python-wheel`` or ``debian-dep5``, the package's declared licence
fields). Only files that carry one licence are scored; every other file is listed
as excluded, with the reason. A file agrees when the top-1 ``licence-text``
finding (the one covering the most words) names the declared licence, or a
licence with the identical text (``GPL-2.0-only`` and ``GPL-2.0-or-later`` are
one text: only a notice, not the licence, tells them apart).

Two stricter measures look at every licence finding of a file, as a user reading
the report would: the declared id is *present* when one of them names it, *alone*
when no finding names another licence. ``single_id`` marks the files of Python
packages whose metadata names exactly one SPDX id (issue 20's eligible set).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leakwatch.config import Config
from leakwatch.detect.licence.detector import LICENCE_TEXT, LicenceDetector
from leakwatch.detect.licence.texts import default_reference
from leakwatch.evaluate.pan import CorpusError, evaluation_store
from leakwatch.model import Finding
from leakwatch.pipeline import scan_paths

# Debian short names (DEP-5) that are not SPDX ids, and package-metadata phrases.
NAME_MAP: dict[str, frozenset[str]] = {
    "expat": frozenset({"MIT"}),
    "mit": frozenset({"MIT"}),
    # Debian's "MIT/X" is the MIT licence or its X11 form.
    "mit/x": frozenset({"MIT", "X11"}),
    # The Snowball project's licence is the BSD-3-Clause text.
    "bsd-3-snowball": frozenset({"BSD-3-Clause"}),
    # A typo in the package's copyright file for LGPL-2.1+.
    "lpgl-2.1+": frozenset({"LGPL-2.1-or-later"}),
    "bsd 3-clause license": frozenset({"BSD-3-Clause"}),
    "apache license 2.0": frozenset({"Apache-2.0"}),
    # "BSD" alone does not say which of the two.
    "bsd": frozenset({"BSD-2-Clause", "BSD-3-Clause"}),
    "osi approved :: bsd license": frozenset({"BSD-2-Clause", "BSD-3-Clause"}),
    "osi approved :: mit license": frozenset({"MIT"}),
    "osi approved :: apache software license": frozenset({"Apache-2.0"}),
}
_GNU = re.compile(r"^(a?l?gpl|gfdl)-(\d(?:\.\d)?)(\+)?$", re.IGNORECASE)
_BSD = re.compile(r"^bsd-(\d)-clause$", re.IGNORECASE)
_MULTIPLE = re.compile(r"\s(?:or|and|with)\s|,|\|", re.IGNORECASE)


def spdx_ids(name: str, known: frozenset[str]) -> frozenset[str] | None:
    """The SPDX ids a declared licence name stands for, or None when it names none."""
    name = name.strip()
    if name.lower() in NAME_MAP:
        return NAME_MAP[name.lower()]
    gnu = _GNU.match(name)
    if gnu:
        family, version, plus = gnu.groups()
        version = version if "." in version else f"{version}.0"
        return frozenset({f"{family.upper()}-{version}-{'or-later' if plus else 'only'}"})
    bsd = _BSD.match(name)
    if bsd:
        return frozenset({f"BSD-{bsd.group(1)}-Clause"})
    exact = {k for k in known if k.lower() == name.lower()}
    return frozenset(exact) or None


@dataclass(frozen=True)
class Expectation:
    path: Path
    package: str
    declared: str
    expected: frozenset[str] | None  # None: excluded
    reason: str = ""
    kind: str = ""


def expectation(root: Path, row: dict[str, str], known: frozenset[str]) -> Expectation:
    """What a file should be identified as, from its package's declared licence."""
    path = root / row["path"]
    if row["kind"] == "debian-dep5":
        declared = row["dep5_license_names"]
    else:
        declared = (row["declared_license_expression"] or row["declared_license_field"]
                    or row["license_classifiers"])
    base = Expectation(path, row["package"], declared, None)
    if Path(row["path"]).name.upper().startswith("NOTICE"):
        return _excluded(base, "attribution notice, no licence text")
    if not declared:
        return _excluded(base, "no declared licence")
    if _MULTIPLE.search(declared):
        # "Apache-2.0 OR MIT" ships one file per licence: the file name says which.
        alternatives = [a.strip() for a in re.split(r"\s+OR\s+", declared)]
        named = [a for a in alternatives if a.split("-")[0].upper() in Path(row["path"]).name.upper()]
        if len(alternatives) > 1 and len(named) == 1 and not _MULTIPLE.search(named[0]):
            ids = spdx_ids(named[0], known)
            if ids:
                return Expectation(path, row["package"], f"{declared} (this file: {named[0]})", ids,
                                   kind=row["kind"])
        return _excluded(base, "more than one licence declared")
    ids = spdx_ids(declared, known)
    if ids is None:
        return _excluded(base, f"declared licence {declared!r} is not on the SPDX list")
    return Expectation(path, row["package"], declared, ids, kind=row["kind"])


def _excluded(e: Expectation, reason: str) -> Expectation:
    return Expectation(e.path, e.package, e.declared, None, reason)


@dataclass
class LicenceEvaluation:
    scored: list[dict[str, Any]] = field(default_factory=list)
    excluded: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def agreement(self) -> float:
        return sum(r["agrees"] for r in self.scored) / max(len(self.scored), 1)

    @property
    def exact_id_agreement(self) -> float:
        return sum(r["exact_id"] for r in self.scored) / max(len(self.scored), 1)

    def counts(self, rows: list[dict[str, Any]]) -> dict[str, int]:
        return {"files": len(rows), "present": sum(r["present"] for r in rows),
                "alone": sum(r["alone"] for r in rows)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "files_scored": len(self.scored),
            "agreement": round(self.agreement, 4),
            "exact_id_agreement": round(self.exact_id_agreement, 4),
            "all_findings": self.counts(self.scored),
            "single_id_wheels": self.counts([r for r in self.scored if r["single_id"]]),
            "misses": [r for r in self.scored if not r["agrees"]],
            "scored": self.scored,
            "excluded": self.excluded,
            "errors": self.errors,
        }


def top_licence(findings: Iterable[Finding]) -> Finding | None:
    """The licence finding covering the most words (the file's main licence)."""
    ranked = [f for f in findings if f.kind == LICENCE_TEXT.id and f.scores is not None]
    return max(ranked, key=lambda f: f.scores.matched_words if f.scores else 0, default=None)


def evaluate_licences(root: Path, config: Config) -> LicenceEvaluation:
    """Scan every single-licence file of the corpus and compare the top-1 licence."""
    labels = root / "labels.csv"
    if not labels.is_file():
        raise CorpusError(f"{root} has no labels.csv")
    ref = default_reference()
    known = frozenset(i for t in ref.texts for i in t.ids)
    with labels.open(encoding="utf-8", newline="") as fh:
        expectations = [expectation(root, row, known) for row in csv.DictReader(fh)]
    result = LicenceEvaluation()
    result.excluded = [{"path": str(e.path.relative_to(root)), "declared": e.declared, "reason": e.reason}
                       for e in expectations if e.expected is None]
    scored = [e for e in expectations if e.expected is not None]
    with evaluation_store(config) as (config, store):
        report = scan_paths([e.path for e in scored], store, config, detectors=[LicenceDetector(ref)])
    by_file: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_file.setdefault(Path(f.deliverable_path).resolve().as_posix(), []).append(f)
    failed = {Path(e.path).resolve().as_posix(): e for e in report.errors}
    for e in scored:
        key = e.path.resolve().as_posix()
        rel = str(e.path.relative_to(root))
        if key in failed:
            result.errors.append({"path": rel, "status": str(failed[key].status), "message": failed[key].message})
            continue
        top = top_licence(by_file.get(key, []))
        info: dict[str, Any] = top.extra["licence"] if top is not None else {}
        names = {info["spdx_id"], *info["same_text_as"]} if info else set()
        assert e.expected is not None
        found = [f.extra["licence"] for f in by_file.get(key, []) if f.kind == LICENCE_TEXT.id]
        # Each finding as the ids its text stands for ("MIT" is also "Expat" text).
        named = [{x["spdx_id"], *x["same_text_as"]} for x in found]
        result.scored.append({
            "path": rel,
            "declared": e.declared,
            "expected": sorted(e.expected),
            "top1": info.get("spdx_id"),
            "top1_part": info.get("part"),
            "coverage": info.get("coverage"),
            "licences_found": len(found),
            "ids_found": sorted({x["spdx_id"] for x in found}),
            "agrees": bool(names & e.expected),
            "exact_id": info.get("spdx_id") in e.expected,
            "present": any(x["spdx_id"] in e.expected for x in found),
            "alone": bool(found) and all(n & e.expected for n in named),
            "single_id": e.kind == "python-wheel" and len(e.expected) == 1 and "this file" not in e.declared,
        })
    return result
