"""The vectorized tokenizer and fingerprinting against the straightforward code they
replaced (kept here verbatim as references): word hashes, offsets, keyed shingles,
winnowed positions, MinHash block/passage/document/bag signatures and LSH band keys
must be bit-identical, or existing stores would stop matching.

Each comparison runs on both paths: the numpy code, and the compiled kernels of the
``fast`` extra (leakwatch._kernels, numba) when numba is installed."""

from __future__ import annotations

import importlib.util
import random
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leakwatch import _jit
from leakwatch import fingerprint as fp
from leakwatch import text as tx
from leakwatch.config import FingerprintParams
from leakwatch.keys import WORD_BAG_DOMAIN, StoreKey
from leakwatch.text import Tokens, stop_ids, tokenize, word_hash

KEY = StoreKey(bytes(range(32)))
HAVE_NUMBA = importlib.util.find_spec("numba") is not None
# The paths every comparison runs on: "never" is the numpy code, "always" the kernels.
PATHS = ("never", "always") if HAVE_NUMBA else ("never",)
needs_numba = pytest.mark.skipif(not HAVE_NUMBA, reason="numba (the fast extra) is not installed")


@contextmanager
def jit_mode(mode: str) -> Iterator[None]:
    previous = _jit.set_mode(mode)
    try:
        if mode == "always":
            assert _jit.kernels(0) is not None, "numba is installed but the kernels did not load"
        yield
    finally:
        _jit.set_mode(previous)


def on_each_path(fn):  # type: ignore[no-untyped-def]
    """``fn()`` on every path, asserting that all paths give the same result; returns it."""
    results = []
    for mode in PATHS:
        with jit_mode(mode):
            results.append(fn())
    for other in results[1:]:
        assert _same(results[0], other)
    return results[0]


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, Tokens):
        return isinstance(b, Tokens) and all(_same(getattr(a, f), getattr(b, f)) for f in ("ids", "starts", "ends"))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b

# --- references: the code before vectorization ------------------------------------------


def reference_tokenize(text: str) -> Tokens:
    spans: list[int] = []
    ids: list[int] = []
    for m in tx._WORD.finditer(text):
        spans.extend(m.span())
        ids.append(word_hash(m.group()))
    offsets = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    return Tokens(ids=np.asarray(ids, dtype=np.uint64), starts=offsets[:, 0].copy(), ends=offsets[:, 1].copy())


def reference_content_mask(ids: np.ndarray) -> np.ndarray:
    return ~np.isin(ids, stop_ids())


def reference_winnow(hashes: np.ndarray, window: int) -> np.ndarray:
    n = hashes.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n <= window:
        return np.array([n - 1 - int(np.argmin(hashes[::-1]))], dtype=np.int64)
    windows = np.lib.stride_tricks.sliding_window_view(hashes, window)
    rightmost_min = window - 1 - np.argmin(windows[:, ::-1], axis=1)
    return np.unique(np.arange(windows.shape[0], dtype=np.int64) + rightmost_min)


