"""Grouped fold plans, the unbacked-finding judge and the calibration check; the PAN
training set's own checks are marked ``corpus`` and skip without ../shared."""

from __future__ import annotations

import numpy as np
import pytest

from leakwatch.detect.confidential import CandidateFragment
from leakwatch.evaluate.calibration import reliability
from leakwatch.evaluate.folds import components, fold_of, plan_folds
from leakwatch.evaluate.measures import Passage
from leakwatch.evaluate.pan import PanPair, finding_passages, read_pan_corpus
from leakwatch.evaluate.training import COPY, LEFT_OUT, NOT_COPY, label
from leakwatch.evaluate.unbacked import judge_findings, read_upstream_reuse, shared_ngram_share
from leakwatch.model import Finding, Scores, Severity, SourceRef, Span
from tests.conftest import corpus


def pair(susp: str, src: str, cls: str = "03", cases: tuple[Passage, ...] = ()) -> PanPair:
    return PanPair(cls, susp, src, cases)


def test_folds_keep_connected_documents_together_and_balance_pairs() -> None:
    # s1-a-s2 are joined through source a; s3-b, s4-c, s5-d, s6-e stand alone.
    pairs = [pair("s1", "a"), pair("s2", "a"), pair("s2", "f"), pair("s3", "b"), pair("s4", "c"),
             pair("s5", "d"), pair("s6", "e")]
    assert sorted(len(g) for g in components(pairs)) == [1, 1, 1, 1, 3]
    folds = plan_folds(pairs, 3)
    where = fold_of(folds)
    assert where["s1"] == where["s2"] == where["a"] == where["f"]
    for f in folds:
        for g in folds:
            if f.number != g.number:
                assert not (f.susp | f.src) & (g.susp | g.src)
    assert sorted(len(f.pairs) for f in folds) == [2, 2, 3]
    assert plan_folds(list(reversed(pairs)), 3) == plan_folds(list(reversed(pairs)), 3)  # deterministic


def test_a_plan_needs_two_folds() -> None:
    with pytest.raises(ValueError):
        plan_folds([pair("s", "a")], 1)


def finding(susp: str, src: str, d: tuple[int, int], s: tuple[int, int], method: str = "paraphrase",
            confidence: float = 0.8, also_in: list[dict] | None = None) -> Finding:
    extra: dict = {"method": method}
    if also_in:
        extra["also_in"] = also_in
    return Finding("id", "confidential-excerpt", Severity.MEDIUM, susp, "0" * 64, Span(*d),
                   SourceRef("doc", src, "confidential", Span(*s)), Scores(0.1, 0.1, 0.1, 40, confidence),
                   extra=extra)


TEXTS = {
    "susp.txt": "the quick brown fox jumps over the lazy dog near the river bank today "
                "gardens need water in dry summers and slugs eat the lettuce every year",
    "src.txt": "a quick brown fox jumps over the lazy dog near the river bank today "
               "rooftop farms grow herbs under netting against the wind on high roofs",
}


def test_a_finding_is_unbacked_off_annotated_reuse_and_without_shared_wording() -> None:
    fox = (0, 70)  # shares most 3-grams with the source span
    garden = (71, 148)  # shares none with the rooftop sentence
    assert shared_ngram_share(TEXTS["susp.txt"][slice(*fox)], TEXTS["src.txt"][0:69]) > 0.5
    findings = [
        finding("susp.txt", "src.txt", fox, (0, 69), method="exact"),
        finding("susp.txt", "src.txt", garden, (70, 141)),  # unbacked
        finding("susp.txt", "src.txt", garden, (70, 141), method="summary"),  # on annotated reuse: backed
    ]
    reuse_none = judge_findings(findings[:2], {}, TEXTS.__getitem__)
    assert (reuse_none.findings, reuse_none.unbacked) == (2, 1)
    assert reuse_none.by_method == {"paraphrase": 1} and reuse_none.by_severity == {"medium": 1}
    annotated = judge_findings(findings[2:], {"susp.txt": [(100, 120)]}, TEXTS.__getitem__)
    assert annotated.unbacked == 0
    assert judge_findings(findings[:2], {}, TEXTS.__getitem__).rate == pytest.approx(0.5)


