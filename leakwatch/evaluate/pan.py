"""Evaluation on a PAN text-alignment corpus: index ``src/``, scan ``susp/``, score.

Layout (as the official ``pan13-text-alignment-*`` archives): ``src/``, ``susp/``
and one folder per obfuscation class holding a ``pairs`` file and one XML per
listed pair, whose ``plagiarism`` features give the annotated cases.
"""

from __future__ import annotations

import functools
import hashlib
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from sklearn.metrics import precision_score, recall_score

from leakwatch.config import Config, ExtractLimits
from leakwatch.detect import ConfidentialDetector
from leakwatch.detect.paraphrase_scorer import LogisticScorer
from leakwatch.errors import UserError
from leakwatch.evaluate.calibration import Reliability, reliability
from leakwatch.evaluate.measures import PanScores, Passage, pan_scores
from leakwatch.evaluate.unbacked import UPSTREAM, UnbackedReport, judge_findings, read_upstream_reuse
from leakwatch.extract import extract_file
from leakwatch.keys import StoreKey, write_key
from leakwatch.model import Finding, matched_parts
from leakwatch.pipeline import index_paths, scan_paths
from leakwatch.store import SQLiteStore


class CorpusError(UserError, ValueError):
    """The folder is not a PAN text-alignment corpus."""


@dataclass(frozen=True)
class PanPair:
    obfuscation_class: str
    susp: str
    src: str
    cases: tuple[Passage, ...]


def read_pan_corpus(root: Path) -> list[PanPair]:
    """Every listed pair with its annotated cases."""
    if not (root / "src").is_dir() or not (root / "susp").is_dir():
        raise CorpusError(f"{root} has no src/ and susp/ folders: not a PAN text-alignment corpus")
    pairs: list[PanPair] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and (p / "pairs").is_file()):
        for line in (folder / "pairs").read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            susp, src = line.split()
            xml_path = folder / f"{Path(susp).stem}-{Path(src).stem}.xml"
            cases = []
            if xml_path.is_file():
                for e in ET.parse(xml_path).getroot():
                    if e.get("name") != "plagiarism":
                        continue
                    t0, s0 = int(e.get("this_offset", 0)), int(e.get("source_offset", 0))
                    cases.append(Passage(susp, src, t0, t0 + int(e.get("this_length", 0)),
                                         s0, s0 + int(e.get("source_length", 0))))
            pairs.append(PanPair(folder.name, susp, src, tuple(cases)))
    if not pairs:
        raise CorpusError(f"{root} lists no pairs (no */pairs files)")
    return pairs


def finding_passages(f: Finding) -> list[Passage]:
    """The detections a finding reports: its source, and every other source its passage
    was also found in (``also_in``: a report lists them with their spans, so a user is
    told of each; PAN scores each as a detection of its own pair)."""
    source, span, _ = matched_parts(f)
    susp, d = Path(f.deliverable_path).name, f.deliverable_span
    out = [Passage(susp, Path(source.path).name, d.start, d.end, span.start, span.end)]
    for other in f.extra.get("also_in", []):
        out.append(Passage(susp, Path(str(other["path"])).name, d.start, d.end, int(other["start"]), int(other["end"])))
    return out


@dataclass
class PanEvaluation:
    """Scores per obfuscation class and overall, in one mode."""

    mode: str
    classes: dict[str, PanScores] = field(default_factory=dict)
    overall: PanScores | None = None
    document_precision: float = 0.0
    document_recall: float = 0.0
    pairs: int = 0
    # Whole-index mode: detections on suspicious/source pairs the corpus does not list
    # (their reuse, if any, is not annotated, so each counts against precision).
    unlisted_detections: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "classes": {k: v.to_dict() for k, v in self.classes.items()},
            "overall": self.overall.to_dict() if self.overall else None,
            "document_level": {"precision": round(self.document_precision, 4),
                               "recall": round(self.document_recall, 4), "pairs": self.pairs},
            "unlisted_detections": self.unlisted_detections,
        }