def reference_block_minima(keyed: np.ndarray, stride: int, params: FingerprintParams,
                           mask: np.ndarray | None = None) -> np.ndarray:
    n = keyed.shape[0]
    a, b = fp.permutations(params.num_perm, params.seed)
    out = np.full((-(-n // stride), params.num_perm), 0xFFFF_FFFF, dtype=np.uint32)
    positions = np.arange(n) if mask is None else np.flatnonzero(mask)
    h32 = (keyed[positions] & np.uint64(0xFFFF_FFFF)).astype(np.uint32)
    blocks = positions // stride
    chunk = 64 * stride
    for lo in range(0, positions.shape[0], chunk):
        hi = min(positions.shape[0], lo + chunk)
        ids, first = np.unique(blocks[lo:hi], return_index=True)
        mixed = fp.fmix32(h32[lo:hi])
        with np.errstate(over="ignore"):
            slots = mixed[:, None] * a[None, :] + b[None, :]
        reduced = np.minimum.reduceat(slots, first, axis=0)
        out[ids] = np.minimum(out[ids], reduced)
    return out


def reference_band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    if signatures.shape[0] == 0:
        return np.zeros((0, bands), dtype=np.int64)
    sig = signatures[:, : bands * rows].astype(np.uint64).reshape(-1, bands, rows)
    h = np.zeros(sig.shape[:2], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for r in range(rows):
            h = fp.fmix64(h * np.uint64(0xD6E8_FEB8_6659_FD93) + sig[:, :, r])
    return h.view(np.int64)


def assert_same_tokens(text: str) -> None:
    got, want = on_each_path(lambda: tokenize(text)), reference_tokenize(text)
    assert got.ids.dtype == np.uint64 and got.starts.dtype == got.ends.dtype == np.int64
    assert got.starts.tolist() == want.starts.tolist(), text
    assert got.ends.tolist() == want.ends.tolist(), text
    assert got.ids.tolist() == want.ids.tolist(), text


# --- tokenizer ----------------------------------------------------------------------------

# Characters that exercise every branch: ASCII word and non-word characters, accented
# letters (composed and decomposed), combining marks (Latin, Devanagari, variation
# selectors), CJK, fullwidth forms and ligatures (NFKC), case-folding specials, digits of
# other scripts, emoji and astral letters.
WEIRD = ("aZ09_ \t\n.,-'\"éÉ\u0301\u0308\u0903\u093f\u094d\ufe0f\U000e0100日本語テキ한"
         "ＡＢｃ１ﬁﬂßẞİıΣσς٣६\U0001d400😀\u00a0\u200b\u2019")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_tokenize_equals_reference_on_any_text(text: str) -> None:
    assert_same_tokens(text)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(WEIRD), max_size=80))
def test_tokenize_equals_reference_on_weird_text(text: str) -> None:
    assert_same_tokens(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("aB3_ -.\n"), max_size=200))
def test_tokenize_equals_reference_on_ascii(text: str) -> None:
    assert_same_tokens(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("abcXYZ_09é"), min_size=1, max_size=24), max_size=30))
def test_tokenize_equals_reference_around_the_packed_length(words: list[str]) -> None:
    # Words of 7, 8, 9, 15, 16, 17 ... characters sit at the edges of the two packed integers.
    assert_same_tokens(" ".join(words))
    assert_same_tokens(",".join(w.upper() for w in words))


@pytest.mark.parametrize("text", [
    "", " ", "a", "_", "0", "\u0301", "\u0301a", "a\u0301", " \u0301\u0301 x\u0301y ", "हिन्दी भाषा",
    "naïve résumé", "Ｃａｆé au lait", "日本語 テキスト", "emoji 😀 between",
    "x" * 16, "X" * 17, "y" * 8 + " " + "z" * 9,
    unicodedata.normalize("NFD", "le café est prêt"), "a\ud800b \udfff", "caf\u00e9 cafe\u0301 CAFÉ",
    "straße STRASSE", "ﬁnal final", "\x00a\x00b\x00", "\x7fword\x80x",
])
def test_tokenize_equals_reference_on_edge_cases(text: str) -> None:
    assert_same_tokens(text)


def test_tokenize_equals_reference_on_generated_prose() -> None:
    rng = random.Random(3)
    vocab = ["the", "of", "Quarterly", "revenue", "Confidential", "x", "internationalization",
             "über", "naïve", "rock'n'roll", "e-mail", "A_B_C", "2024", "3.14", "日本"]
    for _ in range(30):
        words = [rng.choice(vocab) for _ in range(rng.randint(0, 3000))]
        assert_same_tokens(" ".join(words))
        assert_same_tokens(" ".join(w for w in words if w.isascii()))


def test_no_ascii_character_is_a_combining_mark() -> None:
    # Why ASCII words are simply the maximal runs of ASCII word characters.
    assert not any(unicodedata.category(chr(cp)).startswith("M") for cp in range(128))
    assert tx._ASCII_IS_WORD[:128].tolist() == [tx._WORD.fullmatch(chr(cp)) is not None for cp in range(128)]
    assert not tx._ASCII_IS_WORD[128:].any()


