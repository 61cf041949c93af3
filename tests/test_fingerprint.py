"""Fingerprints: shingles, winnowing and its guarantee, MinHash compatible with datasketch, LSH bands."""

from __future__ import annotations

import random

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH

from leakwatch.config import FingerprintParams
from leakwatch.fingerprint import (
    DocumentFingerprints,
    band_keys,
    block_minima,
    empty_signature,
    estimate_jaccard,
    fingerprint_tokens,
    fmix64,
    keyed_shingles,
    lsh_shape,
    passages_from_blocks,
    shingle_hashes,
    to_datasketch,
    winnow,
)
from leakwatch.keys import StoreKey
from leakwatch.text import tokenize
from tests.conftest import make_text, make_vocabulary

PARAMS = FingerprintParams()
MASK64 = (1 << 64) - 1


@pytest.fixture(scope="module")
def key() -> StoreKey:
    return StoreKey(b"\x42" * 32)


@pytest.fixture(scope="module")
def vocab() -> list[str]:
    return make_vocabulary(11, size=5000)


def fingerprints(text: str, key: StoreKey, params: FingerprintParams = PARAMS) -> DocumentFingerprints:
    return fingerprint_tokens(tokenize(text), params, key)


def datasketch_minhash(keyed: np.ndarray, params: FingerprintParams = PARAMS) -> MinHash:
    """What the module docstring promises: datasketch fed the low 32 bits through an identity hash."""
    m = MinHash(num_perm=params.num_perm, seed=params.seed, hashfunc=lambda x: int(x))
    low = (np.asarray(keyed, dtype=np.uint64) & np.uint64(0xFFFF_FFFF)).astype(np.uint32)
    m.update_batch(low.tolist())
    return m


def reference_shingles(ids: list[int], k: int) -> list[int]:
    """Python-int reference of the rolling k-gram hash (mod 2^64), finished with fmix64."""
    out = []
    for i in range(len(ids) - k + 1):
        h = 0
        for w in ids[i : i + k]:
            h = (h * 0x9E3779B97F4A7C15 + w) & MASK64
        out.append(h)
    return fmix64(np.asarray(out, dtype=np.uint64)).tolist() if out else []


def reference_winnow(values: list[int], window: int) -> list[int]:
    n = len(values)
    if n == 0:
        return []
    chosen = set()
    for first in range(max(1, n - window + 1)):
        win = values[first : first + window]
        low = min(win)
        chosen.add(first + max(i for i, v in enumerate(win) if v == low))
    return sorted(chosen)


def check_winnow(values: np.ndarray, window: int) -> None:
    picked = winnow(values, window)
    assert picked.dtype == np.int64
    n = values.shape[0]
    # Sorted, unique, in range.
    assert np.all(np.diff(picked) > 0)
    assert np.all((picked >= 0) & (picked < n))
    if n == 0:
        assert picked.size == 0
        return
    if n <= window:
        assert picked.size == 1
    # Every window of `window` consecutive hashes holds a picked position, and that is its minimum.
    chosen = set(picked.tolist())
    for first in range(max(1, n - window + 1)):
        inside = [p for p in range(first, min(n, first + window)) if p in chosen]
        assert inside
        assert min(values[p] for p in inside) == values[first : first + window].min()
    assert picked.tolist() == reference_winnow(values.tolist(), window)


# --- shingles ---------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "k"), [(0, 5), (1, 5), (4, 5), (5, 5), (6, 5), (50, 5), (10, 2), (16, 16)])
def test_shingle_hashes_length_and_values(n: int, k: int) -> None:
    rng = np.random.default_rng(n * 31 + k)
    ids = rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64)
    out = shingle_hashes(ids, k)
    assert out.dtype == np.uint64
    assert out.shape == (max(0, n - k + 1),)
    assert out.tolist() == reference_shingles(ids.tolist(), k)


def test_equal_kgrams_hash_equal_and_order_matters() -> None:
    ids = tokenize("a b c d e x a b c d e y e d c b a").ids
    h = shingle_hashes(ids, 5)
    assert h[0] == h[6]
    assert h[0] != h[12]  # same words, reversed
    assert len(set(h.tolist())) == len(h) - 1


