"""Comparing a deliverable's code with a reference file: tiles, then a two-stage decision.

**Tiles.** Both files are structure streams (:mod:`leakwatch.detect.code.normalize`); every
k-gram of each is hashed (keyed, as the store keeps them). Greedy string tiling, as
JPlag does (Wise 1993; minimum match length = k), covers the reference with the
longest runs the deliverable shares with it, longest first, each token of either
file used once. The runs are matched as a set, wherever they lie, so moving
methods and declarations around (IR-Plag's L3, L4) leaves the coverage as it was,
and a deliverable that prints once in a loop does not cover a reference that
prints five times (which a set of k-grams would).

**Decision.** Independent solutions of one small task share most of their
structure, so structure alone only nominates (stage 1: the reference's coverage
by tiles at least ``coverage``). Stage 2 confirms with what a copier leaves as it
was and an independent author writes in their own words: the reference's string
literals (at least ``literals`` of them, and ``min_literal_words`` words, found in
the deliverable) or one of its comment lines copied. Prompts the task prescribes
are shared by independent work too, so it takes all of a small file's literals,
not some. A region too large to be shared by chance (``unconfirmed_tokens``,
covered at ``unconfirmed_coverage``) needs no confirmation.

A region is the whole reference (a ``whole-file`` copy) or a stretch of it covered
by tiles without gaps longer than ``max_gap`` tokens (a ``passage``: a reference
function inside an otherwise new file).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from leakwatch.config import CODE_MATCH, CodeMatchParams
from leakwatch.detect.code.normalize import VerbatimItem


@dataclass(frozen=True)
class Tile:
    """A run of tokens the reference and the deliverable share: ``ref`` and ``dlv`` are
    the first token of each, ``length`` the run's length in tokens."""

    ref: int
    dlv: int
    length: int


