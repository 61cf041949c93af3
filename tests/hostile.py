"""Builders of hostile files: bombs, deep nesting, loops, huge lines, odd encodings,
binaries in disguise, undecodable names, encrypted packages.

Used by tests/test_hostile_files.py (one test per hostile file) and by
benchmarks/hostile_set.py (the same files written to a folder for a corpus run).
Every builder is deterministic: the same call gives the same bytes.
"""

from __future__ import annotations

import codecs
import io
import random
import re
import struct
import zipfile
import zlib
from collections.abc import Callable

import docx
import openpyxl
import pptx
from reportlab.lib.pagesizes import letter
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.pdfgen.canvas import Canvas

MiB = 1024 * 1024
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
P = "http://schemas.openxmlformats.org/presentationml/2006/main"
S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


# --- Office zip packages ----------------------------------------------------------------


def saved(document: object) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)  # type: ignore[attr-defined]
    return buffer.getvalue()


def small_docx(text: str = "Opening paragraph of the report") -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    document.sections[0].footer.paragraphs[0].text = "Footer text"
    return saved(document)


def small_pptx() -> bytes:
    return saved(pptx.Presentation())


def small_xlsx() -> bytes:
    """An empty workbook, the same bytes on every call but for zip member times
    (openpyxl stamps its properties with the time of saving; they are fixed here)."""
    package = saved(openpyxl.Workbook())
    with zipfile.ZipFile(io.BytesIO(package)) as source:
        core = source.read("docProps/core.xml")
    core = re.sub(rb"(<dcterms:(created|modified)\b[^>]*>)[^<]*", rb"\g<1>2000-01-01T00:00:00Z", core)
    return replace_members(package, {"docProps/core.xml": core})


def replace_members(package: bytes, members: dict[str, bytes | Callable[[zipfile.ZipFile], None]]) -> bytes:
    """``package`` with members replaced or added; a callable writes its own member."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename not in members:
                target.writestr(info.filename, source.read(info))
        for name, content in members.items():
            if callable(content):
                content(target)
            else:
                target.writestr(name, content)
    return out.getvalue()


def stored(name: str, content: bytes) -> Callable[[zipfile.ZipFile], None]:
    """A member written uncompressed (repetitive XML would otherwise trip the ratio cap)."""

    def write(package: zipfile.ZipFile) -> None:
        package.writestr(name, content, compress_type=zipfile.ZIP_STORED)

    return write


def zeros_member(name: str, size: int) -> Callable[[zipfile.ZipFile], None]:
    def write(package: zipfile.ZipFile) -> None:
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with package.open(info, "w", force_zip64=True) as member:
            for _ in range(size // MiB):
                member.write(b"\0" * MiB)

    return write


def docx_zip_bomb(part: str = "word/document.xml", size: int = 90 * MiB) -> bytes:
    """A DOCX whose ``part`` is ``size`` bytes of zeros (about 1,000:1 compressed)."""
    return replace_members(small_docx(), {part: zeros_member(part, size)})


def declare_size(package: bytes, name: str, size: int) -> bytes:
    """Rewrite one member's uncompressed size in the central directory (a lying header)."""
    patched = bytearray(package)
    encoded = name.encode()
    central = patched.find(b"PK\x01\x02")
    while patched[central + 46 : central + 46 + len(encoded)] != encoded:
        central = patched.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", patched, central + 24, size)
    return bytes(patched)


def oversized_sheet_xlsx(size: int = 150 * MiB) -> bytes:
    """An XLSX whose first sheet declares ``size`` bytes (it holds a few hundred)."""
    return declare_size(small_xlsx(), "xl/worksheets/sheet1.xml", size)


def shared_strings_xlsx(count: int = 20_000, seed: int = 3) -> bytes:
    """An XLSX with ``count`` distinct 100-character shared strings (2 MB that compress
    only about 2:1; openpyxl writes inline strings, so the part is added by hand and
    found by its default name)."""
    rng = random.Random(seed)
    items = "".join(f"<si><t>{rng.randbytes(50).hex()}</t></si>" for _ in range(count))
    strings = f'<sst xmlns="{S}" count="{count}">{items}</sst>'.encode()
    return replace_members(small_xlsx(), {"xl/sharedStrings.xml": strings})


