"""The extractor interface, text decoding, and format detection by content.

An extractor is a small class with a fixed identity (``name``, ``version``) and one
method, :meth:`Extractor.extract`. Formats are registered explicitly in
:mod:`leakwatch.extract` (one line per format).
"""

from __future__ import annotations

import codecs
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from leakwatch.config import ExtractLimits
from leakwatch.model import ExtractedText, ExtractionError, Status

# How much of a file's head format detection looks at.
SNIFF_BYTES = 8192


@dataclass(frozen=True)
class FileSample:
    """What format detection sees of a file: its name and its first bytes."""

    path: Path
    head: bytes

    @property
    def suffix(self) -> str:
        return self.path.suffix.lower()


class Extractor:
    """Turns one file of one format into :class:`ExtractedText`.

    Subclasses set ``name`` and ``version`` (bump it when the text it produces
    changes) and implement :meth:`extract`, raising :class:`ExtractionError` with a
    status for anything that stops them.
    """

    name: ClassVar[str]
    version: ClassVar[str] = "1"

    def extract(self, path: Path, data: bytes, limits: ExtractLimits) -> ExtractedText:
        raise NotImplementedError

    def result(self, text: str, limits: ExtractLimits, page_starts: tuple[int, ...] = (),
               encoding: str | None = None) -> ExtractedText:
        """The extracted text of this format, size-checked and stamped with this extractor."""
        return ExtractedText(text=check_text_size(text, limits), format=self.name, encoding=encoding,
                             page_starts=page_starts, extractor_version=self.version)


