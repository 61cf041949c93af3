"""RTF: the text of a Rich Text Format document, by a tokenizer and a group-state parser.

The reader follows the RTF 1.9.1 specification: control words (``\\word-123``), control
symbols, groups (``{...}``) each with the state it inherits (destination skipped or not,
Unicode fallback count ``\\ucN``, font), and the ways text is written: plain bytes and
``\\'hh`` escapes in the document's code page (``\\ansicpgN``, or the font's
``\\fcharsetN``: Cyrillic text in a ``\\fcharset204`` font is cp1251; double-byte code
pages are decoded a byte pair at a time), and ``\\uN`` Unicode characters whose ``N``
fallback characters are skipped (surrogate pairs joined). ``\\par``, ``\\line``,
``\\row``, ``\\page`` and ``\\sect`` end lines; ``\\tab`` and ``\\cell`` are tabs.
Destinations that are not text are skipped whole: font, colour, style, list and
revision tables, document information, pictures and object data, field instructions,
shape properties, and every ``{\\*\\...}`` group; ``\\binN`` data is jumped over. Hidden
text (``\\v``) is kept: it is in the file.

No maintained library fits: striprtf is a regular expression over the whole file;
rtfparse decodes from the first 48 bytes' code page only, recurses per group, renders
only HTML, and on any error logs it and returns an empty document (a file read as
empty is a file reported clean); RTFDE is for HTML encapsulated in Outlook messages.

A document whose groups are not all closed at its end is truncated or damaged (the rest
of it may be hidden in an open group): ``parse-error``.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, replace
from pathlib import Path

from leakwatch.config import ExtractLimits
from leakwatch.extract.base import Extractor
from leakwatch.model import ExtractedText, ExtractionError, Status

MAGIC = b"{\\rtf"

_TOKEN = re.compile(
    rb"\\([a-zA-Z]{1,32})(-?[0-9]{1,10})? ?"  # control word, parameter, its delimiter
    rb"|\\'([0-9a-fA-F]{2})"  # a byte in the code page
    rb"|\\(.)"  # control symbol
    rb"|([{}])"
    rb"|[\r\n]+"  # line ends in the file are not text
    rb"|([^\\{}\r\n]+)",  # text
    re.DOTALL,
)

# Destinations whose text is not the document's.
SKIPPED = frozenset({
    b"fonttbl", b"colortbl", b"stylesheet", b"info", b"pict", b"object", b"objdata", b"objclass", b"fldinst",
    b"listtable", b"listoverridetable", b"revtbl", b"rsidtbl", b"generator", b"xmlnstbl", b"themedata",
    b"colorschememapping", b"datastore", b"latentstyles", b"pgdsctbl", b"filetbl", b"datafield", b"docvar",
    b"sp", b"nonshppict", b"bkmkstart", b"bkmkend", b"template", b"protusertbl", b"userprops", b"header_info",
    b"mmathPr", b"wgrffmtfilter", b"passwordhash", b"ftnsep", b"ftnsepc", b"aftnsep", b"aftnsepc",
})
_LINE_ENDS = frozenset({b"par", b"line", b"row", b"page", b"sect", b"softline"})
_TABS = frozenset({b"tab", b"cell", b"nestcell"})
_WORD_CHARACTERS = {
    b"emdash": "\u2014", b"endash": "\u2013", b"bullet": "\u2022", b"lquote": "\u2018", b"rquote": "\u2019",
    b"ldblquote": "\u201c", b"rdblquote": "\u201d", b"emspace": " ", b"enspace": " ", b"qmspace": " ",
    b"zwnj": "", b"zwj": "", b"ltrmark": "", b"rtlmark": "",
}
_SYMBOLS = {b"\\": "\\", b"{": "{", b"}": "}", b"~": "\u00a0", b"-": "", b"_": "\u2011", b"\n": "\n",
            b"\r": "\n", b"\t": "\t"}
# \fcharset values and their Windows code pages (2, symbol, has none: cp1252 stands in).
_CHARSETS = {0: 1252, 1: 1252, 2: 1252, 77: 10000, 128: 932, 129: 949, 130: 1361, 134: 936, 136: 950,
             161: 1253, 162: 1254, 163: 1258, 177: 1255, 178: 1256, 186: 1257, 204: 1251, 222: 874,
             238: 1250, 254: 437, 255: 850}
_CODEPAGE_NAMES = {10000: "mac_roman", 1361: "johab", 65001: "utf-8"}
# Deeper nesting than any writer produces: a file of braces is refused, not stacked.
MAX_DEPTH = 100_000


@dataclass(frozen=True)
class _Group:
    """What a group inherits from the one around it."""

    skip: bool = False
    uc: int = 1  # fallback characters after each \uN
    codepage: int | None = None  # of the current font; None: the document's
    in_fonttbl: bool = False


def _codec(codepage: int) -> str:
    name = _CODEPAGE_NAMES.get(codepage, f"cp{codepage}")
    try:
        codecs.lookup(name)
    except LookupError:
        return "cp1252"
    return name


class _Reader:
    """One pass over the tokens, building the text."""

    def __init__(self, data: bytes, limits: ExtractLimits) -> None:
        self.data = data
        self.limit = limits.max_text_chars
        self.out: list[str] = []
        self.size = 0
        self.pending = bytearray()  # \'hh bytes not decoded yet (double-byte code pages)
        self.pending_codepage = 1252
        self.document_codepage = 1252
        self.fonts: dict[int, int] = {}  # font number -> code page
        self.font_being_defined: int | None = None
        self.skip_fallback = 0

    def emit(self, text: str) -> None:
        if not text:
            return
        self.size += len(text)
        if self.size > self.limit:
            raise ExtractionError(Status.TOO_LARGE, f"extracted text is over the limit of {self.limit:,} characters")
        if self.out and self.out[-1] and "\ud800" <= self.out[-1][-1] <= "\udbff" and "\udc00" <= text[0] <= "\udfff":
            pair = (self.out[-1][-1] + text[0]).encode("utf-16-le", "surrogatepass").decode("utf-16-le")
            self.out[-1] = self.out[-1][:-1] + pair
            text = text[1:]
        self.out.append(text)

    def flush(self) -> None:
        if self.pending:
            self.emit(bytes(self.pending).decode(_codec(self.pending_codepage), "replace"))
            self.pending.clear()

    def codepage(self, group: _Group) -> int:
        return group.codepage if group.codepage is not None else self.document_codepage

    def text(self, raw: bytes, group: _Group) -> None:
        if self.skip_fallback:
            dropped = min(self.skip_fallback, len(raw))
            self.skip_fallback -= dropped
            raw = raw[dropped:]
        if raw and not group.skip:
            self.flush()
            self.emit(raw.decode(_codec(self.codepage(group)), "replace"))

    def byte(self, value: int, group: _Group) -> None:
        if self.skip_fallback:
            self.skip_fallback -= 1
            return
        if group.skip:
            return
        codepage = self.codepage(group)
        if self.pending and codepage != self.pending_codepage:
            self.flush()
        self.pending_codepage = codepage
        self.pending.append(value)

    def control(self, word: bytes, parameter: int | None, group: _Group, starred: bool, first: bool) -> _Group:
        """Act on a control word; returns the group's new state."""
        if first and (starred or word in SKIPPED):
            if word == b"fonttbl":
                return replace(group, skip=True, in_fonttbl=True)
            return replace(group, skip=True)
        if group.in_fonttbl:
            if word == b"f" and parameter is not None:
                self.font_being_defined = parameter
            elif word == b"fcharset" and parameter is not None and self.font_being_defined is not None:
                self.fonts[self.font_being_defined] = _CHARSETS.get(parameter, 1252)
            elif word == b"cpg" and parameter is not None and self.font_being_defined is not None:
                self.fonts[self.font_being_defined] = parameter
            return group
        if word == b"uc" and parameter is not None:
            return replace(group, uc=max(0, min(parameter, 16)))
        if word == b"u" and parameter is not None:
            if not group.skip:
                self.flush()
                self.emit(chr(parameter % 0x10000) if -0x8000 <= parameter <= 0xFFFF else "\ufffd")
            self.skip_fallback = group.uc
            return group
        self.skip_fallback = 0
        if word == b"ansicpg" and parameter is not None and parameter > 0:
            self.document_codepage = parameter
        elif word in (b"mac", b"pc", b"pca"):
            self.document_codepage = {b"mac": 10000, b"pc": 437, b"pca": 850}[word]
        elif word == b"f" and parameter is not None:
            return replace(group, codepage=self.fonts.get(parameter))
        elif not group.skip:
            if word in _LINE_ENDS:
                self.flush()
                self.emit("\n")
            elif word in _TABS:
                self.flush()
                self.emit("\t")
            elif word in _WORD_CHARACTERS:
                self.flush()
                self.emit(_WORD_CHARACTERS[word])
        return group

    def read(self) -> str:
        data = self.data
        stack: list[_Group] = []
        group = _Group()
        position = 0
        first = False  # the next token is the first in its group (a destination's name)
        starred = False
        while position < len(data):
            match = _TOKEN.match(data, position)
            if match is None:  # a lone backslash at the very end
                break
            position = match.end()
            word, parameter, hex_byte, symbol, brace, text = match.groups()
            if word is not None:
                number = int(parameter) if parameter is not None else None
                if word == b"bin" and number is not None:
                    position += max(0, number)  # raw binary data
                else:
                    group = self.control(word, number, group, starred, first)
                first = starred = False
            elif hex_byte is not None:
                self.byte(int(hex_byte, 16), group)
                first = False
            elif symbol is not None:
                if symbol == b"*":
                    starred = first
                    continue
                if self.skip_fallback:
                    self.skip_fallback -= 1
                elif not group.skip and symbol in _SYMBOLS:
                    self.flush()
                    self.emit(_SYMBOLS[symbol])
                first = False
            elif brace == b"{":
                self.flush()
                stack.append(group)
                if len(stack) > MAX_DEPTH:
                    raise ExtractionError(Status.PARSE_ERROR, f"RTF groups nested more than {MAX_DEPTH:,} deep")
                first, starred, self.skip_fallback = True, False, 0
            elif brace == b"}":
                self.flush()
                if stack:
                    group = stack.pop()
                first, starred, self.skip_fallback = False, False, 0
            elif text is not None:
                self.text(text, group)
                first = False
        self.flush()
        if stack:
            raise ExtractionError(Status.PARSE_ERROR,
                                  f"RTF truncated or damaged: {len(stack):,} group(s) never closed")
        return "".join(self.out)


def is_rtf(head: bytes) -> bool:
    """True for the head of an RTF file (after a byte-order mark or blank space, if any)."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(MAGIC)


def rtf_text(data: bytes, limits: ExtractLimits) -> str:
    """The text of an RTF document.

    Raises:
        ExtractionError: ``parse-error`` for a file that is not RTF or is truncated,
            ``too-large`` past the text limit.
    """
    if not is_rtf(data[:64]):
        raise ExtractionError(Status.PARSE_ERROR, "not an RTF document (no {\\rtf header)")
    return _Reader(data[data.find(MAGIC):], limits).read()


class RtfExtractor(Extractor):
    """Rich Text Format documents (no pages)."""

    name = "rtf"

    def extract(self, path: Path, data: bytes, limits: ExtractLimits) -> ExtractedText:
        return self.result(rtf_text(data, limits), limits)
