"""Detection stages: candidates, alignment and scoring, behind one interface."""

from leakwatch.detect.base import Deliverable, Detector
from leakwatch.detect.confidential import ConfidentialDetector

__all__ = ["ConfidentialDetector", "Deliverable", "Detector"]
