"""Evaluation on a corpus labelled per document (Clough & Stevenson layout).

``file_information.csv`` has ``File`` and ``Category`` columns; files of category
``orig`` are the sources (indexed), every other file is scanned. Categories
``cut``, ``light`` and ``heavy`` are reuse (positive), ``non`` is not. The leak
score of a file is the highest confidence among its findings (0 without any).
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.metrics import precision_score, recall_score, roc_auc_score

from leakwatch.config import Config
from leakwatch.detect import ConfidentialDetector
from leakwatch.evaluate.pan import CorpusError, evaluation_store
from leakwatch.pipeline import index_paths, scan_paths

POSITIVE = frozenset({"cut", "light", "heavy"})
SOURCE = "orig"


@dataclass(frozen=True)
class LabelledFile:
    path: Path
    category: str


def read_labelled_corpus(root: Path) -> tuple[list[Path], list[LabelledFile]]:
    info = root / "file_information.csv"
    if not info.is_file():
        raise CorpusError(f"{root} has no file_information.csv")
    texts = root / "texts" if (root / "texts").is_dir() else root
    sources: list[Path] = []
    files: list[LabelledFile] = []
    with info.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            path = texts / row["File"]
            if row["Category"] == SOURCE:
                sources.append(path)
            else:
                files.append(LabelledFile(path, row["Category"]))
    if not sources or not files:
        raise CorpusError(f"{info} lists no sources (category orig) or no answers")
    return sources, files


@dataclass
class LabelsEvaluation:
    roc_auc: float
    precision: float
    recall: float
    files: int
    flagged_by_category: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"roc_auc": round(self.roc_auc, 4), "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "files": self.files,
                "flagged_by_category": self.flagged_by_category}


def evaluate_labels(root: Path, config: Config) -> LabelsEvaluation:
    """Index the ``orig`` files, scan the rest, score the leak score against the labels."""
    sources, files = read_labelled_corpus(root)
    with evaluation_store(config) as (config, store):
        index_paths(sources, store, config, label="evaluation", owner=None)
        report = scan_paths([f.path for f in files], store, config,
                            detectors=[ConfidentialDetector(store, config)])
    score: dict[str, float] = {}
    for finding in report.findings:
        name = Path(finding.deliverable_path).name
        if finding.scores is not None:
            score[name] = max(score.get(name, 0.0), finding.scores.confidence)
    y_true = [f.category in POSITIVE for f in files]
    y_score = [score.get(f.path.name, 0.0) for f in files]
    y_pred = [s > 0 for s in y_score]
    flagged = Counter(f.category for f, p in zip(files, y_pred, strict=True) if p)
    totals = Counter(f.category for f in files)
    return LabelsEvaluation(
        roc_auc=float(roc_auc_score(y_true, y_score)),
        precision=float(precision_score(y_true, y_pred, zero_division=1.0)),
        recall=float(recall_score(y_true, y_pred, zero_division=1.0)),
        files=len(files),
        flagged_by_category={c: f"{flagged.get(c, 0)}/{n}" for c, n in sorted(totals.items())},
    )
