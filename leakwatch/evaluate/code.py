"""Copied-code detection measured on a source-code plagiarism corpus (IR-Plag layout).

``labels.csv`` has ``path, case, label, level``: per case one ``original`` (registered
here as a reference named after the case), ``plagiarized`` copies at disguise levels
L1-L6 (positives) and ``non-plagiarized`` solutions written independently
(negatives). Every other file is scanned once, through the same scan a user runs; a
file is flagged when it has a ``copied-code`` finding from its own case's original.
Findings from another case's original are counted apart (they are false alarms too).
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leakwatch.config import Config
from leakwatch.detect.code.detector import COPIED_CODE, CopiedCodeDetector
from leakwatch.evaluate.pan import CorpusError, evaluation_store
from leakwatch.pipeline import scan_paths
from leakwatch.references import ReferenceLibrary


@dataclass(frozen=True)
class CodeFile:
    path: Path
    case: str
    label: str
    level: str


@dataclass
class CodeEvaluation:
    files: list[dict[str, Any]] = field(default_factory=list)
    cross_case_findings: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        cases = sorted({f["case"] for f in self.files})
        return {
            **_measures(self.files),
            # Each case on its own: a default chosen on one case is measured on the other.
            "by_case": {case: _measures([f for f in self.files if f["case"] == case]) for case in cases},
            "cross_case_findings": self.cross_case_findings,
            "errors": self.errors,
        }


def _measures(files: list[dict[str, Any]]) -> dict[str, Any]:
    def count(label: str, flagged: bool, level: str | None = None) -> int:
        return sum(1 for f in files if f["label"] == label and f["flagged"] == flagged
                   and (level is None or f["level"] == level))

    tp, fp = count("plagiarized", True), count("non-plagiarized", True)
    negatives = sum(1 for f in files if f["label"] == "non-plagiarized")
    tp_fn = sum(1 for f in files if f["label"] == "plagiarized")
    levels = sorted({f["level"] for f in files if f["label"] == "plagiarized"})
    return {
        "precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
        "recall": round(tp / tp_fn, 4) if tp_fn else 0.0,
        "false_positive_rate": round(fp / negatives, 4) if negatives else 0.0,
        "recall_by_level": {
            lv: {"found": count("plagiarized", True, lv),
                 "files": count("plagiarized", True, lv) + count("plagiarized", False, lv)}
            for lv in levels
        },
        "true_positives": tp,
        "false_positives": fp,
        "negatives": negatives,
        "false_positive_files": [f["path"] for f in files if f["label"] == "non-plagiarized" and f["flagged"]],
    }


def read_code_corpus(root: Path) -> list[CodeFile]:
    labels = root / "labels.csv"
    if not labels.is_file():
        raise CorpusError(f"{root} has no labels.csv")
    with labels.open(encoding="utf-8", newline="") as fh:
        return [CodeFile(root / r["path"], r["case"], r["label"], r["level"]) for r in csv.DictReader(fh)]


def evaluate_code(root: Path, config: Config) -> CodeEvaluation:
    files = read_code_corpus(root)
    originals = [f for f in files if f.label == "original"]
    scanned = [f for f in files if f.label != "original"]
    if not originals:
        raise CorpusError(f"{root} lists no original files")
    result = CodeEvaluation()
    with evaluation_store(config) as (config, store):
        library = ReferenceLibrary.open(config, store, create=True)
        assert library is not None
        with library:
            for o in originals:
                library.add([o.path], o.case, None, config)
            report = scan_paths([f.path for f in scanned], store, config, [CopiedCodeDetector(library, config)])
    flagged: dict[str, set[str]] = {}
    for finding in report.findings:
        if finding.kind == COPIED_CODE.id:
            flagged.setdefault(Path(finding.deliverable_path).resolve().as_posix(), set()).add(
                str(finding.extra["reference"]["name"]))
    cross: Counter[str] = Counter()
    for f in scanned:
        names = flagged.get(f.path.resolve().as_posix(), set())
        cross[f.path.name] += len(names - {f.case})
        result.files.append({"path": str(f.path.relative_to(root)), "case": f.case, "label": f.label,
                             "level": f.level, "flagged": f.case in names})
    result.cross_case_findings = sum(cross.values())
    result.errors = [{"path": e.path, "status": str(e.status), "message": e.message} for e in report.errors]
    return result
