"""Normalization and tokenization with character offsets kept.

Words are runs of Unicode word characters; each is NFKC-normalized and
case-folded, so "Ｃａｆé", "CAFÉ" and "café" are one word and punctuation, markup
remnants and whitespace never matter. Every word keeps the offsets of its
original characters, which is what findings report.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from types import ModuleType

import numpy as np

from leakwatch import _jit


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


_MARKS = _combining_marks_class()
# A word starts with a word character and runs through word characters and marks.
_WORD = re.compile(r"\w[\w" + _MARKS + "]*")


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
    """Split ``text`` into normalized words with their character offsets.

    Equal, word for word, to ``_WORD.finditer`` with :func:`word_hash` of each match
    (tests compare both on random text), but without Python work per word: word
    boundaries come from array operations over the text's code points, and ASCII
    words of at most 16 characters (nearly all words of English text) are packed
    into two integers and looked up in :data:`_ASCII_WORD_IDS`, which hashes each
    distinct word once. Other words take :func:`word_hash` one by one. With the compiled
    kernels (:mod:`leakwatch._jit`), splitting ASCII text, packing and the table look-up
    run in compiled loops, with the same results.
    """
    if not text:
        return _no_tokens()
    kern = _jit.kernels(len(text) // 6)  # about one word per 6 characters
    ascii_text = text.isascii()
    if ascii_text:
        data = text.encode("ascii")
        codes = np.frombuffer(data, dtype=np.uint8)
        if kern is not None:
            starts, ends = kern.ascii_words(codes, _ASCII_IS_WORD)
        else:
            starts, ends = _runs(_ASCII_IS_WORD.take(codes))
        fast = np.ones(starts.shape[0], dtype=bool)
        chars = codes
    else:
        codes32 = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
        starts, ends, fast = _unicode_words(codes32)
        chars = _ASCII_LOWER[np.minimum(codes32, 128)]
    if starts.shape[0] == 0:
        return _no_tokens()
    if kern is not None:
        ids, others = _ASCII_WORD_IDS.lookup_spans(kern, chars, starts, ends, fast)
    else:
        lowered = data.lower() if ascii_text else chars.tobytes()
        lengths = ends - starts
        fast &= lengths <= _PACKED_MAX
        ids = np.empty(starts.shape[0], dtype=np.uint64)
        if fast.all():
            ids[:] = _ASCII_WORD_IDS.lookup(*_packed_words(lowered, starts, lengths))
            return Tokens(ids=ids, starts=starts, ends=ends)
        chosen = np.flatnonzero(fast)
        ids[chosen] = _ASCII_WORD_IDS.lookup(*_packed_words(lowered, starts[chosen], lengths[chosen]))
        others = np.flatnonzero(~fast)
    if others.shape[0]:
        ids[others] = [word_hash(text[s:e]) for s, e in zip(starts[others].tolist(), ends[others].tolist(),
                                                             strict=True)]
    return Tokens(ids=ids, starts=starts, ends=ends)


def _no_tokens() -> Tokens:
    empty = np.zeros(0, dtype=np.int64)
    return Tokens(ids=np.zeros(0, dtype=np.uint64), starts=empty, ends=empty.copy())


def _ascii_tables() -> tuple[np.ndarray, np.ndarray]:
    """What ``_WORD`` makes of each ASCII character: is it a word character, and the
    byte of its normalized form (lower case).

    Derived from the regex itself, not written out, so that it cannot disagree. No
    ASCII character is a combining mark (a test checks), so ASCII words are exactly
    the maximal runs of word characters. In the second table, index 128 stands for
    every non-ASCII code point (byte 0: such words are never packed).
    """
    is_word = np.zeros(256, dtype=bool)
    lower = np.zeros(129, dtype=np.uint8)
    for cp in range(128):
        ch = chr(cp)
        is_word[cp] = _WORD.fullmatch(ch) is not None
        lower[cp] = ord(normalize_word(ch)) if is_word[cp] else 0
    return is_word, lower


_WORD_OR_MARK = re.compile(r"[\w" + _MARKS + "]")
_ASCII_IS_WORD, _ASCII_LOWER = _ascii_tables()
# _ASCII_LOWER for any byte (the kernels read text as bytes): 0 from 128 on.
_LOWER_BYTES = np.zeros(256, dtype=np.uint8)
_LOWER_BYTES[:129] = _ASCII_LOWER
# Words up to this many bytes are packed, zero-padded, into two 64-bit integers.
_PACKED_MAX = 16
# For a word of n <= 16 bytes, the masks of its bytes in the low and high integers.
_LOW_MASKS = np.array([(1 << (8 * min(n, 8))) - 1 for n in range(_PACKED_MAX + 1)], dtype=np.uint64)
_HIGH_MASKS = np.array([(1 << (8 * max(n - 8, 0))) - 1 for n in range(_PACKED_MAX + 1)], dtype=np.uint64)


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and (exclusive) ends of the maximal runs of True in a boolean array."""
    padded = np.zeros(mask.shape[0] + 2, dtype=bool)
    padded[1:-1] = mask
    edges = np.flatnonzero(padded[1:] != padded[:-1]).reshape(-1, 2)
    return edges[:, 0].copy(), edges[:, 1].copy()


