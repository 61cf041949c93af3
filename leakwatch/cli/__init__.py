"""The ``leakwatch`` command: one module per command group, each thin (it parses options,
builds the config and calls the library); the group, the shared options and the error
handling are in :mod:`leakwatch.cli.app`."""

from __future__ import annotations

from leakwatch.cli import (  # noqa: F401  (each module registers its commands on the group)
    allow,
    audit,
    baseline,
    evaluate,
    evidence,
    extract_check,
    index,
    reference,
    scan,
    serve,
    store,
    watch,
)
from leakwatch.cli.app import cli, main

__all__ = ["cli", "main"]
