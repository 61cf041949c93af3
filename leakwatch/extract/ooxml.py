"""Safe reading of Office Open XML packages (DOCX, PPTX, XLSX).

An OOXML file is a zip of XML parts. Everything here treats the package as hostile:
member counts and sizes are capped before anything is decompressed, the
decompressed size is counted while reading rather than taken from the headers,
nothing is written to disk, and XML is parsed with DTDs forbidden (no entity
expansion, no external references).
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as DefusedET

from leakwatch.config import ExtractLimits
from leakwatch.model import ExtractionError, Status

# Every central directory entry starts with this signature; zipfile refuses an
# entry without it, so counting it bounds the member count before zipfile builds
# one ZipInfo per entry (millions of tiny entries would exhaust memory).
_CENTRAL_DIR_SIG = b"PK\x01\x02"
_CENTRAL_DIR_HEADER = 46

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")

# Small parts legitimately compress very well (runs of XML markup); the ratio
# check only makes sense for parts big enough to matter.
RATIO_CHECK_MIN_BYTES = 1024 * 1024
_CHUNK = 64 * 1024

PAGE_SEPARATOR = "\f"

T = TypeVar("T")

_MAIN_PARTS: tuple[tuple[str, str], ...] = (
    ("word/document.xml", "docx"),
    ("ppt/presentation.xml", "pptx"),
    ("xl/workbook.xml", "xlsx"),
)

# Transitional (ECMA) and Strict (ISO 29500) namespaces of the same vocabularies.
NS_WORD = (
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "http://purl.oclc.org/ooxml/wordprocessingml/main",
)
NS_DRAWING = (
    "http://schemas.openxmlformats.org/drawingml/2006/main",
    "http://purl.oclc.org/ooxml/drawingml/main",
)
NS_SHEET = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",
)
NS_RELATIONSHIPS = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
NS_PACKAGE_RELS = ("http://schemas.openxmlformats.org/package/2006/relationships",)
NS_MARKUP_COMPAT = ("http://schemas.openxmlformats.org/markup-compatibility/2006",)

# mc:AlternateContent holds the same content twice (a Choice and a Fallback
# rendering, e.g. a text box as DrawingML and as VML); reading only the Choice
# keeps text from being doubled.
MC_FALLBACK = frozenset(f"{{{ns}}}Fallback" for ns in NS_MARKUP_COMPAT)


def qnames(namespaces: Sequence[str], *local_names: str) -> frozenset[str]:
    """ElementTree tags (``{namespace}name``) for each name in each namespace."""
    return frozenset(f"{{{ns}}}{name}" for ns in namespaces for name in local_names)


# --- detection --------------------------------------------------------------------------


def _has_central_entry(data: bytes, name: str) -> bool:
    """True when a zip central directory entry names exactly ``name``.

    Scans the bytes instead of opening the zip: it never raises, and costs no
    memory whatever the member count.
    """
    encoded = name.encode("ascii")
    position = data.find(encoded)
    while position != -1:
        header = position - _CENTRAL_DIR_HEADER
        if (
            header >= 0
            and data[header : header + 4] == _CENTRAL_DIR_SIG
            and struct.unpack_from("<H", data, header + 28)[0] == len(encoded)
        ):
            return True
        position = data.find(encoded, position + 1)
    return False


# OpenDocument and EPUB name their type in a first member called "mimetype".
PACKAGE_MIMETYPES = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.text-template": "odt",
    "application/vnd.oasis.opendocument.text-master": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.spreadsheet-template": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
    "application/vnd.oasis.opendocument.presentation-template": "odp",
    "application/epub+zip": "epub",
}
_MIMETYPE = "mimetype"
_LOCAL_HEADER = 30
_MAX_MIMETYPE = 200


def package_mimetype(data: bytes) -> str | None:
    """The ``mimetype`` member of an OpenDocument or EPUB package, or None.

    Both formats require it first and stored, where it can be read from the bytes; a
    package written otherwise is opened to look (member count checked first). Never raises.
    """
    if data[_LOCAL_HEADER : _LOCAL_HEADER + len(_MIMETYPE)] == _MIMETYPE.encode() and len(data) > _LOCAL_HEADER:
        method, size, name_length, extra = (struct.unpack_from("<H", data, 8)[0], struct.unpack_from("<I", data, 18)[0],
                                            *struct.unpack_from("<HH", data, 26))
        start = _LOCAL_HEADER + name_length + extra
        if method == 0 and name_length == len(_MIMETYPE) and size <= _MAX_MIMETYPE:
            return data[start : start + size].decode("ascii", "replace").strip()
    if not _has_central_entry(data, _MIMETYPE) or data.count(_CENTRAL_DIR_SIG) > ExtractLimits().max_members:
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            info = package.getinfo(_MIMETYPE)
            if info.file_size > _MAX_MIMETYPE or info.compress_size > _MAX_MIMETYPE:
                return None
            return package.read(info).decode("ascii", "replace").strip()
    except Exception:
        return None


def sniff_zip_format(data: bytes) -> str | None:
    """``docx``, ``pptx`` or ``xlsx`` from the package's main part, ``odt``, ``ods``,
    ``odp`` or ``epub`` from its ``mimetype`` member, else None (a zip archive).

    Needs the whole file (the names live in the central directory at its end).
    Never raises, whatever the bytes.
    """
    for part, fmt in _MAIN_PARTS:
        if _has_central_entry(data, part):
            return fmt
    mimetype = package_mimetype(data)
    return PACKAGE_MIMETYPES.get(mimetype) if mimetype else None


def is_ole_encrypted_package(data: bytes) -> bool:
    """True for a password-protected DOCX/XLSX/PPTX.

    Office saves those as an OLE compound file (not a zip) holding an
    ``EncryptedPackage`` stream; the stream name is stored in UTF-16LE.
    """
    return data.startswith(_OLE_MAGIC) and _ENCRYPTED_PACKAGE in data


# --- the package ------------------------------------------------------------------------


def open_package(data: bytes, limits: ExtractLimits) -> zipfile.ZipFile:
    """Open OOXML bytes as a zip, after checking member count and declared sizes.

    Raises:
        ExtractionError: ``encrypted`` for a password-protected Office file,
            ``parse-error`` for anything that is not a readable zip, ``too-large``
            when there are too many members or their declared sizes add up to
            more than the limit.
    """
    if is_ole_encrypted_package(data):
        raise ExtractionError(Status.ENCRYPTED, "password-protected Office document")
    if data.count(_CENTRAL_DIR_SIG) > limits.max_members:
        raise ExtractionError(Status.TOO_LARGE, f"zip has more than {limits.max_members:,} members")
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
        infos = package.infolist()
    except MemoryError as exc:
        raise ExtractionError(Status.MEMORY, "out of memory while reading the zip directory") from exc
    except Exception as exc:
        # BadZipFile, and struct/ValueError/OSError on mangled directories.
        raise ExtractionError(Status.PARSE_ERROR, f"not a readable zip package ({exc})") from exc
    if len(infos) > limits.max_members:
        raise ExtractionError(Status.TOO_LARGE, f"zip has {len(infos):,} members, over {limits.max_members:,}")
    declared = sum(info.file_size for info in infos)
    if declared > limits.max_total_uncompressed:
        raise ExtractionError(
            Status.TOO_LARGE,
            f"zip members declare {declared:,} bytes uncompressed, over {limits.max_total_uncompressed:,}",
        )
    return package


def _check_declared(info: zipfile.ZipInfo, limits: ExtractLimits) -> None:
    if info.file_size > limits.max_member_bytes:
        raise ExtractionError(
            Status.TOO_LARGE,
            f"zip member {info.filename} declares {info.file_size:,} bytes, over {limits.max_member_bytes:,}",
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > RATIO_CHECK_MIN_BYTES and ratio > limits.max_compression_ratio:
        raise ExtractionError(
            Status.TOO_LARGE,
            f"zip member {info.filename} has compression ratio {ratio:,.0f}:1 "
            f"(over {limits.max_compression_ratio:,.0f}:1; zip bomb?)",
        )


def read_member(package: zipfile.ZipFile, name: str, limits: ExtractLimits) -> bytes:
    """The decompressed bytes of one member, within the limits.

    The declared size and compression ratio are checked first; then the member
    is read in chunks and reading stops as soon as it yields more than it declared
    or more than the cap, so a lying header cannot make us inflate a bomb.

    Raises:
        ExtractionError: ``parse-error`` when the member is missing or corrupt,
            ``too-large`` when it is over a limit.
    """
    try:
        info = package.getinfo(name)
    except KeyError:
        raise ExtractionError(Status.PARSE_ERROR, f"package has no part {name}") from None
    _check_declared(info, limits)
    cap = min(info.file_size, limits.max_member_bytes)
    chunks: list[bytes] = []
    size = 0
    try:
        with package.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > cap:
                    raise ExtractionError(
                        Status.TOO_LARGE,
                        f"zip member {name} decompresses to more than its declared {info.file_size:,} bytes",
                    )
                chunks.append(chunk)
    except ExtractionError:
        raise
    except MemoryError as exc:
        raise ExtractionError(Status.MEMORY, f"out of memory reading zip member {name}") from exc
    except Exception as exc:
        # BadZipFile (bad CRC included: zipfile stops at the declared size, so a
        # member whose header understates its size fails its checksum rather than
        # growing), zlib.error, EOFError, NotImplementedError (unknown compression),
        # RuntimeError (zip-level password).
        raise ExtractionError(Status.PARSE_ERROR, f"zip member {name} is corrupt ({exc})") from exc
    return b"".join(chunks)


def numbered_parts(names: Iterable[str], prefix: str, suffix: str = ".xml") -> list[str]:
    """Members named ``<prefix><N><suffix>``, in numeric order of N (2 before 10)."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)" + re.escape(suffix))
    found = [(int(m.group(1)), name) for name in names if (m := pattern.fullmatch(name))]
    return [name for _, name in sorted(found)]