def test_reliability_bins_confidence_against_real_reuse() -> None:
    cases = {("susp.txt", "src.txt"): [Passage("susp.txt", "src.txt", 71, 148, 70, 141)]}
    findings = [
        finding("susp.txt", "src.txt", (71, 148), (70, 141), confidence=0.95),  # detects the case
        finding("susp.txt", "src.txt", (0, 70), (0, 69), confidence=0.92),  # shares wording
        finding("susp.txt", "src.txt", (71, 148), (0, 69), confidence=0.55),  # neither
    ]
    r = reliability(findings, cases, TEXTS.__getitem__)
    assert r.real == [True, True, False]
    assert r.brier() == pytest.approx(((0.95 - 1) ** 2 + (0.92 - 1) ** 2 + 0.55**2) / 3)
    bins = {b["confidence"]: b for b in r.table()}
    assert bins["0.90-0.95"]["findings"] == 1 and bins["0.95-1.00"]["real"] == 1.0
    assert bins["0.50-0.60"]["real"] == 0.0


def test_also_in_sources_are_detections_of_their_own_pairs() -> None:
    f = finding("/x/susp.txt", "/y/a.txt", (10, 50), (0, 40),
                also_in=[{"doc_id": "b", "path": "/y/b.txt", "label": "c", "start": 5, "end": 45}])
    assert finding_passages(f) == [Passage("susp.txt", "a.txt", 10, 50, 0, 40),
                                   Passage("susp.txt", "b.txt", 10, 50, 5, 45)]


def candidate(d_path: str, s_path: str, d: tuple[int, int], s: tuple[int, int]) -> CandidateFragment:
    return CandidateFragment(d_path, s_path, d, s, np.zeros(3), 0.0)


def test_training_labels() -> None:
    case = Passage("susp1.txt", "src1.txt", 100, 200, 1000, 1100)
    listed = {("susp1.txt", "src1.txt"): pair("susp1.txt", "src1.txt", cases=(case,)),
              ("susp1.txt", "src2.txt"): pair("susp1.txt", "src2.txt", cls="01")}
    texts = {"/c/src/a.txt": "one two three four five six", "/c/src/b.txt": "seven eight nine ten eleven twelve",
             "/c/src/c.txt": "one two three four five six"}
    read = texts.__getitem__
    assert label(candidate("/c/susp/susp1.txt", "/c/src/src1.txt", (150, 250), (1050, 1150)), listed, read) == COPY
    assert label(candidate("/c/susp/susp1.txt", "/c/src/src1.txt", (150, 250), (0, 50)), listed, read) == NOT_COPY
    assert label(candidate("/c/susp/susp1.txt", "/c/src/src2.txt", (0, 50), (0, 50)), listed, read) == NOT_COPY
    # unlisted suspicious/source pairs: their reuse is not all annotated
    assert label(candidate("/c/susp/susp1.txt", "/c/src/src9.txt", (0, 50), (0, 50)), listed, read) == LEFT_OUT
    # sources against sources: independent text on one subject, unless they share wording
    assert label(candidate("/c/src/a.txt", "/c/src/b.txt", (0, 27), (0, 34)), listed, read) == NOT_COPY
    assert label(candidate("/c/src/a.txt", "/c/src/c.txt", (0, 27), (0, 27)), listed, read) == LEFT_OUT
    assert label(candidate("/c/src/a.txt", "/c/src/a.txt", (0, 27), (0, 27)), listed, read) == LEFT_OUT


# --- the PAN training set (../shared) ---------------------------------------------------


@pytest.mark.corpus
def test_training_set_folds_share_no_document() -> None:
    root = corpus("pan13-text-alignment-train")
    pairs = read_pan_corpus(root)
    folds = plan_folds(pairs, 5)
    assert sum(len(f.pairs) for f in folds) == len(pairs) == 2449
    seen: set[str] = set()
    for f in folds:
        docs = f.susp | f.src
        assert not docs & seen
        seen |= docs
        assert 400 <= len(f.pairs) <= 590
    assert len(seen) == 1075 + 1589


@pytest.mark.corpus
def test_training_set_upstream_annotations_cover_every_listed_case() -> None:
    root = corpus("pan13-text-alignment-train")
    reuse = read_upstream_reuse(root / "upstream-annotations")
    assert reuse is not None
    for p in read_pan_corpus(root):
        for c in p.cases:
            assert (c.this_start, c.this_end) in reuse[p.susp]


@pytest.mark.corpus
def test_training_documents_with_stray_nul_bytes_read_as_text() -> None:
    from leakwatch.config import ExtractLimits
    from leakwatch.extract import extract_file

    root = corpus("pan13-text-alignment-train")
    names = ["src/source-document00575.txt", "src/source-document01077.txt", "src/source-document01241.txt",
             "src/source-document02766.txt", "susp/suspicious-document00078.txt",
             "susp/suspicious-document00983.txt", "susp/suspicious-document01588.txt"]
    for name in names:
        data = (root / name).read_bytes()
        assert b"\x00" in data
        extracted = extract_file(root / name, ExtractLimits())[1]
        assert extracted.text == data.decode("utf-8") and extracted.format == "text"
