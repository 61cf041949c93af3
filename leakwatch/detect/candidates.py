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
"""

from __future__ import annotations

import numpy as np

from leakwatch.fingerprint import bag_digests
from leakwatch.store.base import FingerprintStore

# Pairs compared at once (windows x passages x slots bytes stay around 16 MB).
_CHUNK_CELLS = 1 << 24


def best_resemblance(query: np.ndarray, doc_keys: list[int], store: FingerprintStore) -> dict[int, float]:
    """Per document: the largest estimated resemblance between a query window (a row of
    ``query``) and one of the document's stored passages."""
    if not doc_keys or query.shape[0] == 0:
        return {}
    keys, stored = store.document_bags(doc_keys)
    query = bag_digests(query)  # the store keeps 16 bits a slot: compare like with like
    best = np.zeros(stored.shape[0])
    step = max(1, _CHUNK_CELLS // max(1, query.shape[0] * query.shape[1]))
    for lo in range(0, stored.shape[0], step):
        part = stored[lo : lo + step]
        best[lo : lo + step] = (query[:, None, :] == part[None, :, :]).mean(axis=2).max(axis=0)
    out = dict.fromkeys(doc_keys, 0.0)
    for k, b in zip(keys.tolist(), best.tolist(), strict=True):
        out[k] = max(out[k], b)
    return out


def resembling_documents(best: dict[int, float], min_resemblance: float, limit: int) -> set[int]:
    """The documents whose best pair reaches ``min_resemblance``, at most ``limit`` of
    them (the most resembling first; ties: the lower key)."""
    ranked = sorted((k for k, r in best.items() if r >= min_resemblance), key=lambda k: (-best[k], k))
    return set(ranked[:limit])
