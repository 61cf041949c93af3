"""Extraction: one module per input format, one registry, format detection by content.

Index time and scan time both go through :func:`extract_members` (a file, or each
member of a container file, see :mod:`leakwatch.extract.container`), so a document is
always tokenized from the same text whichever side it is on.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from leakwatch.config import ExtractLimits
from leakwatch.extract.base import SNIFF_BYTES, Extractor, FileSample, decode_text, looks_binary
from leakwatch.extract.code import LANGUAGES, CodeExtractor
from leakwatch.extract.compressed import CompressedReader, TarReader, compression_of, decompressed_head, is_tar
from leakwatch.extract.container import ContainerReader, Formats, OnStart, iter_members
from leakwatch.extract.csv import CsvExtractor
from leakwatch.extract.doc import DocExtractor
from leakwatch.extract.docx import DocxExtractor
from leakwatch.extract.email import EmailReader, looks_like_email
from leakwatch.extract.epub import EpubExtractor
from leakwatch.extract.html import HtmlExtractor
from leakwatch.extract.image import ImageExtractor, is_image
from leakwatch.extract.json import JsonExtractor, looks_like_json
from leakwatch.extract.mbox import MboxReader, looks_like_mbox
from leakwatch.extract.msg import MsgReader, looks_like_msg
from leakwatch.extract.odf import OdpExtractor, OdsExtractor, OdtExtractor
from leakwatch.extract.ole import sniff_ole_format
from leakwatch.extract.ooxml import is_ole_encrypted_package, sniff_zip_format
from leakwatch.extract.pdf import PdfExtractor
from leakwatch.extract.ppt import PptExtractor
from leakwatch.extract.pptx import PptxExtractor
from leakwatch.extract.rtf import RtfExtractor, is_rtf
from leakwatch.extract.sevenzip import SEVENZIP_MAGIC, SevenZipReader
from leakwatch.extract.text import MarkdownExtractor, TextExtractor
from leakwatch.extract.xls import XlsExtractor
from leakwatch.extract.xlsx import XlsxExtractor
from leakwatch.extract.xml import XmlExtractor
from leakwatch.extract.zip import ZipReader
from leakwatch.model import MEMBER_SEPARATOR, ExtractedText, ExtractionError, FileItem, Member, Status

__all__ = ["CONTAINERS", "EXTRACTORS", "Extractor", "detect_format", "extract_bytes", "extract_file",
           "extract_members", "read_again", "read_file", "read_member", "split_member_path"]

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
        ImageExtractor(),
        OdtExtractor(),
        OdsExtractor(),
        OdpExtractor(),
        EpubExtractor(),
        RtfExtractor(),
        DocExtractor(),
        XlsExtractor(),
        PptExtractor(),
    )
}

# Containers: formats whose members are deliverables of their own (archives, e-mail).
CONTAINERS: dict[str, ContainerReader] = {
    c.name: c
    for c in (
        ZipReader(),
        TarReader(),
        CompressedReader(),
        SevenZipReader(),
        EmailReader(),
        MboxReader(),
        MsgReader(),
    )
}

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_READ_CHUNK = 1024 * 1024
_SUFFIX_FORMATS = {
    ".md": "markdown", ".markdown": "markdown", ".csv": "csv", ".tsv": "csv",
    ".json": "json", ".xml": "xml", ".html": "html", ".htm": "html", ".xhtml": "html",
}
_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    # Archives leakwatch opens are recognised before these (sniff_container); a head
    # alone that looks like one is still not text.
    (b"\x1f\x8b", "gzip archive"), (b"7z\xbc\xaf", "7-Zip archive"), (b"Rar!", "RAR archive"),
    (b"\x7fELF", "executable"), (b"MZ", "Windows executable"),
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
    if is_image(head):
        return "image"
    if is_rtf(head):
        return "rtf"
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


def sniff_container(sample: FileSample) -> str | None:
    """The container format (a key of :data:`CONTAINERS`) of a file's head, else None.
    Zip and Outlook messages need the whole file (see :func:`detect_format_full`)."""
    head = sample.head
    if head.startswith(SEVENZIP_MAGIC):
        return "7z"
    if compression_of(head) is not None:
        return "tar" if is_tar(decompressed_head(head)) else "compressed"
    if is_tar(head):
        return "tar"
    if looks_binary(head) or _pdf_header(head):
        return None
    if sample.suffix == ".mbox" or looks_like_mbox(head):
        return "mbox"
    if sample.suffix == ".eml" or looks_like_email(head):
        return "eml"
    return None


def detect_format_full(path: Path, data: bytes) -> str:
    """:func:`detect_format`, plus the checks that need the whole file: zip packages
    (Office, OpenDocument, EPUB, else an archive), OLE files (legacy Office, Outlook) and
    the other containers (archives, e-mail). A key of :data:`EXTRACTORS` or of
    :data:`CONTAINERS`."""
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return sniff_zip_format(data) or "zip"
    if data.startswith(_OLE_MAGIC):
        if is_ole_encrypted_package(data):
            raise ExtractionError(Status.ENCRYPTED, "password-protected Office document")
        if looks_like_msg(data):
            return "msg"
        legacy = sniff_ole_format(data)
        if legacy is not None:
            return legacy
        raise ExtractionError(Status.UNSUPPORTED, "OLE compound file that is not a Word, Excel or PowerPoint 97-2003 "
                                                  "document or an Outlook message")
    sample = FileSample(path, data[:SNIFF_BYTES])
    return sniff_container(sample) or detect_format(sample)


# What a container's walk reads its members with: every format registered here.
FORMATS = Formats(detect=lambda path, data: detect_format_full(path, data), extractors=EXTRACTORS,
                  containers=CONTAINERS)


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
    """Extract text from a file's bytes (already read), for a file that is not a
    container (:func:`extract_members` reads both).

    Raises:
        ExtractionError: with the file's status; ``unsupported`` for a container.
    """
    fmt = detect_format_full(path, data)
    if fmt in CONTAINERS:
        raise ExtractionError(Status.UNSUPPORTED, f"a {fmt} container: its members are read one by one")
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


def extract_members(path: Path, limits: ExtractLimits, on_start: OnStart | None = None,
                    skip: int = 0) -> Iterator[FileItem]:
    """Read one file and give its deliverables one by one: the file itself, or (for an
    archive or an e-mail) its members, recursively (see :func:`iter_members`).

    Raises:
        ExtractionError: the file itself cannot be read (before anything is given).
    """
    data = read_file(path, limits)
    yield from iter_members(path.name, data, limits, FORMATS, on_start, skip)


def split_member_path(path: str) -> tuple[Path, str] | None:
    """``(file, member key)`` for a member's path (``/d/delivery.zip!/docs/a.docx`` ->
    ``/d/delivery.zip``, ``docs/a.docx``): the first ``!/`` whose left side is an existing
    file. None for the path of a file (or of nothing that exists)."""
    at = path.find(MEMBER_SEPARATOR)
    while at >= 0:
        head = path[:at]
        if os.path.isfile(head):
            return Path(head), path[at + len(MEMBER_SEPARATOR):]
        at = path.find(MEMBER_SEPARATOR, at + 1)
    return None


def read_member(path: Path, key: str, limits: ExtractLimits, accept: Callable[[bytes], bool]) -> Member | None:
    """The member ``key`` (:func:`leakwatch.extract.container.member_key`) of the
    container file at ``path`` whose bytes ``accept`` takes (a hash check, made before
    the member is parsed), extracted with the same code as a scan; None when there is none.

    Raises:
        ExtractionError: the file itself cannot be read.
    """
    data = read_file(path, limits)
    for item in iter_members(path.name, data, limits, FORMATS, only=key, accept=accept):
        if isinstance(item, Member):
            return item
    return None


def read_again(path: str, limits: ExtractLimits, accept: Callable[[bytes], bool]) -> tuple[bytes, ExtractedText] | None:
    """A deliverable or a registered document read again at the path a report or the
    store names it (a file, or a member ``file!/member``), if its bytes pass ``accept``
    (checked before they are parsed); None when they do not, or the member is gone.

    Raises:
        ExtractionError: it cannot be read or extracted.
    """
    split = split_member_path(path)
    if split is None:
        data = read_file(Path(path), limits)
        return (data, extract_bytes(Path(path), data, limits)) if accept(data) else None
    member = read_member(*split, limits, accept)
    return None if member is None else (member.data, member.extracted)