def score_pairs(pairs: list[PanPair], detections: list[Passage], mode: str) -> PanEvaluation:
    """Score detections in ``listed`` mode (only detections of listed pairs count, PAN's
    setting) or ``whole`` mode (every detection on the suspicious documents counts)."""
    listed = {(p.susp, p.src) for p in pairs}
    susp_docs = {p.susp for p in pairs}
    if mode == "listed":
        detections = [d for d in detections if (d.susp, d.src) in listed]
    else:
        detections = [d for d in detections if d.susp in susp_docs]
    result = PanEvaluation(mode=mode, pairs=len(pairs),
                           unlisted_detections=sum((d.susp, d.src) not in listed for d in detections))
    for cls in sorted({p.obfuscation_class for p in pairs}):
        cls_pairs = {(p.susp, p.src) for p in pairs if p.obfuscation_class == cls}
        cls_cases = [c for p in pairs if p.obfuscation_class == cls for c in p.cases]
        # A detection belongs to a class through its pair; in whole mode, detections on
        # unlisted pairs are counted once, in the overall figures.
        cls_dets = [d for d in detections if (d.susp, d.src) in cls_pairs]
        result.classes[cls] = pan_scores(cls_cases, cls_dets)
    result.overall = pan_scores([c for p in pairs for c in p.cases], detections)
    flagged = {(d.susp, d.src) for d in detections}
    y_true = [bool(p.cases) for p in pairs]
    y_pred = [(p.susp, p.src) in flagged for p in pairs]
    result.document_precision = float(precision_score(y_true, y_pred, zero_division=1.0))
    result.document_recall = float(recall_score(y_true, y_pred, zero_division=1.0))
    return result


@dataclass
class PanRun:
    listed: PanEvaluation
    whole: PanEvaluation
    seconds_index: float
    seconds_scan: float
    scan_errors: int
    index_errors: int = 0
    # With several evaluation keys: the first key's run above, and the plagdet of
    # every key's run (the first included), per class and overall, in both modes.
    per_key: list[dict[str, float]] = field(default_factory=list)
    # Index-wide precision (when the corpus carries upstream-annotations/).
    unbacked: UnbackedReport | None = None
    reliability: Reliability | None = None
    # The same on the listed pairs alone, whose reuse the corpus annotates in full.
    reliability_listed: Reliability | None = None
    # Cross-validation: the folds, and each fold's scorer training.
    folds: list[dict[str, Any]] = field(default_factory=list)
    # The findings themselves (for analysis; not reported).
    findings: list[Finding] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "listed_pairs": self.listed.to_dict(), "whole_index": self.whole.to_dict(),
            "seconds": {"index": round(self.seconds_index, 2), "scan": round(self.seconds_scan, 2)},
            "scan_errors": self.scan_errors, "index_errors": self.index_errors}
        if self.unbacked is not None:
            out["unbacked"] = self.unbacked.to_dict()
        if self.reliability is not None:
            out["calibration"] = self.reliability.to_dict()
        if self.reliability_listed is not None:
            out["calibration_listed_pairs"] = self.reliability_listed.to_dict()
        if self.folds:
            out["folds"] = self.folds
        if len(self.per_key) > 1:
            out["keys"] = {"runs": self.per_key, "spread": key_spread(self.per_key)}
        return out


def plagdet_by_name(listed: PanEvaluation, whole: PanEvaluation) -> dict[str, float]:
    """One run's plagdet per class (listed pairs), overall listed, and overall whole-index."""
    out = {name: round(s.plagdet, 4) for name, s in listed.classes.items()}
    out["overall"] = round(listed.overall.plagdet, 4) if listed.overall else 0.0
    out["whole_index_overall"] = round(whole.overall.plagdet, 4) if whole.overall else 0.0
    return out