@pytest.mark.parametrize(("bits", "max_bits"), [(1, 3), (2, 5), (4, 8), (16, 20)])
def test_packed_word_table_grows_and_clears_without_changing_hashes(bits: int, max_bits: int) -> None:
    rng = random.Random(bits)
    table = tx._PackedWordIds(bits, max_bits)
    for _ in range(200):
        words = ["".join(rng.choice("abcdefghij_0") for _ in range(rng.randint(1, 16)))
                 for _ in range(rng.randint(1, 40))]
        words += words[: len(words) // 2]
        lowered = " ".join(words).encode("ascii")
        starts = np.cumsum([0] + [len(w) + 1 for w in words[:-1]])
        lengths = np.array([len(w) for w in words])
        got = table.lookup(*tx._packed_words(lowered, starts, lengths))
        assert got.tolist() == [word_hash(w) for w in words]
        if HAVE_NUMBA:
            chars = np.frombuffer(lowered.upper(), dtype=np.uint8)
            ids, others = table.lookup_spans(_jit.load(), chars, starts, starts + lengths,
                                             np.ones(len(words), dtype=bool))
            assert ids.tolist() == got.tolist() and others.size == 0
        assert len(table.words) <= (1 << max_bits) // 4 + 80


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=300), st.integers(0, 2**64 - 1))
def test_content_mask_equals_reference(values: list[int], seed: int) -> None:
    stops = stop_ids()
    rng = np.random.default_rng(seed % 2**32)
    ids = np.array(values, dtype=np.uint64)
    ids = np.concatenate([ids, rng.choice(stops, 20), np.array([0, 1, 2**63, 2**64 - 1], dtype=np.uint64)])
    assert tx.content_mask(ids).tolist() == reference_content_mask(ids).tolist()


# --- fingerprints -------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 25), st.integers(0, 300), st.integers(1, 2**64 - 1), st.integers(0, 2**32 - 1))
def test_winnow_equals_reference(window: int, n: int, spread: int, seed: int) -> None:
    # Small spreads give many ties (rightmost wins, runs give one fingerprint).
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, min(spread, 2**63), n, dtype=np.uint64) * np.uint64(2 if spread > 2**63 else 1)
    assert on_each_path(lambda: fp.winnow(hashes, window)).tolist() == reference_winnow(hashes, window).tolist()


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 700), st.sampled_from([1, 3, 7, 40, 64]), st.sampled_from([(128, 1), (16, 7), (1, 42)]),
       st.floats(0.0, 1.0), st.integers(0, 2**32 - 1), st.booleans())
def test_block_minima_equals_reference(n: int, stride: int, perms: tuple[int, int], keep: float, seed: int,
                                       small_chunks: bool) -> None:
    rng = np.random.default_rng(seed)
    keyed = rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True)
    if rng.random() < 0.3:  # repeated values
        keyed = keyed % np.uint64(5)
    mask = rng.random(n) < keep
    params = FingerprintParams(num_perm=perms[0], seed=perms[1])
    cells = fp._GRID_CELLS
    try:
        if small_chunks:  # rows and columns of the working array taken a slice at a time
            fp._GRID_CELLS = 5
        for m in (None, mask):
            got = on_each_path(lambda m=m: fp.block_minima(keyed, stride, params, mask=m))
            want = reference_block_minima(keyed, stride, params, mask=m)
            assert got.dtype == np.uint32 and got.shape == want.shape
            assert np.array_equal(got, want)
    finally:
        fp._GRID_CELLS = cells


def test_one_block_of_a_whole_table_equals_reference() -> None:
    # leakwatch.records.tables: block_minima(elements, elements.size, params)[0]
    keyed = np.random.default_rng(1).integers(0, 2**63, 5000, dtype=np.uint64)
    params = FingerprintParams()
    got = on_each_path(lambda: fp.block_minima(keyed, 5000, params))
    assert np.array_equal(got, reference_block_minima(keyed, 5000, params))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 60), st.sampled_from([(25, 5), (37, 3), (1, 1), (4, 32)]), st.integers(0, 2**32 - 1))
def test_band_keys_equal_reference(n: int, shape: tuple[int, int], seed: int) -> None:
    sig = np.random.default_rng(seed).integers(0, 2**32, (n, 128), dtype=np.uint32)
    assert np.array_equal(on_each_path(lambda: fp.band_keys(sig, *shape)), reference_band_keys(sig, *shape))


