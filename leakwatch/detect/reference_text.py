"""Registered third-party text in a deliverable: ``third-party-text`` (and ``copied-code``
for code pasted into prose).

Text references are matched exactly like confidential documents (the same seeds,
alignment, paraphrase stage and scoring), against their own database. Code copied into
code is :mod:`leakwatch.detect.code`'s.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from leakwatch.config import Config
from leakwatch.detect.base import Deliverable
from leakwatch.detect.code.detector import COPIED_CODE, is_code
from leakwatch.detect.confidential import ConfidentialDetector
from leakwatch.model import Finding, FindingKind, ReadAgain, Severity
from leakwatch.references import ReferenceLibrary, tokens_of_code
from leakwatch.store.base import FingerprintStore, SourceDocument

THIRD_PARTY_TEXT = FindingKind(
    "third-party-text", "ThirdPartyText", "A passage copied from a registered third-party reference",
    "A passage of the deliverable was copied from a registered third-party reference (a public report, a "
    "stock-text library).", Severity.MEDIUM)


class ReferenceTextDetector(ConfidentialDetector):
    """Passages of registered references, matched on words."""

    name = "reference-text"
    # Code pasted into prose is found here, on words; code in code by the code detector.
    kinds = (THIRD_PARTY_TEXT, COPIED_CODE)

    def __init__(self, library: ReferenceLibrary, config: Config, allow: FingerprintStore,
                 verify_sources: bool = True, public_words: Callable[[Deliverable], np.ndarray] | None = None,
                 read_again: ReadAgain | None = None) -> None:
        super().__init__(library.text, config, verify_sources=verify_sources, allow=allow, public_words=public_words,
                         read_again=read_again)
        self.library = library

    def finding_kind(self, kind: FindingKind, doc: SourceDocument) -> FindingKind:
        return COPIED_CODE if doc.format == "code" else THIRD_PARTY_TEXT

    def finding_extra(self, doc: SourceDocument) -> dict[str, object]:
        return {"reference": self.library.describe(doc)}

    def detect(self, deliverable: Deliverable) -> list[Finding]:
        found = super().detect(deliverable)
        if (is_code(deliverable) and any(f.kind == COPIED_CODE.id for f in found)
                and tokens_of_code(deliverable.extracted.text, deliverable.extracted.language,
                                   deliverable.path) is not None):
            # Code copied into code is the code detector's: it sees through renaming.
            found = [f for f in found if f.kind != COPIED_CODE.id]
        return found