# Picture formats OCR reads (by member name: Office picks a picture's codec by its
# extension, so a PNG named .emf does not show as text in Word either).
RASTER_SUFFIXES = (".png", ".jpg", ".jpeg", ".jpe", ".gif", ".bmp", ".tif", ".tiff", ".webp")


def picture_parts(names: Iterable[str], folder: str) -> list[str]:
    """Raster pictures directly in ``folder`` (``word/media/``), in natural order
    (image2 before image10)."""
    def key(name: str) -> tuple[str, int, str]:
        match = re.search(r"(\d+)\.[^.]*$", name)
        stem = name[: match.start(1)] if match else name
        return (stem, int(match.group(1)) if match else -1, name)

    found = [n for n in names if n.startswith(folder) and "/" not in n[len(folder):]
             and n.lower().endswith(RASTER_SUFFIXES)]
    return sorted(found, key=key)


# --- XML --------------------------------------------------------------------------------


def _xml_error(exc: Exception, part: str) -> ExtractionError:
    if isinstance(exc, defusedxml.DefusedXmlException):
        return ExtractionError(Status.PARSE_ERROR, f"{part}: forbidden XML construct ({exc})")
    return ExtractionError(Status.PARSE_ERROR, f"{part}: malformed XML ({exc})")


def parse_xml(data: bytes, part: str) -> Element:
    """Parse a small XML part into a tree (DTDs, entities, external refs forbidden).

    Raises:
        ExtractionError: ``parse-error`` for malformed or forbidden XML.
    """
    try:
        root: Element = DefusedET.fromstring(data, forbid_dtd=True)
    except (ParseError, defusedxml.DefusedXmlException, ValueError) as exc:
        raise _xml_error(exc, part) from exc
    return root


