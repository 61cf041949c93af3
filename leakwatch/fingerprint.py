"""Fingerprints of a text: keyed shingle hashes, winnowed fingerprints, and
datasketch-compatible MinHash signatures of the document and of its passages.

All functions are pure and work on whole arrays (no per-shingle Python calls).
The pipeline is::

    words -> word hashes (unkeyed, in memory) -> k-gram hashes (rolling, mixed)
          -> keyed with the store's PRF -> winnowing / MinHash / LSH bands

MinHash signatures use datasketch's ``affine32`` scheme with its own permutation
parameters, over the low 32 bits of each keyed shingle hash: a signature made
here is bit-identical to ``datasketch.MinHash(num_perm, seed).update_batch`` fed
with those 32-bit values through an identity hash function, so datasketch's
``MinHashLSH`` (and its Redis storage) can index them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from leakwatch.config import FingerprintParams
from leakwatch.keys import WORD_BAG_DOMAIN, StoreKey
from leakwatch.text import Tokens, content_mask

if TYPE_CHECKING:
    from datasketch import MinHash

MINHASH_SCHEME = "affine32"
_ROLL = np.uint64(0x9E37_79B9_7F4A_7C15)  # odd multiplier of the rolling k-gram hash
_BAND_MULT = np.uint64(0xD6E8_FEB8_6659_FD93)
# MinHash slots are computed this many passages-blocks at a time, to bound memory.
_BLOCK_CHUNK = 64


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer: an avalanching bijection (wrapping arithmetic)."""
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51_AFD7_ED55_8CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CE_B9FE_1A85_EC53)
    return h ^ (h >> np.uint64(33))


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, as datasketch applies it before its permutations."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EB_CA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2_AE35)
    return h ^ (h >> np.uint32(16))


def shingle_hashes(word_ids: np.ndarray, k: int) -> np.ndarray:
    """Unkeyed 64-bit hashes of every run of ``k`` consecutive words (len n-k+1).

    A text shorter than ``k`` words has no shingles.
    """
    n = word_ids.shape[0] - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            h = h * _ROLL + word_ids[j : j + n]
        return fmix64(h)


def keyed_shingles(tokens: Tokens, params: FingerprintParams, key: StoreKey) -> np.ndarray:
    """Keyed shingle hashes of a tokenized text: the only shingle values ever stored."""
    return key.prf64(shingle_hashes(tokens.ids, params.shingle_size))


def winnow(hashes: np.ndarray, window: int) -> np.ndarray:
    """Positions chosen by robust winnowing (Schleimer, Wilkerson & Aiken 2003).

    In every window of ``window`` consecutive hashes the minimum is kept (the
    rightmost one on ties, so that runs of equal hashes give one fingerprint).
    Returns sorted, unique positions into ``hashes``.
    """
    n = hashes.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n <= window:
        return np.array([n - 1 - int(np.argmin(hashes[::-1]))], dtype=np.int64)
    windows = np.lib.stride_tricks.sliding_window_view(hashes, window)
    rightmost_min = window - 1 - np.argmin(windows[:, ::-1], axis=1)
    return np.unique(np.arange(windows.shape[0], dtype=np.int64) + rightmost_min)


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's permutation parameters (a, b) for ``affine32``: odd ``a`` and any
    ``b`` drawn from ``RandomState(seed)`` in datasketch's order (tests check they are
    identical), without importing datasketch on the hot start-up path."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def _slot_values(h32: np.ndarray, perms: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    a, b = perms
    mixed = fmix32(h32)
    with np.errstate(over="ignore"):
        return mixed[:, None] * a[None, :] + b[None, :]


