"""Measured detection quality: PAN character-level measures and per-document labels."""

from leakwatch.evaluate.labels import LabelsEvaluation, evaluate_labels
from leakwatch.evaluate.measures import PanScores, Passage, pan_scores
from leakwatch.evaluate.pan import CorpusError, PanEvaluation, PanRun, evaluate_pan

__all__ = ["CorpusError", "LabelsEvaluation", "PanEvaluation", "PanRun", "PanScores", "Passage",
           "evaluate_labels", "evaluate_pan", "pan_scores"]