def iterparse_xml(data: bytes, part: str, events: Sequence[str] = ("end",)) -> Iterator[tuple[str, Element]]:
    """Stream ``(event, element)`` pairs from an XML part, with the same defences as
    :func:`parse_xml`. Callers clear elements they are done with.

    Raises:
        ExtractionError: ``parse-error`` for malformed or forbidden XML.
    """
    try:
        yield from DefusedET.iterparse(io.BytesIO(data), events=events, forbid_dtd=True)
    except (ParseError, defusedxml.DefusedXmlException, ValueError) as exc:
        raise _xml_error(exc, part) from exc


# --- text assembly ----------------------------------------------------------------------


class TextBudget:
    """Counts extracted characters and stops at the limit while text is built.

    XLSX shared strings can be referenced by any number of cells, so text can
    grow far beyond the (capped) decompressed size; the check must happen as
    text is produced, not at the end.
    """

    def __init__(self, limits: ExtractLimits) -> None:
        self.limit = limits.max_text_chars
        self.used = 0

    def charge(self, count: int) -> None:
        """Account for ``count`` more characters.

        Raises:
            ExtractionError: ``too-large`` once the total is over the limit.
        """
        self.used += count
        if self.used > self.limit:
            raise ExtractionError(Status.TOO_LARGE, f"extracted text is over the limit of {self.limit:,} characters")

    def add(self, text: str) -> str:
        """Account for ``text`` and return it (see :meth:`charge`)."""
        self.charge(len(text))
        return text


