"""Registered third-party material in a deliverable: ``third-party-text`` and ``copied-code``.

Text references are matched exactly like confidential documents (the same seeds,
alignment, paraphrase stage and scoring), against their own database. Code
deliverables are also matched on normalized code tokens against the code
references, so a copy with renamed identifiers, new comments and new layout is
still found.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from leakwatch.config import Config
from leakwatch.detect.alignment import Seeds, chain_seeds, covered_words, match_positions
from leakwatch.detect.base import Deliverable, Detector
from leakwatch.detect.confidential import ConfidentialDetector
from leakwatch.detect.scoring import confidence, finding_id, severity
from leakwatch.fingerprint import keyed_shingles
from leakwatch.model import Finding, Scores, SourceRef, Span
from leakwatch.references import ReferenceLibrary, tokens_of_code
from leakwatch.store.base import FingerprintHits, FingerprintStore, SourceDocument
from leakwatch.text import Tokens

THIRD_PARTY_TEXT = "third-party-text"
COPIED_CODE = "copied-code"


def is_code(deliverable: Deliverable) -> bool:
    return deliverable.extracted.format == "code"


class ReferenceTextDetector(ConfidentialDetector):
    """Passages of registered references, matched on words."""

    name = "reference-text"

    def __init__(self, library: ReferenceLibrary, config: Config, allow: FingerprintStore,
                 verify_sources: bool = True, public_words: Callable[[Deliverable], np.ndarray] | None = None) -> None:
        super().__init__(library.text, config, verify_sources=verify_sources, allow=allow, public_words=public_words)
        self.library = library

    def finding_kind(self, kind: str, doc: SourceDocument) -> str:
        return COPIED_CODE if doc.format == "code" else THIRD_PARTY_TEXT

    def finding_extra(self, doc: SourceDocument) -> dict[str, object]:
        return {"reference": self.library.describe(doc)}

    def detect(self, deliverable: Deliverable) -> list[Finding]:
        found = super().detect(deliverable)
        if (is_code(deliverable) and any(f.kind == COPIED_CODE for f in found)
                and tokens_of_code(deliverable.extracted.text, deliverable.extracted.language,
                                   deliverable.path) is not None):
            # Code copied into code is the code detector's: it sees through renaming.
            found = [f for f in found if f.kind != COPIED_CODE]
        return found


class CopiedCodeDetector(Detector):
    """Source-code deliverables against the code references, on normalized tokens.

    Two findings, both ``copied-code``: a reference file whose fingerprints are at
    least ``near_duplicate_containment`` (0.9) present in the deliverable was copied
    whole, however disguised (the rule measured on IR-Plag, scripts/eval_code.py);
    and any passage of at least ``min_words`` matched tokens (a function lifted out
    of a larger reference file) is a copy too.
    """

    name = "copied-code"

    def __init__(self, library: ReferenceLibrary, config: Config) -> None:
        self.library = library
        self.params = config.code_detect

    def detect(self, deliverable: Deliverable) -> list[Finding]:
        store = self.library.code
        if not is_code(deliverable) or store.count_documents() == 0:
            return []
        extracted = deliverable.extracted
        tokens = tokens_of_code(extracted.text, extracted.language, deliverable.path)
        if tokens is None:
            return []
        keyed = keyed_shingles(tokens, store.params, store.key)
        hits = store.lookup_fingerprints(keyed)
        if len(hits) == 0:
            return []
        findings: list[Finding] = []
        docs = store.documents([int(k) for k in np.unique(hits.doc_keys)])
        for doc_key, doc in docs.items():
            mine = hits.select(hits.doc_keys == doc_key)
            coverage = reference_coverage(mine.hashes, store.document_fingerprints(doc_key).hashes)
            findings.extend(self._findings(deliverable, tokens, keyed, doc, mine, coverage))
        return sorted(findings, key=lambda f: (f.deliverable_span.start, f.id))

    def _findings(self, deliverable: Deliverable, tokens: Tokens, keyed: np.ndarray, doc: SourceDocument,
                  hits: FingerprintHits, coverage: float) -> list[Finding]:
        k = self.library.code.params.shingle_size
        i, j = match_positions(keyed, hits.hashes)
        seeds = Seeds(i, hits.positions[j], hits.char_starts[j], hits.char_ends[j])
        chains = [seeds.take(c) for c in chain_seeds(seeds, self.params.max_gap, k)]
        if coverage >= self.params.near_duplicate_containment:
            # The whole reference file is in here: one finding over everything matched.
            chains = [seeds]
            whole = True
        else:
            whole = False
        out = []
        n_d = max(1, len(tokens))
        for c in chains:
            matched = covered_words(c.d_pos, k)
            if not whole and matched < self.params.min_words:
                continue
            d0, d1 = tokens.char_span(int(c.d_pos.min()), int(c.d_pos.max()) + k)
            s_span = (Span(0, doc.n_chars) if whole
                      else Span(int(c.s_char_start.min()), int(c.s_char_end.max())))
            out.append(Finding(
                id=finding_id(COPIED_CODE, doc.doc_id, doc.version, s_span.start, s_span.end, deliverable.path),
                kind=COPIED_CODE,
                # Equal normalized tokens: sure of the copy, so severity is a matter of size.
                severity=severity(matched, 1.0, self.params, whole=whole),
                deliverable_path=deliverable.path,
                deliverable_sha256=deliverable.sha256,
                deliverable_span=Span(d0, d1, deliverable.extracted.page_of(d0)),
                source=SourceRef(doc.doc_id, doc.path, doc.label, s_span),
                scores=Scores(
                    resemblance=0.0 if not whole else min(coverage, matched / n_d),
                    containment_deliverable=min(1.0, matched / n_d),
                    containment_source=coverage,
                    matched_words=matched,
                    confidence=min(1.0, coverage / self.params.near_duplicate_containment) if whole
                    else confidence(matched // 4, 1.0, False),
                ),
                verified=False,
                deliverable_format=deliverable.extracted.format,
                deliverable_encoding=deliverable.extracted.encoding,
                extra={"method": "whole-file" if whole else "passage", "matched_unit": "code-token",
                       "reference": self.library.describe(doc)},
            ))
        return out


def reference_coverage(matched: np.ndarray, reference: np.ndarray) -> float:
    """Share of a reference file's distinct fingerprints found in the deliverable."""
    distinct = np.unique(reference)
    if distinct.size == 0:
        return 0.0
    return float(np.isin(distinct, matched).sum()) / float(distinct.size)