# --- decoding ---------------------------------------------------------------------------

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _utf16_without_bom(data: bytes) -> str | None:
    """Guess UTF-16 without a BOM from where the NUL bytes sit (ASCII-heavy text)."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nuls > 0.4 * half and even_nuls < 0.05 * half:
        return "utf-16-le"
    if even_nuls > 0.4 * half and odd_nuls < 0.05 * half:
        return "utf-16-be"
    return None


# Text in any script but Latin, in UTF-16 without a BOM, has few NUL bytes (one per
# space, digit or line break), so the NUL pattern above misses it; it is recognised by
# its high bytes instead (see _utf16_by_script). Only when it has NUL bytes at all:
# without them, Shift-JIS and other double-byte encodings pass the same tests (their
# lead bytes take few values, and read as UTF-16 they are CJK ideographs).
_SCRIPT_SAMPLE_MIN = 64
_NOT_TEXT = frozenset({"Cc", "Cs", "Co", "Cn"})  # controls, surrogates, private use, unassigned
_WHITESPACE = frozenset("\t\n\v\f\r")


def _is_text(text: str) -> bool:
    """At most 1% of the characters are controls (bar white space), surrogates, private
    use or unassigned: what text reads as in its own encoding, never in another one."""
    bad = sum(1 for c in text if c not in _WHITESPACE and unicodedata.category(c) in _NOT_TEXT)
    return bad <= 0.01 * len(text)


def _utf16_by_script(data: bytes) -> str | None:
    """Recognise UTF-16 without a BOM in a non-Latin script: the high byte of each code
    unit names the script's block, so it takes far fewer values than the low byte (for
    Russian, 0x04 and 0x00; for Japanese a few dozen against all 256); the byte order
    where that holds must then decode to text. None when either test is not clear-cut.
    For data with NUL bytes only (see above)."""
    sample = data[:SNIFF_BYTES]
    sample = sample[: len(sample) // 2 * 2]
    if len(sample) < _SCRIPT_SAMPLE_MIN:
        return None
    evens, odds = len(set(sample[0::2])), len(set(sample[1::2]))
    if 1.5 * odds <= evens:
        encoding = "utf-16-le"  # the odd bytes are the high bytes
    elif 1.5 * evens <= odds:
        encoding = "utf-16-be"
    else:
        return None
    try:
        text = _decode(sample, encoding)
    except UnicodeDecodeError:
        return None
    return encoding if _is_text(text) else None


_TRUNCATED = ("unexpected end of data", "truncated data")  # UnicodeDecodeError.reason at a cut


def _decode(data: bytes, encoding: str) -> str:
    """``data`` decoded strictly, except that an incomplete last character (a file cut
    short, a stray last byte) becomes U+FFFD instead of failing the whole file.

    Raises:
        UnicodeDecodeError: any other undecodable byte.
    """
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        if exc.end < len(data) or len(data) - exc.start >= 4 or exc.reason not in _TRUNCATED:
            raise
        return data[: exc.start].decode(encoding) + "\ufffd"


# Bytes that text does not hold (file(1)'s text tables draw the same line): the C0
# controls but tab, line feed, vertical tab, form feed, carriage return, SUB (a DOS end of
# file) and ESC (terminal colours), then DEL; in Latin-1 also the C1 controls (Windows-1252
# maps all but five of those bytes to letters and punctuation, and fails on the five).
_C0 = frozenset([*range(0x00, 0x09), *range(0x0E, 0x1A), *range(0x1C, 0x20), 0x7F])
_C1 = frozenset(range(0x80, 0xA0))
# Binary or text is decided by the share of such bytes, never by one byte: web text as
# crawled carries stray NUL bytes, and a deliverable must not dodge a scan by carrying one.
# Data that decodes as UTF-8 is text up to a quarter of control bytes: random or compressed
# bytes are never valid UTF-8 beyond a few dozen bytes, so validity is itself the evidence,
# and what is left to refuse is records of small integers and padding (mostly NULs). Data
# read in a single-byte encoding, where any bytes decode, is text only up to 1%: random
# bytes hold about 12% controls there.
_MAX_UTF8_CONTROL_SHARE = 0.25
_MAX_CONTROL_SHARE = 0.01
_COUNT_CHUNK = 1024 * 1024


def _count_bytes(data: bytes, wanted: frozenset[int]) -> int:
    """How many bytes of ``data`` are in ``wanted`` (piece by piece: no copy of it all)."""
    others = bytes(sorted(set(range(256)) - wanted))
    return sum(len(data[i : i + _COUNT_CHUNK].translate(None, others)) for i in range(0, len(data), _COUNT_CHUNK))


def _binary_error(controls: int, size: int) -> ExtractionError:
    return ExtractionError(Status.UNSUPPORTED, f"binary data ({controls:,} control bytes in {size:,}), "
                           "not a text format")


def _utf8_text(data: bytes) -> str | None:
    """``data`` as UTF-8 (an incomplete last character tolerated, as for a cut sniffed head
    or a file cut short, when what precedes it is not all ASCII), or None when it is not UTF-8.

    Raises:
        ExtractionError: ``unsupported`` when it is UTF-8 but over a quarter control bytes.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not (exc.reason in _TRUNCATED and exc.end == len(data) and not data[: exc.start].isascii()):
            return None
        text = _decode(data, "utf-8")
    controls = _count_bytes(data, _C0)
    if controls > _MAX_UTF8_CONTROL_SHARE * len(data):
        raise _binary_error(controls, len(data))
    return text


def _utf16_by_pattern(data: bytes) -> str | None:
    """UTF-16 without a BOM, by its NUL pattern, or (NUL bytes but not in that pattern) by
    its script: the encoding, if the data then decodes."""
    for guess in (_utf16_without_bom(data), _utf16_by_script(data) if b"\x00" in data[:SNIFF_BYTES] else None):
        if guess:
            try:
                _decode(data, guess)
            except UnicodeDecodeError:
                continue
            return guess
    return None


def looks_binary(data: bytes) -> bool:
    """True for data that is not text in any encoding we decode, judged on its head by
    the share of bytes text does not hold (see :func:`decode_text`)."""
    try:
        decode_text(data[:SNIFF_BYTES])
    except ExtractionError:
        return True
    return False