def many_members_pptx(count: int = 20_000) -> bytes:
    """A PPTX padded with ``count`` empty members."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(small_pptx())) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
        for number in range(count):
            target.writestr(f"ppt/media/padding{number}.bin", b"")
    return out.getvalue()


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">' for n in range(1, 10))
    + "]>"
)

# Billion-laughs entity expansion in each streamed part: id -> (file name, base
# package, part, the part's root element using &lol9;).
ENTITY_BOMBS: dict[str, tuple[str, Callable[[], bytes], str, str]] = {
    "docx-footer": ("r.docx", small_docx, "word/footer1.xml",
                    f'<w:ftr xmlns:w="{W}"><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:ftr>'),
    "pptx-slide": ("d.pptx", small_pptx, "ppt/slides/slide1.xml",
                   f'<p:sld xmlns:p="{P}" xmlns:a="{A}"><a:p><a:r><a:t>&lol9;</a:t></a:r></a:p></p:sld>'),
    "xlsx-shared-strings": ("b.xlsx", small_xlsx, "xl/sharedStrings.xml",
                            f'<sst xmlns="{S}"><si><t>&lol9;</t></si></sst>'),
    "xlsx-sheet": ("b.xlsx", small_xlsx, "xl/worksheets/sheet1.xml",
                   f'<worksheet xmlns="{S}"><sheetData><row><c t="inlineStr"><is><t>&lol9;</t></is></c></row>'
                   "</sheetData></worksheet>"),
}


def entity_bomb(make: Callable[[], bytes], part: str, root: str) -> bytes:
    return replace_members(make(), {part: (LAUGHS + root).encode()})


def nested_docx(depth: int) -> bytes:
    """Paragraphs nested ``depth`` deep (far past Python's recursion limit)."""
    body = "<w:p><w:r><w:t>x</w:t></w:r>" * depth + "</w:p>" * depth
    document = f'<w:document xmlns:w="{W}"><w:body><w:sdt>{body}</w:sdt></w:body></w:document>'
    return replace_members(small_docx(), {"word/document.xml": stored("word/document.xml", document.encode())})


def nested_xlsx(depth: int = 200_000) -> bytes:
    """One cell ("cell"), then unknown elements nested ``depth`` deep."""
    sheet = (f'<worksheet xmlns="{S}"><sheetData><row><c t="inlineStr"><is><t>cell</t></is></c></row>'
             + "<x>" * depth + "</x>" * depth + "</sheetData></worksheet>")
    part = "xl/worksheets/sheet1.xml"
    return replace_members(small_xlsx(), {part: stored(part, sheet.encode())})


# --- PDF built by hand ------------------------------------------------------------------

TEXT_OPS = b"BT /F1 12 Tf 72 720 Td (Hello from the page) Tj ET\n"
HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def pdf_file(objects: list[bytes], trailer: bytes = b"") -> bytes:
    """A PDF of ``objects`` (object 1 is the catalog), with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref)
    return bytes(out)


def stream(data: bytes, entries: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n" % (len(data), entries) + data + b"\nendstream"


def one_page_pdf(contents: bytes, resources: bytes = b"/Font << /F1 5 0 R >>", extra: list[bytes] | None = None,
                 page_entries: bytes = b"", trailer: bytes = b"") -> bytes:
    """Catalog 1, pages 2, page 3 (contents ``contents``), object 4 a text stream,
    object 5 Helvetica, then ``extra`` objects from 6 on."""
    return pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %s /Resources << %s >> %s>>"
            % (contents, resources, page_entries),
            stream(TEXT_OPS),
            HELVETICA,
            *(extra or []),
        ],
        trailer,
    )


def zeros_deflated(size: int) -> bytes:
    """A valid zlib stream of ``size`` zero bytes (a multiple of 1 MiB) without
    compressing them all: after a full flush the compressor starts afresh, so every
    further MiB of zeros compresses to the same bytes, and the block is repeated."""
    compressor = zlib.compressobj(9)
    first = compressor.compress(b"\0" * MiB) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(b"\0" * MiB) + compressor.flush(zlib.Z_FULL_FLUSH)
    adler = ((size % 65521) << 16) | 1  # Adler-32 of zeros: a stays 1, b counts the bytes
    return first + block * (size // MiB - 1) + b"\x03\x00" + adler.to_bytes(4, "big")


def stream_bomb_pdf(size: int) -> bytes:
    """A page whose content stream is TEXT_OPS followed by ``size`` bytes of zeros."""
    compressor = zlib.compressobj(9)
    head = compressor.compress(TEXT_OPS) + compressor.flush(zlib.Z_FULL_FLUSH)
    body = zeros_deflated(size)[2:-6]  # the raw deflate blocks of the zeros
    adler = zlib.adler32(TEXT_OPS)
    b = ((adler >> 16) + size * (adler & 0xFFFF)) % 65521  # appending zeros: b grows by a per byte
    data = head + body + b"\x03\x00" + ((b << 16) | (adler & 0xFFFF)).to_bytes(4, "big")
    return one_page_pdf(b"6 0 R", extra=[stream(data, b"/Filter /FlateDecode")])


def double_flate_pdf(size: int = 1024 * MiB) -> bytes:
    """Two FlateDecode filters: a few KB of stream -> about size/1000 -> ``size`` zeros."""
    inner = zeros_deflated(size)
    return one_page_pdf(b"6 0 R", extra=[stream(zlib.compress(inner, 9), b"/Filter [/FlateDecode /FlateDecode]")])


def runlength_bomb_pdf(runs: int = 100_000) -> bytes:
    """Each two-byte run "\\x81\\x00" stands for 128 zeros: 128 times ``runs`` bytes out."""
    return one_page_pdf(b"6 0 R", extra=[stream(b"\x81\x00" * runs + b"\x80", b"/Filter /RunLengthDecode")])


def many_streams_pdf(count: int = 4, size: int = 200 * 1024) -> bytes:
    """The page's text stream and ``count`` streams of ``size`` zeros each."""
    parts = [stream(zlib.compress(b"\0" * size), b"/Filter /FlateDecode") for _ in range(count)]
    contents = b"[4 0 R " + b" ".join(b"%d 0 R" % (6 + n) for n in range(count)) + b"]"
    return one_page_pdf(contents, extra=parts)


def damaged_flate_pdf(seed: int = 11) -> bytes:
    """A content stream of over 1 MB whose zlib checksum is wrong (pdfminer's salvage path)."""
    rng = random.Random(seed)
    comments = b"".join(b"%% note %x\n" % rng.getrandbits(64) for _ in range(100_000))
    damaged = zlib.compress(TEXT_OPS + comments)[:-4] + b"\0\0\0\0"
    return one_page_pdf(b"6 0 R", extra=[stream(damaged, b"/Filter /FlateDecode")])


# 100,000 levels of nesting: id -> (where, the nested bytes).
PDF_NESTING: dict[str, tuple[str, bytes]] = {
    "content-arrays": ("content", b"[" * 100_000),
    "content-dicts": ("content", b"<<" * 100_000),
    "content-closed": ("content", b"[" * 100_000 + b"]" * 100_000),
    "page-arrays": ("page", b"[" * 100_000),
    "page-dicts": ("page", b"<< /A " * 50_000),
    "object-closed": ("object", b"[" * 100_000 + b"]" * 100_000),
    "trailer": ("trailer", b"<<" * 100_000),
}


def nested_pdf(where: str, nesting: bytes) -> bytes:
    """``nesting`` in the page's content stream, the page dictionary, an object of its
    own, or the trailer."""
    if where == "content":
        return one_page_pdf(b"6 0 R", extra=[stream(TEXT_OPS + nesting + b" Tj\n")])
    if where == "page":
        return one_page_pdf(b"4 0 R", page_entries=b"/Junk " + nesting)
    if where == "object":
        return one_page_pdf(b"4 0 R", page_entries=b"/Annots 6 0 R", extra=[nesting])
    return one_page_pdf(b"4 0 R", trailer=b"/Junk " + nesting)


def scattered_glyphs(count: int, seed: int = 5) -> bytes:
    """One letter-size page with ``count`` single 6-point letters at random positions."""
    rng = random.Random(seed)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=letter)
    canvas.setFont("Helvetica", 6)
    for _ in range(count):
        canvas.drawString(rng.uniform(0, 600), rng.uniform(0, 780), rng.choice("abcdefghijklmnopqrstuvwxyz"))
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def type0_font(descendant: bytes) -> list[bytes]:
    return [
        b"<< /Type /Font /Subtype /Type0 /BaseFont /Hostile /Encoding /Identity-H /DescendantFonts [7 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Hostile /CIDSystemInfo"
        b" << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> " + descendant + b" >>",
    ]


