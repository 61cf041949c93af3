"""Which licence a block of text is: blocks of licence shingles, told apart by what differs.

Many licences are near-copies of each other (BSD-2 and BSD-3, the MIT family, GPL
versions), so a similarity score alone cannot tell them apart. Each candidate is
scored by the shingles it explains *and* by the parts of its required text (its
SPDX template's, :mod:`leakwatch.detect.licence.templates`) that are absent: a BSD-2 text
is explained as well by BSD-3 (which contains it) but misses BSD-3's third clause,
so BSD-2 wins; a BSD-3 text has shingles BSD-2 lacks, so BSD-3 wins. Optional and
replaceable text counts neither for nor against a licence. The winner is reported
with the evidence that separated it from the runner-up.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from dataclasses import dataclass

import numpy as np

from leakwatch.detect.licence.texts import LicenceReference, ShingleIndex
from leakwatch.fingerprint import shingle_hashes
from leakwatch.text import Tokens


@dataclass(frozen=True)
class LicenceMatchParams:
    shingle_size: int = 5
    # Matched shingles further apart than this (in words) belong to different blocks.
    max_gap: int = 40
    # A block must cover this many words to be reported (as for confidential text).
    min_words: int = 20
    # Matched words must fill at least this share of a reported block.
    min_density: float = 0.5
    # Exponent of coverage in the candidate score: explained * coverage ** this.
    coverage_weight: float = 0.5
    # Candidates scoring at least this share of the best are told apart by what differs.
    plausible: float = 0.8
    # Explaining this many more shingles than another candidate (or this share of the
    # most any candidate explains, if more) is evidence; less is the noise of real
    # copies (a changed word alters up to ``shingle_size`` shingles, and real files mix
    # the wordings of several variants: "COPYRIGHT HOLDERS" here, "OWNER" there).
    evidence_margin: int = 10
    evidence_share: float = 0.1


@dataclass(frozen=True)
class Distinction:
    """Why the winner beat the runner-up: shingles present in the text that only one
    of the two licences has, and how much of each licence the text covers."""

    runner_up: int
    only_winner_present: int
    only_runner_up_present: int
    runner_up_coverage: float


@dataclass(frozen=True)
class LicenceMatch:
    """One block of licence text found in a document (word range, end exclusive)."""

    text: int
    word_start: int
    word_end: int
    matched_words: int
    matched_shingles: int
    coverage: float  # share of the licence's distinct shingles present in the block
    resemblance: float  # Jaccard of the block's shingles and the licence's
    distinction: Distinction | None
    # The licence whose text is several licences in a row (:data:`LICENCE_STACKS`), when
    # this block is one of them: the PSF agreement of CPython's licence history.
    stack: int | None = None


def _runs(positions: np.ndarray, max_gap: int) -> list[np.ndarray]:
    """Split sorted positions where consecutive ones are more than ``max_gap`` apart."""
    if positions.size == 0:
        return []
    cuts = np.nonzero(np.diff(positions) > max_gap)[0] + 1
    return np.split(positions, cuts)


def _covered(positions: np.ndarray, k: int) -> int:
    if positions.size == 0:
        return 0
    return int(np.minimum(np.diff(positions), k).sum()) + k


@dataclass(frozen=True)
class Candidates:
    """Per licence text, how well it explains a block of matched shingles."""

    explained: np.ndarray  # matched positions whose shingle the licence holds
    absent: np.ndarray  # distinct shingles of the licence missing from the block
    coverage: np.ndarray  # share of the licence's distinct shingles present
    score: np.ndarray  # explained * coverage ** weight


def presence(index: ShingleIndex, block_hashes: np.ndarray) -> np.ndarray:
    """Per licence, how many of its distinct required shingles a block holds
    (``block_hashes``: the block's distinct hash indices)."""
    _, texts = index.texts_of(block_hashes, required=True)
    return np.bincount(texts, minlength=index.text_sizes.shape[0]).astype(np.float64)


def candidate_scores(index: ShingleIndex, hash_idx: np.ndarray, present: np.ndarray, weight: float) -> Candidates:
    """Score every licence on ``hash_idx`` (matched positions still to explain, with
    repeats), given its :func:`presence` in the block.

    A licence explains every position its template can hold (replaceable text as
    written in the template included: "THE AUTHOR" is ISC's as much as 0BSD's), but
    only its required text counts for coverage and absence: optional and replaceable
    text is neither for nor against it.
    """
    n_texts = index.text_sizes.shape[0]
    # Per distinct shingle, weighted by how often it occurs: the posting lists of common
    # licence phrases are long, and a block repeats them.
    distinct, repeats = np.unique(hash_idx, return_counts=True)
    rows, texts = index.texts_of(distinct)
    explained = np.bincount(texts, weights=repeats[rows], minlength=n_texts)
    coverage = present / np.maximum(index.text_sizes, 1)
    return Candidates(explained, index.text_sizes - present, coverage, explained * coverage**weight)


def match_licences(tokens: Tokens, text: str, ref: LicenceReference,
                   params: LicenceMatchParams | None = None, skip: np.ndarray | None = None) -> list[LicenceMatch]:
    """Licence blocks in ``text`` (tokenized as ``tokens``); shingles where ``skip`` is
    True (the allow-list) never match.

    Blocks of matched shingles are found first; within a block, licences are chosen
    greedily, each explaining the shingles the previous ones left, so a file that
    quotes several licences one after another gets one match per licence.
    """
    params = params or LicenceMatchParams()
    k = params.shingle_size
    index = ref.index_for(k)
    located = index.locate(shingle_hashes(tokens.ids, k))
    if skip is not None and skip.shape == located.shape:
        located[skip] = -1
    positions = np.nonzero(located >= 0)[0]
    matches: list[LicenceMatch] = []
    for block in _runs(positions, params.max_gap):
        if _covered(block, k) < params.min_words:
            continue
        start, end = tokens.char_span(int(block[0]), int(block[-1]) + k)
        wording = text[start:end]
        matches.extend(_match_block(block, located, ref, params, Grant(stated_versions(wording),
                                                                        bool(_LATER.search(wording)))))
    return merge_parts(sorted(matches, key=lambda m: m.word_start), ref, params.max_gap)


def merge_parts(matches: list[LicenceMatch], ref: LicenceReference, max_gap: int) -> list[LicenceMatch]:
    """One match per licence copy: a licence's terms followed by its notice are one block,
    reported under the terms (their coverage is the licence's); a fragment (under half
    of its licence) beside a match of the same family is the end of that match worded
    as another version ("51 Franklin Street" after a GPL-3 notice), not a licence of
    its own. Parts of a stack stay apart."""
    merged: list[LicenceMatch] = []
    for m in matches:
        last = merged[-1] if merged else None
        if last is not None and m.word_start - last.word_end <= max_gap and m.stack is None and last.stack is None \
                and _same_licence(ref, last, m):
            main = last if ref.texts[last.text].part == "text" or ref.texts[m.text].part != "text" else m
            if licence_family(ref.texts[last.text].spdx_id) == licence_family(ref.texts[m.text].spdx_id):
                main = last if last.coverage >= m.coverage else m
            merged[-1] = dataclasses.replace(
                main, word_start=last.word_start, word_end=max(last.word_end, m.word_end),
                matched_words=last.matched_words + m.matched_words,
                matched_shingles=last.matched_shingles + m.matched_shingles,
            )
        elif last is not None and m.word_start < last.word_end:
            # A run ends k-1 words past its last shingle, where the next block's first
            # shingles may start: the words go to the earlier match.
            if m.word_end > last.word_end:
                merged.append(dataclasses.replace(m, word_start=last.word_end))
        else:
            merged.append(m)
    return merged


def _same_licence(ref: LicenceReference, a: LicenceMatch, b: LicenceMatch) -> bool:
    """Whether two neighbouring matches are one copy of one licence (see :func:`merge_parts`)."""
    ta, tb = ref.texts[a.text], ref.texts[b.text]
    if set(ta.ids) & set(tb.ids):
        return True
    fa, fb = licence_family(ta.spdx_id), licence_family(tb.spdx_id)
    return fa[0] == fb[0] and fa[1] is not None and fb[1] is not None and min(a.coverage, b.coverage) < 0.5


def _match_block(block: np.ndarray, located: np.ndarray, ref: LicenceReference,
                 params: LicenceMatchParams, grant: Grant) -> list[LicenceMatch]:
    k = params.shingle_size
    index = ref.index_for(k)
    remaining = block
    block_hashes = np.unique(located[block])
    found: list[LicenceMatch] = []
    ruled_out = np.zeros(len(ref.texts), dtype=bool)
    # Each round explains at least one shingle, or rules a licence out, so this ends; the
    # cap bounds hostile input.
    for _ in range(64):
        if _covered(remaining, k) < params.min_words:
            break
        # Coverage of what is left: a licence explained by text another licence already
        # claimed (Python-2.0's PSF part, once PSF-2.0 took it) is not what follows.
        present = presence(index, np.unique(located[remaining]))
        c = candidate_scores(index, located[remaining], present, params.coverage_weight)
        ranked, tied = rank_candidates(dataclasses.replace(c, score=np.where(ruled_out, 0.0, c.score)), params,
                                       ref.common)
        if not ranked:
            break
        ranked = settle_by_distinction(ranked, tied, ref, k, index.hashes[block_hashes], params)
        ranked = settle_grant(ranked, ref, grant)
        winner = ranked[0]
        runner_up = ranked[1] if len(ranked) > 1 else None
        parts = stack_parts(ref, winner)
        if parts is not None and not _stack_present(ref, winner, parts, k, index.hashes[np.unique(located[remaining])]):
            # Its parts, or licences that share their phrases, not the stack itself.
            ruled_out[winner] = True
            continue
        if parts is None:
            matches, claimed = _claim(remaining, located, ref, params, winner, runner_up)
        else:
            matches, claimed = _unstack(remaining, located, ref, params, winner, parts, present)
        found.extend(matches)
        remaining = remaining[~claimed]
    return found


def _claim(remaining: np.ndarray, located: np.ndarray, ref: LicenceReference, params: LicenceMatchParams,
           winner: int, runner_up: int | None, stack: int | None = None) -> tuple[list[LicenceMatch], np.ndarray]:
    """The runs of ``remaining`` that licence ``winner`` holds, as matches (those long and
    dense enough), and which positions of ``remaining`` they take."""
    k = params.shingle_size
    index = ref.index_for(k)
    in_winner = _holds(ref, index, located[remaining], winner, k)
    claimed = in_winner.copy()
    found: list[LicenceMatch] = []
    for run in _runs(remaining[in_winner], params.max_gap):
        start, end = int(run[0]), int(run[-1]) + k
        covered = _covered(run, k)
        # ``remaining`` is sorted: the run's extent is one slice of it.
        claimed[np.searchsorted(remaining, run[0]) : np.searchsorted(remaining, run[-1], side="right")] = True
        if covered < params.min_words or covered < params.min_density * (end - start):
            continue
        found.append(dataclasses.replace(
            _describe(ref, index, located, run, winner, runner_up, start, end, covered, k), stack=stack))
    return found, claimed


# Licences whose SPDX text is several licences in a row, and the parts SPDX also lists on
# their own: CPython's licence history (the PSF agreement, then BeOpen's, CNRI's and CWI's)
# and OpenSSL's two licences. A package that declares PSF-2.0 ships the whole history.
LICENCE_STACKS: dict[str, tuple[str, ...]] = {
    "Python-2.0": ("PSF-2.0", "CNRI-Python", "CNRI-Python-GPL-Compatible"),
    "Python-2.0.1": ("PSF-2.0", "CNRI-Python", "CNRI-Python-GPL-Compatible"),
    "OpenSSL": ("OpenSSL-standalone", "SSLeay-standalone"),
}


def stack_parts(ref: LicenceReference, text: int) -> np.ndarray | None:
    """The entries of the parts of a stacked licence (None for any other licence)."""
    names = next((LICENCE_STACKS[i] for i in ref.texts[text].ids if i in LICENCE_STACKS), None)
    if names is None or ref.texts[text].part != "text":
        return None
    found = [n for n in (ref.by_id(name) for name in names) if n is not None]
    return np.array(found, dtype=np.int64) if found else None


def stack_layout(ref: LicenceReference, stack: int, parts: np.ndarray, k: int) -> list[tuple[int, int, int]]:
    """Where each part lies in the stack's own text: (part, first shingle, end) in the
    stack's shingle sequence, from the part's own text aligned onto it."""
    cache: dict[tuple[int, int], list[tuple[int, int, int]]] = ref.__dict__.setdefault("_stack_layouts", {})
    if (stack, k) not in cache:
        stack_hashes = shingle_hashes(ref.word_ids(stack), k)
        layout = []
        for part in parts.tolist():
            where = _aligned(shingle_hashes(ref.word_ids(part), k), stack_hashes)
            if (where >= 0).any():
                layout.append((part, int(where[where >= 0].min()), int(where.max()) + 1))
        cache[(stack, k)] = layout
    return cache[(stack, k)]


def _stack_present(ref: LicenceReference, stack: int, parts: np.ndarray, k: int, present: np.ndarray) -> bool:
    """Whether most of what only the stack has (BeOpen's and CWI's agreements, for
    CPython's history) is in the text: a stack explains a run of its parts best, but is
    there only when its own text is."""
    own = ref.text_shingles(stack, k, required=True)
    for part in parts.tolist():
        own = np.setdiff1d(own, ref.text_shingles(part, k), assume_unique=True)
    if own.size >= 10:
        return float(np.isin(own, present).mean()) >= 0.5
    # A stack that is nothing but its parts (OpenSSL) is there when all of them are.
    return all(float(np.isin(ref.text_shingles(p, k, required=True), present).mean()) >= 0.5 for p in parts.tolist())


def _aligned(hashes: np.ndarray, stack_hashes: np.ndarray) -> np.ndarray:
    """For each of ``hashes`` (a block, in order), its position in the stack's text: the
    shingles found once in the stack anchor it, kept in order (the longest increasing
    chain), and every other position takes the anchor before it. Positions past the
    last anchor are -1: text after the stack that merely shares its phrases (CPython's
    history ends with a 0BSD licence worded like its CWI part)."""
    values, first, counts = np.unique(stack_hashes, return_index=True, return_counts=True)
    at = np.searchsorted(values, hashes).clip(0, max(values.shape[0] - 1, 0))
    unique = (values[at] == hashes) & (counts[at] == 1) if values.size else np.zeros(hashes.shape, dtype=bool)
    anchors = np.nonzero(unique)[0]
    # Built from the end, so that of two equal chains the one of earlier positions is kept:
    # text repeated after the stack is not the stack.
    chain = anchors.shape[0] - 1 - _increasing_chain(-first[at[anchors]][::-1])[::-1]
    kept = anchors[chain]
    where = np.full(hashes.shape[0], -1, dtype=np.int64)
    if kept.size == 0:
        return where
    before = np.searchsorted(kept, np.arange(hashes.shape[0]), side="right") - 1
    where = first[at[kept[np.maximum(before, 0)]]]
    where[kept[-1] + 1 :] = -1
    return where


def _increasing_chain(values: np.ndarray) -> np.ndarray:
    """Indices of a longest strictly increasing subsequence of ``values``."""
    tails: list[int] = []
    tail_at: list[int] = []
    parent = np.full(values.shape[0], -1, dtype=np.int64)
    for i, v in enumerate(values.tolist()):
        j = bisect.bisect_left(tails, v)
        if j == len(tails):
            tails.append(v)
            tail_at.append(i)
        else:
            tails[j], tail_at[j] = v, i
        parent[i] = tail_at[j - 1] if j else -1
    chain: list[int] = []
    i = tail_at[-1] if tail_at else -1
    while i >= 0:
        chain.append(i)
        i = int(parent[i])
    return np.array(chain[::-1], dtype=np.int64)


def _unstack(remaining: np.ndarray, located: np.ndarray, ref: LicenceReference, params: LicenceMatchParams,
             stack: int, parts: np.ndarray, present: np.ndarray) -> tuple[list[LicenceMatch], np.ndarray]:
    """A stacked licence as its parts: each part SPDX lists on its own is a match of its
    own, the rest (the parts only the stack has) a match of the stack; all say which
    stack they belong to. A block position belongs to the part at its place in the
    stack's text (parts share many phrases, so holding a shingle says little)."""
    k = params.shingle_size
    index = ref.index_for(k)
    in_stack = _holds(ref, index, located[remaining], stack, k)
    pool = remaining[in_stack]
    where = _aligned(index.hashes[located[pool]], shingle_hashes(ref.word_ids(stack), k))
    pool, where = pool[where >= 0], where[where >= 0]
    owner = np.full(pool.shape[0], stack, dtype=np.int64)
    # Where two parts overlap (variants of one agreement), the one the block holds more of wins.
    coverage = present / np.maximum(index.text_sizes, 1)
    for part, lo, hi in sorted(stack_layout(ref, stack, parts, k), key=lambda p: coverage[p[0]]):
        owner[(where >= lo) & (where < hi)] = part
    found: list[LicenceMatch] = []
    cuts = np.nonzero(np.diff(owner))[0] + 1
    for piece, who in zip(np.split(pool, cuts), np.split(owner, cuts), strict=True):
        for run in _runs(piece, params.max_gap):
            start, end, covered = int(run[0]), int(run[-1]) + k, _covered(run, k)
            if covered >= params.min_words:
                found.append(dataclasses.replace(
                    _describe(ref, index, located, run, int(who[0]), None, start, end, covered, k), stack=stack))
    claimed = np.zeros(remaining.shape[0], dtype=bool)
    if pool.size:
        lo, hi = np.searchsorted(remaining, pool[[0, -1]])
        claimed[lo : hi + 1] = True
    return found, claimed


def distinctive_presence(a: np.ndarray, b: np.ndarray, present: np.ndarray) -> tuple[int, float]:
    """How much of what licence ``a`` requires and ``b`` cannot hold is present (count,
    share); ``a``, ``b`` and ``present`` are sorted unique shingle hashes."""
    only_a = np.setdiff1d(a, b, assume_unique=True)
    if only_a.size == 0:
        return 0, 0.0
    hits = int(np.isin(only_a, present, assume_unique=True).sum())
    return hits, hits / only_a.size


def settle_by_distinction(ranked: list[int], tied: int, ref: LicenceReference, k: int, present: np.ndarray,
                          params: LicenceMatchParams) -> list[int]:
    """Among tied candidates, one whose distinctive part is present beats the leader.

    The tie order favours common licences and fewer absent parts; that is only
    right when nothing in the text separates the two. A licence whose own parts
    (those the leader lacks) are mostly present, and at least ``evidence_margin``
    shingles of them, is what the text is: the Pixar licence's changed trademark
    clause, CC-BY-NC's NonCommercial terms.
    """
    if tied < 2:
        return ranked
    champion = ranked[0]
    for other in ranked[1:tied]:
        # What one requires that the other cannot hold, even as optional or replaceable text.
        hits, share = distinctive_presence(ref.text_shingles(other, k, required=True),
                                           ref.text_shingles(champion, k), present)
        if hits >= params.evidence_margin and share >= 0.5:
            _, back_share = distinctive_presence(ref.text_shingles(champion, k, required=True),
                                                 ref.text_shingles(other, k), present)
            if share > back_share:
                champion = other
    return [champion, *(t for t in ranked if t != champion)]


_STATED_VERSION = re.compile(r"\bversions?\s+(\d+(?:\.\d+)?)\b", re.IGNORECASE)
_ID_VERSION = re.compile(r"-(\d+(?:\.\d+)*)")
_GRANT = re.compile(r"(?:-only|-or-later|\+)$")
# "either version 2 of the License, or (at your option) any later version", "or later".
_LATER = re.compile(r"\blater\s+version|\bor\s+later\b|\bor\s+any\s+later\b", re.IGNORECASE)


@dataclass(frozen=True)
class Grant:
    """What a block's own wording says of the licence granted: the versions it names, and
    whether it grants later versions too."""

    versions: frozenset[str]
    later: bool


def stated_versions(text: str) -> frozenset[str]:
    """Licence versions a text names ("either version 3 of the License" -> "3.0")."""
    return frozenset(v if "." in v else f"{v}.0" for v in _STATED_VERSION.findall(text))


def licence_family(spdx_id: str) -> tuple[str, str | None]:
    """An id without its version and grant, and the version: ("GPL", "2.0") for
    ``GPL-2.0-or-later``."""
    found = _ID_VERSION.search(spdx_id)
    return _ID_VERSION.sub("", _GRANT.sub("", spdx_id), count=1), found.group(1) if found else None


def settle_grant(ranked: list[int], ref: LicenceReference, grant: Grant) -> list[int]:
    """The version and grant the text states beat what the shingles suggest.

    A candidate of the winner's family whose version the text names beats a winner whose
    version it does not name: GPL notices differ mostly in that number, and real ones mix
    the wordings of two versions. A GNU notice then grants that version only, or "any
    later version" when its wording says so (the licence text itself says neither: its
    appendix is a sample notice).
    """
    family, version = licence_family(ref.texts[ranked[0]].spdx_id)
    # Only where ids carry a grant (the GNU licences): elsewhere "version 2" in a text is
    # the licence's own title ("PSF LICENSE VERSION 2" in Python-2.0.1), not a choice.
    if grant.versions and version not in grant.versions and _GRANT.search(ref.texts[ranked[0]].spdx_id):
        for n in range(1, len(ranked)):
            other_family, other_version = licence_family(ref.texts[ranked[n]].spdx_id)
            if other_family == family and other_version in grant.versions:
                ranked = [ranked[n], *ranked[:n], *ranked[n + 1 :]]
                break
    winner = ref.texts[ranked[0]]
    if winner.part != "notice" or not _GRANT.search(winner.spdx_id) or winner.spdx_id.endswith("+"):
        return ranked
    family, version = licence_family(winner.spdx_id)
    wanted = ref.by_id(f"{family}-{version}-{'or-later' if grant.later else 'only'}", "notice")
    if wanted is None or wanted == ranked[0]:
        return ranked
    return [wanted, *(t for t in ranked if t != wanted)]


def rank_candidates(c: Candidates, params: LicenceMatchParams,
                    common: np.ndarray | None = None) -> tuple[list[int], int]:
    """Plausible licences, best first, told apart by what differs between them.

    Plausible: scoring at least ``params.plausible`` of the best (a licence that
    explains the block but of which little is present is not). Among those, the one
    explaining clearly more of the text wins (it has present parts the others lack:
    BSD-3's third clause); when they explain the same shingles up to
    ``params.evidence_margin``, a common licence beats a rare variant (``common``:
    per text, True for :data:`COMMON_LICENCES`), then the one with the fewest absent
    parts wins (BSD-3's clause is absent from a BSD-2 text; BSD-2 lacks nothing).
    Returns the plausible candidates in that order and how many of them are tied
    (those come first; :func:`settle_by_distinction` then looks at what differs).
    """
    best = float(c.score.max()) if c.score.size else 0.0
    if best <= 0:
        return [], 0
    plausible = np.nonzero(c.score >= params.plausible * best)[0]
    explained = c.explained[plausible]
    margin = max(params.evidence_margin, params.evidence_share * explained.max())
    tied = explained >= explained.max() - margin
    rare = ~common[plausible] if common is not None else np.zeros(plausible.shape[0], dtype=bool)
    # Required text absent beyond the noise of real copies rules a licence out before its
    # base rate counts: a BSD-1 text is not BSD-2 missing its second clause.
    missing = c.absent[plausible] > params.evidence_margin
    order = np.lexsort((-explained, -c.coverage[plausible], c.absent[plausible], rare, missing, ~tied))
    return [int(t) for t in plausible[order]], int(tied.sum())


def _holds(ref: LicenceReference, index: ShingleIndex, hash_idx: np.ndarray, text: int, k: int,
           required: bool = False) -> np.ndarray:
    """For each entry of ``hash_idx``, whether licence ``text`` has that shingle (as
    required text, when ``required``)."""
    return np.isin(index.hashes[hash_idx], ref.text_shingles(text, k, required))


def _describe(ref: LicenceReference, index: ShingleIndex, located: np.ndarray, run: np.ndarray, winner: int,
              runner_up: int | None, start: int, end: int, covered: int, k: int) -> LicenceMatch:
    hashes = np.unique(located[run])
    in_w = _holds(ref, index, hashes, winner, k, required=True)
    size_w = int(index.text_sizes[winner])
    present_w = int(in_w.sum())
    distinction = None
    if runner_up is not None:
        # Evidence is what one requires and the other cannot hold at all.
        in_r = _holds(ref, index, hashes, runner_up, k, required=True)
        held_w, held_r = _holds(ref, index, hashes, winner, k), _holds(ref, index, hashes, runner_up, k)
        distinction = Distinction(
            runner_up=runner_up,
            only_winner_present=int((in_w & ~held_r).sum()),
            only_runner_up_present=int((in_r & ~held_w).sum()),
            runner_up_coverage=float(in_r.sum()) / max(int(index.text_sizes[runner_up]), 1),
        )
    return LicenceMatch(
        text=winner, word_start=start, word_end=end, matched_words=covered, matched_shingles=int(run.shape[0]),
        coverage=present_w / max(size_w, 1),
        resemblance=present_w / max(size_w + hashes.shape[0] - present_w, 1),
        distinction=distinction,
    )
