"""One registry of detectors and the kinds of finding they declare (issue 22): what SARIF's
rules, the audit's confidential counts and the severity of whole-document copies read."""

from __future__ import annotations

import importlib
import pkgutil

import leakwatch
from leakwatch.audit import CONFIDENTIAL_KINDS, WHOLE_KINDS
from leakwatch.detect.base import Detector
from leakwatch.detect.registry import detector_types, finding_kinds
from leakwatch.model import Severity
from leakwatch.report.sarif import sarif_log
from leakwatch.results import ScanReport


def _all_detector_classes() -> set[type[Detector]]:
    for module in pkgutil.walk_packages(leakwatch.__path__, "leakwatch."):
        if module.name.startswith(("leakwatch.detect", "leakwatch.records")):
            importlib.import_module(module.name)
    found: set[type[Detector]] = set()
    todo = [Detector]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("leakwatch."):
                found.add(sub)
            todo.append(sub)
    return found


def test_every_detector_is_registered_and_declares_its_kinds() -> None:
    registered = set(detector_types())
    assert _all_detector_classes() == registered
    for detector in registered:
        assert detector.kinds, detector
        assert all(k.id and k.name and k.title and k.description for k in detector.kinds)


def test_the_kinds_are_the_ones_reports_and_audits_read() -> None:
    kinds = finding_kinds()
    assert set(kinds) == {"confidential-excerpt", "confidential-near-duplicate", "confidential-records",
                          "licence-text", "copyright-notice", "third-party-text", "copied-code"}
    # The audit's kinds come from the declarations: the records kind the old list lacked is in.
    assert {"confidential-excerpt", "confidential-near-duplicate", "confidential-records"} == CONFIDENTIAL_KINDS
    assert {"confidential-near-duplicate"} == WHOLE_KINDS
    assert kinds["copyright-notice"].default_severity is Severity.LOW


def test_sarif_has_a_rule_for_every_declared_kind_with_its_level() -> None:
    log = sarif_log(ScanReport(findings=[], errors=[], files_scanned=0))
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert list(rules) == list(finding_kinds())
    assert rules["confidential-records"]["defaultConfiguration"]["level"] == "error"
    assert rules["confidential-records"]["name"] == "ConfidentialRecords"
    assert rules["copyright-notice"]["defaultConfiguration"]["level"] == "note"
    assert rules["licence-text"]["defaultConfiguration"]["level"] == "warning"
