"""PAN measures against hand-computed values (Potthast et al. 2010 definitions)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from leakwatch.cli import cli
from leakwatch.evaluate.measures import Passage, detects, pan_scores
from tests.conftest import make_text


def P(t0: int, t1: int, s0: int, s1: int, susp: str = "d", src: str = "s") -> Passage:
    return Passage(susp, src, t0, t1, s0, s1)


def test_perfect_detection() -> None:
    case = P(100, 200, 50, 150)
    s = pan_scores([case], [case])
    assert (s.precision, s.recall, s.granularity, s.plagdet) == (1.0, 1.0, 1.0, 1.0)


def test_half_detection_recall_and_precision() -> None:
    case = P(0, 100, 0, 100)
    det = P(50, 150, 50, 150)  # half inside on both sides
    s = pan_scores([case], [det])
    assert s.recall == pytest.approx(0.5)
    assert s.precision == pytest.approx(0.5)
    assert s.plagdet == pytest.approx(0.5)


def test_granularity_penalises_split_detections() -> None:
    case = P(0, 100, 0, 100)
    dets = [P(0, 50, 0, 50), P(50, 100, 50, 100)]
    s = pan_scores([case], dets)
    assert s.recall == pytest.approx(1.0)
    assert s.precision == pytest.approx(1.0)
    assert s.granularity == 2.0
    assert s.plagdet == pytest.approx(1.0 / math.log2(3))


def test_detection_on_the_wrong_source_counts_for_nothing() -> None:
    case = P(0, 100, 0, 100, src="right")
    det = P(0, 100, 0, 100, src="wrong")
    assert not detects(case, det)
    s = pan_scores([case], [det])
    assert s.recall == 0.0 and s.precision == 0.0 and s.plagdet == 0.0


def test_overlap_on_one_side_only_is_not_a_detection() -> None:
    assert not detects(P(0, 100, 0, 100), P(0, 100, 500, 600))


def test_no_cases_no_detections_is_perfect_and_false_alarms_are_not() -> None:
    assert pan_scores([], []).plagdet == 1.0
    alarm = pan_scores([], [P(0, 10, 0, 10)])
    assert alarm.precision == 0.0 and alarm.plagdet == 0.0


def test_overlapping_detections_are_not_counted_twice() -> None:
    case = P(0, 100, 0, 100)
    s = pan_scores([case], [P(0, 80, 0, 80), P(20, 100, 20, 100)])
    assert s.recall == pytest.approx(1.0)
    assert s.granularity == 2.0


def test_evaluation_store_uses_the_fixed_public_key() -> None:
    """Evaluation figures must not move with a random key from run to run."""
    from leakwatch.config import Config
    from leakwatch.evaluate.pan import EVALUATION_KEY, evaluation_store

    with evaluation_store(Config()) as (config, store):
        assert store.key.key_id == EVALUATION_KEY.key_id
        assert config.store == store.location
    with evaluation_store(Config()) as (_, again):
        assert again.key.key_id == EVALUATION_KEY.key_id


def test_score_pairs_listed_mode_ignores_unlisted_pairs_and_whole_mode_counts_them() -> None:
    from leakwatch.evaluate.pan import PanPair, score_pairs

    case = Passage("s1", "a", 0, 100, 0, 100)
    pairs = [PanPair("02-no-obfuscation", "s1", "a", (case,)), PanPair("01-no-plagiarism", "s2", "b", ())]
    hit = Passage("s1", "a", 0, 100, 0, 100)
    elsewhere = Passage("s1", "c", 200, 300, 0, 100)  # another source, not listed
    other_doc = Passage("s9", "a", 0, 100, 0, 100)  # a suspicious document the corpus lacks
    listed = score_pairs(pairs, [hit, elsewhere, other_doc], "listed")
    whole = score_pairs(pairs, [hit, elsewhere, other_doc], "whole")
    assert listed.overall is not None and whole.overall is not None
    assert (listed.overall.precision, listed.overall.recall, listed.unlisted_detections) == (1.0, 1.0, 0)
    assert (whole.overall.precision, whole.overall.recall, whole.unlisted_detections) == (0.5, 1.0, 1)
    assert listed.document_precision == whole.document_precision == 1.0


def test_evaluation_keys_are_fixed_and_distinct() -> None:
    from leakwatch.evaluate.pan import EVALUATION_KEY, evaluation_key

    assert evaluation_key(0).key_id == EVALUATION_KEY.key_id
    assert len({evaluation_key(n).key_id for n in range(4)}) == 4
    assert evaluation_key(2).key_id == evaluation_key(2).key_id


def test_key_spread_is_mean_min_and_max_of_each_figure() -> None:
    from leakwatch.evaluate.pan import key_spread

    spread = key_spread([{"overall": 0.9, "x": 1.0}, {"overall": 0.8, "x": 1.0}, {"overall": 0.85, "x": 1.0}])
    assert spread["overall"] == {"mean": 0.85, "min": 0.8, "max": 0.9}
    assert spread["x"] == {"mean": 1.0, "min": 1.0, "max": 1.0}


def test_evaluate_pan_with_several_keys_reports_every_keys_run(tmp_path: Path) -> None:
    """A one-pair PAN corpus with a verbatim case: found with every key."""

    source = make_text(1, 400)
    copied = source[source.index(" ", 800) + 1 : source.index(" ", 1400)]
    before = make_text(2, 200) + "\n\n"
    susp = before + copied + "\n\n" + make_text(3, 100)
    for folder, name, text in (("src", "source-document00001.txt", source),
                               ("susp", "suspicious-document00001.txt", susp)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / name).write_text(text, encoding="utf-8")
    cls = tmp_path / "02-no-obfuscation"
    cls.mkdir()
    (cls / "pairs").write_text("suspicious-document00001.txt source-document00001.txt\n", encoding="utf-8")
    (cls / "suspicious-document00001-source-document00001.xml").write_text(
        '<document reference="suspicious-document00001.txt"><feature name="plagiarism" '
        f'source_length="{len(copied)}" source_offset="{source.index(copied)}" '
        f'source_reference="source-document00001.txt" this_length="{len(copied)}" '
        f'this_offset="{len(before)}" /></document>', encoding="utf-8")
    result = CliRunner().invoke(cli, ["evaluate", "pan", str(tmp_path), "--keys", "3", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["keys"]["runs"]) == 3
    assert data["keys"]["runs"][0]["overall"] == data["listed_pairs"]["overall"]["plagdet"]
    assert data["keys"]["spread"]["overall"]["min"] > 0.9
    text = CliRunner().invoke(cli, ["evaluate", "pan", str(tmp_path), "--keys", "2"]).output
    assert "plagdet over 2 keys:" in text and "overall (whole index)" in text
    assert "keys" not in json.loads(CliRunner().invoke(cli, ["evaluate", "pan", str(tmp_path),
                                                             "--format", "json"]).stdout)