def key_spread(runs: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Mean, minimum and maximum of each figure over the runs of several keys."""
    return {name: {"mean": round(sum(r[name] for r in runs) / len(runs), 4),
                   "min": min(r[name] for r in runs), "max": max(r[name] for r in runs)}
            for name in runs[0]}


# Evaluation stores use a fixed, public key: LSH candidates depend on the keyed
# values, so a random key would move the figures slightly from run to run. (Never
# use it for real documents: anyone can recompute it.)
EVALUATION_KEY = StoreKey(hashlib.sha256(b"leakwatch evaluation key (public, not secret)").digest())


def evaluation_key(n: int) -> StoreKey:
    """The n-th public evaluation key; the 0th is :data:`EVALUATION_KEY`."""
    if n == 0:
        return EVALUATION_KEY
    return StoreKey(hashlib.sha256(f"leakwatch evaluation key {n} (public, not secret)".encode()).digest())


@contextmanager
def evaluation_store(config: Config, key: StoreKey = EVALUATION_KEY) -> Iterator[tuple[Config, SQLiteStore]]:
    """A temporary store with a fixed, public evaluation key, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="leakwatch-eval-") as tmp:
        key_file = Path(tmp) / "evaluation.key"
        write_key(key_file, key)
        config = replace(config, store=str(Path(tmp) / "store"), key_file=str(key_file))
        store = SQLiteStore(config.store, params=config.fingerprint, key_file=key_file, create=True)
        try:
            yield config, store
        finally:
            store.close()


def evaluate_pan(root: Path, config: Config, keys: int = 1, upstream: Path | None = None) -> PanRun:
    """Index the corpus sources into a temporary store, scan every suspicious document.

    With ``keys`` > 1 the whole evaluation is repeated with that many public keys: which
    documents the LSH bands name as candidates depends on the keyed values, so one key's
    figures carry some luck; the spread over keys shows how much. ``upstream`` names the
    folder of upstream annotations that judge unbacked findings (by default the corpus's
    ``upstream-annotations/``; the sample's documents are annotated in the training set's).
    """
    if keys < 1:
        raise ValueError("keys must be 1 or more")
    pairs = read_pan_corpus(root)
    susp = sorted((root / "susp").iterdir())
    runs = [run_pan(root, pairs, config, evaluation_key(n), [ScanGroup(susp, "default")], upstream)
            for n in range(keys)]
    return with_key_spread(runs)


def with_key_spread(runs: list[PanRun]) -> PanRun:
    """The first key's run, carrying the plagdet of every key's run."""
    first = runs[0]
    first.per_key = [plagdet_by_name(r.listed, r.whole) for r in runs]
    return first


@dataclass(frozen=True)
class ScanGroup:
    """Suspicious documents scanned with one scorer (a fold's, or the shipped one)."""

    paths: list[Path]
    scorer: LogisticScorer | Literal["default"]


def corpus_reader() -> Callable[[str], str]:
    """A document's extracted text by path, read once (offsets index it)."""
    limits = ExtractLimits()
    return functools.cache(lambda path: extract_file(Path(path), limits)[1].text)


def run_pan(root: Path, pairs: list[PanPair], config: Config, key: StoreKey, groups: list[ScanGroup],
            upstream: Path | None = None) -> PanRun:
    """Index every source of ``root`` with ``key``, scan each group with its scorer, and score
    the findings: listed pairs, whole index, and (with upstream annotations) the unbacked
    findings and the calibration of their confidence."""
    findings: list[Finding] = []
    scan_errors = 0
    with evaluation_store(config, key) as (config, store):
        t0 = time.monotonic()
        indexed = index_paths([root / "src"], store, config, label="evaluation", owner=None)
        t1 = time.monotonic()
        for group in groups:
            report = scan_paths(group.paths, store, config,
                                detectors=[ConfidentialDetector(store, config, scorer=group.scorer)])
            findings += report.findings
            scan_errors += len(report.errors)
        t2 = time.monotonic()
    detections = [p for f in findings for p in finding_passages(f)]
    run = PanRun(score_pairs(pairs, detections, "listed"), score_pairs(pairs, detections, "whole"),
                 t1 - t0, t2 - t1, scan_errors, len(indexed.errors), findings=findings)
    reuse = read_upstream_reuse(upstream or root / UPSTREAM)
    if reuse is not None:
        read_text = corpus_reader()
        cases: dict[tuple[str, str], list[Passage]] = {}
        for p in pairs:
            cases.setdefault((p.susp, p.src), []).extend(p.cases)
        run.unbacked = judge_findings(findings, reuse, read_text)
        run.reliability = reliability(findings, cases, read_text)
        run.reliability_listed = reliability([f for f in findings if (Path(f.deliverable_path).name,
                                                                      Path(str(f.source and f.source.path)).name)
                                              in cases], cases, read_text)
    return run
