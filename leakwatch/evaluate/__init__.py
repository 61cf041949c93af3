"""Measured detection quality: PAN character-level measures and per-document labels.

Import what you need from its module (``leakwatch.evaluate.pan``, ``.labels``, ...):
this package imports nothing itself, so that the audit's use of ``measures`` does not
load scikit-learn with the labels evaluation.
"""