def reference_fingerprint(text: str, params: FingerprintParams) -> dict[str, np.ndarray]:
    tokens = reference_tokenize(text)
    keyed = KEY.prf64(fp.shingle_hashes(tokens.ids, params.shingle_size))
    blocks = reference_block_minima(keyed, params.passage_stride, params)
    passages = fp.passages_from_blocks(blocks, keyed.shape[0], params.passage_stride)
    words = KEY.prf64(tokens.ids, WORD_BAG_DOMAIN)
    bag = np.zeros((0, params.num_perm), dtype=np.uint32)
    if len(passages):
        bag_blocks = reference_block_minima(words, params.passage_stride, params,
                                            mask=reference_content_mask(tokens.ids))
        bag = fp.passages_from_blocks(bag_blocks, words.shape[0], params.passage_stride).signatures[:len(passages)]
    bands, rows = fp.lsh_shape(params)
    bag_bands, bag_rows = fp.lsh_shape(params, bag=True)
    return {
        "ids": tokens.ids, "starts": tokens.starts, "ends": tokens.ends, "keyed": keyed,
        "winnowed": reference_winnow(keyed, params.winnow_window),
        "passage_starts": passages.shingle_starts, "passage_ends": passages.shingle_ends,
        "passages": passages.signatures,
        "signature": blocks.min(axis=0) if blocks.shape[0] else fp.empty_signature(params),
        "bags": bag, "bands": reference_band_keys(passages.signatures, bands, rows),
        "bag_bands": reference_band_keys(bag, bag_bands, bag_rows),
    }


def fast_fingerprint(text: str, params: FingerprintParams) -> dict[str, np.ndarray]:
    f = fp.fingerprint_tokens(tokenize(text), params, KEY)
    bands, rows = fp.lsh_shape(params)
    bag_bands, bag_rows = fp.lsh_shape(params, bag=True)
    return {
        "ids": f.tokens.ids, "starts": f.tokens.starts, "ends": f.tokens.ends, "keyed": f.keyed,
        "winnowed": f.winnowed, "passage_starts": f.passages.shingle_starts,
        "passage_ends": f.passages.shingle_ends, "passages": f.passages.signatures, "signature": f.signature,
        "bags": f.bag_signatures, "bands": fp.band_keys(f.passages.signatures, bands, rows),
        "bag_bands": fp.band_keys(f.bag_signatures, bag_bands, bag_rows),
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["the", "of", "and", "Revenue", "margin", "Q3", "naïve", "日本", "über",
                                 "x\u0301y", "internationalization", "_", "42", "Straße"]), max_size=400),
       st.sampled_from([FingerprintParams(), FingerprintParams(shingle_size=3, winnow_window=4, passage_stride=7)]))
def test_fingerprints_equal_reference_end_to_end(words: list[str], params: FingerprintParams) -> None:
    text = " ".join(words)
    got, want = on_each_path(lambda: fast_fingerprint(text, params)), reference_fingerprint(text, params)
    for name, value in want.items():
        assert got[name].dtype == value.dtype, name
        assert np.array_equal(got[name], value), name


def reference_shingle_hashes(word_ids: np.ndarray, k: int) -> np.ndarray:
    n = word_ids.shape[0] - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            h = h * np.uint64(0x9E37_79B9_7F4A_7C15) + word_ids[j : j + n]
        return fp.fmix64(h)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=200), st.integers(1, 16))
def test_shingle_hashes_equal_reference(values: list[int], k: int) -> None:
    ids = np.array(values, dtype=np.uint64)
    assert np.array_equal(on_each_path(lambda: fp.shingle_hashes(ids, k)), reference_shingle_hashes(ids, k))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABC0_ .,\n-é日"), min_size=0, max_size=3000),
       st.sampled_from([FingerprintParams(), FingerprintParams(shingle_size=3, winnow_window=4, passage_stride=7)]))
def test_fingerprints_equal_reference_on_hypothesis_text(text: str, params: FingerprintParams) -> None:
    # Free text (not a fixed vocabulary): many distinct words, long and short, mixed scripts.
    got, want = on_each_path(lambda: fast_fingerprint(text, params)), reference_fingerprint(text, params)
    for name, value in want.items():
        assert got[name].dtype == value.dtype, name
        assert np.array_equal(got[name], value), name


