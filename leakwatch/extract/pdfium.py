"""PDF text through PDFium (pypdfium2): the fast engine behind :class:`PdfExtractor`.

PDFium reads a page's text about 25 times faster than pdfminer.six, but it is C++ with
no memory or time bounds of its own. Measured on the hostile set: a Flate stream
inflating to 4 GiB took it to 4 GB and an abort, forms drawing each other ten times 8
deep to an abort, two chained Flate filters to 2 GB, and a form drawing itself was
drawn 40 times over. So a file reaches PDFium only when :func:`screen` passes it: a
linear look at the raw bytes that decodes every stream PDFium would decode for text
(content streams, forms, fonts, character maps; not images), bounded, and refuses what
it cannot vouch for. Everything it refuses goes to the pdfminer.six path with its own
caps, so bombs keep the statuses they had (``too-large``); the choice depends on the
file's bytes and the limits only, so indexing and scanning the same file take the same
engine. The screen is a heuristic over raw bytes, not a second PDF parser: under
isolation (the default) the worker's memory, CPU and wall-clock limits stay the
guarantee, and a PDFium crash is that one file's error.
"""

from __future__ import annotations

import binascii
import re
import threading
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from leakwatch.config import ExtractLimits
from leakwatch.model import ExtractionError, Status

# --- the screen ---------------------------------------------------------------------------

# Bounds on what PDFium may be given, under the configured extraction limits. A stream
# drawn on a page (content, form) costs PDFium up to ~250 bytes of memory per byte
# (a page of one-letter glyphs), so drawn streams get the tighter bound.
_MAX_STREAM = 64 * 1024 * 1024
_MAX_TOTAL = 256 * 1024 * 1024
_MAX_DRAWN = 2 * 1024 * 1024
# Forms drawn by one content stream, counted as if each drawing were of the heaviest form.
_MAX_PAGE_FORMS = 4 * _MAX_DRAWN
# How far back from a "stream" keyword its dictionary may start.
_DICT_WINDOW = 64 * 1024

# The keyword ends a token ("endstream" and "upstream" do not match); the white space
# after it is PDF's end of line, and stray bytes there make the Flate data undecodable:
# refused, never skipped.
_STREAM_KEYWORD = re.compile(rb"(?<=[\0\t\n\f\r >])stream[ \t]*(?:\r\n|\r|\n)?")
_ENDSTREAM = b"endstream"
_FILTER = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[^\s/\[\]<>()]+)")
_NAME = re.compile(rb"/([^\s/\[\]<>()]+)")
_SUBTYPE = re.compile(rb"/Subtype\s*/([^\s/\[\]<>()]+)")
# A name before "Do": an XObject drawn (random binary rarely spells this).
_DRAW_NAME = re.compile(rb"/([^\s/\[\]<>(){}%]+)\s*Do(?![^\s/\[\]<>(){}%])")
_OBJECT_NUMBER = re.compile(rb"(\d+)\s+\d+\s+$")
_OBJECT_HEADER = re.compile(rb"(?<![0-9])(\d+)\s+\d+\s+obj\b")
_INDIRECT_RESOURCES = re.compile(rb"/Resources\s*(\d+)\s+\d+\s+R")
_INDIRECT_XOBJECTS = re.compile(rb"/XObject\s*(\d+)\s+\d+\s+R")
_XOBJECT_DICT = re.compile(rb"/XObject\s*<<([^<>]*)>>")
_DICT_BODY = re.compile(rb"^\s*<<([^<>]*)>>")
_REFERENCE = re.compile(rb"/([^\s/\[\]<>()]+)\s*(\d+)\s+\d+\s+R")
_WIDTHS = re.compile(rb"/W2?\s*\[")
_WIDTH_TOKEN = re.compile(rb"\s*(-?\d+(?:\.\d*)?|-?\.\d+|\[|\])")
_RANGE_BEGIN = re.compile(rb"begin(?:bf|cid)range")
_RANGE_END = re.compile(rb"end(?:bf|cid)range")
_RANGE_TOKEN = re.compile(rb"<[0-9A-Fa-f\s]*>|\[|\]|-?\d+")

# Filters PDFium does not apply to read text (image data is decoded only to render).
_IMAGE_FILTERS = frozenset({b"DCTDecode", b"DCT", b"JPXDecode", b"CCITTFaxDecode", b"CCF", b"JBIG2Decode"})
# Dictionaries of streams that are never drawn: font programs, metadata, cross-reference
# and object streams.
_NOT_DRAWN = re.compile(rb"/Length[123]\b|/Subtype\s*/(?!Form\b)|/Type\s*/(?:XRef|ObjStm|Metadata|EmbeddedFile)\b")