def _seed_pairs(a: np.ndarray, b: np.ndarray, max_pairs_per_value: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j) with ``a[i] == b[j]``; for a value so repeated that its pairs would
    explode (generated tables, long runs of one statement), the pairs near the diagonal of
    its occurrences only: the t-th in ``a`` with those around the same rank in ``b``."""
    common = np.intersect1d(a, b)
    empty = np.zeros(0, dtype=np.int64)
    if common.size == 0:
        return empty, empty
    ia = np.flatnonzero(np.isin(a, common))
    ib = np.flatnonzero(np.isin(b, common))
    ia = ia[np.argsort(a[ia], kind="stable")]
    ib = ib[np.argsort(b[ib], kind="stable")]
    _, sa, ca = np.unique(a[ia], return_index=True, return_counts=True)
    _, sb, cb = np.unique(b[ib], return_index=True, return_counts=True)
    n_pairs = ca * cb
    ok = n_pairs <= max_pairs_per_value
    out_i, out_j = [], []
    for g in np.flatnonzero(~ok).tolist():
        reach = max(1, max_pairs_per_value // (2 * int(ca[g])))
        t = np.repeat(np.arange(ca[g]), 2 * reach + 1)
        rank = np.rint(t * (cb[g] / ca[g])).astype(np.int64) + np.tile(np.arange(-reach, reach + 1), int(ca[g]))
        keep = (rank >= 0) & (rank < cb[g])
        out_i.append(ia[sa[g] + t[keep]])
        out_j.append(ib[sb[g] + rank[keep]])
    sa, ca, sb, cb, n_pairs = sa[ok], ca[ok], sb[ok], cb[ok], n_pairs[ok]
    group = np.repeat(np.arange(n_pairs.size), n_pairs)
    offset = np.arange(int(n_pairs.sum())) - np.repeat(np.cumsum(n_pairs) - n_pairs, n_pairs)
    out_i.append(ia[sa[group] + offset // cb[group]])
    out_j.append(ib[sb[group] + offset % cb[group]])
    return np.concatenate(out_i), np.concatenate(out_j)


def _runs(i: np.ndarray, j: np.ndarray) -> list[tuple[int, int, int]]:
    """Maximal diagonal runs of seed pairs: (first i, first j, number of k-grams)."""
    if i.size == 0:
        return []
    d = j - i
    order = np.lexsort((i, d))
    i, d = i[order], d[order]
    new = np.ones(i.size, dtype=bool)
    new[1:] = (d[1:] != d[:-1]) | (i[1:] != i[:-1] + 1)
    heads = np.flatnonzero(new)
    lengths = np.diff(np.append(heads, i.size))
    return list(zip(i[heads].tolist(), (i[heads] + d[heads]).tolist(), lengths.tolist(), strict=True))


def greedy_tiles(ref: np.ndarray, dlv: np.ndarray, k: int, max_pairs_per_value: int = 4096) -> list[Tile]:
    """Greedy string tiling of two token streams given as their k-gram hashes.

    Args:
        ref: hash of every k-gram of the reference, in order (``len(tokens) - k + 1``).
        dlv: the same for the deliverable.
        k: tokens per k-gram, the shortest tile.

    Returns:
        Tiles, longest first; no token of either stream is in two.
    """
    heap = [(-(n + k - 1), i, j, n) for i, j, n in _runs(*_seed_pairs(ref, dlv, max_pairs_per_value))]
    heapq.heapify(heap)
    # Byte arrays: the loop runs once per run (thousands between two large files), and a
    # bytearray's find() and slice assignment cost far less per call than numpy's.
    used_ref = bytearray(ref.shape[0] + k)
    used_dlv = bytearray(dlv.shape[0] + k)
    ones = b"\x01" * (max(ref.shape[0], dlv.shape[0]) + k)
    tiles: list[Tile] = []
    while heap:
        _, i, j, n = heapq.heappop(heap)
        span = n + k - 1
        if used_ref.find(1, i, i + span) < 0 and used_dlv.find(1, j, j + span) < 0:
            used_ref[i:i + span] = ones[:span]
            used_dlv[j:j + span] = ones[:span]
            tiles.append(Tile(i, j, span))
            continue
        # Part of the run is taken by a longer tile: its free k-grams go back as shorter runs.
        t = 0
        while t < n:
            while t < n and (used_ref.find(1, i + t, i + t + k) >= 0 or used_dlv.find(1, j + t, j + t + k) >= 0):
                t += 1
            s = t
            while t < n and used_ref.find(1, i + t, i + t + k) < 0 and used_dlv.find(1, j + t, j + t + k) < 0:
                t += 1
            if t > s:
                heapq.heappush(heap, (-(t - s + k - 1), i + s, j + s, t - s))
    return tiles


def covered(tiles: Iterable[Tile], n_tokens: int, side: str = "ref") -> np.ndarray:
    """Which of the reference's (or deliverable's) ``n_tokens`` tokens some tile covers."""
    mask = np.zeros(n_tokens, dtype=bool)
    for t in tiles:
        first = t.ref if side == "ref" else t.dlv
        mask[first:first + t.length] = True
    return mask


@dataclass(frozen=True)
class Region:
    """A stretch of the reference, ``[start, end)`` in its tokens, and the tiles in it."""

    start: int
    end: int
    tiles: tuple[Tile, ...]

    @property
    def covered_tokens(self) -> int:
        return sum(t.length for t in self.tiles)

    @property
    def coverage(self) -> float:
        return self.covered_tokens / max(1, self.end - self.start)


def passages(tiles: list[Tile], max_gap: int) -> list[Region]:
    """Tiles grouped into stretches that lie together on both sides: in reference order, a
    gap of more than ``max_gap`` uncovered reference tokens, or a tile that lies in the
    deliverable further from the stretch than the stretch is long (plus ``max_gap``),
    starts a new one. Reordering inside a stretch is kept; pieces gathered from all
    over the deliverable are not one passage."""
    out: list[Region] = []
    group: list[Tile] = []
    end = -1
    d_lo = d_hi = 0
    for t in sorted(tiles, key=lambda t: t.ref):
        if group:
            reach = max_gap + (end - group[0].ref)
            if t.ref - end > max_gap or t.dlv + t.length < d_lo - reach or t.dlv > d_hi + reach:
                out.append(Region(group[0].ref, end, tuple(group)))
                group = []
        if not group:
            d_lo, d_hi = t.dlv, t.dlv + t.length
        group.append(t)
        end = max(end, t.ref + t.length)
        d_lo, d_hi = min(d_lo, t.dlv), max(d_hi, t.dlv + t.length)
    if group:
        out.append(Region(group[0].ref, end, tuple(group)))
    return out


@dataclass(frozen=True)
class Evidence:
    """Stage 2 for one region: the reference's verbatim items in it and those found."""

    literals: int
    literals_found: int
    literal_words_found: int
    comments_found: int

    @property
    def literal_share(self) -> float:
        return self.literals_found / self.literals if self.literals else 0.0

    def confirms(self, params: CodeMatchParams) -> bool:
        by_literals = (self.literals > 0 and self.literal_share >= params.literals
                       and self.literal_words_found >= params.min_literal_words)
        return by_literals or self.comments_found > 0


def evidence(reference: Iterable[VerbatimItem], deliverable_hashes: set[int], start: int, end: int) -> Evidence:
    """Which of the reference's items placed in ``[start, end)`` the deliverable has too
    (hashes keyed alike on both sides)."""
    items = [v for v in reference if start <= v.pos < end]
    literals = [v for v in items if v.kind == "literal"]
    found = [v for v in literals if v.hash in deliverable_hashes]
    return Evidence(
        literals=len(literals),
        literals_found=len(found),
        literal_words_found=sum(v.words for v in found),
        comments_found=sum(1 for v in items if v.kind == "comment" and v.hash in deliverable_hashes),
    )


def is_copy(region: Region, proof: Evidence, params: CodeMatchParams = CODE_MATCH,
            coverage: float | None = None) -> bool:
    """The two-stage decision for one region (``coverage`` overrides the region's own,
    for the whole reference)."""
    share = region.coverage if coverage is None else coverage
    if share < params.coverage:
        return False
    size = region.end - region.start
    return proof.confirms(params) or (size >= params.unconfirmed_tokens and share >= params.unconfirmed_coverage)
