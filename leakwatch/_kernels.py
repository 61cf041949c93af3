"""Compiled (numba) kernels of the fingerprinting hot path: the optional ``fast`` extra.

Each kernel computes exactly what its numpy counterpart in :mod:`leakwatch.text` or
:mod:`leakwatch.fingerprint` computes (tests compare both, bit for bit), in one pass
and without temporaries. Importing this module imports numba and loads the kernels
(compiled once, then cached on disk); :mod:`leakwatch._jit` decides when that is
worth it. Nothing here is imported on the start-up path.

All arithmetic is on ``uint64`` with explicit masks, so that numba's integer typing
(small integers widen to 64 bits; ``uint64`` mixed with a signed integer becomes a
float) never changes a result.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types

# Input arrays are typed read-only, which takes writable arrays too (np.frombuffer of
# bytes is read-only).
_U8 = types.Array(types.uint8, 1, "C", readonly=True)
_U32 = types.Array(types.uint32, 1, "C", readonly=True)
_U64 = types.Array(types.uint64, 1, "C", readonly=True)
_I64 = types.Array(types.int64, 1, "C", readonly=True)
_BOOL = types.Array(types.boolean, 1, "C", readonly=True)
_SIG = types.Array(types.uint32, 2, "C", readonly=True)
_OUT_U32_2D = types.Array(types.uint32, 2, "C")
_U64_OUT = types.Array(types.uint64, 1, "C")
_I64_OUT = types.Array(types.int64, 1, "C")

_M32 = np.uint64(0xFFFF_FFFF)
_S16 = np.uint64(16)
_S13 = np.uint64(13)
_S33 = np.uint64(33)
_C32A = np.uint64(0x85EB_CA6B)
_C32B = np.uint64(0xC2B2_AE35)
_C64A = np.uint64(0xFF51_AFD7_ED55_8CCD)
_C64B = np.uint64(0xC4CE_B9FE_1A85_EC53)
_ROLL = np.uint64(0x9E37_79B9_7F4A_7C15)
_BAND_MULT = np.uint64(0xD6E8_FEB8_6659_FD93)
_MIX_LO = np.uint64(0x9E37_79B9_7F4A_7C15)
_MIX_HI = np.uint64(0xBF58_476D_1CE4_E5B9)
_ZERO = np.uint64(0)
_EIGHT = np.uint64(8)



@njit(cache=True, nogil=True, inline="always")
def _fmix64(h):  # type: ignore[no-untyped-def]
    h ^= h >> _S33
    h *= _C64A
    h ^= h >> _S33
    h *= _C64B
    return h ^ (h >> _S33)


@njit(cache=True, nogil=True, inline="always")
def _fmix32(x):  # type: ignore[no-untyped-def]
    h = x & _M32
    h ^= h >> _S16
    h = (h * _C32A) & _M32
    h ^= h >> _S13
    h = (h * _C32B) & _M32
    return h ^ (h >> _S16)


@njit(_U64_OUT(_U64, types.int64), cache=True, nogil=True, boundscheck=False)
def shingle_hashes(ids, k):  # type: ignore[no-untyped-def]
    n = ids.shape[0] - k + 1
    out = np.empty(max(n, 0), dtype=np.uint64)
    for i in range(n):
        h = _ZERO
        for j in range(k):
            h = h * _ROLL + ids[i + j]
        out[i] = _fmix64(h)
    return out


@njit(types.void(_U64, _BOOL, types.boolean, types.int64, _U32, _U32, _OUT_U32_2D),
      cache=True, nogil=True, boundscheck=False)
def block_minima(keyed, mask, masked, stride, a, b, out):  # type: ignore[no-untyped-def]
    """``out[blk, p] = min(out[blk, p], a[p] * fmix32(low32(v)) + b[p] mod 2^32)`` over the
    values ``v`` of each block (those where ``mask`` is true, when ``masked``)."""
    n_perm = a.shape[0]
    for i in range(keyed.shape[0]):
        if masked and not mask[i]:
            continue
        x = np.uint32(_fmix32(keyed[i]))
        row = out[i // stride]
        # An unconditional minimum over whole rows: LLVM vectorizes it (32-bit lanes).
        for p in range(n_perm):
            row[p] = min(row[p], np.uint32(a[p] * x + b[p]))


@njit(types.Array(types.uint64, 2, "C")(_SIG, types.int64, types.int64), cache=True, nogil=True, boundscheck=False)
def band_keys(sig, bands, rows):  # type: ignore[no-untyped-def]
    out = np.empty((sig.shape[0], bands), dtype=np.uint64)
    for i in range(sig.shape[0]):
        for j in range(bands):
            h = _ZERO
            for r in range(rows):
                h = _fmix64(h * _BAND_MULT + np.uint64(sig[i, j * rows + r]))
            out[i, j] = h
    return out


@njit(_I64_OUT(_U64, types.int64), cache=True, nogil=True, boundscheck=False)
def winnow(hashes, window):  # type: ignore[no-untyped-def]
    """Robust winnowing for ``len(hashes) > window``: the rightmost minimum of every window,
    each position once."""
    n_windows = hashes.shape[0] - window + 1
    out = np.empty(n_windows, dtype=np.int64)
    count = 0
    best = -1
    for i in range(n_windows):
        last = i + window - 1
        if best >= i:
            if hashes[last] <= hashes[best]:
                best = last
        else:
            best = i
            for j in range(i + 1, last + 1):
                if hashes[j] <= hashes[best]:
                    best = j
        if count == 0 or out[count - 1] != best:
            out[count] = best
            count += 1
    return out[:count].copy()


@njit(types.Tuple((_I64_OUT, _I64_OUT))(_U8, _BOOL), cache=True, nogil=True, boundscheck=False)
def ascii_words(codes, is_word):  # type: ignore[no-untyped-def]
    """Starts and ends of the maximal runs of word characters in ASCII text."""
    n = codes.shape[0]
    starts = np.empty(n // 2 + 1, dtype=np.int64)
    ends = np.empty(n // 2 + 1, dtype=np.int64)
    count = 0
    inside = False
    for i in range(n):
        w = is_word[codes[i]]
        if w and not inside:
            starts[count] = i
            inside = True
        elif inside and not w:
            ends[count] = i
            count += 1
            inside = False
    if inside:
        ends[count] = n
        count += 1
    return starts[:count].copy(), ends[:count].copy()


@njit(types.Tuple((_U64_OUT, types.Array(types.uint8, 1, "C"), _U64_OUT, _U64_OUT))(
    _U8, _U8, _I64, _I64, _BOOL, types.int64, types.Array(types.uint64, 2, "C", readonly=True), types.int64,
    types.int64), cache=True, nogil=True, boundscheck=False)
def packed_lookup(chars, lower, starts, ends, eligible, max_len, table, bits, probes):  # type: ignore[no-untyped-def]
    """Each word's normalized bytes packed into two little-endian integers (as
    ``text._packed_words``) and looked up in the open-addressing table of
    ``text._PackedWordIds`` (rows lo, hi, hash; ``probes`` slots from the home slot).
    Status per word: 0 found, 1 packed but not in the table, 2 not packable (not
    eligible, or longer than ``max_len``)."""
    n = starts.shape[0]
    ids = np.zeros(n, dtype=np.uint64)
    status = np.zeros(n, dtype=np.uint8)
    los = np.zeros(n, dtype=np.uint64)
    his = np.zeros(n, dtype=np.uint64)
    shift = np.uint64(64 - bits)
    size_mask = table.shape[0] - 1
    for w in range(n):
        s = starts[w]
        length = ends[w] - s
        if not eligible[w] or length > max_len:
            status[w] = 2
            continue
        lo = _ZERO
        hi = _ZERO
        for j in range(min(length, 8)):
            lo |= np.uint64(lower[chars[s + j]]) << (_EIGHT * np.uint64(j))
        for j in range(8, length):
            hi |= np.uint64(lower[chars[s + j]]) << (_EIGHT * np.uint64(j - 8))
        los[w] = lo
        his[w] = hi
        home = np.int64(((lo * _MIX_LO + hi) * _MIX_HI) >> shift)
        status[w] = 1
        for probe in range(probes):
            slot = (home + probe) & size_mask
            if table[slot, 0] == lo and table[slot, 1] == hi:
                ids[w] = table[slot, 2]
                status[w] = 0
                break
    return ids, status, los, his
