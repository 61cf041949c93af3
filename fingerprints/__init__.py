"""Shipped reference fingerprints, installed as ``leakwatch.shipped`` (see pyproject.toml).

This folder is also the default store location; the store files in it are never packaged.
"""
