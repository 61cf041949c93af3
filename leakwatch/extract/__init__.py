"""Extraction: one module per input format, one registry, format detection by content.

Index time and scan time both go through :func:`extract_file`, so a document is
always tokenized from the same text whichever side it is on.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

from leakwatch.config import ExtractLimits
from leakwatch.extract.base import SNIFF_BYTES, Extractor, FileSample, decode_text
from leakwatch.extract.code import LANGUAGES, CodeExtractor
from leakwatch.extract.csv import CsvExtractor
from leakwatch.extract.docx import DocxExtractor
from leakwatch.extract.html import HtmlExtractor
from leakwatch.extract.json import JsonExtractor, looks_like_json
from leakwatch.extract.ooxml import is_ole_encrypted_package, sniff_zip_format
from leakwatch.extract.pdf import PdfExtractor
from leakwatch.extract.pptx import PptxExtractor
from leakwatch.extract.text import MarkdownExtractor, TextExtractor
from leakwatch.extract.xlsx import XlsxExtractor
from leakwatch.extract.xml import XmlExtractor
from leakwatch.model import ExtractedText, ExtractionError, Status

__all__ = ["EXTRACTORS", "Extractor", "detect_format", "extract_bytes", "extract_file", "read_file"]

# The registry: adding a format is one module and one line here.
EXTRACTORS: dict[str, Extractor] = {
    e.name: e
    for e in (
        TextExtractor(),
        MarkdownExtractor(),
        CsvExtractor(),
        JsonExtractor(),
        XmlExtractor(),
        HtmlExtractor(),
        PdfExtractor(),
        DocxExtractor(),
        PptxExtractor(),
        XlsxExtractor(),
        CodeExtractor(),
    )
}

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_READ_CHUNK = 1024 * 1024
_SUFFIX_FORMATS = {
    ".md": "markdown", ".markdown": "markdown", ".csv": "csv", ".tsv": "csv",
    ".json": "json", ".xml": "xml", ".html": "html", ".htm": "html", ".xhtml": "html",
}
_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "PNG image"), (b"\xff\xd8\xff", "JPEG image"), (b"GIF8", "GIF image"),
    (b"\x1f\x8b", "gzip archive"), (b"7z\xbc\xaf", "7-Zip archive"), (b"Rar!", "RAR archive"),
    (b"\x7fELF", "executable"), (b"MZ", "Windows executable"), (b"{\\rtf", "RTF document"),
)


_PDF_OBJECT = re.compile(rb"\d+\s+\d+\s+obj\b")


def _pdf_header(head: bytes) -> bool:
    """A PDF header in the first KB, where readers look for it. Past the start (and blank
    lines), it must begin a line, name a version and be followed by an object: junk
    before a real header is allowed (mail or HTTP headers), a text or source file that
    merely quotes ``%PDF-`` is text."""
    at = head.find(b"%PDF-", 0, 1024)
    if at < 0:
        return False
    if not head[:at].strip():
        return True
    return (head[at - 1] in b"\r\n" and head[at + 5 : at + 6].isdigit()
            and _PDF_OBJECT.search(head, at) is not None)


def detect_format(sample: FileSample) -> str:
    """Name the format of a file from its content first, its extension second.

    Raises:
        ExtractionError: ``encrypted`` for password-protected Office files,
            ``unsupported`` for anything that is not a format we read.
    """
    head = sample.head
    if _pdf_header(head):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        raise ExtractionError(Status.UNSUPPORTED, "zip archive")  # refined by detect_format_full
    if head.startswith(_OLE_MAGIC):
        raise ExtractionError(Status.UNSUPPORTED, "legacy OLE (pre-2007 Office) file")
    for magic, what in _BINARY_MAGIC:
        if head.startswith(magic):
            raise ExtractionError(Status.UNSUPPORTED, f"{what}: not a text format")
    text_head, _ = decode_text(head)  # binary data is refused here (a status, never text)
    lowered = text_head.lstrip("\ufeff \t\r\n")[:1024].lower()
    if lowered.startswith(("<!doctype html", "<html")) or (
        lowered.startswith("<") and ("<html" in lowered or "<body" in lowered)
    ):
        return "html"
    if lowered.startswith("<?xml") or (lowered.startswith("<") and sample.suffix == ".xml"):
        return "xml"
    if looks_like_json(sample, text_head):
        return "json"
    if sample.suffix in LANGUAGES:
        return "code"
    return _SUFFIX_FORMATS.get(sample.suffix, "text")


def detect_format_full(path: Path, data: bytes) -> str:
    """:func:`detect_format`, plus the container checks that need the whole file."""
    if data.startswith(b"PK\x03\x04"):
        kind = sniff_zip_format(data)
        if kind is None:
            raise ExtractionError(Status.UNSUPPORTED, "zip archive that is not a DOCX, PPTX or XLSX")
        return kind
    if data.startswith(_OLE_MAGIC) and is_ole_encrypted_package(data):
        raise ExtractionError(Status.ENCRYPTED, "password-protected Office document")
    return detect_format(FileSample(path, data[:SNIFF_BYTES]))


def read_file(path: Path, limits: ExtractLimits) -> bytes:
    """Read a regular file's bytes within the size limit, mapping OS errors to statuses.

    FIFOs and devices are refused before they are opened (opening a FIFO blocks).
    """
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise ExtractionError(Status.VANISHED, "file disappeared before it could be read") from exc
    except PermissionError as exc:
        raise ExtractionError(Status.UNREADABLE, "permission denied") from exc
    except OSError as exc:
        raise ExtractionError(Status.UNREADABLE, f"cannot stat: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise ExtractionError(Status.UNSUPPORTED, "not a regular file (FIFO, device or socket)")
    if st.st_size > limits.max_file_bytes:
        raise ExtractionError(
            Status.TOO_LARGE, f"{st.st_size:,} bytes, over the limit of {limits.max_file_bytes:,}"
        )
    try:
        with open(path, "rb") as fh:
            # One byte past the size stat() gave, not past the cap: read(n) allocates n
            # bytes up front, so every file, however small, cost max_file_bytes of address
            # space (a 6-byte file failed with MemoryError under a 150 MB RLIMIT_AS).
            data = fh.read(st.st_size + 1)
            if len(data) > st.st_size:
                # It grew since stat() (or stat() says 0, as for /proc files): read on in
                # pieces, to one byte past the cap so a file grown over it is caught too.
                parts = [data]
                size = len(data)
                while size <= limits.max_file_bytes:
                    part = fh.read(min(_READ_CHUNK, limits.max_file_bytes + 1 - size))
                    if not part:
                        break
                    parts.append(part)
                    size += len(part)
                data = b"".join(parts)
    except FileNotFoundError as exc:
        raise ExtractionError(Status.VANISHED, "file disappeared before it could be read") from exc
    except PermissionError as exc:
        raise ExtractionError(Status.UNREADABLE, "permission denied") from exc
    except IsADirectoryError as exc:
        raise ExtractionError(Status.UNSUPPORTED, "is a directory") from exc
    except OSError as exc:
        status = Status.VANISHED if exc.errno == errno.ESTALE else Status.UNREADABLE
        raise ExtractionError(status, f"cannot read: {exc.strerror or exc}") from exc
    if len(data) > limits.max_file_bytes:
        raise ExtractionError(Status.TOO_LARGE, f"over the limit of {limits.max_file_bytes:,} bytes")
    return data


def extract_bytes(path: Path, data: bytes, limits: ExtractLimits) -> ExtractedText:
    """Extract text from a file's bytes (already read)."""
    fmt = detect_format_full(path, data)
    extracted = EXTRACTORS[fmt].extract(path, data, limits)
    if len(extracted.text) > limits.max_text_chars:
        raise ExtractionError(Status.TOO_LARGE, "extracted text over the configured limit")
    return extracted


def extract_file(path: Path, limits: ExtractLimits) -> tuple[bytes, ExtractedText]:
    """Read and extract one file. Returns its bytes (for hashing) and its text.

    Raises:
        ExtractionError: with the per-file status when the file cannot be read.
    """
    data = read_file(path, limits)
    return data, extract_bytes(path, data, limits)
