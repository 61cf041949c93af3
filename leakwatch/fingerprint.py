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

With numba installed (the ``fast`` extra), shingle hashing, winnowing, MinHash and
LSH band keys run as compiled kernels (:mod:`leakwatch._kernels`) once a process has
enough work for them (:mod:`leakwatch._jit`); the numpy code below is the reference
and the fallback, and both give identical arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from leakwatch import _jit
from leakwatch.config import FingerprintParams
from leakwatch.keys import WORD_BAG_DOMAIN, StoreKey
from leakwatch.text import Tokens, content_mask

if TYPE_CHECKING:
    from datasketch import MinHash

MINHASH_SCHEME = "affine32"
_ROLL = np.uint64(0x9E37_79B9_7F4A_7C15)  # odd multiplier of the rolling k-gram hash
_BAND_MULT = np.uint64(0xD6E8_FEB8_6659_FD93)
_FMIX_SHIFT = np.uint64(33)
_FMIX_C1 = np.uint64(0xFF51_AFD7_ED55_8CCD)
_FMIX_C2 = np.uint64(0xC4CE_B9FE_1A85_EC53)


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer: an avalanching bijection (wrapping arithmetic)."""
    h = h ^ (h >> _FMIX_SHIFT)
    h = h * _FMIX_C1
    h = h ^ (h >> _FMIX_SHIFT)
    h = h * _FMIX_C2
    return h ^ (h >> _FMIX_SHIFT)


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
    kern = _jit.kernels(n)
    if kern is not None and word_ids.dtype == np.uint64:
        return kern.shingle_hashes(np.ascontiguousarray(word_ids), k)
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
    kern = _jit.kernels(n)
    if kern is not None and hashes.dtype == np.uint64 and hashes.ndim == 1:
        return kern.winnow(np.ascontiguousarray(hashes), window)
    chosen = _window_argmin(hashes, window)
    # The rightmost minimum never moves left as the window slides: no sort to deduplicate.
    keep = np.empty(chosen.shape[0], dtype=bool)
    keep[0] = True
    np.not_equal(chosen[1:], chosen[:-1], out=keep[1:])
    return chosen[keep]


def _window_argmin(values: np.ndarray, window: int) -> np.ndarray:
    """Position of the rightmost minimum of every window of ``window`` values.

    Windows are built by doubling (lengths 1, 2, 4, ..., then one overlapping step to
    ``window``): a window's (minimum, position) is that of its right half when the right
    half's minimum is not larger, since the right half holds the later positions (when
    the halves overlap, the right one's rightmost minimum is still the later one).
    """
    best = values
    where = np.arange(values.shape[0], dtype=np.int64)
    span = 1
    while span < window:
        shift = min(span, window - span)
        right = best[shift:] <= best[:-shift]
        best = np.where(right, best[shift:], best[:-shift])
        where = np.where(right, where[shift:], where[:-shift])
        span += shift
    return where


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's permutation parameters (a, b) for ``affine32``: odd ``a`` and any
    ``b`` drawn from ``RandomState(seed)`` in datasketch's order (tests check they are
    identical), without importing datasketch on the hot start-up path."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def block_minima(keyed: np.ndarray, stride: int, params: FingerprintParams,
                 mask: np.ndarray | None = None) -> np.ndarray:
    """MinHash signature of every block of ``stride`` consecutive values.

    Returns an array (blocks, num_perm) of uint32; the signature of any union of
    blocks is the element-wise minimum of theirs. Values where ``mask`` is False
    are left out (a block with none left has the empty signature, all 2^32-1).
    """
    n = keyed.shape[0]
    out = np.full((-(-n // stride), params.num_perm), 0xFFFF_FFFF, dtype=np.uint32)
    kern = _jit.kernels(n) if n else None
    if kern is not None and keyed.dtype == np.uint64 and keyed.ndim == 1 and (mask is None or len(mask) == n):
        a, b = permutations(params.num_perm, params.seed)
        flags = np.zeros(0, dtype=bool) if mask is None else np.ascontiguousarray(mask, dtype=bool)
        kern.block_minima(np.ascontiguousarray(keyed), flags, mask is not None, stride, a, b, out)
        return out
    # Only the kept values are permuted (the bags leave out function words, about half).
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
    kept = keyed if mask is None else keyed[mask]
    if kept.shape[0] == 0:
        return out
    mixed = fmix32((kept & np.uint64(0xFFFF_FFFF)).astype(np.uint32))
    perms = permutations(params.num_perm, params.seed)
    if mask is None:
        # Only the last block can be short: it repeats its last value.
        padded = np.empty(out.shape[0] * stride, dtype=np.uint32)
        padded[:n] = mixed
        padded[n:] = mixed[-1]
        _grid_minima(padded.reshape(-1, stride), perms, out)
        return out
    grid, empty = _block_grid(n, stride, mask)
    _grid_minima(mixed[grid], perms, out)
    out[empty] = 0xFFFF_FFFF
    return out


def _block_grid(n: int, stride: int, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices into the kept values laid out as one row per block, and the empty blocks.

    Rows are as wide as the fullest block; a shorter row is padded with copies of its
    block's first value (a minimum does not change when a value repeats), so that every
    block reduces in the same array operation rather than in segments of varying size.
    """
    n_blocks = -(-n // stride)
    counts = np.bincount(np.flatnonzero(mask) // stride, minlength=n_blocks)
    firsts = np.cumsum(counts) - counts
    column = np.arange(int(counts.max()))
    grid = firsts[:, None] + np.where(column[None, :] < counts[:, None], column[None, :], 0)
    # An empty block points past its own (missing) values; any index will do, its row is reset.
    return np.minimum(grid, int(counts.sum()) - 1), np.flatnonzero(counts == 0)


# At most this many values are permuted at a time, which bounds the working array
# (2560 x 128 uint32 = 1.3 MB: 64 blocks of 40 with the defaults).
_GRID_CELLS = 2560


def _grid_minima(grid: np.ndarray, perms: tuple[np.ndarray, np.ndarray], out: np.ndarray) -> None:
    """``out[i, p]`` = min over ``j`` of ``a[p] * grid[i, j] + b[p]`` (mod 2^32): datasketch's
    affine32 permutations of already mixed values, reduced per row.

    The working array is laid out (column, row, permutation), so that the product and
    the sum run over whole rows of permutations and the minimum over columns is an
    element-wise minimum of whole planes: three passes, no temporaries. Very wide rows
    (one block of a whole table, say) are taken a slice of columns at a time.
    """
    a, b = perms
    n_rows, width = grid.shape
    step_rows = max(1, _GRID_CELLS // width)
    step_cols = min(width, _GRID_CELLS)
    work = np.empty((step_cols, min(n_rows, step_rows), a.shape[0]), dtype=np.uint32)
    for lo in range(0, n_rows, step_rows):
        hi = min(n_rows, lo + step_rows)
        for first in range(0, width, step_cols):
            last = min(width, first + step_cols)
            part = work[: last - first, : hi - lo]
            np.multiply(grid[lo:hi, first:last].T[:, :, None], a, out=part)
            np.add(part, b, out=part)
            if first == 0:
                np.minimum.reduce(part, axis=0, out=out[lo:hi])
            else:
                np.minimum(out[lo:hi], np.minimum.reduce(part, axis=0), out=out[lo:hi])


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
    if signatures.shape[0] == 0 or bands == 0:  # no passage, or a family a store does not index
        return np.zeros((signatures.shape[0], bands), dtype=np.int64)
    kern = _jit.kernels(signatures.shape[0] * bands)
    if kern is not None and signatures.dtype == np.uint32 and signatures.ndim == 2 \
            and 0 < bands * rows <= signatures.shape[1]:
        return kern.band_keys(np.ascontiguousarray(signatures), bands, rows).view(np.int64)
    sig = signatures[:, : bands * rows].astype(np.uint64).reshape(-1, bands, rows)
    h = np.zeros(sig.shape[:2], dtype=np.uint64)
    spare = np.empty_like(h)
    # fmix64(h * mult + row) row after row, in place: the arrays are small, so the
    # time goes to calls and allocations rather than arithmetic.
    for r in range(rows):
        np.multiply(h, _BAND_MULT, out=h)
        np.add(h, sig[:, :, r], out=h)
        _fmix64_inplace(h, spare)
    return h.view(np.int64)


def _fmix64_inplace(h: np.ndarray, spare: np.ndarray) -> None:
    """:func:`fmix64` in place (``spare`` is scratch space of the same shape)."""
    for multiplier in (_FMIX_C1, _FMIX_C2, None):
        np.right_shift(h, _FMIX_SHIFT, out=spare)
        np.bitwise_xor(h, spare, out=h)
        if multiplier is not None:
            np.multiply(h, multiplier, out=h)


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


def bag_digests(signatures: np.ndarray) -> np.ndarray:
    """What a store keeps of each passage's content-word bag signature: the low 16 bits
    of every slot (b-bit minwise hashing, Li and König). Equal slots still estimate the
    resemblance of two bags: two different minima agree by chance once in 65,536, so the
    estimate moves by less than 2e-5, at 256 bytes a passage instead of 512."""
    return (np.asarray(signatures, dtype=np.uint32) & np.uint32(0xFFFF)).astype(np.uint16)


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


def bag_query_signatures(tokens: Tokens, params: FingerprintParams,
                         key: StoreKey) -> tuple[np.ndarray, np.ndarray, int]:
    """Content-word bag signatures of passage-sized windows every half passage stride:
    (signatures, first word of each window, window length in words).

    Stored passages start every ``passage_stride`` words; a reworded copy that
    straddles two of them shares too few words with either window of the
    deliverable that starts on the same grid. Querying windows shifted by half a
    stride as well puts one window over most of the copy (twice the look-ups,
    still one per 20 words).
    """
    half = max(1, params.passage_stride // 2)
    per_window = max(1, params.passage_window // half)
    words = key.prf64(tokens.ids, WORD_BAG_DOMAIN)
    sub = block_minima(words, half, params, mask=content_mask(tokens.ids))
    if sub.shape[0] <= per_window:
        windows = sub.min(axis=0, keepdims=True) if sub.shape[0] else sub
    else:
        windows = np.lib.stride_tricks.sliding_window_view(sub, per_window, axis=0).min(axis=-1)
    return windows, np.arange(windows.shape[0], dtype=np.int64) * half, per_window * half