# Bytes the legacy-encoding detector looks at: enough for any real text, and it
# samples within them anyway.
_DETECT_BYTES = 256 * 1024


def _legacy_encoding(data: bytes) -> str | None:
    """The single- or multi-byte legacy encoding of text in a non-Latin script
    (cp1251, KOI8-R, GB18030, Shift-JIS, EUC-JP, cp1253 ...) as charset-normalizer
    judges it, or None: nothing fits, or the text is in the Latin script, where
    Windows-1252 stays the reading (the detector's choice among Latin code pages is
    unreliable on short texts, and the words differ in a few accents at most)."""
    from charset_normalizer import from_bytes

    sample = data[:_DETECT_BYTES]
    best = from_bytes(sample).best()
    if best is None:
        return None
    letters = [c for c in sample.decode(best.encoding, errors="replace") if ord(c) > 0x7F and c.isalpha()]
    if not letters:
        return None
    scripts = Counter(unicodedata.name(c, "UNKNOWN").split(" ")[0] for c in letters)
    script, count = scripts.most_common(1)[0]
    return None if script == "LATIN" or count < 0.5 * len(letters) else str(best.encoding)


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode file bytes to text, returning ``(text, encoding)``.

    Order: a BOM names the encoding (the UTF-8 BOM stays in the text as U+FEFF, as
    Python's ``utf-8`` codec leaves it, so offsets match ``open(encoding="utf-8")``);
    then UTF-16 recognised by its NUL pattern, or (NUL bytes but not in that pattern) by
    its script; then UTF-8; then, for text in a non-Latin script, the legacy
    encoding charset-normalizer finds; then Windows-1252, else Latin-1. Binary is told by
    the share of control bytes (a quarter for UTF-8, 1% for single-byte encodings, where
    any bytes decode), never by one stray byte: stray control characters, NUL included,
    stay in the text as the code points they are (the tokenizer skips them), so offsets
    still index the decoded file unchanged. An incomplete last character (a file cut
    short) becomes U+FFFD rather than changing the encoding of the whole file.

    Raises:
        ExtractionError: ``unsupported`` for binary data, or for text in an encoding
            that cannot be told.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _decode(data, encoding), encoding
            except UnicodeDecodeError:
                break
    # UTF-16 before UTF-8: ASCII text in UTF-16 is also valid UTF-8 (NUL is a
    # character), and would come out as letters separated by NULs.
    utf16 = _utf16_by_pattern(data)
    if utf16:
        return _decode(data, utf16), utf16
    text = _utf8_text(data)
    if text is not None:
        return text, "utf-8"
    # Text in another script in a legacy encoding (Cyrillic in cp1251, Chinese in GB18030
    # ...) would read as cp1252 letters that match nothing: a leak missed without a word.
    found = _legacy_encoding(data)
    if found is not None:
        try:
            text = data.decode(found)
        except (UnicodeDecodeError, LookupError):
            pass
        else:
            if sum(text.count(chr(c)) for c in _C0) <= _MAX_CONTROL_SHARE * len(text):
                return text, found
    try:
        text, encoding, controls = data.decode("cp1252"), "cp1252", _C0
    except UnicodeDecodeError:
        text, encoding, controls = data.decode("latin-1"), "latin-1", _C0 | _C1
    count = _count_bytes(data, controls)
    if count > _MAX_CONTROL_SHARE * len(data):
        raise ExtractionError(
            Status.UNSUPPORTED,
            f"not text in an encoding that can be told: {count:,} control characters in {len(data):,} bytes "
            "(binary data, Shift-JIS or the like, or UTF-16 without a byte-order mark?)",
        )
    return text, encoding


def check_text_size(text: str, limits: ExtractLimits) -> str:
    if len(text) > limits.max_text_chars:
        raise ExtractionError(
            Status.TOO_LARGE,
            f"extracted text has {len(text):,} characters, over the limit of {limits.max_text_chars:,}",
        )
    return text
