"""Normalization and tokenization with character offsets kept.

Words are runs of Unicode word characters; each is NFKC-normalized and
case-folded, so "Ｃａｆé", "CAFÉ" and "café" are one word and punctuation, markup
remnants and whitespace never matter. Every word keeps the offsets of its
original characters, which is what findings report.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np


def _combining_marks_class() -> str:
    """A regex class of every combining mark (Unicode category M).

    Python's ``\\w`` does not match marks, so "cafe" + U+0301 (decomposed é, as
    macOS and many PDFs write it) or a Devanagari vowel sign would end a word.
    Marks live in planes 0 and 1 and in the variation selectors of plane 14;
    scanning only those keeps import fast.
    """
    ranges: list[tuple[int, int]] = []
    for lo, hi in ((0, 0x20000), (0xE0000, 0xE1000)):
        for cp in range(lo, hi):
            if unicodedata.category(chr(cp))[0] == "M":
                if ranges and ranges[-1][1] == cp - 1:
                    ranges[-1] = (ranges[-1][0], cp)
                else:
                    ranges.append((cp, cp))
    return "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in ranges)


# A word starts with a word character and runs through word characters and marks.
_WORD = re.compile(r"\w[\w" + _combining_marks_class() + "]*")


@dataclass(frozen=True)
class Tokens:
    """The words of a text: stable 64-bit word hashes and their character spans.

    The word hashes are unkeyed and exist only in memory; nothing derived from
    them is stored before it has been keyed (see :mod:`leakwatch.fingerprint`).
    """

    ids: np.ndarray  # uint64, one per word
    starts: np.ndarray  # int64 character offset of each word
    ends: np.ndarray  # int64, exclusive

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def char_span(self, first: int, last_exclusive: int) -> tuple[int, int]:
        """Character span covering words ``first .. last_exclusive - 1``."""
        return int(self.starts[first]), int(self.ends[last_exclusive - 1])


def normalize_word(word: str) -> str:
    """The canonical form of one word: NFKC, then case folding."""
    if word.isascii():
        return word.lower()
    return unicodedata.normalize("NFKC", word).casefold()


@lru_cache(maxsize=1 << 18)
def word_hash(word: str) -> int:
    """Stable 64-bit hash of a raw word's normalized form (process-independent)."""
    norm = normalize_word(word).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(norm, digest_size=8).digest(), "little")


def tokenize(text: str) -> Tokens:
    """Split ``text`` into normalized words with their character offsets."""
    spans: list[int] = []
    ids: list[int] = []
    append_span = spans.extend
    append_id = ids.append
    for m in _WORD.finditer(text):
        append_span(m.span())
        append_id(word_hash(m.group()))
    offsets = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    return Tokens(
        ids=np.asarray(ids, dtype=np.uint64),
        starts=offsets[:, 0].copy(),
        ends=offsets[:, 1].copy(),
    )


@lru_cache(maxsize=1)
def stop_ids() -> np.ndarray:
    """Sorted word hashes of English function words, which carry no evidence of copying."""
    listing = resources.files("leakwatch").joinpath("stopwords_en.txt").read_text(encoding="utf-8")
    words = {w for line in listing.splitlines() if not line.startswith("#") for w in line.split()}
    return np.array(sorted(word_hash(w) for w in words), dtype=np.uint64)


def content_mask(ids: np.ndarray) -> np.ndarray:
    """True for words that are not function words."""
    return ~np.isin(ids, stop_ids())