@dataclass
class _Form:
    """A form XObject: its decoded size, the XObjects it draws by name (with counts) and
    its resources' names for them (None when they cannot be read from the raw bytes)."""

    size: int
    draws: Counter[bytes]
    names: dict[bytes, int] | None


class Refused(Exception):
    """The screen will not hand the file to PDFium (the message says why)."""


@dataclass
class _Tally:
    """What the screen has seen so far in one file."""

    limits: ExtractLimits
    max_range: int
    max_range_total: int
    total: int = 0
    range_items: int = 0
    most_draws: int = 0  # the most XObjects one drawn stream (not a form) draws
    forms: dict[int, _Form] = field(default_factory=dict)  # by object number

    def stream_cap(self) -> int:
        return min(self.limits.max_member_bytes, _MAX_STREAM)

    def add(self, size: int) -> None:
        self.total += size
        if self.total > min(self.limits.max_total_uncompressed, _MAX_TOTAL):
            raise Refused("streams decode to more than PDFium is given in all")

    def span(self, items: int) -> None:
        self.range_items += items
        if items > self.max_range or self.range_items > self.max_range_total:
            raise Refused("a font or character map spans too many codes")


def _a85(data: bytes) -> bytes:
    """ASCII85 decoding in array operations (base64.a85decode loops in Python)."""
    end = data.find(b"~>")
    body = bytes(data if end < 0 else data[:end]).translate(None, b" \t\r\n\f\0")
    if body.startswith(b"<~"):
        body = body[2:]
    body = body.replace(b"z", b"!!!!!")
    pad = -len(body) % 5
    codes = np.frombuffer(body + b"u" * pad, dtype=np.uint8).astype(np.int64) - 33
    if codes.size and (codes.min() < 0 or codes.max() > 84):
        raise ValueError("not ASCII85")
    groups = codes.reshape(-1, 5) @ np.array([85**4, 85**3, 85**2, 85, 1], dtype=np.int64)
    if groups.size and groups.max() > 0xFFFFFFFF:
        raise ValueError("ASCII85 group out of range")
    out = groups.astype(">u4").tobytes()
    return out[: len(out) - pad]


def _ahx(data: bytes) -> bytes:
    end = data.find(b">")
    body = bytes(data if end < 0 else data[:end]).translate(None, b" \t\r\n\f\0")
    return binascii.unhexlify(body + b"0" * (len(body) % 2))


