"""Tokenization: normalized word ids with the offsets of the original characters."""

from __future__ import annotations

import subprocess
import sys
import unicodedata

import numpy as np
import pytest

from leakwatch.text import normalize_word, tokenize, word_hash


def words(text: str) -> list[str]:
    t = tokenize(text)
    return [text[s:e] for s, e in zip(t.starts.tolist(), t.ends.tolist(), strict=True)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, world!", ["Hello", "world"]),
        ("  leading and trailing  ", ["leading", "and", "trailing"]),
        ("line one\r\nline_two\tthree-4", ["line", "one", "line_two", "three", "4"]),
        ("naïve résumé", ["naïve", "résumé"]),
        ("Ｃａｆé au lait", ["Ｃａｆé", "au", "lait"]),
        ("日本語 テキスト", ["日本語", "テキスト"]),
        ("emoji 😀 between", ["emoji", "between"]),
    ],
)
def test_offsets_give_back_original_words(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_token_arrays_have_the_documented_types() -> None:
    t = tokenize("one two three")
    assert len(t) == 3
    assert t.ids.dtype == np.uint64
    assert t.starts.dtype == np.int64
    assert t.ends.dtype == np.int64
    assert t.starts.tolist() == [0, 4, 8]
    assert t.ends.tolist() == [3, 7, 13]
    assert t.char_span(0, 3) == (0, 13)
    assert t.char_span(1, 2) == (4, 7)


@pytest.mark.parametrize("text", ["", "   \n\t ", "!!! ... ---", "😀 ☃"])
def test_texts_without_words_have_no_tokens(text: str) -> None:
    t = tokenize(text)
    assert len(t) == 0
    assert t.ids.shape == (0,)
    assert t.starts.shape == t.ends.shape == (0,)


@pytest.mark.parametrize("variant", ["CAFÉ", "café", "Café", "Ｃａｆé", "ＣＡＦÉ"])
def test_case_folding_and_nfkc_give_one_id(variant: str) -> None:
    assert tokenize(variant).ids.tolist() == tokenize("café").ids.tolist()
    assert word_hash(variant) == word_hash("café")


def test_different_words_have_different_ids() -> None:
    ids = tokenize("cafe café coffee caffè").ids.tolist()
    assert len(set(ids)) == 4


@pytest.mark.parametrize(
    ("word", "norm"),
    [("Hello", "hello"), ("ÉCOLE", "école"), ("Straße", "strasse"), ("ﬁnal", "final"), ("Ｘ１", "x1")],
)
def test_normalize_word(word: str, norm: str) -> None:
    assert normalize_word(word) == norm


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Hello, world!", "hello   world"),
        ("one-two three", "one two\n\nthree"),
        ("(Quarterly) results...", "quarterly, RESULTS."),
        ("a\r\nb", "A B"),
    ],
)
def test_punctuation_and_whitespace_do_not_change_ids(a: str, b: str) -> None:
    assert tokenize(a).ids.tolist() == tokenize(b).ids.tolist()


def test_word_order_matters() -> None:
    assert tokenize("hello world").ids.tolist() != tokenize("world hello").ids.tolist()


def test_non_ascii_offsets_are_code_points() -> None:
    text = "naïve résumé"
    t = tokenize(text)
    # "ï" is one code point (two UTF-8 bytes): offsets count characters, not bytes.
    assert t.starts.tolist() == [0, 6]
    assert t.ends.tolist() == [5, 12]
    assert len(text.encode("utf-8")) > t.ends[-1]
    astral = "😀😀 word"
    t2 = tokenize(astral)
    assert t2.starts.tolist() == [3]
    assert astral[3:7] == "word"


def test_word_hash_is_stable_across_processes() -> None:
    sample = ["Confidential", "résumé", "Ｃａｆé", "zanzibar"]
    code = (
        "from leakwatch.text import word_hash; "
        f"print(' '.join(str(word_hash(w)) for w in {sample!r}))"
    )
    # A different hash seed in the child proves nothing depends on Python's hash().
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    ).stdout.split()
    assert [int(x) for x in out] == [word_hash(w) for w in sample]
    assert all(0 <= int(x) < 2**64 for x in out)


def test_word_hash_known_value() -> None:
    # blake2b-64 of the normalized word, little-endian: pinned so stored data stays readable.
    import hashlib

    expected = int.from_bytes(hashlib.blake2b(b"hello", digest_size=8).digest(), "little")
    assert word_hash("HELLO") == expected


def test_decomposed_and_composed_accents_give_one_id() -> None:
    composed = "le café est prêt"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert tokenize(decomposed).ids.tolist() == tokenize(composed).ids.tolist()
    assert words(decomposed)[1] == decomposed[3:8]


def test_words_with_combining_vowel_signs_stay_whole() -> None:
    # Hindi: two words; today each is cut into bare consonants ("ह", "न", "द", ...).
    assert words("हिन्दी भाषा") == ["हिन्दी", "भाषा"]