def test_keyed_shingles_are_prf_of_shingles(key: StoreKey) -> None:
    tokens = tokenize(make_text(1, 60))
    keyed = keyed_shingles(tokens, PARAMS, key)
    plain = shingle_hashes(tokens.ids, PARAMS.shingle_size)
    assert np.array_equal(keyed, key.prf64(plain))
    assert not np.any(np.isin(keyed, plain))


# --- winnowing --------------------------------------------------------------------------


@pytest.mark.parametrize("window", [1, 2, 3, 5, 16])
@pytest.mark.parametrize("n", [0, 1, 2, 5, 15, 16, 17, 40, 200])
@pytest.mark.parametrize("spread", [3, 2**64 - 1])
def test_winnow_properties_random(window: int, n: int, spread: int) -> None:
    rng = np.random.default_rng(window * 1000 + n)
    for _ in range(5):
        values = rng.integers(0, spread, size=n, dtype=np.uint64, endpoint=True)
        check_winnow(values, window)


def test_winnow_property_hypothesis() -> None:
    hyp = pytest.importorskip("hypothesis")
    st = hyp.strategies

    @hyp.settings(max_examples=200, deadline=None, derandomize=True)
    @hyp.given(
        st.lists(st.one_of(st.integers(0, 4), st.integers(0, 2**64 - 1)), max_size=120),
        st.integers(1, 40),
    )
    def check(values: list[int], window: int) -> None:
        check_winnow(np.asarray(values, dtype=np.uint64), window)

    check()


def test_winnow_ties_pick_rightmost_and_runs_give_one() -> None:
    assert winnow(np.array([5, 1, 1, 5], dtype=np.uint64), 4).tolist() == [2]
    assert winnow(np.full(100, 7, dtype=np.uint64), 16).tolist() == list(range(15, 100))
    assert winnow(np.array([3, 9, 9, 9, 9, 9], dtype=np.uint64), 2).tolist() == [0, 2, 3, 4, 5]


def random_words(rng: random.Random, vocab: list[str], n: int) -> list[str]:
    return [rng.choice(vocab) for _ in range(n)]


def winnowed_set(fp: DocumentFingerprints) -> set[int]:
    return set(fp.keyed[fp.winnowed].tolist())


def test_guaranteed_run_is_always_found(key: StoreKey, vocab: list[str]) -> None:
    run = PARAMS.guaranteed_run
    assert run == 20
    rng = random.Random(2024)
    for _ in range(150):
        source = random_words(rng, vocab, rng.randint(60, 250))
        at = rng.randint(0, len(source) - run)
        copied = source[at : at + run]
        deliverable = random_words(rng, vocab, rng.randint(0, 120)) + copied + random_words(
            rng, vocab, rng.randint(0, 120))
        src = fingerprints(" ".join(source), key)
        dlv = fingerprints(", ".join(w.upper() for w in deliverable), key)
        assert winnowed_set(src) & winnowed_set(dlv)


def test_runs_shorter_than_a_shingle_never_match(key: StoreKey, vocab: list[str]) -> None:
    short = PARAMS.shingle_size - 1
    rng = random.Random(99)
    for _ in range(60):
        source = random_words(rng, vocab, 150)
        at = rng.randint(0, len(source) - short)
        deliverable = random_words(rng, vocab, 60) + source[at : at + short] + random_words(rng, vocab, 60)
        src = fingerprints(" ".join(source), key)
        dlv = fingerprints(" ".join(deliverable), key)
        assert not set(src.keyed.tolist()) & set(dlv.keyed.tolist())


def test_guarantee_depends_on_the_key(key: StoreKey, vocab: list[str]) -> None:
    rng = random.Random(5)
    text = " ".join(random_words(rng, vocab, 100))
    a = fingerprints(text, key)
    b = fingerprints(text, StoreKey(b"\x43" * 32))
    assert not set(a.keyed.tolist()) & set(b.keyed.tolist())


