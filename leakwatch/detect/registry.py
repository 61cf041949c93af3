"""The detectors a scan runs and the kinds of finding they emit, in one place.

Adding a detector is its feature folder (the class, declaring its ``kinds``) and a line
in ``detector_types`` (and in ``default_detectors`` where it is built); SARIF's rules,
the audit's confidential kinds and the severity rule follow from the declaration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from leakwatch.config import Config
from leakwatch.detect.base import Detector
from leakwatch.detect.confidential import ConfidentialDetector
from leakwatch.detect.licence.detector import LicenceDetector
from leakwatch.detect.notices import NoticeDetector
from leakwatch.model import FindingKind, ReadAgain
from leakwatch.records.detector import RecordsDetector
from leakwatch.store.base import FingerprintStore

if TYPE_CHECKING:
    from leakwatch.references import ReferenceLibrary


def detector_types() -> tuple[type[Detector], ...]:
    """Every detector class, in report order."""
    from leakwatch.detect.code.detector import CopiedCodeDetector
    from leakwatch.detect.reference_text import ReferenceTextDetector

    return (ConfidentialDetector, LicenceDetector, NoticeDetector, RecordsDetector, ReferenceTextDetector,
            CopiedCodeDetector)


def finding_kinds() -> dict[str, FindingKind]:
    """Every kind of finding, by id, as its detectors declare it (a kind two detectors
    emit, the whole-document copy of a document or a table, is declared once and shared)."""
    kinds: dict[str, FindingKind] = {}
    for detector in detector_types():
        for kind in detector.kinds:
            if kinds.setdefault(kind.id, kind) != kind:
                raise ValueError(f"finding kind {kind.id!r} is declared twice, differently")
    return kinds


def default_detectors(store: FingerprintStore, config: Config, verify_sources: bool = True,
                      library: ReferenceLibrary | None = None, read_again: ReadAgain | None = None) -> list[Detector]:
    """The detector stages a scan runs: every kind, in one pass over each file. Registered
    sources are re-read for verification through ``read_again`` (the scan's isolated
    worker; in-process when none is given)."""
    from leakwatch.detect.code.detector import CopiedCodeDetector
    from leakwatch.detect.reference_text import ReferenceTextDetector

    # Licence text in a deliverable is reported as such, never as a confidential or
    # third-party passage (a licence block inside a registered document is public text).
    licences = LicenceDetector(allow=store)
    detectors: list[Detector] = [
        ConfidentialDetector(store, config, verify_sources=verify_sources, public_words=licences.licence_words,
                             read_again=read_again),
        licences,
        NoticeDetector(),
        RecordsDetector(store, config),
    ]
    if library is not None:
        detectors += [ReferenceTextDetector(library, config, allow=store, verify_sources=verify_sources,
                                            public_words=licences.licence_words, read_again=read_again),
                      CopiedCodeDetector(library, config)]
    return detectors
