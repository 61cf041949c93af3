"""Registered third-party code in code deliverables: ``copied-code``.

Code deliverables are matched on their structure streams against the code references
(:mod:`leakwatch.detect.code.compare`), so a copy with renamed identifiers, new comments,
new layout, moved declarations and reordered methods is still found, while an
independent solution of the same task is told apart by the literal texts and comments a
copier keeps.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from leakwatch.config import Config
from leakwatch.detect.base import Deliverable, Detector
from leakwatch.detect.code.compare import (
    CODE_MATCH,
    CodeMatchParams,
    Evidence,
    Region,
    Tile,
    covered,
    evidence,
    greedy_tiles,
    is_copy,
    passages,
)
from leakwatch.detect.code.normalize import VerbatimItem
from leakwatch.detect.scoring import finding_id, severity
from leakwatch.fingerprint import shingle_hashes
from leakwatch.model import Finding, FindingKind, Scores, Severity, SourceRef, Span
from leakwatch.references import ReferenceLibrary, keyed_items, normalized_code
from leakwatch.store.base import FingerprintHits, SourceDocument
from leakwatch.text import Tokens

COPIED_CODE = FindingKind(
    "copied-code", "CopiedCode", "Source code copied from a registered third-party code tree",
    "Source code in the deliverable was copied (identifiers and layout may be changed) from a registered "
    "open-source or third-party code tree.", Severity.MEDIUM)


def is_code(deliverable: Deliverable) -> bool:
    return deliverable.extracted.format == "code"


class CopiedCodeDetector(Detector):
    """Source-code deliverables against the code references, on structure streams.

    Stage 1 looks the deliverable's keyed k-grams up and keeps the reference files
    that could reach a decision; each is tiled against the deliverable (greedy string
    tiling over the stored k-gram sequence, :mod:`leakwatch.detect.code.compare`), and the
    two-stage decision runs on the whole reference (``whole-file``) and, short of
    that, on each stretch of it the tiles cover (``passage``).
    """

    name = "copied-code"
    kinds = (COPIED_CODE,)

    def __init__(self, library: ReferenceLibrary, config: Config,
                 params: CodeMatchParams = CODE_MATCH, max_candidates: int = 32) -> None:
        self.library = library
        # [code_detect] sets the passage size, the gap inside a passage and the coverage.
        chosen = config.code_detect
        self.params = dataclasses.replace(params, passage_tokens=chosen.min_words, max_gap=chosen.max_gap,
                                          coverage=chosen.near_duplicate_containment,
                                          shingle_size=library.code.params.shingle_size)
        self.severity = chosen
        self.max_candidates = max_candidates

    def detect(self, deliverable: Deliverable) -> list[Finding]:
        store = self.library.code
        if not is_code(deliverable) or store.count_documents() == 0:
            return []
        extracted = deliverable.extracted
        code = normalized_code(extracted.text, extracted.language, deliverable.path)
        if code is None:
            return []
        k = store.params.shingle_size
        keyed = store.key.prf64(shingle_hashes(code.structure.ids, k))
        hits = store.lookup_fingerprints(keyed)
        if len(hits) == 0:
            return []
        own_items = {v.hash for v in keyed_items(code.items, store.key)}
        findings: list[Finding] = []
        docs = store.documents([int(d) for d in self._candidates(hits)])
        for doc_key, doc in docs.items():
            stored = store.document_fingerprints(doc_key)
            tiles = greedy_tiles(stored.hashes, keyed, k)
            findings.extend(self._findings(deliverable, code.structure, doc, stored, tiles,
                                           self.library.verbatim_items(doc), own_items))
        return sorted(findings, key=lambda f: (f.deliverable_span.start, f.id))

    def _candidates(self, hits: FingerprintHits) -> list[int]:
        """Stage 1 in the store: the reference files whose hit k-grams could cover enough
        of them (each hit k-gram covers at most k tokens) for a passage or the whole
        file, most hit first."""
        pairs = np.unique(np.stack([hits.doc_keys, hits.positions]), axis=1)
        docs, hit = np.unique(pairs[0], return_counts=True)
        sizes = {d.doc_key: d.n_words for d in self.library.code.documents(docs.tolist()).values()}
        p = self.params
        chosen = [(n, d) for d, n in zip(docs.tolist(), hit.tolist(), strict=True)
                  if n * p.shingle_size >= p.coverage * min(sizes.get(d, 0), p.passage_tokens)]
        return [d for _, d in sorted(chosen, reverse=True)[:self.max_candidates]]

    def _findings(self, deliverable: Deliverable, tokens: Tokens, doc: SourceDocument, stored: FingerprintHits,
                  tiles: list[Tile], items: list[VerbatimItem], own_items: set[int]) -> list[Finding]:
        if not tiles:
            return []
        n_ref = doc.n_words
        whole = Region(0, n_ref, tuple(tiles))
        coverage = float(covered(tiles, n_ref).mean())
        proof = evidence(items, own_items, 0, n_ref)
        if is_copy(whole, proof, self.params, coverage=coverage):
            return [self._finding(deliverable, tokens, doc, stored, whole, coverage, proof, True)]
        out = []
        for region in passages(tiles, self.params.max_gap):
            if region.end - region.start < self.params.passage_tokens:
                continue
            part = evidence(items, own_items, region.start, region.end)
            if is_copy(region, part, self.params):
                out.append(self._finding(deliverable, tokens, doc, stored, region, coverage, part, False))
        return out

    def _finding(self, deliverable: Deliverable, tokens: Tokens, doc: SourceDocument, stored: FingerprintHits,
                 region: Region, coverage: float, proof: Evidence, whole: bool) -> Finding:
        k = self.library.code.params.shingle_size
        d_first = min(t.dlv for t in region.tiles)
        d_last = max(t.dlv + t.length for t in region.tiles)
        d0, d1 = tokens.char_span(d_first, d_last)
        if whole:
            s_span = Span(0, doc.n_chars)
        else:
            # Token t of the reference starts k-gram t and ends k-gram t - k + 1.
            last_gram = min(region.end - k, stored.char_ends.shape[0] - 1)
            s_span = Span(int(stored.char_starts[region.start]), int(stored.char_ends[max(0, last_gram)]))
        matched = region.covered_tokens
        n_d = max(1, len(tokens))
        # Equal normalized tokens, confirmed by copied literals or comments (or a large
        # region covered almost whole): sure of the copy, so severity is a matter of size.
        rating = severity(matched, 1.0, self.severity, whole=whole)
        return Finding(
            id=finding_id(COPIED_CODE.id, doc.doc_id, doc.version, s_span.start, s_span.end, deliverable.path),
            kind=COPIED_CODE.id,
            severity=rating,
            deliverable_path=deliverable.path,
            deliverable_sha256=deliverable.sha256,
            deliverable_span=Span(d0, d1, deliverable.extracted.page_of(d0)),
            source=SourceRef(doc.doc_id, doc.path, doc.label, s_span),
            scores=Scores(
                resemblance=round(min(coverage, matched / n_d), 4) if whole else 0.0,
                containment_deliverable=round(min(1.0, matched / n_d), 4),
                containment_source=round(coverage, 4),
                matched_words=matched,
                confidence=round(min(1.0, region.coverage if not whole else coverage), 4),
            ),
            verified=False,
            deliverable_format=deliverable.extracted.format,
            deliverable_encoding=deliverable.extracted.encoding,
            extra={"method": "whole-file" if whole else "passage", "matched_unit": "code-token",
                   "reference": self.library.describe(doc),
                   "evidence": {"literals": proof.literals, "literals_found": proof.literals_found,
                                "comments_found": proof.comments_found,
                                "region_coverage": round(region.coverage, 4)}},
        )
