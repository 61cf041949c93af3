"""Detection stages: candidates, alignment and scoring, behind one interface."""

from leakwatch.detect.base import Deliverable, Detector
from leakwatch.detect.confidential import EXCERPT, NEAR_DUPLICATE, ConfidentialDetector

__all__ = ["EXCERPT", "NEAR_DUPLICATE", "ConfidentialDetector", "Deliverable", "Detector"]
