"""Confidential material in a deliverable: excerpts and whole-document copies.

Candidates come from two look-ups in the store: the deliverable's shingles
against the winnowed fingerprints (which finds every copied run of the
guaranteed length), and its passage signatures against the LSH bands (which
also finds passages reworded too much for long exact runs). Each candidate
source is then aligned with the deliverable:

* **verified**: when the source file is still at its registered path with the
  same content (keyed digest), it is read and re-fingerprinted, so every shared
  shingle is a seed and spans are exact to the word;
* **fingerprints only**: otherwise the stored winnowed fingerprints are the
  seeds, and spans are bounded by them.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from leakwatch.config import Config, DetectParams, FingerprintParams
from leakwatch.detect.alignment import (
    Alignment,
    Seeds,
    SortedQuery,
    by_probability,
    chain_seeds,
    covered_words,
    drop_overlapping,
    extend_exact,
    filled_words,
    is_summary_shaped,
    match_positions,
    merge_overlapping,
    outside,
    summary_of_source,
    trim_blocked,
    without_pieces,
    words_of_shingles,
)
from leakwatch.detect.base import Deliverable, Detector
from leakwatch.detect.candidates import best_resemblance, resembling_documents
from leakwatch.detect.paraphrase import (
    CANDIDATE_SETTINGS,
    ParaphraseParams,
    TermWeights,
    align_sentences_all,
    fragment_features,
    shingle_jaccard,
    stemmed,
)
from leakwatch.detect.paraphrase_scorer import LogisticScorer, load_default_scorer
from leakwatch.detect.scoring import confidence, exact_confidence, finding_id, jaccard, severity
from leakwatch.detect.sources import SourceReader, VerifiedSource, word_tokens
from leakwatch.fingerprint import (
    bag_query_signatures,
    band_keys,
    estimate_jaccard,
    is_empty_signature,
)
from leakwatch.model import (
    ExtractedText,
    Finding,
    FindingKind,
    ReadAgain,
    Scores,
    Severity,
    SourceRef,
    Span,
    matched_parts,
)
from leakwatch.store.base import FingerprintHits, FingerprintStore, SourceDocument
from leakwatch.text import Tokens

EXCERPT = FindingKind(
    "confidential-excerpt", "ConfidentialExcerpt", "A passage copied from a registered confidential document",
    "A contiguous passage of the deliverable was copied, verbatim or reworded, from a document registered as "
    "confidential. The related location is the passage in the source document.",
    Severity.HIGH, confidential=True)
NEAR_DUPLICATE = FindingKind(
    "confidential-near-duplicate", "ConfidentialNearDuplicate",
    "A registered confidential document delivered as a whole",
    "The deliverable as a whole is a copy (possibly renamed, edited or converted) of a document or table registered "
    "as confidential.", Severity.HIGH, confidential=True, whole_document=True)


@dataclass(frozen=True)
class CandidateFragment:
    """A reworded-passage candidate as the scorer saw it: what training and evaluation
    label against the annotations (character spans on both sides, and its features)."""

    deliverable: str
    source: str
    d_chars: tuple[int, int]
    s_chars: tuple[int, int]
    features: np.ndarray
    # Resemblance of the two sides' shingles (a verbatim copy is the exact stage's).
    verbatim: float


def df_limit(n_docs: int, params: DetectParams) -> int:
    """Text found in more documents than this is boilerplate."""
    return max(params.min_df_docs, int(params.max_df_fraction * n_docs))


def template_words(window_starts: np.ndarray, doc_keys: np.ndarray, length: int, n_words: int,
                   limit: int) -> np.ndarray:
    """Mask of deliverable words inside a window whose content-word bag matched more than
    ``limit`` registered documents (one row per bag-LSH hit: the window's first word, the
    document). Reworded boilerplate (letterheads, salutations, the opening formula every
    address shares) has no shared fingerprints to count, but its words match many
    documents' bags, as exact boilerplate matches many documents' fingerprints."""
    mask = np.zeros(n_words, dtype=bool)
    if window_starts.size == 0:
        return mask
    pairs = np.unique(np.stack([window_starts, doc_keys]), axis=1)
    starts, df = np.unique(pairs[0], return_counts=True)
    for start in starts[df > limit].tolist():
        mask[start : start + length] = True
    return mask


def document_frequency_filter(hits: FingerprintHits, n_docs: int, params: DetectParams) -> np.ndarray:
    """Boolean mask over ``hits``: True for hashes that are boilerplate (frequent across the index)."""
    if len(hits) == 0:
        return np.zeros(0, dtype=bool)
    limit = df_limit(n_docs, params)
    pairs = np.unique(np.stack([hits.hashes.view(np.int64), hits.doc_keys]), axis=1)
    values, df = np.unique(pairs[0], return_counts=True)
    frequent = values[df > limit]
    return np.isin(hits.hashes.view(np.int64), frequent)


def boilerplate_shingles(d_keyed: np.ndarray, frequent: np.ndarray, fp: FingerprintParams) -> np.ndarray:
    """Mask of deliverable shingles inside boilerplate runs.

    Only winnowed fingerprints carry a document frequency, and in a run of
    boilerplate they are at most one window apart, so every shingle within
    ``winnow_window - 1`` of a frequent fingerprint is taken as part of the run.
    A copied passage right next to boilerplate can lose up to that many words at
    its edge; the passage itself is still found.
    """
    mask = np.zeros(d_keyed.shape[0], dtype=bool)
    if frequent.size == 0 or d_keyed.size == 0:
        return mask
    reach = fp.winnow_window - 1
    for p in np.nonzero(np.isin(d_keyed, frequent))[0].tolist():
        mask[max(0, p - reach) : p + reach + 1] = True
    return mask


def shingles_within(words: np.ndarray, k: int) -> np.ndarray:
    """Shingles all of whose ``k`` words are marked (marked words come in runs)."""
    n = words.shape[0] - k + 1
    if n <= 0:
        return np.zeros(0, dtype=bool)
    return words[:n] & words[k - 1 :]


def explained_by(fragment: Alignment, exact: list[Alignment], share: float = 0.5, dense: float = 0.9) -> bool:
    """True when verbatim alignments already cover most of a paraphrase fragment.

    A verbatim copy (nearly every word in a shared shingle) has exact boundaries
    that the sentence fragment would only overshoot; an edited copy's exact runs
    are islands inside it, and the fragment is the better account of the passage.
    """
    length = max(1, fragment.d_word_end - fragment.d_word_start)
    covered = sum(
        max(0, min(fragment.d_word_end, a.d_word_end) - max(fragment.d_word_start, a.d_word_start))
        for a in exact
        if a.matched_words >= dense * (a.d_word_end - a.d_word_start)
    )
    return covered >= share * length


def top_documents(doc_keys: np.ndarray, limit: int) -> set[int]:
    """The ``limit`` documents with the most passage hits (ties: lower key first).

    Documents on the same subject share content words, so the bag LSH can name
    many of them; each costs a re-read and a sentence alignment, and reworded
    copies concentrate their hits in the document they came from.
    """
    keys, counts = np.unique(doc_keys, return_counts=True)
    order = np.lexsort((keys, -counts))[:limit]
    return {int(k) for k in keys[order]}


def is_mostly_boilerplate(skip: np.ndarray, start: int, end: int) -> bool:
    """True when at least half of the positions (shingles or words) in [start, end) are marked."""
    window = skip[start:end]
    return bool(window.size) and float(window.mean()) >= 0.5


def summary_parts(a: Alignment, tokens: Tokens) -> dict[str, Any]:
    """A summary finding's ``parts``: each fragment it joined, with its deliverable and
    source character spans (the finding's own source span is the whole document)."""
    if not a.parts:
        return {}
    return {"parts": [{"start": start, "end": end, "source_start": p.s_char_start, "source_end": p.s_char_end,
                       "method": p.method, "matched_words": p.matched_words}
                      for p in a.parts for start, end in [tokens.char_span(p.d_word_start, p.d_word_end)]]}


def one_finding_per_passage(findings: list[Finding], share: float = 0.5) -> list[Finding]:
    """Keep one excerpt finding per copied passage of the deliverable.

    The same passage often matches several registered documents (a report and the
    memo it quoted, two versions of one page). The strongest match becomes the
    finding; the others are listed in its ``also_in``, so nothing is hidden and
    a passage is counted once.
    """
    def strength(f: Finding) -> tuple[float, int, str]:
        source, _, scores = matched_parts(f)
        return -scores.confidence, -scores.matched_words, source.doc_id

    kept: list[Finding] = []
    also: dict[int, list[dict[str, object]]] = {}
    for f in sorted(findings, key=strength):
        source, source_span, scores = matched_parts(f)
        span = f.deliverable_span
        for n, k in enumerate(kept):
            if f.kind != k.kind or "near-duplicate" in (f.extra.get("method"), k.extra.get("method")):
                continue
            overlap = min(span.end, k.deliverable_span.end) - max(span.start, k.deliverable_span.start)
            shorter = min(span.end - span.start, k.deliverable_span.end - k.deliverable_span.start)
            if overlap > share * max(1, shorter):
                also.setdefault(n, []).append({
                    "doc_id": source.doc_id, "path": source.path, "label": source.label,
                    "start": source_span.start, "end": source_span.end,
                    "matched_words": scores.matched_words,
                })
                break
        else:
            kept.append(f)
    return [dataclasses.replace(k, extra={**k.extra, "also_in": also[n]}) if n in also else k
            for n, k in enumerate(kept)]


class ConfidentialDetector(Detector):
    """Finds excerpts and near-duplicates of indexed confidential documents."""

    name = "confidential"
    kinds = (EXCERPT, NEAR_DUPLICATE)

    def __init__(self, store: FingerprintStore, config: Config, verify_sources: bool = True,
                 paraphrase: bool = True, scorer: LogisticScorer | Literal["default"] | None = "default",
                 allow: FingerprintStore | None = None,
                 tokens_of: Callable[[ExtractedText, Path], Tokens | None] = word_tokens,
                 public_words: Callable[[Deliverable], np.ndarray] | None = None,
                 read_again: ReadAgain | None = None) -> None:
        self.store = store
        # The allow-list lives with the confidential index; shingles on it never match.
        self.allow = allow if allow is not None else store
        self.config = config
        self.params = config.detect
        self.fp_params = store.params
        self.verify_sources = verify_sources
        self.paraphrase = paraphrase
        self.scorer = load_default_scorer() if scorer == "default" else scorer
        self.sources = SourceReader(store, config, tokens_of=tokens_of, read_again=read_again)
        # Words of public text found in the deliverable (licence blocks): never matched.
        self.public_words = public_words
        self._bands, self._rows = store.lsh_bands, store.lsh_rows
        self._bag_bands, self._bag_rows = store.bag_lsh_bands, store.bag_lsh_rows
        # When a list: every reworded candidate the scorer is asked about is appended
        # (scorer training and evaluation; never set in a scan).
        self.candidate_log: list[CandidateFragment] | None = None

    # --- candidates ---------------------------------------------------------------------

    def _candidates(self, deliverable: Deliverable,
                    n_docs: int) -> tuple[dict[int, FingerprintHits], set[int], np.ndarray, np.ndarray]:
        fp = deliverable.fingerprints
        templates = np.zeros(fp.n_words, dtype=bool)
        hits = self.store.lookup_fingerprints(fp.keyed)
        frequent_mask = document_frequency_filter(hits, n_docs, self.params)
        frequent = np.unique(hits.hashes[frequent_mask])
        hits = hits.select(~frequent_mask)
        by_doc = {int(k): hits.select(hits.doc_keys == k) for k in np.unique(hits.doc_keys)}
        lsh_docs: set[int] = set()
        if len(fp.passages):
            passage_hits = self.store.lookup_passages(band_keys(fp.passages.signatures, self._bands, self._rows))
            lsh_docs = {int(k) for k in np.unique(passage_hits.doc_keys)}
            if self.paraphrase and self.verify_sources:
                # Reworded passages: only worth looking for when the sources can be re-read.
                bags, starts, length = bag_query_signatures(fp.tokens, self.fp_params, self.store.key)
                usable = np.nonzero(~is_empty_signature(bags))[0]
                bag_hits = self.store.lookup_passages(
                    band_keys(bags[usable], self._bag_bands, self._bag_rows), bag=True)
                templates = template_words(starts[usable][bag_hits.query_passages], bag_hits.doc_keys, length,
                                           fp.n_words, df_limit(n_docs, self.params))
                best = best_resemblance(bags[usable], bag_hits, self.store, self.params.max_reworded_looks)
                lsh_docs |= resembling_documents(best, self.params.min_reworded_resemblance,
                                                 self.params.max_reworded_candidates)
                if n_docs <= self.params.max_reworded_candidates:
                    # The budget covers the whole index: search every document. A summary
                    # shares too few words with any one stored passage for the bag bands to
                    # name its source reliably (whether they do depends on the store's key).
                    lsh_docs |= {d.doc_key for d in self.store.list_documents()}
        return by_doc, lsh_docs, frequent, templates

    # --- alignment ----------------------------------------------------------------------

    def _align_verified(self, fp_d: Deliverable, d_sorted: SortedQuery, src: VerifiedSource, skip: np.ndarray,
                        allowed: np.ndarray) -> list[Alignment]:
        k = self.fp_params.shingle_size
        i, j = match_positions(d_sorted, src.keyed)
        keep = ~skip[i] if skip.size else np.ones(i.shape[0], dtype=bool)
        i, j = i[keep], j[keep]
        seeds = Seeds(i, j, src.tokens.starts[j], src.tokens.ends[j + k - 1])
        d_words, s_words = fp_d.fingerprints.tokens.ids, src.tokens.ids
        # Allow-listed text is never part of a match, not even at its edge, where the
        # shingles that straddle it and the copied text are still seeds.
        blocked = words_of_shingles(allowed, d_words.shape[0], k) if allowed.any() else None
        out = []
        for chain in chain_seeds(seeds, self.params.max_gap, k):
            c = seeds.take(chain)
            d0, d1 = int(c.d_pos.min()), int(c.d_pos.max()) + k
            s0, s1 = int(c.s_pos.min()), int(c.s_pos.max()) + k
            e0, e1, f0, f1 = extend_exact(d_words, s_words, d0, d1, s0, s1, blocked)
            matched = covered_words(c.d_pos, k) + (d0 - e0) + (e1 - d1)
            if blocked is not None:
                e0, e1, f0, f1 = trim_blocked(e0, e1, f0, f1, blocked)
                matched = min(matched, e1 - e0)
            if matched < self.params.min_words:
                continue
            s_chars = src.tokens.char_span(f0, f1)
            out.append(Alignment(e0, e1, f0, f1, s_chars[0], s_chars[1], matched, len(c),
                                 probability=exact_confidence(matched, verified=True)))
        return out

    def _align_paraphrase(self, fp_d: Deliverable, d_stems: Tokens, d_weights: TermWeights, doc: SourceDocument,
                          src: VerifiedSource, skip: np.ndarray, templates: np.ndarray) -> list[Alignment]:
        """Reworded passages: relaxed sentence fragments, kept when the learned scorer
        says they are copies (or, without a scorer, by the hand-set gates). Of
        candidates that overlap in the deliverable, the most probable wins."""
        k = self.fp_params.shingle_size
        settings = CANDIDATE_SETTINGS if self.scorer is not None else (ParaphraseParams(),)
        candidates: list[Alignment] = []
        reach: dict[tuple[int, int, int, int], int] = {}
        s_stems = src.stems
        for frag in align_sentences_all(fp_d.extracted.text, d_stems, src.text, s_stems, settings):
            if (is_mostly_boilerplate(skip, frag.d_word_start, frag.d_word_end)
                    or is_mostly_boilerplate(templates, frag.d_word_start, frag.d_word_end)):
                continue
            x = fragment_features(frag, d_stems.ids, s_stems.ids, d_weights, src.weights)
            matched = round(float(np.expm1(x[0])))
            if matched < self.params.min_summary_piece_words:
                continue
            s_chars = src.tokens.char_span(frag.s_word_start, frag.s_word_end)
            if self.candidate_log is not None:
                self.candidate_log.append(CandidateFragment(
                    fp_d.path, doc.path, fp_d.fingerprints.tokens.char_span(frag.d_word_start, frag.d_word_end),
                    s_chars, x, shingle_jaccard(frag, fp_d.fingerprints.keyed, src.keyed, k)))
            probability = None
            if self.scorer is not None:
                probability = float(self.scorer.probability(x)[0])
                if probability < self.scorer.threshold:
                    continue
            reach[(frag.d_word_start, frag.d_word_end, frag.s_word_start, frag.s_word_end)] = frag.source_gap
            candidates.append(Alignment(
                frag.d_word_start, frag.d_word_end, frag.s_word_start, frag.s_word_end,
                s_chars[0], s_chars[1], matched, frag.n_seeds, "paraphrase", frag.cosine, probability,
            ))
        # Tight and wide clusterings propose overlapping fragments. The wide one exists for
        # summaries: it wins when it has a summary's shape, else the tight ones do (a wide
        # fragment over two neighbouring copies would take in the source between them);
        # among equals, the most probable wins.
        n_source = len(src.tokens)

        def rank(a: Alignment) -> tuple[float, ...]:
            wide = reach[(a.d_word_start, a.d_word_end, a.s_word_start, a.s_word_end)] > settings[0].max_source_gap
            return (float(wide != is_summary_shaped(a, n_source)), *by_probability(a))

        # Pieces (under min_words) only where no full fragment is: they count when they make
        # a summary together, and never take a full fragment's place.
        full = [a for a in candidates if a.matched_words >= self.params.min_words]
        full = drop_overlapping(full, max_overlap=0.0, rank=rank)
        pieces = [a for a in candidates if a.matched_words < self.params.min_words]
        return full + outside(drop_overlapping(pieces, max_overlap=0.0, rank=rank), full)

    def _align_fingerprints(self, fp_d: Deliverable, hits: FingerprintHits, skip: np.ndarray) -> list[Alignment]:
        k, w = self.fp_params.shingle_size, self.fp_params.winnow_window
        i, j = match_positions(fp_d.fingerprints.keyed, hits.hashes)
        keep = ~skip[i] if skip.size else np.ones(i.shape[0], dtype=bool)
        i, j = i[keep], j[keep]
        seeds = Seeds(i, hits.positions[j], hits.char_starts[j], hits.char_ends[j])
        out = []
        for chain in chain_seeds(seeds, self.params.max_gap, k):
            c = seeds.take(chain)
            matched = filled_words(c.d_pos, c.s_pos, k, w + k)
            if matched < self.params.min_words:
                continue
            out.append(Alignment(
                int(c.d_pos.min()), int(c.d_pos.max()) + k, int(c.s_pos.min()), int(c.s_pos.max()) + k,
                int(c.s_char_start.min()), int(c.s_char_end.max()), matched, len(c),
                probability=exact_confidence(matched, verified=False),
            ))
        return out

    def _resemblance(self, fp_d: Deliverable, a: Alignment, src: VerifiedSource | None,
                     hits: FingerprintHits | None) -> float:
        k = self.fp_params.shingle_size
        d_keyed = fp_d.fingerprints.keyed[a.d_word_start : a.d_word_end - k + 1]
        if src is not None:
            return jaccard(d_keyed, src.keyed[a.s_word_start : a.s_word_end - k + 1])
        if hits is None:
            return 0.0
        # Only the source's winnowed fingerprints are known: compare them with the
        # deliverable's own winnowed fingerprints over the same span.
        win = fp_d.fingerprints.winnowed
        d_win = fp_d.fingerprints.keyed[win[(win >= a.d_word_start) & (win <= a.d_word_end - k)]]
        in_span = (hits.positions >= a.s_word_start) & (hits.positions <= a.s_word_end - k)
        return jaccard(d_win, hits.hashes[in_span])

    # --- findings -----------------------------------------------------------------------

    def detect(self, deliverable: Deliverable) -> list[Finding]:
        fp = deliverable.fingerprints
        n_docs = self.store.count_documents()
        if fp.keyed.size == 0 or n_docs == 0:
            return []
        by_doc, lsh_docs, frequent, templates = self._candidates(deliverable, n_docs)
        allowed = self.allow.allowed_mask(fp.keyed)
        if self.public_words is not None:
            allowed |= shingles_within(self.public_words(deliverable), self.fp_params.shingle_size)
        skip = boilerplate_shingles(fp.keyed, frequent, self.fp_params) | allowed
        docs = self.store.documents(sorted(set(by_doc) | lsh_docs))
        shared = np.repeat(np.fromiter(by_doc, dtype=np.int64, count=len(by_doc)),
                           [len(h) for h in by_doc.values()])  # one doc key per fingerprint hit
        reworded = lsh_docs | top_documents(shared, self.params.max_reworded_candidates)
        findings: list[Finding] = []
        d_stems = functools.cache(lambda: stemmed(deliverable.extracted.text, fp.tokens))
        d_weights = functools.cache(lambda: TermWeights.of(deliverable.extracted.text, d_stems()))
        d_sorted = functools.cache(lambda: SortedQuery.of(fp.keyed))  # once, for every source
        for doc_key, doc in docs.items():
            hits = by_doc.get(doc_key)
            src = self.sources.get(doc) if self.verify_sources else None
            if src is not None:
                alignments = self._align_verified(deliverable, d_sorted(), src, skip, allowed)
                covered = sum(a.d_word_end - a.d_word_start for a in alignments)
                # A deliverable that is already a near-copy needs no paraphrase search
                # (and comparing every sentence of two long copies is the costly case).
                # Reworded passages are looked for in documents the LSH bands named, that
                # share a copied run, or that share the most fingerprints: a stray shared
                # 5-word phrase ("at the end of the year") names documents in proportion
                # to the index, and aligning every sentence of each was most of a scan's time.
                if (self.paraphrase and (doc_key in reworded or alignments)
                        and covered < self.params.near_duplicate_containment * fp.n_words):
                    extra = [f for f in self._align_paraphrase(deliverable, d_stems(), d_weights(), doc, src, skip,
                                                                templates)
                             if not explained_by(f, alignments)]
                    alignments = merge_overlapping(alignments + extra)
                    alignments = summary_of_source(alignments, len(src.tokens),
                                                   src.tokens.char_span(0, len(src.tokens)))
                    alignments = without_pieces(alignments, self.params.min_words)
            elif hits is not None:
                alignments = self._align_fingerprints(deliverable, hits, skip)
            else:
                continue
            alignments = drop_overlapping(alignments)
            if alignments:
                findings.extend(self._findings(deliverable, doc, alignments, src, hits))
        return sorted(one_finding_per_passage(findings),
                      key=lambda f: (f.deliverable_span.start, matched_parts(f)[0].doc_id))

    def _findings(self, deliverable: Deliverable, doc: SourceDocument, alignments: list[Alignment],
                  src: VerifiedSource | None, hits: FingerprintHits | None) -> list[Finding]:
        n_d = max(1, deliverable.fingerprints.n_words)
        n_s = max(1, doc.n_words)
        verified = src is not None
        covered_d = sum(a.d_word_end - a.d_word_start for a in alignments) / n_d
        # A summary condenses its source: it stands for the whole document, but only
        # its own length of it was taken (a one-page summary is no near-duplicate).
        covered_s = sum(a.matched_words if a.method == "summary" else a.s_word_end - a.s_word_start
                        for a in alignments) / n_s
        if min(covered_d, covered_s) >= self.params.near_duplicate_containment:
            return [self._near_duplicate(deliverable, doc, alignments, covered_d, covered_s, verified)]
        out = []
        tokens = deliverable.fingerprints.tokens
        for a in alignments:
            start, end = tokens.char_span(a.d_word_start, a.d_word_end)
            resemblance = self._resemblance(deliverable, a, src, hits)
            out.append(self._finding(
                EXCERPT, deliverable, doc, Span(start, end, deliverable.extracted.page_of(start)),
                Span(a.s_char_start, a.s_char_end, doc.page_of(a.s_char_start)),
                Scores(resemblance, a.matched_words / n_d, a.matched_words / n_s, a.matched_words,
                       a.probability if a.probability is not None
                       else confidence(a.matched_words, max(resemblance, a.similarity), verified)),
                verified, a.method, summary_parts(a, tokens),
            ))
        return out

    def _near_duplicate(self, deliverable: Deliverable, doc: SourceDocument, alignments: list[Alignment],
                        covered_d: float, covered_s: float, verified: bool) -> Finding:
        matched = sum(a.matched_words for a in alignments)
        resemblance = estimate_jaccard(deliverable.fingerprints.signature, doc.signature)
        text_len = len(deliverable.extracted.text)
        passages = [
            {"deliverable": list(deliverable.fingerprints.tokens.char_span(a.d_word_start, a.d_word_end)),
             "source": [a.s_char_start, a.s_char_end]}
            for a in alignments
        ]
        finding = self._finding(
            NEAR_DUPLICATE, deliverable, doc, Span(0, text_len, deliverable.extracted.page_of(0)),
            Span(0, doc.n_chars, doc.page_of(0)),
            Scores(resemblance, min(1.0, covered_d), min(1.0, covered_s), matched,
                   confidence(matched, max(resemblance, min(covered_d, covered_s)), verified)),
            verified,
        )
        return dataclasses.replace(finding, extra={**finding.extra, "method": "near-duplicate", "passages": passages})

    def finding_kind(self, kind: FindingKind, doc: SourceDocument) -> FindingKind:
        """The kind reported for a match of ``doc`` (subclasses name third-party kinds)."""
        return kind

    def finding_extra(self, doc: SourceDocument) -> dict[str, object]:
        """Fields added to every finding from ``doc``."""
        return {}

    def _finding(self, kind: FindingKind, deliverable: Deliverable, doc: SourceDocument, d_span: Span,
                 s_span: Span, scores: Scores, verified: bool, method: str = "exact",
                 extra: dict[str, Any] | None = None) -> Finding:
        kind = self.finding_kind(kind, doc)
        return Finding(
            id=finding_id(kind.id, doc.doc_id, doc.version, s_span.start, s_span.end, deliverable.path),
            kind=kind.id,
            severity=severity(scores.matched_words, scores.confidence, self.params, whole=kind.whole_document),
            deliverable_path=deliverable.path,
            deliverable_sha256=deliverable.sha256,
            deliverable_span=d_span,
            source=SourceRef(doc.doc_id, doc.path, doc.label, s_span, doc.owner),
            scores=scores,
            verified=verified,
            deliverable_format=deliverable.extracted.format,
            deliverable_encoding=deliverable.extracted.encoding,
            extra={"method": method, **(extra or {}), **self.finding_extra(doc)},
        )
