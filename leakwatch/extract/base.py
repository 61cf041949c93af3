"""The extractor interface, text decoding, and format detection by content.

An extractor is a small class with a fixed identity (``name``, ``version``) and one
method, :meth:`Extractor.extract`. Formats are registered explicitly in
:mod:`leakwatch.extract` (one line per format).
"""

from __future__ import annotations

import codecs
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


def looks_binary(data: bytes) -> bool:
    """True for data that is not text in any encoding we decode (NULs, no UTF-16/32)."""
    head = data[:SNIFF_BYTES]
    if any(head.startswith(bom) for bom, _ in _BOMS):
        return False
    if _utf16_without_bom(head):
        return False
    return b"\x00" in head


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode file bytes to text, returning ``(text, encoding)``.

    Order: a BOM names the encoding (the UTF-8 BOM stays in the text as U+FEFF, as
    Python's ``utf-8`` codec leaves it, so offsets match ``open(encoding="utf-8")``);
    then UTF-16 recognised by its NUL pattern; then (no NULs left) strict UTF-8;
    then Windows-1252; then Latin-1, which decodes any bytes.

    Raises:
        ExtractionError: ``unsupported`` for binary data.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                break
    # UTF-16 before UTF-8: ASCII text in UTF-16 is also valid UTF-8 (NUL is a
    # character), and would come out as letters separated by NULs.
    utf16 = _utf16_without_bom(data)
    if utf16:
        try:
            return data.decode(utf16), utf16
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:SNIFF_BYTES]:
        raise ExtractionError(Status.UNSUPPORTED, "binary data (NUL bytes), not a text format")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def check_text_size(text: str, limits: ExtractLimits) -> str:
    if len(text) > limits.max_text_chars:
        raise ExtractionError(
            Status.TOO_LARGE,
            f"extracted text has {len(text):,} characters, over the limit of {limits.max_text_chars:,}",
        )
    return text
