"""Alarms a user can trust: same-topic text is not reuse, stray NUL bytes are text, and
severity needs confidence and size together. The fixture texts (tests/data/same_topic/)
were written for these tests: three sources on community gardening by different
"authors", a report written independently on the same subject, and notes that reword
two paragraphs of one source."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from leakwatch.cli import cli
from leakwatch.config import DetectParams
from leakwatch.detect.candidates import resembling_documents
from leakwatch.detect.paraphrase import FEATURES, Fragment, TermWeights, fragment_features, in_order, stemmed
from leakwatch.detect.scoring import exact_confidence, severity
from leakwatch.model import Severity
from leakwatch.text import content_mask, tokenize

FIXTURE = Path(__file__).parent / "data" / "same_topic"


def _index(tmp_path: Path, files: dict[str, bytes]) -> Path:
    folder = tmp_path / "confidential"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    store = tmp_path / "store"
    result = CliRunner().invoke(cli, ["index", "add", str(folder), "--store", str(store)])
    assert result.exit_code == 0, result.output
    return store


def _scan(store: Path, *paths: Path) -> dict:
    result = CliRunner().invoke(cli, ["scan", *map(str, paths), "--store", str(store), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def garden_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("garden")
    return _index(tmp, {p.name: p.read_bytes() for p in sorted(FIXTURE.glob("source-*.txt"))})


def test_a_report_on_the_same_subject_is_not_reuse(garden_store: Path) -> None:
    # It shares the sources' subject and vocabulary (plots, rent, water butts, slugs,
    # school gardens, flat roofs) but no passage.
    report = _scan(garden_store, FIXTURE / "deliverable-own-text.txt")
    assert report["findings"] == []


def test_reworded_paragraphs_are_found_against_their_source(garden_store: Path) -> None:
    path = FIXTURE / "deliverable-reworded.txt"
    text = path.read_text(encoding="utf-8")
    [finding] = _scan(garden_store, path)["findings"]
    assert Path(finding["source"]["path"]).name == "source-allotments.txt"
    found = text[finding["deliverable"]["start"] : finding["deliverable"]["end"]]
    assert "three standpipes" in found and "Mill Lane" in found
    assert "tool library" not in found  # the notes' own proposals are not part of it
    assert finding["severity"] == "high" and finding["scores"]["confidence"] >= 0.9


def test_stray_nul_bytes_neither_hide_a_source_nor_a_deliverable(tmp_path: Path) -> None:
    source = (FIXTURE / "source-school-garden.txt").read_bytes()
    at = source.index(b"Teachers were worried")
    crawled = source[:at] + b"\x00" + source[at:].replace(b"slugs", b"slugs\x00", 1)
    store = _index(tmp_path, {"school.txt": crawled})
    paragraph = source[at : source.index(b"\n", at)]
    deliverable = tmp_path / "deliverable.txt"
    deliverable.write_bytes(b"Minutes of the March meeting.\x00\n\n" + paragraph + b"\n\nAny other business: none.\n")
    report = _scan(store, deliverable)
    assert report["errors"] == []
    [finding] = report["findings"]
    # Offsets index the decoded file, NUL characters included.
    text = deliverable.read_bytes().decode("utf-8")
    assert text[finding["deliverable"]["start"] : finding["deliverable"]["end"]].startswith("Teachers were worried")
    s = finding["source"]
    assert crawled.decode("utf-8")[s["start"] : s["end"]].startswith("Teachers were worried")


def test_a_binary_file_is_still_reported_not_clean(garden_store: Path, tmp_path: Path) -> None:
    data = tmp_path / "records.txt"
    data.write_bytes(b"".join(n.to_bytes(4, "little") for n in range(3000)))
    result = CliRunner().invoke(cli, ["scan", str(data), "--store", str(garden_store), "--format", "json"])
    assert result.exit_code == 3
    [error] = json.loads(result.stdout)["errors"]
    assert error["status"] == "unsupported"


# --- severity and confidence ------------------------------------------------------------

PARAMS = DetectParams()


@pytest.mark.parametrize(
    ("words", "confidence", "whole", "expected"),
    [
        (120, 0.59, False, Severity.MEDIUM),  # long but unsure: never high
        (120, 0.95, False, Severity.HIGH),
        (45, 0.99, False, Severity.MEDIUM),
        (25, 0.99, False, Severity.LOW),
        (400, 0.5, True, Severity.MEDIUM),  # a whole document, unsure
        (400, 0.97, True, Severity.HIGH),
    ],
)
def test_severity_needs_confidence_and_size_together(words: int, confidence: float, whole: bool,
                                                      expected: Severity) -> None:
    assert severity(words, confidence, PARAMS, whole=whole) == expected


def test_exact_confidence_rises_with_length_and_drops_unverified() -> None:
    values = [exact_confidence(n, True) for n in (20, 30, 50, 100)]
    assert values == sorted(values) and values[0] > 0.8 and values[-1] > 0.99
    assert exact_confidence(50, False) < exact_confidence(50, True)


# --- what the scorer sees ---------------------------------------------------------------


def test_order_counts_the_longest_run_in_the_same_order() -> None:
    ids = np.arange(1, 9, dtype=np.uint64)
    assert in_order(ids, ids) == 8
    assert in_order(ids[::-1].copy(), ids) == 1
    assert in_order(np.array([1, 2, 9, 3, 4], dtype=np.uint64), ids) == 4


def test_term_weights_discount_a_documents_subject() -> None:
    text = ("The garden needs water. Water the garden at dawn. The garden hose leaks water. "
            "A heron visited once.")
    stems = stemmed(text, tokenize(text))
    weights = TermWeights.of(text, stems)
    ids = {text[a:b].lower(): i for a, b, i in zip(stems.starts, stems.ends, stems.ids, strict=True)}
    garden, heron = np.array([ids["garden"]]), np.array([ids["heron"]])
    assert weights.total(heron) > weights.total(garden) > 0
    assert weights.total(np.array([12345], dtype=np.uint64)) == 0.0


def test_fragment_features_follow_the_feature_names() -> None:
    text = "Water comes from three standpipes along the upper path near the gate."
    stems = stemmed(text, tokenize(text))
    weights = TermWeights.of(text, stems)
    frag = Fragment(0, len(stems), 0, len(stems), 1.0, 1)
    x = fragment_features(frag, stems.ids, stems.ids, weights, weights)
    assert x.shape == (len(FEATURES),)
    named = dict(zip(FEATURES, x.tolist(), strict=True))
    assert named["order"] == named["overlap_deliverable"] == named["bigrams_source"] == 1.0
    assert named["log_matched_words"] == pytest.approx(np.log1p(len(stems)))
    assert content_mask(stems.ids).sum() > 0


def test_candidates_reach_the_threshold_most_resembling_first() -> None:
    best = {1: 0.5, 2: 0.19, 3: 0.2, 4: 0.9, 5: 0.3}
    assert resembling_documents(best, 0.2, 10) == {1, 3, 4, 5}
    assert resembling_documents(best, 0.2, 2) == {4, 1}


def test_the_exact_bag_look_covers_band_pairs_for_all_and_every_pair_for_the_top(tmp_path: Path) -> None:
    """Every document the bag bands name is estimated on its band-sharing pairs; the
    max_looks whose pairs resemble most are compared window by passage as well, so a
    large index costs band pairs, not windows x passages of every named document."""
    from leakwatch.config import Config
    from leakwatch.detect.candidates import best_resemblance
    from leakwatch.store import open_store
    from leakwatch.store.base import PassageHits

    words = [f"w{i}" for i in range(3000)]
    rng = np.random.default_rng(7)
    store_dir = _index(tmp_path, {f"d{n}.txt": " ".join(rng.choice(words, 400)).encode() for n in range(3)})
    with open_store(Config(store=str(store_dir))) as store:
        docs = sorted(d.doc_key for d in store.list_documents())
        keys, stored = store.document_bags(docs)
        a, b, c = docs
        a_rows, b_rows = np.nonzero(keys == a)[0], np.nonzero(keys == b)[0]
        # Window 0 is passage 0 of a; window 1 is the last passage of b. The bands found
        # (window 0, a's passage 0), (window 0, b's passage 0) and (window 1, c's passage 0).
        query = np.stack([stored[a_rows[0]], stored[b_rows[-1]]]).astype(np.uint64)
        hits = PassageHits(np.array([0, 0, 1]), np.array([a, b, c]), np.array([0, 0, 0]))
        one = best_resemblance(query, hits, store, max_looks=1)
        every = best_resemblance(query, hits, store, max_looks=3)
    assert one[a] == every[a] == 1.0
    assert one[b] < 0.2  # past the limit: its band pair only, which is not the copy
    assert every[b] == 1.0  # looked at: window 1 against every passage of b
    assert one[c] <= every[c] < 0.2  # the full look only ever raises an estimate