@lru_cache(maxsize=1 << 16)
def _char_class(cp: int) -> int:
    """2 for a character that starts or continues a word (``\\w``), 1 for one that only
    continues a word (a combining mark), 0 for others: exactly ``_WORD``'s view."""
    ch = chr(cp)
    if _WORD.fullmatch(ch) is not None:
        return 2
    return 1 if _WORD_OR_MARK.fullmatch(ch) is not None else 0


def _unicode_words(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Word spans over an array of code points, and whether each word is all ASCII.

    ``_WORD`` matches a word character followed by any word characters and marks:
    within each maximal run of word characters and marks, the word starts at the
    first word character (leading marks belong to no word) and runs to the end.
    Each distinct non-ASCII code point is classified once.
    """
    high = codes >= 128
    uniq, inverse = np.unique(codes[high], return_inverse=True)
    classes = np.zeros(codes.shape[0], dtype=np.uint8)
    classes[~high] = _ASCII_IS_WORD[codes[~high]] * np.uint8(2)
    classes[high] = np.array([_char_class(c) for c in uniq.tolist()], dtype=np.uint8)[inverse]
    starts, ends = _runs(classes != 0)
    is_word = classes == 2
    if not is_word[starts].all():
        # Some runs begin with marks: move their starts to the first word character.
        # (The text's length closes the list: a run of marks only finds it, past its end.)
        word_positions = np.append(np.flatnonzero(is_word), codes.shape[0])
        first_word = word_positions[np.searchsorted(word_positions, starts)]
        keep = first_word < ends
        starts, ends = first_word[keep], ends[keep]
    non_ascii = np.zeros(codes.shape[0] + 1, dtype=np.int64)
    np.cumsum(high, out=non_ascii[1:])
    return starts, ends, non_ascii[ends] == non_ascii[starts]


def _packed_words(lowered: bytes, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each word's normalized bytes (ASCII, ``lengths`` at most 16), zero-padded, as two
    little-endian 64-bit integers: a one-to-one key, as word characters are never byte 0."""
    padded = lowered + bytes(_PACKED_MAX)
    # Every unaligned 8-byte window of the text, without copying.
    windows = np.ndarray((len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
    lo = windows[starts] & _LOW_MASKS.take(lengths)
    hi = windows[starts + 8] & _HIGH_MASKS.take(lengths)
    return lo, hi


def _packed_hash(lo: int, hi: int) -> int:
    """:func:`word_hash` of a packed word (its bytes are already normalized)."""
    word = (lo.to_bytes(8, "little") + hi.to_bytes(8, "little")).rstrip(b"\0")
    return int.from_bytes(hashlib.blake2b(word, digest_size=8).digest(), "little")


class _PackedWordIds:
    """Word hashes of packed ASCII words, each computed once.

    A dict holds every word seen; in front of it, an open-addressing table in one numpy
    array holds words by slot (one row per slot: the packed word's two integers, then
    its hash), so that a text's words are looked up in a few array operations and only
    the rest (new words) go through the dict. A word lives in the first free of the
    :data:`_PROBES` slots from its home slot, or only in the dict when they are all
    taken. A slot is free while its first integer is 0 (no packed word is 0). The
    table doubles, up to ``max_bits``, to stay at most a quarter full; past that
    everything starts over empty, like a cache. A lock makes it safe to share between
    threads.
    """

    def __init__(self, bits: int = 16, max_bits: int = 20) -> None:
        self._lock = threading.Lock()
        self._bits = bits
        self._max_bits = max_bits
        self._clear(bits)

    def _clear(self, bits: int) -> None:
        self.words: dict[tuple[int, int], int] = {}
        self._new_table(bits)

    def _new_table(self, bits: int) -> None:
        self.bits = bits
        # Rows (lo, hi, hash): one row is one cache access per probe.
        self.table = np.zeros((1 << bits, 3), dtype=np.uint64)

    def _home(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        # Multiplicative hashing: the top bits of an odd multiple depend on all lower bits.
        with np.errstate(over="ignore"):
            mixed = (lo * _MIX_LO + hi) * _MIX_HI
        return (mixed >> np.uint64(64 - self.bits)).astype(np.intp)

    def lookup(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Word hashes of packed words (computing those not seen yet)."""
        with self._lock:
            home = self._home(lo, hi)
            rows = self.table.take(home, axis=0)
            out = rows[:, 2].copy()
            missed = np.flatnonzero((rows[:, 0] != lo) | (rows[:, 1] != hi))
            size_mask = self.table.shape[0] - 1
            for probe in range(1, _PROBES):
                if not missed.shape[0]:
                    break
                rows = self.table.take((home[missed] + probe) & size_mask, axis=0)
                found = (rows[:, 0] == lo[missed]) & (rows[:, 1] == hi[missed])
                out[missed[found]] = rows[found, 2]
                missed = missed[~found]
            if missed.shape[0]:
                out[missed] = self._lookup_dict(lo[missed].tolist(), hi[missed].tolist())
            return out

    def lookup_spans(self, kern: ModuleType, chars: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                     eligible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`lookup` of the words at ``starts:ends`` of ``chars`` (code points below
        256 as bytes; only ``eligible`` words of at most 16 characters are packed), with
        the compiled kernel that packs and looks up in one pass. Returns the word hashes
        and the positions of the words left to :func:`word_hash` (their hash is unset)."""
        with self._lock:
            ids, status, lo, hi = kern.packed_lookup(chars, _LOWER_BYTES, starts, ends, eligible, _PACKED_MAX,
                                                     self.table, self.bits, _PROBES)
            missed = np.flatnonzero(status == 1)
            if missed.shape[0]:
                ids[missed] = self._lookup_dict(lo[missed].tolist(), hi[missed].tolist())
        return ids, np.flatnonzero(status == 2)

    def _lookup_dict(self, lo: list[int], hi: list[int]) -> list[int]:
        found = self.words
        out = []
        new: dict[tuple[int, int], int] = {}
        for key in zip(lo, hi, strict=True):
            value = found.get(key)
            if value is None:
                value = new.get(key)
                if value is None:
                    value = new[key] = _packed_hash(*key)
            out.append(value)
        if new:
            self._add(new)
        return out

    def _add(self, new: dict[tuple[int, int], int]) -> None:
        if len(self.words) + len(new) > (1 << self._max_bits) // 4:
            self._clear(self._bits)
        self.words.update(new)
        bits = self.bits
        while 4 * len(self.words) > (1 << bits) and bits < self._max_bits:
            bits += 1
        if bits != self.bits:
            self._new_table(bits)
            self._claim(self.words)
        else:
            self._claim(new)

    def _claim(self, words: dict[tuple[int, int], int]) -> None:
        """Put words (none of them in the table yet) into their first free slots; where
        several want one slot, the first of them takes it and the others probe on."""
        lo = np.fromiter((k[0] for k in words), dtype=np.uint64, count=len(words))
        hi = np.fromiter((k[1] for k in words), dtype=np.uint64, count=len(words))
        values = np.fromiter(words.values(), dtype=np.uint64, count=len(words))
        home = self._home(lo, hi)
        size_mask = self.table.shape[0] - 1
        pending = np.arange(len(words))
        for probe in range(_PROBES):
            if not pending.shape[0]:
                break
            slot, first = np.unique((home[pending] + probe) & size_mask, return_index=True)
            free = self.table[slot, 0] == 0
            slot, first = slot[free], first[free]
            chosen = pending[first]
            self.table[slot, 1] = hi[chosen]
            self.table[slot, 2] = values[chosen]
            self.table[slot, 0] = lo[chosen]
            placed = np.zeros(pending.shape[0], dtype=bool)
            placed[first] = True
            pending = pending[~placed]


# Slots a word may take, from its home slot on (one cache line or two).
_PROBES = 4
_MIX_LO = np.uint64(0x9E37_79B9_7F4A_7C15)
_MIX_HI = np.uint64(0xBF58_476D_1CE4_E5B9)
_ASCII_WORD_IDS = _PackedWordIds()


@lru_cache(maxsize=1)
def stop_ids() -> np.ndarray:
    """Sorted word hashes of English function words, which carry no evidence of copying."""
    listing = resources.files("leakwatch").joinpath("stopwords_en.txt").read_text(encoding="utf-8")
    words = {w for line in listing.splitlines() if not line.startswith("#") for w in line.split()}
    return np.array(sorted(word_hash(w) for w in words), dtype=np.uint64)


def content_mask(ids: np.ndarray) -> np.ndarray:
    """True for words that are not function words."""
    table, bits = _stop_table()
    return table.take(ids >> np.uint64(64 - bits)) != ids


@lru_cache(maxsize=1)
def _stop_table() -> tuple[np.ndarray, int]:
    """The stop ids, each in the slot named by its top bits, in the smallest table where
    no two collide (word hashes are uniform): a word is a stop word exactly when its
    slot holds its own id, one array lookup (np.isin would sort the text's ids). A slot
    without a stop id holds an id that names another slot, so it matches no word."""
    stops = stop_ids()
    bits = max(1, int(stops.shape[0]).bit_length())
    while np.unique(stops >> np.uint64(64 - bits)).shape[0] < stops.shape[0]:
        bits += 1
    slots = (stops >> np.uint64(64 - bits)).astype(np.intp)
    # Slot 0 holds the id 2^63 (top bit set: it names a slot above 0), every other slot the
    # id 0 (naming slot 0), until a stop id takes it.
    table = np.zeros(1 << bits, dtype=np.uint64)
    table[0] = np.uint64(1 << 63)
    table[slots] = stops
    return table, bits