# Font objects (6 and 7) with ranges that would fill memory or take minutes: id -> objects.
FONT_BOMBS: dict[str, list[bytes]] = {
    # A width range over all 32-bit codes: 4 billion dictionary entries.
    "W-array": type0_font(b"/W [0 4294967295 500]"),
    # A ToUnicode map with one range over all 32-bit codes.
    "ToUnicode-range": [HELVETICA[:-2] + b" /ToUnicode 7 0 R >>",
                        stream(b"begincmap 1 beginbfrange <00000000> <FFFFFFFF> <0041> endbfrange endcmap")],
    # Many full 16-bit ranges: each fine, together minutes of work.
    "ToUnicode-many-ranges": [HELVETICA[:-2] + b" /ToUnicode 7 0 R >>",
                              stream(b"begincmap " + b"1 beginbfrange <0000> <FFFF> <0041> endbfrange\n" * 8
                                     + b"endcmap")],
}


def font_bomb_pdf(font: list[bytes]) -> bytes:
    return one_page_pdf(b"4 0 R", resources=b"/Font << /F1 6 0 R >>", extra=font)


def form(content: bytes, xobjects: bytes = b"") -> bytes:
    return stream(content, b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >>"
                  b" /XObject << %s >> >>" % xobjects)


def form_fanout_pdf(levels: int = 8) -> bytes:
    """``levels`` levels of forms, each drawing the next ten times (10^8 drawings from
    3 KB at 8 levels). Object 6 is the page content, forms are objects 7 on; form 7 + n
    draws 8 + n."""
    forms = [form(TEXT_OPS + b"/X Do " * 10, b"/X %d 0 R" % (8 + level)) for level in range(levels)]
    return one_page_pdf(b"6 0 R", resources=b"/Font << /F1 5 0 R >> /XObject << /X 7 0 R >>",
                        extra=[stream(b"/X Do\n"), *forms, form(TEXT_OPS)])