def _inflate(data: bytes | memoryview, cap: int) -> bytes:
    """One zlib stream from the start of ``data`` (which may run on past its end), up
    to ``cap`` bytes; refused past that, or when damaged (pdfminer salvages those)."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, cap + 1)
    except zlib.error as exc:
        raise Refused(f"a Flate stream cannot be decoded ({exc})") from exc
    if len(out) > cap:
        raise Refused(f"a stream decodes to more than {cap:,} bytes")
    if not inflater.eof:
        raise Refused("a Flate stream is truncated or damaged")
    return out


def _filters(entry: bytes) -> list[bytes]:
    return _NAME.findall(entry)


def _decode(filters: list[bytes], data: memoryview, cap: int) -> bytes | None:
    """The stream's decoded bytes (``data`` runs to its ``endstream``), or None when
    PDFium would not decode it for text."""
    if any(name in _IMAGE_FILTERS for name in filters):
        return None
    out: bytes | memoryview = data
    for name in filters:
        if name in (b"FlateDecode", b"Fl"):
            out = _inflate(out, cap)
        elif name in (b"ASCII85Decode", b"A85"):
            out = _a85(bytes(out))
        elif name in (b"ASCIIHexDecode", b"AHx"):
            out = _ahx(bytes(out))
        else:
            # LZW, RunLength, Crypt and anything unknown: pdfminer's decoders are bounded.
            raise Refused(f"a stream uses the {name.decode('latin-1')} filter")
        if len(out) > cap:
            raise Refused(f"a stream decodes to more than {cap:,} bytes")
    return bytes(out)


def _width_spans(data: bytes) -> Iterator[int]:
    """The code spans of the ``first last width`` entries of /W and /W2 arrays.

    Tokens are read while they follow each other (numbers, brackets, white space), so
    each array is read once, to its end or to the first byte that cannot be in it.
    """
    for match in _WIDTHS.finditer(data):
        numbers: list[float] = []
        depth = 0
        position = match.end()
        while (token := _WIDTH_TOKEN.match(data, position)) is not None:
            position = token.end()
            text = token.group(1)
            if text == b"[":
                depth += 1
                numbers.clear()
            elif text == b"]":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0:
                numbers.append(float(text))
                if len(numbers) == 3:  # c_first c_last w (W2 has two more numbers: harmless)
                    yield max(0, int(numbers[1] - numbers[0]) + 1)
                    numbers.clear()


def _range_sections(data: bytes) -> Iterator[bytes]:
    """The bodies of ``begin(bf|cid)range ... end(bf|cid)range`` sections, in one pass."""
    position = 0
    while (begin := _RANGE_BEGIN.search(data, position)) is not None:
        end = _RANGE_END.search(data, begin.end())
        yield data[begin.end() : end.start() if end else len(data)]
        if end is None:
            return
        position = end.end()


def _range_spans(data: bytes) -> Iterator[int]:
    """The code spans of ``beginbfrange`` / ``begincidrange`` entries of a CMap."""
    for section in _range_sections(data):
        pending: list[int] = []
        skipping = False
        for token in _RANGE_TOKEN.finditer(section):
            text = token.group()
            if skipping:
                skipping = text != b"]"
                continue
            if text == b"[":
                skipping = True
                continue
            if len(pending) == 2:  # the destination of the range
                pending.clear()
                continue
            if text.startswith(b"<"):
                digits = text[1:-1].translate(None, b" \t\r\n\f")
                pending.append(int(digits, 16) if digits else 0)
                if len(pending) == 2:
                    yield max(0, pending[1] - pending[0] + 1)


def _check_text(tally: _Tally, data: bytes) -> None:
    """Width arrays and character-map ranges of a dictionary or decoded stream."""
    if b"/W" in data:
        for span in _width_spans(data):
            tally.span(span)
    if b"range" in data:
        for span in _range_spans(data):
            tally.span(span)


def screen(data: bytes, limits: ExtractLimits, max_range: int, max_range_total: int) -> None:
    """Pass a PDF to PDFium, or raise :class:`Refused` saying why not.

    ``max_range`` and ``max_range_total`` are pdfminer's caps on the codes a font or
    character map may span: a file over them goes to pdfminer, which refuses it.
    """
    if b"/Encrypt" in data:
        # Streams encrypted even with the empty password cannot be screened.
        raise Refused("the file is encrypted")
    tally = _Tally(limits, max_range, max_range_total)
    view = memoryview(data)
    objects = _RawObjects(data)
    _check_text(tally, data)
    # Every "stream" keyword after a dictionary is looked at, also inside other streams'
    # data: skipping to an "endstream" could skip a stream PDFium reads by its /Length.
    for keyword in _STREAM_KEYWORD.finditer(data):
        header = data.rfind(b"obj", max(0, keyword.start() - _DICT_WINDOW), keyword.start())
        entries = data[header + 3 : keyword.start()] if header >= 0 else b""
        if b">>" not in entries:
            continue  # the word "stream" in other data
        if not entries.lstrip().startswith(b"<<") or entries.count(b"/Filter") > 1 or b"#" in entries:
            raise Refused("a stream dictionary that cannot be read unambiguously")
        filter_entry = _FILTER.search(entries)
        if filter_entry is None and b"/Filter" in entries:
            raise Refused("a stream filter given indirectly")
        subtype = _SUBTYPE.search(entries)
        kind = subtype.group(1) if subtype is not None else None
        if kind == b"Image":
            continue
        is_form = kind == b"Form"
        drawn = is_form or _NOT_DRAWN.search(entries) is None
        end = data.find(_ENDSTREAM, keyword.end())
        body = view[keyword.end() : end if end >= 0 else len(data)]
        cap = min(tally.stream_cap(), _MAX_DRAWN) if drawn else tally.stream_cap()
        decoded = _decode(_filters(filter_entry.group(1)) if filter_entry else [], body, cap)
        if decoded is None:
            continue
        tally.add(len(decoded))
        _check_text(tally, decoded)
        draws = Counter(_DRAW_NAME.findall(decoded)) if drawn and b"Do" in decoded else Counter()
        if is_form:
            number = _object_number(data, header)
            if number is None:
                raise Refused("a form XObject without an object number")
            tally.forms[number] = _Form(len(decoded), draws, _xobject_names(entries, objects))
        else:
            tally.most_draws = max(tally.most_draws, sum(draws.values()))
    heaviest = max(_form_weights(tally.forms).values(), default=0)
    if tally.most_draws * heaviest > _MAX_PAGE_FORMS:
        raise Refused("a page draws forms too many times")


def _object_number(data: bytes, header: int) -> int | None:
    match = _OBJECT_NUMBER.search(data, max(0, header - 40), header)
    return int(match.group(1)) if match else None


class _RawObjects:
    """Objects written out in the file (not in object streams), found when first asked."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._starts: dict[int, int] | None = None

    def body(self, number: int) -> bytes | None:
        if self._starts is None:
            # The last definition wins, as in an incrementally updated file.
            self._starts = {int(m.group(1)): m.end() for m in _OBJECT_HEADER.finditer(self.data)}
        start = self._starts.get(number)
        if start is None:
            return None
        end = self.data.find(b"endobj", start)
        return self.data[start : end if end >= 0 else len(self.data)][:_DICT_WINDOW]


