"""Write a set of hostile files to a folder, for a corpus run of extraction over it.

    python benchmarks/hostile_set.py OUT_DIR [--no-huge]
    leakwatch extract-check OUT_DIR            # count per status, slowest file, peak memory

One file per hostile kind built by tests/hostile.py (several variants where cheap), plus
what only a file system can hold: a FIFO, symbolic links (a loop, one leaving the
folder, a dangling one), an unreadable file, undecodable names, empty and truncated
files, and a single-line text file of 300 MB. Everything else stays small on disk: the
bombs declare or inflate to huge sizes, they are not huge. ``--no-huge`` leaves out the
two large text files (300 MB and 60 MB), for tests.

Each file is listed with the status a correct extraction gives it (``expected``); the
output is the same on every run (no clock, no randomness). OUT_DIR must be empty or
absent.
"""

from __future__ import annotations

import argparse
import codecs
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reportlab import rl_config

from tests import hostile as h

OK, ENCRYPTED, TOO_LARGE, PARSE_ERROR = "ok", "encrypted", "too-large", "parse-error"
UNREADABLE, UNSUPPORTED = "unreadable", "unsupported"
MB = 1000 * 1000
# Sizes of the two large single-line files: over max_file_bytes (200 MiB, refused by
# its size), and under it but over max_text_chars (50 million, refused once decoded).
HUGE_BYTES = 300 * MB
LONG_BYTES = 60 * MB


@dataclass(frozen=True)
class Written:
    path: Path  # relative to the output folder
    size: int  # bytes on disk (0 for links and FIFOs)
    expected: frozenset[str]  # the statuses a correct extraction may give it
    what: str


def _fixed_zip_times(data: bytes) -> bytes:
    """Zip members written by python-docx, openpyxl and zipfile carry the current
    time; set every local and central header's time to 1980-01-01 00:00 (in place,
    so lying headers and other crafted fields are kept)."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 10), (b"PK\x01\x02", 12)):
        at = out.find(signature)
        while at >= 0:
            out[at + offset : at + offset + 4] = b"\x00\x00\x21\x00"  # time 00:00:00, date 1980-01-01
            at = out.find(signature, at + 4)
    return bytes(out)


class HostileSet:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.written: list[Written] = []

    def file(self, name: str | bytes, data: bytes, expected: str | set[str], what: str) -> None:
        path = os.path.join(os.fsencode(self.root), os.fsencode(name))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if data.startswith(b"PK\x03\x04"):
            data = _fixed_zip_times(data)
        with open(path, "wb") as fh:
            fh.write(data)
        self._note(name, len(data), expected, what)

    def streamed(self, name: str, size: int, chunk: bytes, expected: str, what: str) -> None:
        """A file of ``size`` bytes written chunk by chunk (never whole in memory)."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        block = chunk * max(1, (1 << 20) // len(chunk))
        with open(path, "wb") as fh:
            left = size
            while left > 0:
                piece = block[: min(left, len(block))]
                fh.write(piece)
                left -= len(piece)
        self._note(name, size, expected, what)

    def special(self, name: str, make: Callable[[Path], None], expected: str | set[str], what: str) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        make(path)
        self._note(name, 0, expected, what)

    def _note(self, name: str | bytes, size: int, expected: str | set[str], what: str) -> None:
        statuses = frozenset({expected} if isinstance(expected, str) else expected)
        self.written.append(Written(Path(os.fsdecode(name)), size, statuses, what))


