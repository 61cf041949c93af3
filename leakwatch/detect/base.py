"""The detector stage interface and the deliverable it looks at."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

from leakwatch.fingerprint import DocumentFingerprints
from leakwatch.model import ExtractedText, Finding, FindingKind


@dataclass(frozen=True)
class Deliverable:
    """A file being scanned, extracted and fingerprinted with the store's key."""

    path: str
    sha256: str
    extracted: ExtractedText
    fingerprints: DocumentFingerprints


class Detector(abc.ABC):
    """One detection stage. Each kind of risk (confidential material, licence
    text, copied code ...) is a detector; the scan runs every registered one."""

    name: ClassVar[str]
    # The kinds of finding this stage emits (the registry collects them: SARIF rules, audit
    # counts, severity). A finding of an undeclared kind is a bug the registry test catches.
    kinds: ClassVar[tuple[FindingKind, ...]]

    @abc.abstractmethod
    def detect(self, deliverable: Deliverable) -> list[Finding]:
        """Findings in one deliverable (empty when it is clean)."""
