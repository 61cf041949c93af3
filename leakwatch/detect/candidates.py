"""Which registered documents to search for reworded passages of a deliverable.

The bag LSH names every document with a passage sharing a band with some window
of the deliverable: on a corpus of documents about few topics, a hundred or more
per deliverable, most only on the same subject. Ranking them by how many bands
they share favoured long documents on the subject over the short passage that
was really reworded from one of them, and which of the many made the cut
depended on the store's key. Instead, each document the bands name gets a second,
exact look: every window of the deliverable against every passage of the
document, by the estimated resemblance of their full signatures (all slots, not
one band's luck). A document is searched when its best pair reaches
``min_resemblance``: a per-pair estimate (standard error about 0.035 at 0.2 with
128 slots), so the set moves little with the key, and the threshold keeps the
search to the few documents that share a passage's words rather than its subject.

The exact look costs windows x passages of the named documents, and in a large index
on few subjects the bands name a large share of it (1,524 of 2,040 documents of a
100k-passage benchmark store for a 10-page deliverable: 3 s, and growing with the
index). So it is taken in two steps: every band-sharing pair first (as many as the
bands found), then every window against every passage for the ``max_looks`` documents
whose best band-sharing pair resembles most. A document past that limit keeps the
estimate of its band-sharing pairs, so it can still be searched.
"""

from __future__ import annotations

import numpy as np

from leakwatch.fingerprint import bag_digests
from leakwatch.store.base import FingerprintStore, PassageHits

# Pairs compared at once (windows x passages x slots bytes stay around 16 MB).
_CHUNK_CELLS = 1 << 24


def best_resemblance(query: np.ndarray, hits: PassageHits, store: FingerprintStore,
                     max_looks: int) -> dict[int, float]:
    """Per document the bag bands name (``hits``: windows are rows of ``query``): the
    largest estimated resemblance between a window and one of the document's stored
    passages (over every window and passage for the ``max_looks`` most resembling
    documents, over the band-sharing pairs for the rest)."""
    doc_keys = sorted(set(hits.doc_keys.tolist()))
    if not doc_keys or query.shape[0] == 0:
        return {}
    keys, stored = store.document_bags(doc_keys)
    if not keys.size:
        return dict.fromkeys(doc_keys, 0.0)
    query = bag_digests(query)  # the store keeps 16 bits a slot: compare like with like
    # document_bags gives each document's passages together, documents in key order.
    present, first, n_passages = np.unique(keys, return_index=True, return_counts=True)
    best = _pair_resemblance(query, hits, stored, present, first, n_passages)
    looked = np.lexsort((present, -best))[:max_looks]
    for i in looked.tolist():
        rows = stored[first[i] : first[i] + n_passages[i]]
        best[i] = max(best[i], float(_window_passage_best(query, rows).max(initial=0.0)))
    out = dict.fromkeys(doc_keys, 0.0)
    out.update(zip(present.tolist(), best.tolist(), strict=True))
    return out


def _equal_slots(a: np.ndarray, b: np.ndarray, axis: int) -> np.ndarray:
    """Equal slots along ``axis``, counted in small integers (3x faster than a float mean)."""
    return (a == b).sum(axis=axis, dtype=np.uint8 if a.shape[-1] < 256 else np.uint16)


def _pair_resemblance(query: np.ndarray, hits: PassageHits, stored: np.ndarray, present: np.ndarray,
                      first: np.ndarray, n_passages: np.ndarray) -> np.ndarray:
    """Per document of ``present``: the best estimated resemblance of its band-sharing pairs."""
    best = np.zeros(present.size)
    at = np.searchsorted(present, hits.doc_keys).clip(max=present.size - 1)
    ok = (present[at] == hits.doc_keys) & (hits.passage_indexes < n_passages[at])
    at, windows, rows = at[ok], hits.query_passages[ok], first[at[ok]] + hits.passage_indexes[ok]
    step = max(1, _CHUNK_CELLS // query.shape[1])
    for lo in range(0, at.size, step):
        equal = _equal_slots(query[windows[lo : lo + step]], stored[rows[lo : lo + step]], axis=1)
        np.maximum.at(best, at[lo : lo + step], equal / query.shape[1])
    return best


def _window_passage_best(query: np.ndarray, stored: np.ndarray) -> np.ndarray:
    """Per stored passage: its best estimated resemblance to any window of ``query``."""
    best = np.zeros(stored.shape[0])
    step = max(1, _CHUNK_CELLS // max(1, query.shape[0] * query.shape[1]))
    for lo in range(0, stored.shape[0], step):
        part = stored[lo : lo + step]
        best[lo : lo + step] = _equal_slots(query[:, None, :], part[None, :, :], axis=2).max(axis=0) / query.shape[1]
    return best


def resembling_documents(best: dict[int, float], min_resemblance: float, limit: int) -> set[int]:
    """The documents whose best pair reaches ``min_resemblance``, at most ``limit`` of
    them (the most resembling first; ties: the lower key)."""
    ranked = sorted((k for k, r in best.items() if r >= min_resemblance), key=lambda k: (-best[k], k))
    return set(ranked[:limit])
