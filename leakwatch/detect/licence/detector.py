"""Licence texts in a deliverable, matched against the shipped SPDX reference."""

from __future__ import annotations

from collections import Counter

import numpy as np

from leakwatch.detect.base import Deliverable, Detector
from leakwatch.detect.licence.match import LicenceMatch, LicenceMatchParams, match_licences
from leakwatch.detect.licence.texts import LicenceReference, default_reference
from leakwatch.detect.scoring import stable_id
from leakwatch.model import Finding, FindingKind, Scores, Severity, SourceRef, Span
from leakwatch.store.base import FingerprintStore

LICENCE_TEXT = FindingKind(
    "licence-text", "LicenceText", "A licence text in the deliverable",
    "The deliverable carries the text of a licence (named by SPDX id): third-party material may have been "
    "copied in without saying so.", Severity.MEDIUM)
# A block holding at least this share of a licence is the licence, not a quotation of it.
SUBSTANTIAL_COVERAGE = 0.5


def licence_severity(coverage: float) -> Severity:
    """A substantial copy of a licence means licensed material came with it (medium);
    a fragment or a notice is worth a look (low)."""
    return Severity.MEDIUM if coverage >= SUBSTANTIAL_COVERAGE else Severity.LOW


def describe(m: LicenceMatch, ref: LicenceReference) -> dict[str, object]:
    """The ``licence`` object of a finding: which licence, how much of it, and what
    told it apart from the nearest other licence."""
    text = ref.texts[m.text]
    info: dict[str, object] = {
        "spdx_id": text.spdx_id,
        "name": text.name,
        "part": text.part,
        "coverage": round(m.coverage, 4),
        "same_text_as": list(text.ids[1:]),
        "reference": ref.source,
    }
    if m.stack is not None:
        # One part of a licence made of several (CPython's history): which one, and of what.
        stack = ref.texts[m.stack]
        info["part_of"] = {"spdx_id": stack.spdx_id, "name": stack.name}
    if m.distinction is not None:
        other = ref.texts[m.distinction.runner_up]
        info["distinguished_from"] = {
            "spdx_id": other.spdx_id,
            "only_this_present": m.distinction.only_winner_present,
            "only_that_present": m.distinction.only_runner_up_present,
            "coverage": round(m.distinction.runner_up_coverage, 4),
        }
    return info


class LicenceDetector(Detector):
    """``licence-text`` findings: each block of licence text, named by SPDX id."""

    name = "licence"
    kinds = (LICENCE_TEXT,)

    def __init__(self, reference: LicenceReference | None = None, params: LicenceMatchParams | None = None,
                 allow: FingerprintStore | None = None) -> None:
        self.reference = reference or default_reference()
        self.params = params or LicenceMatchParams()
        self.allow = allow
        self._last: tuple[tuple[str, str], list[LicenceMatch]] | None = None

    def matches(self, deliverable: Deliverable) -> list[LicenceMatch]:
        """The deliverable's licence blocks (computed once per deliverable: the other
        detectors ask for them too)."""
        identity = (deliverable.path, deliverable.sha256)
        if self._last is not None and self._last[0] == identity:
            return self._last[1]
        skip = None
        if self.allow is not None and self.allow.params.shingle_size == self.params.shingle_size:
            # Same words, same shingle size: keyed shingle p starts where licence shingle p does.
            skip = self.allow.allowed_mask(deliverable.fingerprints.keyed)
        found = match_licences(deliverable.fingerprints.tokens, deliverable.extracted.text, self.reference,
                               self.params, skip)
        self._last = (identity, found)
        return found

    def licence_words(self, deliverable: Deliverable) -> np.ndarray:
        """True for the words inside licence blocks: public text, which is neither a
        confidential leak nor a third-party passage (it is a licence-text finding)."""
        mask = np.zeros(len(deliverable.fingerprints.tokens), dtype=bool)
        for m in self.matches(deliverable):
            mask[m.word_start : m.word_end] = True
        return mask

    def detect(self, deliverable: Deliverable) -> list[Finding]:
        tokens = deliverable.fingerprints.tokens
        extracted = deliverable.extracted
        matches = self.matches(deliverable)
        n_shingles = max(len(tokens) - self.params.shingle_size + 1, 1)
        seen: Counter[str] = Counter()
        findings: list[Finding] = []
        for m in matches:
            text = self.reference.texts[m.text]
            start, end = tokens.char_span(m.word_start, m.word_end)
            seen[text.spdx_id] += 1
            findings.append(Finding(
                id=stable_id(LICENCE_TEXT.id, text.spdx_id, str(seen[text.spdx_id]), deliverable.path),
                kind=LICENCE_TEXT.id,
                severity=licence_severity(m.coverage),
                deliverable_path=deliverable.path,
                deliverable_sha256=deliverable.sha256,
                deliverable_span=Span(start, end, extracted.page_of(start)),
                source=SourceRef(f"spdx:{text.spdx_id}", text.url or f"https://spdx.org/licenses/{text.spdx_id}.html",
                                 "licence", None),
                scores=Scores(
                    resemblance=m.resemblance,
                    containment_deliverable=min(1.0, m.matched_shingles / n_shingles),
                    containment_source=m.coverage,
                    matched_words=m.matched_words,
                    # Exact word matches against the full licence text: sure once long enough.
                    confidence=min(1.0, m.matched_words / (2 * self.params.min_words)),
                ),
                verified=False,
                deliverable_format=extracted.format,
                deliverable_encoding=extracted.encoding,
                extra={"licence": describe(m, self.reference)},
            ))
        return findings