def join_pages(pages: Sequence[str]) -> tuple[str, tuple[int, ...]]:
    """Join page (slide, sheet) texts with form feeds.

    Returns:
        The text, and the offsets where the second and later pages start.
    """
    starts: list[int] = []
    offset = 0
    for page in pages[:-1]:
        offset += len(page) + len(PAGE_SEPARATOR)
        starts.append(offset)
    return PAGE_SEPARATOR.join(pages), tuple(starts)


# --- paragraphs -------------------------------------------------------------------------


@dataclass(frozen=True)
class ParagraphVocabulary:
    """The tags that make up paragraphs in one XML dialect (WordprocessingML, DrawingML).

    Attributes:
        paragraph: tags of paragraph elements; each becomes one line.
        text: tags whose element text is paragraph text.
        literals: tags of empty elements that stand for a string (tab, line break).
        skip: tags whose whole subtree is ignored (properties, fallback renderings).
    """

    paragraph: frozenset[str]
    text: frozenset[str]
    literals: Mapping[str, str]
    skip: frozenset[str]


def paragraph_lines(xml: bytes, part: str, vocabulary: ParagraphVocabulary) -> list[str]:
    """One line per paragraph of an XML part, in document order.

    A paragraph nested in another (a text box anchored in a paragraph) gives its own
    line, placed before the line of the paragraph holding it. Text found outside any
    paragraph still gives a line rather than being dropped.

    Raises:
        ExtractionError: ``parse-error`` for malformed or forbidden XML.
    """
    lines: list[str] = []
    open_paragraphs: list[list[str]] = []
    skipping = 0
    for event, element in iterparse_xml(xml, part, ("start", "end")):
        tag = element.tag
        if tag in vocabulary.skip:
            skipping += 1 if event == "start" else -1
            continue
        if skipping:
            continue
        if event == "start":
            if tag in vocabulary.paragraph:
                open_paragraphs.append([])
            continue
        if tag in vocabulary.paragraph:
            lines.append("".join(open_paragraphs.pop()))
        else:
            piece = (element.text or "") if tag in vocabulary.text else vocabulary.literals.get(tag, "")
            if piece:
                if open_paragraphs:
                    open_paragraphs[-1].append(piece)
                else:
                    lines.append(piece)
        # Children have all been seen by now; dropping them keeps memory flat.
        element.clear()
    return lines


def guarded(what: str, work: Callable[[], T]) -> T:
    """Run ``work``, turning any exception other than :class:`ExtractionError` into
    one, so that no traceback escapes an extractor.
    """
    try:
        return work()
    except ExtractionError:
        raise
    except MemoryError as exc:
        raise ExtractionError(Status.MEMORY, f"out of memory while reading {what}") from exc
    except RecursionError as exc:
        raise ExtractionError(Status.PARSE_ERROR, f"{what}: XML nested too deeply") from exc
    except Exception as exc:
        raise ExtractionError(Status.PARSE_ERROR, f"cannot read {what} ({type(exc).__name__}: {exc})") from exc