def self_drawing_form_pdf() -> bytes:
    """A form XObject that draws itself."""
    return one_page_pdf(b"6 0 R", resources=b"/Font << /F1 5 0 R >> /XObject << /X 7 0 R >>",
                        extra=[stream(b"/X Do\n"), form(TEXT_OPS + b"/X Do\n", b"/X 7 0 R")])


def glyph_flood_pdf(lines: int = 100_000) -> bytes:
    """A compressed content stream drawing ten glyphs per line, ``lines`` lines (a
    million glyphs from 6 KB by default)."""
    ops = b"BT /F1 1 Tf " + b"(abcdefghij) Tj 0 1 Td\n" * lines + b"ET"
    return one_page_pdf(b"6 0 R", extra=[stream(zlib.compress(ops, 9), b"/Filter /FlateDecode")])


def page_tree_loop_pdf() -> bytes:
    """A page tree whose root lists itself among its kids (twice)."""
    return pdf_file([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R 2 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        stream(TEXT_OPS),
        HELVETICA,
    ])


def encrypted_pdf(strength: int) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, encrypt=StandardEncryption("user-secret", ownerPassword="owner", strength=strength))
    canvas.drawString(72, 720, "Merger terms agreed with the supplier")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def broken_encryption_pdf() -> bytes:
    """An encrypted PDF whose encryption dictionary names no known filter."""
    return encrypted_pdf(128).replace(b"/Filter /Standard", b"/Filter 12345678")


# --- text files -------------------------------------------------------------------------

UTF16 = {
    "utf-16-le": b"",
    "utf-16-be": b"",
    "utf-16-le+bom": codecs.BOM_UTF16_LE,
    "utf-16-be+bom": codecs.BOM_UTF16_BE,
}
UTF16_TEXTS = {
    ".txt": "Grüße aus Köln: the figures are confidential.\r\nSecond line.\r\n",
    ".md": "# Bericht\n\nDie Zahlen sind vertraulich, café crème.\n",
    ".csv": "name;preis\r\nWidget;12,50 €\r\n",
    ".py": "def größe() -> int:\r\n    return 42  # Köln\r\n",
    ".json": '{"stadt": "Köln", "zahlen": [1, 2, 3]}',
}