def office(s: HostileSet) -> None:
    s.file("office/bomb-document.docx", h.docx_zip_bomb("word/document.xml", 90 * h.MiB), TOO_LARGE,
           "90 MiB of zeros as the main part (1,000:1)")
    s.file("office/bomb-footer.docx", h.docx_zip_bomb("word/footer1.xml", 90 * h.MiB), TOO_LARGE,
           "90 MiB of zeros as a footer")
    s.file("office/bomb-unread-image.docx",
           h.replace_members(h.small_docx(), {"word/media/image1.png": h.zeros_member("word/media/image1.png",
                                                                                       300 * h.MiB)}),
           TOO_LARGE, "300 MiB of zeros as a picture: refused by its declared size, never inflated")
    s.file("office/lying-size-document.docx", h.declare_size(h.small_docx(), "word/document.xml", 3 << 30),
           TOO_LARGE, "main part declares 3 GiB")
    s.file("office/lying-size-sheet.xlsx", h.oversized_sheet_xlsx(150 * h.MiB), TOO_LARGE,
           "sheet declares 150 MiB")
    s.file("office/shared-strings-2mb.xlsx", h.shared_strings_xlsx(20_000), OK,
           "2 MB of shared strings (under the default caps)")
    s.file("office/20000-members.pptx", h.many_members_pptx(20_000), TOO_LARGE, "20,000 zip members")
    for name, (file_name, make, part, root) in h.ENTITY_BOMBS.items():
        suffix = Path(file_name).suffix
        s.file(f"office/entity-bomb-{name}{suffix}", h.entity_bomb(make, part, root), PARSE_ERROR,
               f"billion laughs in {part}")
    for depth in (1_000, 100_000):
        s.file(f"office/nested-{depth}.docx", h.nested_docx(depth), OK, f"paragraphs nested {depth:,} deep")
    s.file("office/nested-200000.xlsx", h.nested_xlsx(200_000), OK, "unknown elements nested 200,000 deep")
    docx = h.small_docx()
    s.file("office/truncated.docx", docx[: len(docx) // 2], {UNSUPPORTED, PARSE_ERROR},
           "first half of a DOCX (no central directory)")
    for suffix in (".docx", ".xlsx", ".pptx"):
        s.file(f"office/password{suffix}", h.encrypted_office_file(), ENCRYPTED,
               "password-protected Office file (OLE EncryptedPackage)")
    s.file("office/legacy-word.docx", h.legacy_office_file(), OK, "pre-2007 Word file named .docx, declaring no text")
    s.file("office/plain-zip.docx", h.plain_zip(), OK, "ordinary zip named .docx: read as an archive")


def pdf(s: HostileSet) -> None:
    s.file("pdf/stream-bomb-4gib.pdf", h.stream_bomb_pdf(4 << 30), TOO_LARGE, "content stream inflating to 4 GiB")
    s.file("pdf/double-flate-1gib.pdf", h.double_flate_pdf(1024 * h.MiB), TOO_LARGE,
           "two FlateDecode filters: 1 GiB of zeros")
    s.file("pdf/runlength-bomb.pdf", h.runlength_bomb_pdf(1_000_000), TOO_LARGE,
           "RunLengthDecode to 128 MB (over the 100 MiB stream cap)")
    s.file("pdf/streams-400k.pdf", h.many_streams_pdf(), OK, "four 200 KiB streams (under the caps)")
    s.file("pdf/damaged-flate.pdf", h.damaged_flate_pdf(), OK, "1 MB content stream with a bad checksum")
    for name, (where, nesting) in h.PDF_NESTING.items():
        s.file(f"pdf/nesting-{name}.pdf", h.nested_pdf(where, nesting), {OK, PARSE_ERROR, TOO_LARGE},
               f"100,000 levels of nesting in the {where}")
    for count in (5_000, 20_000):
        s.file(f"pdf/scattered-{count}-glyphs.pdf", h.scattered_glyphs(count), OK,
               f"{count:,} single letters at random places on one page")
    for name, font in h.FONT_BOMBS.items():
        # Eight full 16-bit ranges (524,288 codes) stay under the default total cap
        # (4,194,304): read, slowly; the test lowers the cap to refuse them.
        expected = OK if name == "ToUnicode-many-ranges" else TOO_LARGE
        s.file(f"pdf/font-{name}.pdf", h.font_bomb_pdf(font), expected, f"font range bomb ({name})")
    s.file("pdf/form-fanout.pdf", h.form_fanout_pdf(8), TOO_LARGE, "forms drawing each other tenfold, 8 deep")
    s.file("pdf/form-draws-itself.pdf", h.self_drawing_form_pdf(), OK, "a form XObject drawing itself")
    s.file("pdf/glyph-flood.pdf", h.glyph_flood_pdf(100_000), TOO_LARGE, "a million glyphs from 6 KB")
    s.file("pdf/page-tree-loop.pdf", h.page_tree_loop_pdf(), OK, "page tree listing itself as a kid")
    for strength in (40, 128):
        s.file(f"pdf/encrypted-rc4-{strength}.pdf", h.encrypted_pdf(strength), ENCRYPTED,
               f"password-protected PDF ({strength}-bit)")
    s.file("pdf/encrypted-named.txt", h.encrypted_pdf(128), ENCRYPTED, "password-protected PDF named .txt")
    s.file("pdf/broken-encryption.pdf", h.broken_encryption_pdf(), {ENCRYPTED, PARSE_ERROR},
           "encryption dictionary with an unknown filter")
    page = h.one_page_pdf(b"4 0 R")
    s.file("pdf/truncated.pdf", page[: len(page) // 2], {PARSE_ERROR, UNSUPPORTED}, "first half of a PDF")
    s.file("pdf/header-only.pdf", b"%PDF-1.7\n", {PARSE_ERROR, UNSUPPORTED}, "a PDF header and nothing else")
    s.file("pdf/empty.pdf", b"", OK, "0 bytes named .pdf (no text, nothing to scan)")
    s.file("pdf/junk-before-header.pdf", b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\n\r\n" + page, OK,
           "HTTP headers before the PDF header")


CJK = "機密の数字は来週発表されます。社外秘、取扱注意。第三四半期の売上高と利益の見通し。\r\n"
CYRILLIC = "Конфиденциально: цифры квартала и прогноз прибыли, не для передачи.\r\n"


def text(s: HostileSet, huge: bool) -> None:
    if huge:
        s.streamed("text/huge-one-line-300mb.txt", HUGE_BYTES, b"word ", TOO_LARGE,
                   "300 MB without a line break (over max_file_bytes)")
        s.streamed("text/long-one-line-60mb.txt", LONG_BYTES, b"word ", TOO_LARGE,
                   "60 MB without a line break (over max_text_chars once decoded)")
    s.file("text/empty.txt", b"", OK, "0 bytes")
    for variant in h.UTF16:
        tag = variant.replace("+", "-")
        for suffix, sample in h.UTF16_TEXTS.items():
            s.file(f"text/{tag}{suffix}", h.utf16(variant, sample), OK, f"{variant} text")
        s.file(f"text/{tag}.html", h.utf16(variant, "<html><body><p>Grüße aus Köln</p></body></html>"), OK,
               f"{variant} HTML")
        s.file(f"text/{tag}-cjk.txt", h.utf16(variant, CJK * 20), OK, f"{variant} Japanese text")
        s.file(f"text/{tag}-cyrillic.txt", h.utf16(variant, CYRILLIC * 20), OK, f"{variant} Russian text")
        s.file(f"text/{tag}-odd-length.txt", h.utf16(variant, h.UTF16_TEXTS[".txt"]) + b"\x00", OK,
               f"{variant} text with a stray last byte")
    s.file("text/utf-8-truncated-mid-character.txt", ("Grüße aus Köln " * 40 + "Kö").encode()[:-1], OK,
           "UTF-8 cut inside its last character")
    s.file("text/binary-after-8k.txt", b"plain words on a line\n" * 500 + bytes(range(256)) * 40, UNSUPPORTED,
           "11 KB of text, then 10 KB of binary with NUL bytes")
    s.file("text/mentions-pdf-header.txt", b"Every PDF starts with %PDF-1.7 and ends with %%EOF.\n" * 5, OK,
           "text that quotes the PDF header in its first KB")
    s.file("text/checks-pdf-header.py", b'def is_pdf(data):\n    return data.startswith(b"%PDF-")\n', OK,
           "source code that tests for the PDF header")
    s.file("text/utf-32-le-bom.txt", codecs.BOM_UTF32_LE + h.UTF16_TEXTS[".txt"].encode("utf-32-le"), OK,
           "UTF-32 with a BOM")
    s.file("text/open-brackets.txt", h.OPEN_BRACKETS, OK, "9,000 open brackets")
    s.file("text/open-brackets.json", h.OPEN_BRACKETS, OK, "9,000 open brackets named .json")
    for number, pattern in enumerate(h.UNTERMINATED):
        s.file(f"text/unterminated-{number}.html", h.unterminated_page(pattern).encode(), OK,
               f"200 KB of {pattern!r}")
    # Archives are read by content whatever their name: the zip's members are fine, the
    # "gzip" is a zlib stream behind a gzip magic, which does not decompress.
    by_content = {"zip": OK, "gzip": PARSE_ERROR}
    for kind, data in h.BINARIES.items():
        for suffix in (".txt", ".html"):
            s.file(f"binary/{kind}{suffix}", data, by_content.get(kind, UNSUPPORTED), f"{kind} with a text extension")
    for kind, data in h.BROKEN_IMAGES.items():
        s.file(f"binary/broken-{kind}.txt", data, PARSE_ERROR, f"{kind} signature then junk, text extension")


def formats(s: HostileSet) -> None:
    s.file("images/pixel-bomb.png", h.pixel_bomb_png(), TOO_LARGE, "30,000 x 30,000 pixels in a few KB")
    s.file("images/600-frames.tif", h.many_frames_tiff(), TOO_LARGE, "600 TIFF pages: over ocr_max_images")
    data = h.pixel_bomb_png(600)
    s.file("images/truncated.png", data[: len(data) // 2], PARSE_ERROR, "a PNG cut in half")
    s.file("rtf/unclosed.rtf", h.unclosed_rtf(), PARSE_ERROR, "the rest of the file inside an open group")
    s.file("rtf/deep.rtf", h.deep_rtf(), PARSE_ERROR, "groups nested 200,000 deep")
    s.file("odf/entity-bomb.odt", h.odt_entity_bomb(), PARSE_ERROR, "billion laughs in content.xml")
    s.file("odf/repeat-bomb.ods", h.ods_repeat_bomb(), TOO_LARGE, "a cell repeated 10^12 times")
    s.file("odf/drm.epub", h.epub_drm(), ENCRYPTED, "EPUB whose chapter is encrypted")
    for kind in ("doc", "xls", "ppt"):
        s.file(f"legacy/password.{kind}", h.locked_legacy_office(kind), ENCRYPTED, f"password-protected .{kind}")
    s.file("legacy/drawing.vsd", h.ole_file({"VisioDocument": b"\0" * 64}), UNSUPPORTED, "an OLE file of no reader")


def file_system(s: HostileSet) -> None:
    for number, name in enumerate(h.UNDECODABLE_NAMES):
        s.file(b"names/" + name, b"Confidential text in a file with an odd name.\n", OK,
               f"invalid UTF-8 name {number}")
    s.special("fs/fifo", os.mkfifo, UNSUPPORTED, "a FIFO (never opened)")
    s.special("fs/loop-a", lambda p: os.symlink("loop-b", p), UNSUPPORTED, "symbolic link loop (a -> b)")
    s.special("fs/loop-b", lambda p: os.symlink("loop-a", p), UNSUPPORTED, "symbolic link loop (b -> a)")
    s.special("fs/to-itself", lambda p: os.symlink("to-itself", p), UNSUPPORTED, "symbolic link to itself")
    s.special("fs/parent-folder", lambda p: os.symlink("..", p), UNSUPPORTED, "link to the folder holding it")
    s.special("fs/leaves-root", lambda p: os.symlink("/etc/passwd", p), UNSUPPORTED,
              "symbolic link out of the scanned folder")
    s.special("fs/dangling", lambda p: os.symlink("does-not-exist.txt", p), UNSUPPORTED, "dangling symbolic link")

    def unreadable(path: Path) -> None:
        path.write_bytes(b"Confidential text nobody may read.\n")
        path.chmod(0)

    # root reads any file whatever its mode, so the expected status depends on who runs.
    s.special("fs/no-permission.txt", unreadable, OK if os.geteuid() == 0 else UNREADABLE,
              "mode 000" + (" (readable: running as root)" if os.geteuid() == 0 else ""))


def build(out: Path, huge: bool = True) -> list[Written]:
    """Write the hostile set under ``out`` (created; must be empty) and list it."""
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise SystemExit(f"{out} is not empty")
    s = HostileSet(out)
    # reportlab stamps the date and a random document ID unless told not to.
    invariant, rl_config.invariant = rl_config.invariant, 1
    try:
        office(s)
        pdf(s)
        text(s, huge)
        formats(s)
        file_system(s)
    finally:
        rl_config.invariant = invariant
    return s.written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write (created; must be empty)")
    parser.add_argument("--no-huge", action="store_true", help="leave out the 300 MB and 60 MB single-line files")
    args = parser.parse_args(argv)
    written = build(args.out, huge=not args.no_huge)
    print(f"{'expected status':24} {'bytes':>13}  path: what")
    for w in written:
        name = str(w.path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        print(f"{'/'.join(sorted(w.expected)):24} {w.size:>13,}  {name}: {w.what}")
    total = sum(w.size for w in written)
    print(f"{len(written)} files, {total / MB:,.1f} MB on disk, in {args.out}")


if __name__ == "__main__":
    main()
