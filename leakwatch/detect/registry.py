"""The detectors a scan runs, in one place.

Adding a detector is a module under ``leakwatch/detect/`` and a line here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from leakwatch.config import Config
from leakwatch.detect.base import Detector
from leakwatch.detect.confidential import ConfidentialDetector
from leakwatch.detect.licence.detector import LicenceDetector
from leakwatch.detect.notices import NoticeDetector
from leakwatch.model import ReadAgain
from leakwatch.records.detector import RecordsDetector
from leakwatch.store.base import FingerprintStore

if TYPE_CHECKING:
    from leakwatch.references import ReferenceLibrary


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