def block_minima(keyed: np.ndarray, stride: int, params: FingerprintParams,
                 mask: np.ndarray | None = None) -> np.ndarray:
    """MinHash signature of every block of ``stride`` consecutive values.

    Returns an array (blocks, num_perm) of uint32; the signature of any union of
    blocks is the element-wise minimum of theirs. Values where ``mask`` is False
    are left out (a block with none left has the empty signature, all 2^32-1).
    """
    n = keyed.shape[0]
    perms = permutations(params.num_perm, params.seed)
    out = np.full((-(-n // stride), params.num_perm), 0xFFFF_FFFF, dtype=np.uint32)
    # Only the kept values are permuted (the bags leave out function words, about half).
    positions = np.arange(n) if mask is None else np.flatnonzero(mask)
    h32 = (keyed[positions] & np.uint64(0xFFFF_FFFF)).astype(np.uint32)
    blocks = positions // stride
    chunk = _BLOCK_CHUNK * stride
    for lo in range(0, positions.shape[0], chunk):
        hi = min(positions.shape[0], lo + chunk)
        ids, first = np.unique(blocks[lo:hi], return_index=True)
        reduced = np.minimum.reduceat(_slot_values(h32[lo:hi], perms), first, axis=0)
        # A block cut by a chunk boundary gets the minimum of both parts.
        out[ids] = np.minimum(out[ids], reduced)
    return out


def empty_signature(params: FingerprintParams) -> np.ndarray:
    return np.full(params.num_perm, 0xFFFF_FFFF, dtype=np.uint32)


@dataclass(frozen=True)
class Passages:
    """Overlapping passage windows over a text's shingles, with their signatures."""

    shingle_starts: np.ndarray  # int64 first shingle of each passage
    shingle_ends: np.ndarray  # int64 exclusive
    signatures: np.ndarray  # (passages, num_perm) uint32

    def __len__(self) -> int:
        return int(self.shingle_starts.shape[0])


def passages_from_blocks(blocks: np.ndarray, n_shingles: int, stride: int) -> Passages:
    """Passages of two consecutive blocks each (one passage when there is one block)."""
    n_blocks = blocks.shape[0]
    if n_blocks == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Passages(empty, empty, np.zeros((0, blocks.shape[1]), dtype=np.uint32))
    if n_blocks == 1:
        return Passages(np.array([0]), np.array([n_shingles]), blocks.copy())
    first = np.arange(n_blocks - 1, dtype=np.int64)
    ends = np.minimum((first + 2) * stride, n_shingles)
    return Passages(first * stride, ends, np.minimum(blocks[:-1], blocks[1:]))


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """LSH band keys: one 64-bit value per (passage, band), as int64 for SQL.

    Two passages share a band key exactly when (up to 2^-64 collisions) they
    agree on all ``rows`` slots of that band, the banding of ``MinHashLSH``.
    """
    if signatures.shape[0] == 0:
        return np.zeros((0, bands), dtype=np.int64)
    sig = signatures[:, : bands * rows].astype(np.uint64).reshape(-1, bands, rows)
    h = np.zeros(sig.shape[:2], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for r in range(rows):
            h = fmix64(h * _BAND_MULT + sig[:, :, r])
    return h.view(np.int64)


@lru_cache(maxsize=16)
def optimal_lsh_shape(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising the sum of false-positive and false-negative areas,
    the rule datasketch's ``MinHashLSH`` applies (equal weights), integrated with
    Simpson's rule so that the CLI need not import datasketch (and SciPy) to start."""
    best, best_error = (0, 0), float("inf")
    lo = np.linspace(0.0, threshold, 2001)
    hi = np.linspace(threshold, 1.0, 2001)

    def simpson(y: np.ndarray, x: np.ndarray) -> float:
        h = (x[-1] - x[0]) / (len(x) - 1)
        return float(h / 3 * (y[0] + y[-1] + 4 * y[1:-1:2].sum() + 2 * y[2:-1:2].sum()))

    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = simpson(1 - (1 - lo**r) ** b, lo)
            fn = simpson((1 - hi**r) ** b, hi)
            if 0.5 * fp + 0.5 * fn < best_error:
                best, best_error = (b, r), 0.5 * fp + 0.5 * fn
    return best


def lsh_shape(params: FingerprintParams, bag: bool = False) -> tuple[int, int]:
    """(bands, rows) that datasketch's MinHashLSH picks for the shingle (or bag) threshold."""
    threshold = params.bag_lsh_threshold if bag else params.lsh_threshold
    return optimal_lsh_shape(threshold, params.num_perm)


def is_empty_signature(signatures: np.ndarray) -> np.ndarray:
    """Per row: True for the signature of an empty set (nothing to match on)."""
    return np.all(signatures == np.uint32(0xFFFF_FFFF), axis=-1)


def estimate_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """MinHash estimate of resemblance: the fraction of equal slots."""
    return float(np.count_nonzero(sig_a == sig_b)) / float(sig_a.shape[-1])


@dataclass(frozen=True)
class DocumentFingerprints:
    """Everything computed from one text, before storing or matching."""

    tokens: Tokens
    keyed: np.ndarray  # uint64 keyed hash of every shingle
    winnowed: np.ndarray  # int64 positions (shingle index) kept by winnowing
    passages: Passages
    signature: np.ndarray  # uint32 (num_perm,) document MinHash
    # Per passage: MinHash of the unordered set of keyed content words (no order,
    # no counts), for finding reworded passages.
    bag_signatures: np.ndarray

    @property
    def n_words(self) -> int:
        return len(self.tokens)


def fingerprint_tokens(tokens: Tokens, params: FingerprintParams, key: StoreKey) -> DocumentFingerprints:
    """Compute all fingerprints of a tokenized text."""
    keyed = keyed_shingles(tokens, params, key)
    blocks = block_minima(keyed, params.passage_stride, params)
    signature = blocks.min(axis=0) if blocks.shape[0] else empty_signature(params)
    passages = passages_from_blocks(blocks, keyed.shape[0], params.passage_stride)
    return DocumentFingerprints(
        tokens=tokens,
        keyed=keyed,
        winnowed=winnow(keyed, params.winnow_window),
        passages=passages,
        signature=signature,
        bag_signatures=bag_signatures(tokens, len(passages), params, key),
    )


def bag_signatures(tokens: Tokens, n_passages: int, params: FingerprintParams, key: StoreKey) -> np.ndarray:
    """Content-word bag signatures aligned with the shingle passages (passage p: word
    blocks p and p+1, the words its shingles start at)."""
    if n_passages == 0:
        return np.zeros((0, params.num_perm), dtype=np.uint32)
    words = key.prf64(tokens.ids, WORD_BAG_DOMAIN)
    blocks = block_minima(words, params.passage_stride, params, mask=content_mask(tokens.ids))
    sigs = passages_from_blocks(blocks, words.shape[0], params.passage_stride).signatures
    return sigs[:n_passages]


def to_datasketch(signature: np.ndarray, params: FingerprintParams) -> MinHash:
    """Wrap a signature as a datasketch MinHash (e.g. to insert into MinHashLSH)."""
    from datasketch import MinHash

    return MinHash(
        num_perm=params.num_perm, seed=params.seed, scheme=MINHASH_SCHEME, hashvalues=signature
    )
