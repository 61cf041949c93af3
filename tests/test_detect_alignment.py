"""Alignment: seeds from equal hashes, chains along diagonals, covered words, extension, overlap."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from leakwatch.detect.alignment import (
    MAX_REPEATS,
    Alignment,
    Seeds,
    SortedQuery,
    chain_seeds,
    covered_words,
    drop_overlapping,
    extend_exact,
    filled_words,
    match_positions,
)

K = 5


def seeds(d: list[int], s: list[int]) -> Seeds:
    d_arr = np.asarray(d, dtype=np.int64)
    s_arr = np.asarray(s, dtype=np.int64)
    return Seeds(d_arr, s_arr, s_arr * 6, s_arr * 6 + 29)


def brute_pairs(query: np.ndarray, target: np.ndarray) -> list[tuple[int, int]]:
    qc, tc = Counter(query.tolist()), Counter(target.tolist())
    return sorted(
        (i, j)
        for i, q in enumerate(query.tolist())
        for j, t in enumerate(target.tolist())
        if q == t and qc[q] <= MAX_REPEATS and tc[t] <= MAX_REPEATS
    )


def alignment(d0: int, d1: int, matched: int | None = None) -> Alignment:
    return Alignment(d0, d1, d0 + 100, d1 + 100, 0, 10, matched if matched is not None else d1 - d0, 1)


# --- match_positions --------------------------------------------------------------------


@pytest.mark.parametrize("trial", range(40))
def test_match_positions_equals_brute_force(trial: int) -> None:
    rng = np.random.default_rng(trial)
    n_q, n_t = int(rng.integers(0, 60)), int(rng.integers(0, 60))
    spread = int(rng.choice([3, 10, 40, 1000]))
    query = rng.integers(0, spread, size=n_q).astype(np.uint64)
    target = rng.integers(0, spread, size=n_t).astype(np.uint64)
    i, j = match_positions(query, target)
    assert i.dtype == np.int64
    assert j.dtype == np.int64
    pairs = list(zip(i.tolist(), j.tolist(), strict=True))
    assert pairs == brute_pairs(query, target)  # also checks the (i, then j) order
    assert np.all(query[i] == target[j])
    # a deliverable sorted once for many sources gives the same pairs
    si, sj = match_positions(SortedQuery.of(query), target)
    assert np.array_equal(si, i) and np.array_equal(sj, j)


@pytest.mark.parametrize("side", ["query", "target"])
def test_match_positions_skips_values_repeated_too_often(side: str) -> None:
    frequent, rare = 7, 9
    many = [frequent] * (MAX_REPEATS + 1) + [rare]
    few = [frequent, rare, 11]
    query, target = (many, few) if side == "query" else (few, many)
    i, j = match_positions(np.asarray(query, dtype=np.uint64), np.asarray(target, dtype=np.uint64))
    assert (i.tolist(), j.tolist()) == ([query.index(rare)], [target.index(rare)])


def test_match_positions_keeps_values_repeated_up_to_the_limit() -> None:
    query = np.asarray([4] * MAX_REPEATS, dtype=np.uint64)
    target = np.asarray([4] * MAX_REPEATS + [5], dtype=np.uint64)
    i, j = match_positions(query, target)
    assert len(i) == len(j) == MAX_REPEATS * MAX_REPEATS
    assert set(j.tolist()) == set(range(MAX_REPEATS))


@pytest.mark.parametrize(("nq", "nt"), [(0, 5), (5, 0), (0, 0)])
def test_match_positions_empty(nq: int, nt: int) -> None:
    i, j = match_positions(np.arange(nq, dtype=np.uint64), np.arange(nt, dtype=np.uint64))
    assert i.size == j.size == 0


def test_match_positions_with_high_bit_values() -> None:
    big = np.array([2**64 - 1, 2**63, 1], dtype=np.uint64)
    i, j = match_positions(big, big[::-1].copy())
    assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 2), (1, 1), (2, 0)]


# --- chain_seeds ------------------------------------------------------------------------


def chain_sets(chains: list[np.ndarray], sd: Seeds) -> list[set[tuple[int, int]]]:
    return [{(int(sd.d_pos[x]), int(sd.s_pos[x])) for x in c} for c in chains]


def test_two_far_apart_diagonals_are_two_chains() -> None:
    first = [(d, d + 100) for d in range(0, 20, 3)]
    second = [(d, d - 195) for d in range(200, 220, 3)]
    pairs = first + second
    order = np.random.default_rng(0).permutation(len(pairs))
    sd = seeds([pairs[x][0] for x in order], [pairs[x][1] for x in order])
    chains = chain_seeds(sd, max_gap=30, shingle_size=K)
    assert chain_sets(chains, sd) == [set(first), set(second)]
    for c in chains:  # in deliverable order
        assert np.all(np.diff(sd.d_pos[c]) >= 0)


def test_one_diagonal_with_a_small_gap_is_one_chain() -> None:
    d = [0, 1, 2, 3, 4, 20, 21, 22]  # gap of 16 < max_gap
    sd = seeds(d, [x + 50 for x in d])
    chains = chain_seeds(sd, max_gap=30, shingle_size=K)
    assert len(chains) == 1
    assert sorted(chains[0].tolist()) == list(range(len(d)))


def test_gap_larger_than_max_gap_splits() -> None:
    d = [0, 1, 2, 40, 41]
    sd = seeds(d, [x + 50 for x in d])
    assert len(chain_seeds(sd, max_gap=30, shingle_size=K)) == 2


def test_source_jump_backwards_starts_a_new_chain() -> None:
    # Same deliverable region, but the source goes back 20 shingles: another copy, not a continuation.
    sd = seeds([0, 1, 2, 3, 4, 5], [100, 101, 102, 80, 81, 82])
    chains = chain_seeds(sd, max_gap=30, shingle_size=K)
    assert chain_sets(chains, sd) == [{(0, 100), (1, 101), (2, 102)}, {(3, 80), (4, 81), (5, 82)}]


def test_seed_joins_the_chain_with_least_drift() -> None:
    # Two copies of one source passage; each later seed continues its own diagonal.
    sd = seeds([0, 10, 12, 22], [50, 20, 52, 22])
    chains = chain_seeds(sd, max_gap=30, shingle_size=K)
    assert chain_sets(chains, sd) == [{(0, 50), (12, 52)}, {(10, 20), (22, 22)}]


def test_chain_seeds_empty() -> None:
    assert chain_seeds(seeds([], []), max_gap=30, shingle_size=K) == []


# --- covered / filled words -------------------------------------------------------------


@pytest.mark.parametrize("trial", range(20))
def test_covered_words_is_the_union_length(trial: int) -> None:
    rng = np.random.default_rng(100 + trial)
    starts = rng.integers(0, 80, size=int(rng.integers(0, 15)))
    length = int(rng.integers(1, 8))
    union = {w for s in starts.tolist() for w in range(s, s + length)}
    assert covered_words(starts, length) == len(union)


def test_covered_words_examples() -> None:
    assert covered_words(np.array([], dtype=np.int64), 5) == 0
    assert covered_words(np.array([0]), 5) == 5
    assert covered_words(np.array([0, 1]), 5) == 6
    assert covered_words(np.array([10, 0, 0]), 5) == 10


def test_filled_words_fills_same_diagonal_gaps() -> None:
    # Seeds 0 and 10 on one diagonal: words 0..14 all counted (5 + 5 covered, 5 filled).
    assert filled_words(np.array([10, 0]), np.array([110, 100]), K, max_fill=30) == 15
    assert covered_words(np.array([0, 10]), K) == 10


def test_filled_words_does_not_fill_across_diagonals() -> None:
    assert filled_words(np.array([0, 10]), np.array([100, 120]), K, max_fill=30) == 10
    assert filled_words(np.array([0, 10]), np.array([100, 105]), K, max_fill=30) == 10


def test_filled_words_respects_max_fill() -> None:
    assert filled_words(np.array([0, 40]), np.array([0, 40]), K, max_fill=30) == 10
    assert filled_words(np.array([0, 30]), np.array([0, 30]), K, max_fill=30) == 35


def test_filled_words_adjacent_and_mixed() -> None:
    # Overlapping seeds (gap <= K) are counted once; a same-diagonal gap and an off-diagonal one.
    d = np.array([0, 2, 12, 40])
    s = np.array([0, 2, 12, 90])
    assert filled_words(d, s, K, max_fill=30) == covered_words(d, K) + (10 - K)
    assert filled_words(np.array([7]), np.array([3]), K, max_fill=30) == K
    assert filled_words(np.array([], dtype=np.int64), np.array([], dtype=np.int64), K, max_fill=30) == 0


# --- extend_exact -----------------------------------------------------------------------


def test_extend_exact_grows_both_ways() -> None:
    d = np.array([9, 1, 2, 3, 4, 5, 6, 8])
    s = np.array([7, 7, 1, 2, 3, 4, 5, 6, 7])
    # Match d[2:5] == s[3:6]; equal words extend it to d[1:7] == s[2:8].
    assert extend_exact(d, s, 2, 5, 3, 6) == (1, 7, 2, 8)


def test_extend_exact_stops_at_ends() -> None:
    w = np.array([1, 2, 3, 4])
    assert extend_exact(w, w.copy(), 1, 2, 1, 2) == (0, 4, 0, 4)
    assert extend_exact(w, np.array([0, 2, 3, 9]), 1, 3, 1, 3) == (1, 3, 1, 3)
    assert extend_exact(w, np.array([2, 3]), 1, 3, 0, 2) == (1, 3, 0, 2)


# --- drop_overlapping -------------------------------------------------------------------


def test_drop_overlapping_keeps_the_larger() -> None:
    big = alignment(0, 100)
    small = alignment(60, 120)  # 40 of its 60 words overlap
    assert drop_overlapping([small, big]) == [big]
    assert drop_overlapping([big, small]) == [big]


def test_drop_overlapping_keeps_slightly_overlapping_and_disjoint() -> None:
    a = alignment(0, 100)
    b = alignment(90, 150)  # 10 of 60 words overlap
    c = alignment(300, 330)
    assert drop_overlapping([c, b, a]) == [a, b, c]  # sorted by deliverable position


def test_drop_overlapping_uses_matched_words_to_rank() -> None:
    long_sparse = alignment(0, 80, matched=30)  # 50 of its 80 words overlap
    short_dense = alignment(10, 60, matched=50)
    assert drop_overlapping([long_sparse, short_dense]) == [short_dense]


def test_drop_overlapping_empty() -> None:
    assert drop_overlapping([]) == []


# --- merging the two stages ------------------------------------------------------------


def _al(d0: int, d1: int, s0: int, s1: int, matched: int, method: str = "exact",
        probability: float | None = None) -> Alignment:
    return Alignment(d0, d1, s0, s1, s0 * 6, s1 * 6, matched, 3, method, 0.5, probability)


def test_merge_overlapping_unions_passages_found_by_both_stages() -> None:
    from leakwatch.detect.alignment import merge_overlapping

    exact = _al(100, 140, 500, 540, 40)
    para = _al(90, 170, 490, 575, 55, "paraphrase", 0.95)
    apart = _al(400, 450, 900, 950, 30, "paraphrase", 0.9)
    merged = merge_overlapping([para, exact, apart])
    assert len(merged) == 2
    first = merged[0]
    assert (first.d_word_start, first.d_word_end, first.s_word_start, first.s_word_end) == (90, 170, 490, 575)
    assert first.method == "exact+paraphrase" and first.probability == 0.95
    assert merged[1] == apart


def test_overlap_in_the_deliverable_only_is_not_merged() -> None:
    from leakwatch.detect.alignment import merge_overlapping

    a = _al(100, 140, 500, 540, 40)
    b = _al(120, 160, 2000, 2040, 40)  # same deliverable words, another place in the source
    assert len(merge_overlapping([a, b])) == 2


def test_dense_verbatim_alignment_explains_a_fragment_but_sparse_islands_do_not() -> None:
    from leakwatch.detect.confidential import explained_by

    fragment = _al(100, 200, 500, 600, 80, "paraphrase", 0.9)
    verbatim = _al(100, 190, 500, 590, 90)  # every word matched
    islands = _al(100, 190, 500, 590, 30)  # a few exact runs in an edited passage
    assert explained_by(fragment, [verbatim])
    assert not explained_by(fragment, [islands])


def test_most_probable_of_overlapping_candidates_wins() -> None:
    from leakwatch.detect.alignment import by_probability

    low = _al(0, 100, 0, 100, 90, "paraphrase", 0.80)
    high = _al(50, 120, 40, 400, 60, "paraphrase", 0.95)
    other = _al(200, 260, 700, 760, 50, "paraphrase", 0.85)
    assert drop_overlapping([low, high, other], max_overlap=0.0, rank=by_probability) == [high, other]


def test_adjacent_fragments_condensing_most_of_a_source_become_one_summary() -> None:
    from leakwatch.detect.alignment import summary_of_source

    # Three sentences in a row in the deliverable, each drawn from a different third
    # of a 600-word source: a summary of the whole document.
    parts = [_al(100, 120, 10, 60, 12, "paraphrase", 0.8), _al(122, 140, 250, 300, 10, "paraphrase", 0.7),
             _al(143, 160, 520, 590, 11, "exact")]
    [summary] = summary_of_source(parts, 600, (0, 3600))
    assert (summary.d_word_start, summary.d_word_end) == (100, 160)
    assert (summary.s_word_start, summary.s_word_end, summary.s_char_start, summary.s_char_end) == (0, 600, 0, 3600)
    assert summary.method == "summary" and summary.matched_words == 33 and summary.probability == 0.8


def test_fragments_that_do_not_condense_most_of_the_source_stay_apart() -> None:
    from leakwatch.detect.alignment import summary_of_source

    far_apart = [_al(100, 120, 10, 60, 12, "paraphrase"), _al(200, 220, 500, 590, 11, "paraphrase")]
    assert summary_of_source(far_apart, 600, (0, 3600)) == far_apart  # not adjacent in the deliverable
    same_order = [_al(100, 160, 100, 170, 40, "paraphrase"), _al(165, 220, 175, 240, 40, "paraphrase")]
    assert summary_of_source(same_order, 600, (0, 3600)) == same_order  # a reworded copy, not condensed
    small_part = [_al(100, 120, 10, 60, 12, "paraphrase"), _al(122, 140, 100, 200, 10, "paraphrase")]
    assert summary_of_source(small_part, 2000, (0, 12000)) == small_part  # under half of the source
    out_of_order = [_al(100, 120, 400, 420, 20), _al(121, 140, 10, 29, 19)]
    assert summary_of_source(out_of_order, 600, (0, 3600)) == out_of_order  # exact excerpts keep their spans
    repeated = [_al(100, 140, 10, 50, 40), _al(120, 140, 400, 420, 20)]
    assert summary_of_source(repeated, 600, (0, 3600)) == repeated  # one passage, found twice in the source


def test_verbatim_excerpts_in_the_source_order_are_an_extractive_summary() -> None:
    from leakwatch.detect.alignment import summary_of_source

    # Sentences copied word for word from the start, middle and end of a 600-word source,
    # one after another in the deliverable: an extractive summary of the whole document.
    extract = [_al(100, 120, 10, 30, 20), _al(121, 140, 250, 269, 19), _al(141, 160, 500, 519, 19)]
    [summary] = summary_of_source(extract, 600, (0, 3600))
    assert summary.method == "summary" and (summary.d_word_start, summary.d_word_end) == (100, 160)
    assert (summary.s_word_start, summary.s_word_end) == (0, 600) and summary.matched_words == 58
    # One verbatim excerpt alone is a copy, however long the source.
    assert summary_of_source(extract[:1], 600, (0, 3600)) == extract[:1]


def test_fragments_in_the_source_order_read_as_a_summary_from_less_condensation() -> None:
    from leakwatch.detect.alignment import MIN_CONDENSATION, MIN_ORDERED_CONDENSATION, reads_as_summary

    assert MIN_ORDERED_CONDENSATION < MIN_CONDENSATION
    # 100 deliverable words drawn from 250 words of a 600-word source (2.5 times): a summary
    # when its two parts follow the source's order, two excerpts side by side when not.
    in_order = [_al(100, 150, 10, 60, 30, "paraphrase"), _al(152, 200, 210, 260, 30, "paraphrase")]
    swapped = [_al(100, 150, 210, 260, 30, "paraphrase"), _al(152, 200, 10, 60, 30, "paraphrase")]
    assert reads_as_summary(in_order, 600)
    assert not reads_as_summary(swapped, 600)
    # one fragment is no order at all: it needs the full condensation
    assert not reads_as_summary([_al(100, 200, 10, 260, 60, "paraphrase")], 600)
    assert reads_as_summary([_al(100, 200, 10, 310, 60, "paraphrase")], 600)


def test_summary_shape_needs_condensation_and_coverage() -> None:
    from leakwatch.detect.alignment import is_summary_shaped

    assert is_summary_shaped(_al(0, 100, 0, 400, 50, "paraphrase"), 600)
    assert is_summary_shaped(_al(0, 100, 0, 400, 50, "paraphrase"), 1500)  # a quarter of the source is enough
    assert not is_summary_shaped(_al(0, 100, 0, 250, 50, "paraphrase"), 300)  # under three times as long
    assert not is_summary_shaped(_al(0, 100, 0, 400, 50, "paraphrase"), 2000)  # under a quarter of the source


def test_reworded_pieces_count_only_inside_a_summary() -> None:
    from leakwatch.detect.alignment import outside, summary_of_source, without_pieces

    # Three short reworded pieces in a row, each from another third of a 600-word source:
    # together a summary; a lone piece elsewhere is dropped; a full fragment is kept.
    pieces = [_al(100, 112, 10, 40, 9, "paraphrase", 0.8), _al(114, 126, 250, 280, 10, "paraphrase", 0.7),
              _al(128, 140, 520, 560, 8, "paraphrase", 0.7)]
    lone = _al(300, 312, 100, 112, 9, "paraphrase", 0.9)
    full = _al(400, 440, 300, 340, 30, "paraphrase", 0.9)
    kept = without_pieces(summary_of_source([*pieces, lone, full], 600, (0, 3600)), min_words=20)
    assert [(a.method, a.d_word_start) for a in kept] == [("summary", 100), ("paraphrase", 400)]
    # A piece never takes the place of a full fragment it overlaps.
    assert outside([_al(395, 405, 0, 10, 9, "paraphrase"), lone], [full]) == [lone]
