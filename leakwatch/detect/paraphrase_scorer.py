"""The learned scoring stage for reworded passages: a logistic regression shipped as JSON.

The model is trained by ``scripts/train_scorer.py`` (scikit-learn) and stored as
plain numbers (feature names, scaler, coefficients, threshold, cross-validated
figures) so that loading it runs no code: no pickle, no joblib.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from leakwatch.detect.paraphrase import FEATURES

MODEL_RESOURCE = "paraphrase_scorer.json"


class ModelError(ValueError):
    """The model file does not match this version of leakwatch."""


@dataclass(frozen=True)
class LogisticScorer:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float
    metadata: dict[str, Any]

    def probability(self, x: np.ndarray) -> np.ndarray:
        """P(copied) for feature rows ``x`` (n, features)."""
        z = ((np.atleast_2d(x) - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogisticScorer:
        if tuple(data.get("features", ())) != FEATURES:
            raise ModelError(f"model features {data.get('features')} differ from this version's {FEATURES}")
        n = len(FEATURES)
        arrays = {k: np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "coef")}
        if any(a.shape != (n,) for a in arrays.values()):
            raise ModelError("model arrays do not have one value per feature")
        return cls(FEATURES, arrays["mean"], arrays["scale"], arrays["coef"], float(data["intercept"]),
                   float(data["threshold"]), dict(data.get("metadata", {})))

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coef": self.coef.tolist(), "intercept": self.intercept, "threshold": self.threshold,
                "metadata": self.metadata}


def load_default_scorer() -> LogisticScorer:
    """The model shipped with the package."""
    text = resources.files("leakwatch.detect").joinpath(MODEL_RESOURCE).read_text(encoding="utf-8")
    return LogisticScorer.from_dict(json.loads(text))