def utf16(variant: str, text: str) -> bytes:
    """``text`` in a variant of UTF16 (byte order, with or without a BOM)."""
    return UTF16[variant] + text.encode(variant.split("+")[0])


def plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("readme.txt", "hello")
        package.writestr("src/main.py", "print('hi')")
    return out.getvalue()


# Image signatures followed by junk: read as images (whatever the extension), parse-error.
BROKEN_IMAGES = {
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8,
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8,
}

BINARIES = {
    "elf": b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x03\x00>\x00" + bytes(range(256)) * 8,
    "pe": b"MZ\x90\x00\x03\x00\x00\x00" + bytes(range(256)) * 8,
    "mach-o": b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + bytes(range(256)) * 8,
    "java-class": b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + bytes(range(256)) * 8,
    "wasm": b"\x00asm\x01\x00\x00\x00" + bytes(range(256)) * 8,
    "sqlite": b"SQLite format 3\x00\x10\x00\x01\x01" + bytes(range(256)) * 8,
    "gzip": b"\x1f\x8b\x08\x00" + zlib.compress(b"hello" * 1000),
    "zip": plain_zip(),
}

# File names that are not valid UTF-8.
UNDECODABLE_NAMES = [b"r\xe9sum\xe9.txt", b"\xff\xfe.md", b"bad\x80name.py", b"notes.t\xffxt",
                     b"\xed\xa0\x80surrogate.csv", b"x" * 200 + b"\xc3.txt"]

# Thousands of open brackets: once a RecursionError out of JSON sniffing.
OPEN_BRACKETS = b"[" * 9000 + b" and some words"

# Constructs that never terminate (quadratic in Python's HTML parser before its fix).
UNTERMINATED = ["<!--", "<a b='", "x<y and ", "<a\n", "<a/", "<!--x>", "<a b='>'c", "</a b='>'c", "<![CDATA[x>"]


