"""Shipped reference fingerprints, installed as ``leakwatch.references`` (see pyproject.toml).

This folder is also the default store location; the store files in it are never packaged.
"""