# --- MinHash ----------------------------------------------------------------------------


@pytest.mark.parametrize("n_words", [5, 30, 123, 300, 2000])
def test_signatures_match_datasketch(key: StoreKey, n_words: int) -> None:
    fp = fingerprints(make_text(n_words, n_words), key)
    assert fp.signature.dtype == np.uint32
    assert fp.signature.shape == (PARAMS.num_perm,)
    ds = datasketch_minhash(fp.keyed)
    assert ds.scheme == "affine32"
    assert np.array_equal(fp.signature, ds.hashvalues)
    assert len(fp.passages) >= 1
    for start, end, sig in zip(fp.passages.shingle_starts, fp.passages.shingle_ends, fp.passages.signatures,
                               strict=True):
        assert np.array_equal(sig, datasketch_minhash(fp.keyed[start:end]).hashvalues)


def test_block_minima_across_chunks_matches_datasketch(key: StoreKey) -> None:
    # stride 10 over ~1,000 shingles: more blocks than one computation chunk (64).
    params = FingerprintParams(passage_stride=10)
    keyed = keyed_shingles(tokenize(make_text(3, 1003)), params, key)
    blocks = block_minima(keyed, 10, params)
    assert blocks.shape == (-(-keyed.shape[0] // 10), params.num_perm)
    for b in (0, 1, 63, 64, 65, blocks.shape[0] - 1):
        want = datasketch_minhash(keyed[b * 10 : (b + 1) * 10], params).hashvalues
        assert np.array_equal(blocks[b], want)


def test_other_num_perm_and_seed_match_datasketch(key: StoreKey) -> None:
    params = FingerprintParams(num_perm=64, seed=7)
    fp = fingerprints(make_text(8, 200), key, params)
    assert np.array_equal(fp.signature, datasketch_minhash(fp.keyed, params).hashvalues)
    assert not np.array_equal(fp.signature, fingerprints(make_text(8, 200), key).signature[:64])


def test_short_text_has_empty_signature(key: StoreKey) -> None:
    fp = fingerprints("only four words here", key)
    assert fp.n_words == 4
    assert fp.keyed.size == 0
    assert fp.winnowed.size == 0
    assert len(fp.passages) == 0
    assert np.array_equal(fp.signature, empty_signature(PARAMS))
    assert np.array_equal(fp.signature, MinHash(num_perm=128, seed=1).hashvalues)


def test_to_datasketch_works_with_minhash_lsh(key: StoreKey) -> None:
    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    docs = {f"doc{i}": fingerprints(make_text(100 + i, 400), key) for i in range(5)}
    for name, fp in docs.items():
        m = to_datasketch(fp.signature, PARAMS)
        assert isinstance(m, MinHash)
        assert np.array_equal(m.hashvalues, fp.signature)
        lsh.insert(name, m)
    for name, fp in docs.items():
        assert lsh.query(to_datasketch(fp.signature, PARAMS)) == [name]
        # A MinHash built by datasketch itself from the same shingles finds the same document.
        assert lsh.query(datasketch_minhash(fp.keyed)) == [name]
    # A mostly copied document is found; passages can be inserted too.
    base = make_text(100, 400)
    near = fingerprints(base + " " + make_text(999, 40), key)
    assert "doc0" in lsh.query(to_datasketch(near.signature, PARAMS))
    lsh.insert("doc0-p0", to_datasketch(docs["doc0"].passages.signatures[0], PARAMS))
    assert "doc0-p0" in lsh.query(to_datasketch(docs["doc0"].passages.signatures[0], PARAMS))


# --- passages ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_shingles", [0, 1, 39, 40, 41, 80, 81, 199, 200, 296, 1000])
def test_passages_cover_all_shingles_with_overlapping_windows(n_shingles: int) -> None:
    stride = 40
    rng = np.random.default_rng(n_shingles)
    keyed = rng.integers(0, 2**64 - 1, size=n_shingles, dtype=np.uint64)
    blocks = block_minima(keyed, stride, PARAMS)
    p = passages_from_blocks(blocks, n_shingles, stride)
    n_blocks = blocks.shape[0]
    assert n_blocks == -(-n_shingles // stride)
    if n_shingles == 0:
        assert len(p) == 0
        assert p.signatures.shape == (0, PARAMS.num_perm)
        return
    assert len(p) == max(1, n_blocks - 1)
    starts, ends = p.shingle_starts.tolist(), p.shingle_ends.tolist()
    assert starts[0] == 0
    assert ends[-1] == n_shingles
    covered = np.zeros(n_shingles, dtype=bool)
    for s, e in zip(starts, ends, strict=True):
        covered[s:e] = True
        assert e - s <= 2 * stride
    assert covered.all()
    for i in range(len(p) - 1):
        assert starts[i + 1] - starts[i] == stride
        assert ends[i] - starts[i] == 2 * stride  # all but the last are full windows
        assert ends[i] - starts[i + 1] == stride  # consecutive windows overlap by one stride
    for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
        want = block_minima(keyed[s:e], e - s, PARAMS)[0]
        assert np.array_equal(p.signatures[i], want)


def test_passages_from_blocks_signatures_are_pairwise_minima() -> None:
    blocks = np.array([[5, 1], [2, 9], [7, 3]], dtype=np.uint32)
    p = passages_from_blocks(blocks, 100, 40)
    assert p.shingle_starts.tolist() == [0, 40]
    assert p.shingle_ends.tolist() == [80, 100]
    assert p.signatures.tolist() == [[2, 1], [2, 3]]
    one = passages_from_blocks(blocks[:1], 12, 40)
    assert (one.shingle_starts.tolist(), one.shingle_ends.tolist()) == ([0], [12])
    assert one.signatures.tolist() == [[5, 1]]


def test_fingerprint_passage_windows_follow_the_params(key: StoreKey) -> None:
    fp = fingerprints(make_text(4, 500), key)
    n = fp.keyed.shape[0]
    assert n == fp.n_words - PARAMS.shingle_size + 1
    assert fp.passages.shingle_starts.tolist() == list(range(0, n - PARAMS.passage_stride, PARAMS.passage_stride))
    assert np.array_equal(fp.signature, fp.passages.signatures.min(axis=0))


# --- LSH bands --------------------------------------------------------------------------


def test_lsh_shape_matches_datasketch() -> None:
    bands, rows = lsh_shape(PARAMS)
    lsh = MinHashLSH(threshold=PARAMS.lsh_threshold, num_perm=PARAMS.num_perm)
    assert (bands, rows) == (lsh.b, lsh.r)
    assert bands * rows <= PARAMS.num_perm


def test_band_keys_identical_signatures() -> None:
    bands, rows = lsh_shape(PARAMS)
    rng = np.random.default_rng(1)
    sigs = rng.integers(0, 2**32, size=(3, PARAMS.num_perm), dtype=np.uint32)
    sigs[2] = sigs[0]
    keys = band_keys(sigs, bands, rows)
    assert keys.dtype == np.int64
    assert keys.shape == (3, bands)
    assert np.array_equal(keys[0], keys[2])
    assert not np.any(keys[0] == keys[1])
    assert np.array_equal(band_keys(sigs[:1], bands, rows), keys[:1])  # independent of other rows


@pytest.mark.parametrize("slot", [0, 1, 4, 5, 63, 119, 124])
def test_one_changed_slot_changes_exactly_its_band(slot: int) -> None:
    bands, rows = lsh_shape(PARAMS)
    rng = np.random.default_rng(slot)
    sig = rng.integers(0, 2**32, size=(1, PARAMS.num_perm), dtype=np.uint32)
    changed = sig.copy()
    changed[0, slot] ^= np.uint32(1)
    a, b = band_keys(sig, bands, rows)[0], band_keys(changed, bands, rows)[0]
    differs = np.nonzero(a != b)[0].tolist()
    assert differs == [slot // rows]


@pytest.mark.parametrize("slot", [125, 127])
def test_slots_outside_the_bands_do_not_matter(slot: int) -> None:
    bands, rows = lsh_shape(PARAMS)
    assert slot >= bands * rows
    sig = np.arange(PARAMS.num_perm, dtype=np.uint32)[None, :]
    changed = sig.copy()
    changed[0, slot] += 1
    assert np.array_equal(band_keys(sig, bands, rows), band_keys(changed, bands, rows))


def test_band_keys_empty() -> None:
    keys = band_keys(np.zeros((0, 128), dtype=np.uint32), 25, 5)
    assert keys.shape == (0, 25)
    assert keys.dtype == np.int64


# --- resemblance ------------------------------------------------------------------------


def test_estimate_jaccard(key: StoreKey) -> None:
    a = fingerprints(make_text(21, 600), key)
    b = fingerprints(make_text(22, 600), key)
    assert estimate_jaccard(a.signature, a.signature) == 1.0
    assert estimate_jaccard(a.signature, b.signature) < 0.2
    assert estimate_jaccard(a.signature, b.signature) == pytest.approx(
        datasketch_minhash(a.keyed).jaccard(datasketch_minhash(b.keyed)))


def test_estimate_jaccard_tracks_true_resemblance(key: StoreKey, vocab: list[str]) -> None:
    rng = random.Random(8)
    shared = random_words(rng, vocab, 600)
    a = fingerprints(" ".join(shared + random_words(rng, vocab, 600)), key)
    b = fingerprints(" ".join(shared + random_words(rng, vocab, 600)), key)
    sa, sb = set(a.keyed.tolist()), set(b.keyed.tolist())
    true = len(sa & sb) / len(sa | sb)
    assert 0.25 < true < 0.4
    assert estimate_jaccard(a.signature, b.signature) == pytest.approx(true, abs=0.15)


@pytest.mark.parametrize("threshold", [0.1, 0.3, 0.5, 0.7, 0.9])
def test_lsh_shape_is_the_one_datasketch_picks(threshold: float) -> None:
    from datasketch.lsh import _optimal_param

    from leakwatch.fingerprint import optimal_lsh_shape

    assert optimal_lsh_shape(threshold, 128) == _optimal_param(threshold, 128, 0.5, 0.5)


def test_permutations_are_datasketchs() -> None:
    from datasketch import MinHash

    from leakwatch.fingerprint import permutations

    a, b = MinHash(num_perm=96, seed=11).permutations
    pa, pb = permutations(96, 11)
    assert np.array_equal(a, pa) and np.array_equal(b, pb)


def test_bag_query_windows_include_the_stored_passages_and_the_shifted_ones(key: StoreKey) -> None:
    from leakwatch.fingerprint import bag_query_signatures, bag_signatures

    params = FingerprintParams()
    tokens = tokenize(make_text(41, 500))
    stored = bag_signatures(tokens, 12, params, key)
    query, starts, length = bag_query_signatures(tokens, params, key)
    assert starts.tolist() == list(range(0, 440, 20)) and length == 80
    # 80-word windows every 20 words: 22 of them over 500 words. The even ones are the
    # stored passages (the stored tail passage, words 440-499, lies inside the last window).
    assert query.shape[0] == 22
    assert np.array_equal(query[0::2], stored[:11])
    # An odd window is the bag of the words half a stride on (positions 20..99).
    shifted = bag_signatures(tokenize(" ".join(make_text(41, 500).split()[20:100])), 1, params, key)
    assert np.array_equal(query[1], shifted[0])


def test_bag_query_of_a_short_text_is_one_window(key: StoreKey) -> None:
    from leakwatch.fingerprint import bag_query_signatures, bag_signatures

    params = FingerprintParams()
    tokens = tokenize(make_text(42, 30))
    query, starts, _ = bag_query_signatures(tokens, params, key)
    assert np.array_equal(query, bag_signatures(tokens, 1, params, key)) and starts.tolist() == [0]
    assert bag_query_signatures(tokenize(""), params, key)[0].shape == (0, params.num_perm)