def unterminated_page(pattern: str, size: int = 200_000) -> str:
    return "<html><body><p>Visible words</p>" + pattern * (size // len(pattern))


# --- OLE compound files (legacy and encrypted Office) -----------------------------------

SECTOR = 512
END_OF_CHAIN, FREE_SECTOR, FAT_SECTOR, NO_STREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def directory_entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
    encoded = (name + "\0").encode("utf-16-le")
    return (encoded.ljust(64, b"\0") + struct.pack("<HBB", len(encoded), kind, 1)
            + struct.pack("<III", NO_STREAM, right, child) + b"\0" * 36 + struct.pack("<IQ", start, size))


def ole_file(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE compound file (CFB version 3) holding ``streams`` in its root
    storage: one FAT sector, one directory sector, then each stream in regular sectors
    (padded to 4 KiB, the mini-stream cutoff, so no mini stream is needed)."""
    assert len(streams) <= 3
    # Siblings in ascending CFB order (by length, then upper case) as a chain of right siblings.
    names = sorted(streams, key=lambda n: (len(n), n.upper()))
    contents = [streams[n].ljust(4096, b"\0") for n in names]
    fat = [FAT_SECTOR, END_OF_CHAIN]
    starts = []
    for content in contents:
        starts.append(len(fat))
        count = len(content) // SECTOR + (len(content) % SECTOR > 0)
        fat += [len(fat) + i + 1 for i in range(count - 1)] + [END_OF_CHAIN]
    assert len(fat) <= SECTOR // 4
    entries = directory_entry("Root Entry", 5, 1, NO_STREAM, END_OF_CHAIN, 0)
    for number, (name, content) in enumerate(zip(names, contents, strict=True), 1):
        right = number + 1 if number < len(names) else NO_STREAM
        entries += directory_entry(name, 2, NO_STREAM, right, starts[number - 1], len(content))
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, END_OF_CHAIN, 0, END_OF_CHAIN, 0)
        + struct.pack("<109I", 0, *[FREE_SECTOR] * 108)
    )
    assert len(header) == SECTOR
    fat_sector = struct.pack(f"<{SECTOR // 4}I", *fat, *[FREE_SECTOR] * (SECTOR // 4 - len(fat)))
    directory = entries.ljust(SECTOR, b"\0")
    return header + fat_sector + directory + b"".join(c.ljust(-(-len(c) // SECTOR) * SECTOR, b"\0") for c in contents)


def encrypted_office_file() -> bytes:
    """What Office saves for a password-protected DOCX/XLSX/PPTX: an OLE file with an
    EncryptionInfo stream (agile encryption, version 4.4) and an EncryptedPackage."""
    info = struct.pack("<HHI", 4, 4, 0x40) + b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><encryption/>'
    package = struct.pack("<Q", 20_000) + random.Random(1).randbytes(20_000)
    return ole_file({"EncryptionInfo": info, "EncryptedPackage": package})


def legacy_office_file() -> bytes:
    """A pre-2007 Word file (an OLE file with a WordDocument stream)."""
    return ole_file({"WordDocument": b"\xec\xa5" + b"\0" * 100, "1Table": b"\0" * 100})


# --- formats of issue 19: images, RTF, OpenDocument, EPUB, legacy Office ------------------

def pixel_bomb_png(side: int = 30_000) -> bytes:
    """A one-bit PNG of side x side white pixels: a few KB, gigabytes decoded."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (side, side), 1).save(out, "PNG", optimize=True)
    return out.getvalue()


def many_frames_tiff(frames: int = 600) -> bytes:
    """A TIFF of ``frames`` tiny pages (over the limit of images read in one file)."""
    from PIL import Image

    page = Image.new("L", (4, 4), 255)
    out = io.BytesIO()
    page.save(out, "TIFF", save_all=True, append_images=[page] * (frames - 1))
    return out.getvalue()


def unclosed_rtf() -> bytes:
    return b"{\\rtf1\\ansi{\\fonttbl{\\f0 Arial;}" + b" text hidden in an open font table" * 100


def deep_rtf(depth: int = 200_000) -> bytes:
    return b"{\\rtf1 " + b"{" * depth + b"x" + b"}" * depth + b"}"


def _package(mimetype: str, members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr(zipfile.ZipInfo("mimetype"), mimetype)
        for name, data in members.items():
            package.writestr(name, data)
    return out.getvalue()


ODF_TABLE = 'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
ODF_TEXT = 'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'


def odt_entity_bomb() -> bytes:
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    return _package("application/vnd.oasis.opendocument.text",
                    {"content.xml": f'<?xml version="1.0"?><!DOCTYPE d [{lol}]><d>&l9;</d>'.encode()})


def ods_repeat_bomb() -> bytes:
    """One cell repeated a million times a row, a million rows: 10^12 cells of text."""
    content = (f'<?xml version="1.0"?><d {ODF_TABLE} {ODF_TEXT}><table:table>'
               '<table:table-row table:number-rows-repeated="1000000">'
               '<table:table-cell table:number-columns-repeated="1000000"><text:p>boom</text:p></table:table-cell>'
               "</table:table-row></table:table></d>")
    return _package("application/vnd.oasis.opendocument.spreadsheet", {"content.xml": content.encode()})


def epub_drm() -> bytes:
    container = (b'<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
                 b'<rootfile full-path="book.opf"/></rootfiles></container>')
    opf = (b'<package xmlns="http://www.idpf.org/2007/opf"><manifest><item id="c" href="c.xhtml"/></manifest>'
           b'<spine><itemref idref="c"/></spine></package>')
    encryption = (b'<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
                  b'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:EncryptionMethod '
                  b'Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/><enc:CipherData>'
                  b'<enc:CipherReference URI="c.xhtml"/></enc:CipherData></enc:EncryptedData></encryption>')
    return _package("application/epub+zip", {"META-INF/container.xml": container, "book.opf": opf,
                                              "META-INF/encryption.xml": encryption,
                                              "c.xhtml": random.Random(2).randbytes(2000)})


def locked_legacy_office(kind: str) -> bytes:
    """A password-protected Word, Excel or PowerPoint 97-2003 file (the marks only)."""
    if kind == "doc":
        fib = struct.pack("<HHHHHH", 0xA5EC, 0xC1, 0, 0, 0, 0x0100)
        return ole_file({"WordDocument": fib + b"\0" * 200, "1Table": b"\0" * 64})
    if kind == "xls":
        records = struct.pack("<HH", 0x0809, 16) + b"\0" * 16 + struct.pack("<HH", 0x002F, 54) + b"\x01\0" * 27
        return ole_file({"Workbook": records})
    return ole_file({"PowerPoint Document": b"\0" * 64,
                     "Current User": struct.pack("<HHIII", 0, 0x0FF6, 20, 20, 0xF3D1C4DF)})