def _xobject_names(entries: bytes, objects: _RawObjects) -> dict[bytes, int] | None:
    """A form's XObject resources, name -> object number, read from its dictionary (or
    the raw objects it refers to); None when they cannot be read that way."""
    resources: bytes | None = entries
    indirect = _INDIRECT_RESOURCES.search(entries)
    if indirect is not None:
        resources = objects.body(int(indirect.group(1)))
    elif b"/Resources" not in entries:
        return {}
    if resources is None:
        return None
    indirect = _INDIRECT_XOBJECTS.search(resources)
    if indirect is not None:
        resources = objects.body(int(indirect.group(1)))
        if resources is None:
            return None
        inline = _DICT_BODY.search(resources)
    else:
        inline = _XOBJECT_DICT.search(resources)
        if inline is None:
            return None if b"/XObject" in resources else {}
    if inline is None:
        return None
    return {name: int(number) for name, number in _REFERENCE.findall(inline.group(1))}


def _form_weights(forms: dict[int, _Form]) -> dict[int, int]:
    """What drawing each form once costs PDFium, in decoded bytes: its own content plus,
    for every form it draws, that form's weight as many times as it draws it.

    Raises:
        Refused: forms drawing each other in a cycle (PDFium redraws them down to its
            nesting limit), a form whose drawn XObjects cannot be named, or a weight over
            the bound.
    """
    weights: dict[int, int] = {}
    active: set[int] = set()

    def weigh(number: int) -> int:
        if number in weights:
            return weights[number]
        if number in active:
            raise Refused("forms draw each other in a cycle")
        active.add(number)
        form = forms[number]
        weight = form.size
        for name, count in form.draws.items():
            if form.names is None:
                raise Refused("a form draws XObjects its resources do not name in the raw file")
            target = form.names.get(name)
            if target is not None and target in forms:
                weight += count * weigh(target)
                if weight > _MAX_PAGE_FORMS:
                    raise Refused("forms drawing forms draw too much")
        active.discard(number)
        weights[number] = weight
        return weight

    for number in forms:
        weigh(number)
    return weights


# --- extraction ---------------------------------------------------------------------------

# PDFium is not thread-safe: one document at a time per process.
LOCK = threading.Lock()
_ERR_PASSWORD = 4
_ERR_SECURITY = 5


def engine_build() -> str:
    """PDFium's build number: part of the extractor version, since a new PDFium can
    give different text."""
    from pypdfium2.version import PDFIUM_INFO

    return str(PDFIUM_INFO.build)


class Unreadable(Exception):
    """PDFium cannot open or read the file (pdfminer.six gets a try)."""


def _page_text(raw: str) -> str:
    """PDFium's page text with pdfminer's line ends: CR LF is LF; a form feed inside a
    page would read as a page break, and U+FFFE marks a hyphen where PDFium joined the
    two halves of a word broken across lines."""
    return raw.replace("\r\n", "\n").replace("\r", "\n").replace("\f", " ").replace("\ufffe", "-")


def page_texts(data: bytes, limits: ExtractLimits, max_page_items: int) -> list[str]:
    """The text of each page of a PDF through PDFium.

    Raises:
        ExtractionError: ``encrypted`` (a password is needed), ``too-large`` (over the
            page limit, or a page drawing more than ``max_page_items`` glyphs and objects).
        Unreadable: PDFium cannot open the file or one of its pages.
    """
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    with LOCK:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            code = getattr(exc, "err_code", None)
            if code == _ERR_PASSWORD:
                raise ExtractionError(Status.ENCRYPTED, "PDF is password-protected") from exc
            if code == _ERR_SECURITY:
                raise ExtractionError(Status.ENCRYPTED, "PDF is encrypted in a way that cannot be opened") from exc
            raise Unreadable(str(exc)) from exc
        try:
            count = len(document)
            if count > limits.max_pdf_pages:
                raise ExtractionError(Status.TOO_LARGE, f"PDF has more than {limits.max_pdf_pages:,} pages (the limit)")
            texts: list[str] = []
            for index in range(count):
                try:
                    page = document[index]
                except pdfium.PdfiumError as exc:
                    raise Unreadable(f"page {index + 1}: {exc}") from exc
                try:
                    textpage = page.get_textpage()
                    try:
                        drawn = textpage.count_chars() + pdfium_c.FPDFPage_CountObjects(page.raw)
                        if drawn > max_page_items:
                            raise ExtractionError(
                                Status.TOO_LARGE,
                                f"a PDF page draws more than {max_page_items:,} glyphs, paths, images and forms",
                            )
                        texts.append(_page_text(textpage.get_text_range()))
                    finally:
                        textpage.close()
                finally:
                    page.close()
            return texts
        finally:
            document.close()