def test_paths_agree_on_long_generated_documents() -> None:
    # Whole documents of Zipf-like prose: the word table fills, probes and grows.
    rng = random.Random(11)
    vocab = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(1, 20)))
             for _ in range(5000)]
    params = FingerprintParams()
    for _ in range(4):
        words = rng.choices(vocab, weights=[1 / (i + 1) for i in range(len(vocab))], k=6000)
        text = " ".join(w.capitalize() if rng.random() < 0.1 else w for w in words)
        on_each_path(lambda text=text: fast_fingerprint(text, params))


# --- the compiled path: when it is used ---------------------------------------------------


@needs_numba
def test_kernels_load_when_numba_is_installed() -> None:
    assert _jit.available()


def test_auto_mode_waits_for_enough_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_jit, "_kernels", None)
    monkeypatch.setattr(_jit, "_work", 0)
    monkeypatch.setattr(_jit, "AUTO_AFTER", 1000)
    with jit_mode("auto"):
        assert _jit.kernels(600) is None
        assert (_jit.kernels(600) is not None) == HAVE_NUMBA
    with jit_mode("never"):
        assert _jit.kernels(10**9) is None
    with pytest.raises(ValueError, match="LEAKWATCH_JIT"):
        _jit.set_mode("sometimes")


def _run(code: str, **env: str) -> str:
    import os

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, check=True)
    return proc.stdout.strip()


def test_start_up_does_not_import_numba() -> None:
    # A cold scan of a small file must not pay for numba: nothing on the import path loads it,
    # and a small document stays on the numpy path.
    out = _run("import sys\n"
               "import leakwatch.cli, leakwatch.pipeline\n"
               "from leakwatch.config import FingerprintParams\n"
               "from leakwatch.fingerprint import fingerprint_tokens\n"
               "from leakwatch.keys import StoreKey\n"
               "from leakwatch.text import tokenize\n"
               "fingerprint_tokens(tokenize('a few words ' * 2000), FingerprintParams(), StoreKey(bytes(32)))\n"
               "print('numba' in sys.modules)", LEAKWATCH_JIT="auto")
    assert out == "False"


def test_without_numba_the_numpy_path_gives_the_same_fingerprints() -> None:
    # numba made unimportable: "always" falls back to numpy silently, with the same arrays.
    code = ("import sys\n"
            "sys.modules['numba'] = None\n"
            "import hashlib\n"
            "from leakwatch import _jit\n"
            "from leakwatch.config import FingerprintParams\n"
            "from leakwatch.fingerprint import fingerprint_tokens\n"
            "from leakwatch.keys import StoreKey\n"
            "from leakwatch.text import tokenize\n"
            "f = fingerprint_tokens(tokenize('Alpha beta, gamma delta épsilon. ' * 300), FingerprintParams(),"
            " StoreKey(bytes(range(32))))\n"
            "h = hashlib.sha256()\n"
            "for a in (f.tokens.ids, f.keyed, f.winnowed, f.passages.signatures, f.signature, f.bag_signatures):\n"
            "    h.update(a.tobytes())\n"
            "print(_jit.available(), h.hexdigest())")
    available, digest = _run(code, LEAKWATCH_JIT="always").split()
    assert available == "False"
    f = fp.fingerprint_tokens(tokenize("Alpha beta, gamma delta épsilon. " * 300), FingerprintParams(), KEY)
    want = __import__("hashlib").sha256()
    for a in (f.tokens.ids, f.keyed, f.winnowed, f.passages.signatures, f.signature, f.bag_signatures):
        want.update(a.tobytes())
    assert digest == want.hexdigest()


@needs_numba
def test_kernels_are_thread_safe() -> None:
    # The word table is shared: threads tokenizing at once (kernels release the GIL) agree.
    rng = random.Random(5)
    texts = [" ".join("".join(rng.choice("abcdefghij") for _ in range(rng.randint(1, 12)))
                      for _ in range(3000)) for _ in range(8)]
    with jit_mode("never"):
        want = [tokenize(t).ids for t in texts]
    got: list[np.ndarray | None] = [None] * len(texts)
    with jit_mode("always"):
        def work(i: int) -> None:
            got[i] = tokenize(texts[i]).ids
        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
