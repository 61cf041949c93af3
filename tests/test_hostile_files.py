"""Hostile files, each built by its test: bombs, deep nesting, huge lines, odd encodings,
binaries in disguise, undecodable names, encrypted packages. Every one must end in
text or a status, quickly and in bounded memory.

Complements tests/test_extract_*.py, which cover the ordinary failures of each format.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from leakwatch.config import ExtractLimits
from leakwatch.extract import extract_bytes, extract_file, pdf_decoding
from leakwatch.extract import pdf as pdf_module
from leakwatch.extract.markup import visible_text
from leakwatch.model import ExtractedText, ExtractionError, Status
from leakwatch.walk import iter_files
from tests.hostile import (
    BINARIES,
    BROKEN_IMAGES,
    END_OF_CHAIN,
    ENTITY_BOMBS,
    FONT_BOMBS,
    OPEN_BRACKETS,
    PDF_NESTING,
    SECTOR,
    TEXT_OPS,
    UNDECODABLE_NAMES,
    UNTERMINATED,
    UTF16,
    UTF16_TEXTS,
    MiB,
    broken_encryption_pdf,
    damaged_flate_pdf,
    docx_zip_bomb,
    double_flate_pdf,
    encrypted_office_file,
    encrypted_pdf,
    entity_bomb,
    font_bomb_pdf,
    form_fanout_pdf,
    glyph_flood_pdf,
    legacy_office_file,
    many_members_pptx,
    many_streams_pdf,
    nested_docx,
    nested_pdf,
    nested_xlsx,
    oversized_sheet_xlsx,
    page_tree_loop_pdf,
    replace_members,
    runlength_bomb_pdf,
    scattered_glyphs,
    self_drawing_form_pdf,
    shared_strings_xlsx,
    small_docx,
    stream_bomb_pdf,
    unterminated_page,
    zeros_member,
)

LIMITS = ExtractLimits()
ROOT = Path(__file__).resolve().parents[1]


def error_of(name: str, data: bytes, limits: ExtractLimits = LIMITS) -> ExtractionError:
    with pytest.raises(ExtractionError) as info:
        extract_bytes(Path(name), data, limits)
    return info.value


@contextmanager
def peak_python_memory() -> Iterator[list[int]]:
    """Peak bytes allocated by Python inside the block (bytes, str, lists: what a bomb
    inflates into), as the single item of the yielded list once the block ends."""
    peak: list[int] = []
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


@contextmanager
def timed(label: str) -> Iterator[list[float]]:
    elapsed: list[float] = []
    started = time.perf_counter()
    try:
        yield elapsed
    finally:
        elapsed.append(time.perf_counter() - started)
        print(f"{label}: {elapsed[0]:.2f} s")


# --- Office zip packages ----------------------------------------------------------------


@pytest.mark.parametrize("part", ["word/document.xml", "word/footer1.xml"])
def test_docx_zip_bomb_is_refused_without_inflating(part: str) -> None:
    # 90 MiB of zeros (under the 100 MiB member cap) compress about 1,000:1, far over the
    # 200:1 ratio cap; any text part is checked before it is read, not only the main one.
    data = docx_zip_bomb(part, 90 * MiB)
    assert len(data) < MiB

    with peak_python_memory() as peak, timed(f"docx bomb in {part}"):
        error = error_of("report.docx", data)

    assert error.status is Status.TOO_LARGE
    assert "compression ratio" in error.message and part in error.message
    assert peak[0] < 20 * MiB


def test_docx_bomb_in_a_member_that_is_not_read_is_never_inflated() -> None:
    data = replace_members(small_docx(), {"word/media/image1.png": zeros_member("word/media/image1.png", 300 * MiB)})

    with peak_python_memory() as peak:
        result = extract_bytes(Path("report.docx"), data, dataclasses.replace(LIMITS, ocr=False))

    assert "Opening paragraph of the report" in result.text
    assert peak[0] < 20 * MiB


def test_docx_picture_bomb_is_refused_by_its_declared_size_when_pictures_are_read() -> None:
    data = replace_members(small_docx(), {"word/media/image1.png": zeros_member("word/media/image1.png", 300 * MiB)})

    with peak_python_memory() as peak, pytest.raises(ExtractionError) as info:
        extract_bytes(Path("report.docx"), data, LIMITS)

    assert info.value.status is Status.TOO_LARGE and "word/media/image1.png" in info.value.message
    assert peak[0] < 20 * MiB


def test_xlsx_member_declaring_an_oversized_sheet_is_refused_unread() -> None:
    # Over max_member_bytes (100 MiB) by its header: refused before a byte is inflated.
    data = oversized_sheet_xlsx(150 * MiB)

    error = error_of("book.xlsx", data)

    assert error.status is Status.TOO_LARGE
    assert "xl/worksheets/sheet1.xml declares 157,286,400 bytes" in error.message


def test_xlsx_oversized_shared_strings_is_refused_unread() -> None:
    # 20,000 distinct 100-character strings: 2 MB of shared strings that compress only
    # about 2:1, over a 1 MiB member cap (openpyxl writes inline strings, so the part is
    # added by hand; it is found by its default name).
    data = shared_strings_xlsx(20_000)
    limits = dataclasses.replace(LIMITS, max_member_bytes=MiB)

    error = error_of("book.xlsx", data, limits)

    assert error.status is Status.TOO_LARGE
    assert "xl/sharedStrings.xml declares" in error.message


def test_pptx_with_20000_members_is_refused_before_listing_them(monkeypatch: pytest.MonkeyPatch) -> None:
    data = many_members_pptx(20_000)

    def no_listing(*args: object, **kwargs: object) -> None:
        raise AssertionError("the zip directory was parsed")

    monkeypatch.setattr(zipfile.ZipFile, "__init__", no_listing)
    with timed("20,000-member pptx"):
        error = error_of("deck.pptx", data)

    assert error.status is Status.TOO_LARGE
    assert "members" in error.message


@pytest.mark.parametrize(("name", "make", "part", "root"), list(ENTITY_BOMBS.values()), ids=list(ENTITY_BOMBS))
def test_entity_expansion_is_refused_in_every_streamed_part(
    name: str, make: Callable[[], bytes], part: str, root: str
) -> None:
    data = entity_bomb(make, part, root)

    with peak_python_memory() as peak:
        error = error_of(name, data)

    assert error.status is Status.PARSE_ERROR
    assert "forbidden" in error.message
    assert peak[0] < 20 * MiB


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_xml_in_a_docx_part(depth: int) -> None:
    # Elements nested far past Python's recursion limit: the streaming parser keeps
    # going, and nested paragraphs each give a line.
    data = nested_docx(depth)

    with timed(f"docx nested {depth:,} deep"):
        result = extract_bytes(Path("nested.docx"), data, LIMITS)

    assert result.text.split("\n")[:depth] == ["x"] * depth


def test_deeply_nested_unknown_elements_in_an_xlsx_sheet() -> None:
    data = nested_xlsx(200_000)

    assert extract_bytes(Path("b.xlsx"), data, LIMITS).text == "cell"


# --- PDF built by hand ------------------------------------------------------------------

def test_stream_bomb_helper_is_a_valid_stream() -> None:
    data = stream_bomb_pdf(MiB)
    start = data.index(b"stream\n", data.index(b"6 0 obj")) + len(b"stream\n")
    inflated = zlib.decompress(data[start : data.index(b"\nendstream", start)])
    assert inflated == TEXT_OPS + b"\0" * MiB
    # Under the caps, the same construction extracts normally.
    assert "Hello from the page" in extract_bytes(Path("small.pdf"), data, LIMITS).text


STREAM_BOMB_CHILD = """
import json, resource, sys, time
from pathlib import Path
from tests.hostile import stream_bomb_pdf
from leakwatch.config import ExtractLimits
from leakwatch.extract import extract_bytes
from leakwatch.model import ExtractionError
data = stream_bomb_pdf(4 << 30)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    extract_bytes(Path("bomb.pdf"), data, ExtractLimits())
    status, message = "ok", ""
except ExtractionError as error:
    status, message = str(error.status), error.message
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"bytes": len(data), "status": status, "message": message,
                  "seconds": time.perf_counter() - started, "growth_mb": (after - before) / 1024}))
"""


def test_pdf_stream_bomb_of_4_gib_stays_in_bounded_memory() -> None:
    # Measured in a fresh process: ru_maxrss is a high-water mark, which earlier tests
    # in this process may already have raised.
    run = subprocess.run([sys.executable, "-c", STREAM_BOMB_CHILD], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True)
    report = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"4 GiB stream bomb ({report['bytes']:,} bytes of PDF): {report['status']} in {report['seconds']:.2f} s, "
          f"peak RSS growth {report['growth_mb']:.0f} MB")

    assert report["status"] == "too-large"
    assert "stream bomb" in report["message"]
    assert report["growth_mb"] < 500


def test_pdf_double_flate_bomb() -> None:
    # Two FlateDecode filters: 9 KB of stream -> 1 MB -> 1 GiB.
    data = double_flate_pdf(1024 * MiB)

    with peak_python_memory() as peak:
        error = error_of("double.pdf", data)

    assert error.status is Status.TOO_LARGE
    assert peak[0] < 300 * MiB


def test_pdf_runlength_bomb_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each two-byte run "\x81\x00" stands for 128 zeros: 200 KB of stream, 12.8 MB out,
    # over a stream cap lowered to 8 MiB; the size is added up before decoding.
    limits = dataclasses.replace(LIMITS, max_member_bytes=8 * MiB)
    data = runlength_bomb_pdf(100_000)

    def no_decoding(data: bytes) -> bytes:
        raise AssertionError("the runs were decoded")

    monkeypatch.setattr(pdf_decoding, "rldecode", no_decoding)
    error = error_of("runs.pdf", data, limits)

    assert error.status is Status.TOO_LARGE
    assert "stream bomb" in error.message


def test_pdf_streams_over_the_document_total_are_refused() -> None:
    # Each stream is under the per-stream cap; together they are over the total.
    limits = dataclasses.replace(LIMITS, max_member_bytes=256 * 1024, max_total_uncompressed=500 * 1024)
    data = many_streams_pdf(4, 200 * 1024)

    error = error_of("many.pdf", data, limits)

    assert error.status is Status.TOO_LARGE
    assert "in all" in error.message
    limits = dataclasses.replace(limits, max_total_uncompressed=MiB)
    assert "Hello from the page" in extract_bytes(Path("many.pdf"), data, limits).text


def test_corrupted_flate_stream_is_salvaged_in_linear_time() -> None:
    # A checksum error sends pdfminer to decompress_corrupted, which rebuilt its output
    # a byte at a time (quadratic: a 220 KB stream took over a minute). The text before
    # the damaged checksum is kept, as pdfminer intends.
    data = damaged_flate_pdf(11)
    assert len(data) > MiB

    with timed("damaged 1 MB content stream") as elapsed:
        result = extract_bytes(Path("damaged.pdf"), data, LIMITS)

    assert "Hello from the page" in result.text
    assert elapsed[0] < 20


@pytest.mark.parametrize(("where", "nesting"), list(PDF_NESTING.values()), ids=list(PDF_NESTING))
def test_pdf_with_100000_levels_of_nesting(where: str, nesting: bytes) -> None:
    data = nested_pdf(where, nesting)

    with timed(f"PDF nesting in {where}"):
        try:
            result: ExtractedText | ExtractionError = extract_bytes(Path("deep.pdf"), data, LIMITS)
        except ExtractionError as error:
            result = error

    if isinstance(result, ExtractedText):
        assert "Hello from the page" in result.text
    else:
        assert result.status in {Status.PARSE_ERROR, Status.TOO_LARGE}


def test_page_of_scattered_glyphs_is_not_quadratic() -> None:
    # pdfminer's own text-line grouping copied the growing box for every line: 20,000
    # scattered glyphs took 150 s, 25 times longer than now (and at 10 points did not
    # finish in 15 minutes); see leakwatch.extract.pdf._LinearGrouping. Some growth
    # beyond 4x remains: on a page of fixed size, each glyph has more neighbours to
    # look at as glyphs are added. The best of two runs, in CPU time: other processes
    # only ever add to a measurement.
    extract_bytes(Path("warm-up.pdf"), scattered_glyphs(100), LIMITS)
    seconds = {}
    for count in (5_000, 20_000):
        data = scattered_glyphs(count)
        runs = []
        for _ in range(2):
            started = time.process_time()
            result = extract_bytes(Path("scattered.pdf"), data, LIMITS)
            runs.append(time.process_time() - started)
        seconds[count] = min(runs)
        print(f"{count:,} scattered glyphs: {seconds[count]:.2f} s of CPU (runs: {runs[0]:.2f}, {runs[1]:.2f})")
        assert sum(char.isalpha() for char in result.text) == count  # no glyph lost
    ratio = seconds[20_000] / seconds[5_000]
    print(f"20,000 / 5,000 glyphs: {ratio:.1f}x the time for 4x the glyphs")
    assert ratio < 8


@pytest.mark.parametrize("font", list(FONT_BOMBS.values()), ids=list(FONT_BOMBS))
def test_pdf_font_range_bombs_are_refused(font: list[bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    # The total is lowered so the many-ranges case is refused in a fraction of a second.
    monkeypatch.setattr(pdf_decoding, "MAX_RANGE_TOTAL", 1 << 18)
    data = font_bomb_pdf(font)

    with timed("font range bomb") as elapsed:
        error = error_of("fonts.pdf", data)

    assert error.status is Status.TOO_LARGE
    assert "character map" in error.message
    assert elapsed[0] < 10


def test_form_xobjects_drawing_each_other_tenfold_are_refused() -> None:
    # Eight levels of forms, each drawing the next ten times: 10^8 drawings from 3 KB.
    data = form_fanout_pdf(8)
    assert len(data) < 5000

    with timed("Form XObject fan-out"):
        error = error_of("forms.pdf", data)

    assert error.status is Status.TOO_LARGE
    assert "draws more than" in error.message


def test_form_xobject_drawing_itself_is_drawn_once() -> None:
    data = self_drawing_form_pdf()

    assert extract_bytes(Path("self.pdf"), data, LIMITS).text.count("Hello from the page") == 1


def test_page_drawing_too_many_glyphs_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # A 6 KB PDF whose compressed content stream draws a million glyphs would hold a
    # million layout objects (about 800 bytes each); the page cap (lowered here to keep
    # the test fast) refuses it.
    monkeypatch.setattr(pdf_module, "_MAX_PAGE_ITEMS", 50_000)
    data = glyph_flood_pdf(100_000)
    assert len(data) < 10_000

    error = error_of("glyphs.pdf", data)

    assert error.status is Status.TOO_LARGE
    assert "draws more than 50,000" in error.message


def test_page_tree_loops_and_self_references() -> None:
    looping = page_tree_loop_pdf()

    assert extract_bytes(Path("loop.pdf"), looping, LIMITS).text.count("Hello from the page") == 1


# --- text files -------------------------------------------------------------------------


def test_huge_single_line_text_is_too_large_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "one-line.txt"
    line = b"word " * (12 * MiB)  # 60 MiB, no line break, over max_text_chars
    path.write_bytes(line)

    with peak_python_memory() as peak, timed("60 MiB single line"), pytest.raises(ExtractionError) as info:
        extract_file(path, LIMITS)

    assert info.value.status is Status.TOO_LARGE
    assert "characters" in info.value.message
    print(f"60 MiB single line: peak {peak[0] / MiB:.0f} MiB")
    assert peak[0] < 2.5 * len(line)  # the bytes and their decoded text, nothing more


def test_huge_single_line_is_refused_unread_under_a_file_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "one-line.html"
    path.write_bytes(b"<p>" + b"x" * (60 * MiB))
    limits = dataclasses.replace(LIMITS, max_file_bytes=10 * MiB)

    with peak_python_memory() as peak, pytest.raises(ExtractionError) as info:
        extract_file(path, limits)

    assert info.value.status is Status.TOO_LARGE
    assert "bytes" in info.value.message
    assert peak[0] < MiB


def test_long_single_line_under_the_limits_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    line = b"a,b," * (10 * MiB)  # 40 MiB
    path.write_bytes(line)

    with peak_python_memory() as peak:
        _, result = extract_file(path, LIMITS)

    assert len(result.text) == len(line) and result.text[-4:] == "a,b,"
    assert peak[0] < 2.5 * len(line)


def test_huge_single_line_html_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(b"<html><body><p>" + b"word " * (11 * MiB))

    with timed("55 MiB single-line HTML"), pytest.raises(ExtractionError) as info:
        extract_file(path, LIMITS)

    assert info.value.status is Status.TOO_LARGE


@pytest.mark.parametrize("variant", list(UTF16))
@pytest.mark.parametrize("suffix", list(UTF16_TEXTS))
def test_utf16_text_files_are_read_as_text(tmp_path: Path, variant: str, suffix: str) -> None:
    codec = variant.split("+")[0]
    text = UTF16_TEXTS[suffix]
    path = tmp_path / f"export{suffix}"
    path.write_bytes(UTF16[variant] + text.encode(codec))

    _, result = extract_file(path, LIMITS)

    assert result.text == text
    assert result.encoding == ("utf-16" if UTF16[variant] else codec)


@pytest.mark.parametrize("variant", list(UTF16))
@pytest.mark.parametrize("suffix", [".html", ".xml", ".txt"])
def test_utf16_markup_is_parsed_as_markup(tmp_path: Path, variant: str, suffix: str) -> None:
    codec = variant.split("+")[0]
    page = "<html><body><p>Grüße aus Köln</p><script>hidden()</script></body></html>"
    if suffix == ".xml":
        page = '<?xml version="1.0" encoding="UTF-16"?><doc><p>Grüße aus Köln</p></doc>'
    path = tmp_path / f"page{suffix}"
    path.write_bytes(UTF16[variant] + page.encode(codec))

    _, result = extract_file(path, LIMITS)

    assert result.format == ("xml" if suffix == ".xml" else "html")
    assert "Grüße aus Köln" in result.text
    assert "hidden" not in result.text and "<p>" not in result.text


@pytest.mark.parametrize("kind", list(BINARIES))
@pytest.mark.parametrize("suffix", [".txt", ".md", ".csv", ".json", ".py", ".html", ".xml"])
def test_binaries_with_text_extensions_are_unsupported(tmp_path: Path, kind: str, suffix: str) -> None:
    path = tmp_path / f"{kind}{suffix}"
    path.write_bytes(BINARIES[kind])

    with pytest.raises(ExtractionError) as info:
        extract_file(path, LIMITS)

    assert info.value.status is Status.UNSUPPORTED


@pytest.mark.parametrize("kind", list(BROKEN_IMAGES))
@pytest.mark.parametrize("suffix", [".txt", ".png", ".docx"])
def test_broken_images_with_any_extension_are_parse_errors(tmp_path: Path, kind: str, suffix: str) -> None:
    path = tmp_path / f"{kind}{suffix}"
    path.write_bytes(BROKEN_IMAGES[kind])

    with pytest.raises(ExtractionError) as info:
        extract_file(path, LIMITS)

    assert info.value.status is Status.PARSE_ERROR


@pytest.mark.parametrize("name", UNDECODABLE_NAMES)
def test_undecodable_file_names_are_listed_and_scanned(tmp_path: Path, name: bytes) -> None:
    folder = os.fsencode(tmp_path)
    raw = os.path.join(folder, name)
    with open(raw, "wb") as fh:
        fh.write(b"Confidential text in a file with an odd name.\n")

    (listing,) = list(iter_files([tmp_path]))
    assert listing.error is None
    assert os.fsencode(listing.path) == raw
    _, result = extract_file(listing.path, LIMITS)

    assert result.text == "Confidential text in a file with an odd name.\n"
    # The name survives a round trip to bytes for reporting.
    assert str(listing.path).encode("utf-8", "surrogateescape") == raw


def test_undecodable_name_of_a_vanished_file_is_a_clean_error(tmp_path: Path) -> None:
    path = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"gone\xff.txt")))

    with pytest.raises(ExtractionError) as info:
        extract_file(path, LIMITS)

    assert info.value.status is Status.VANISHED


# --- encrypted files --------------------------------------------------------------------


@pytest.mark.parametrize("strength", [40, 128])
@pytest.mark.parametrize("name", ["terms.pdf", "terms.txt", "terms.docx", "terms"])
def test_password_protected_pdf_is_encrypted_whatever_its_name(tmp_path: Path, strength: int, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(encrypted_pdf(strength))

    with pytest.raises(ExtractionError) as info:
        extract_file(path, LIMITS)

    assert info.value.status is Status.ENCRYPTED


def test_pdf_with_a_broken_encryption_dictionary_is_not_read_as_clean() -> None:
    broken = broken_encryption_pdf()

    error = error_of("broken.pdf", broken)

    assert error.status in {Status.ENCRYPTED, Status.PARSE_ERROR}


def test_ole_helper_builds_a_well_formed_compound_file() -> None:
    data = encrypted_office_file()
    assert len(data) % SECTOR == 0
    # The directory (sector 1, after the header) names both streams, and the package
    # stream's chain in the FAT ends where its size says.
    directory = data[2 * SECTOR : 3 * SECTOR]
    names = [directory[i : i + 64].decode("utf-16-le").split("\0")[0] for i in range(0, SECTOR, 128)]
    assert names == ["Root Entry", "EncryptionInfo", "EncryptedPackage", ""]
    start, size = struct.unpack_from("<IQ", directory, 2 * 128 + 116)
    fat = struct.unpack_from(f"<{SECTOR // 4}I", data, SECTOR)
    chain = [start]
    while fat[chain[-1]] != END_OF_CHAIN:
        chain.append(fat[chain[-1]])
    assert len(chain) == -(-size // SECTOR)
    first = (start + 1) * SECTOR
    assert struct.unpack_from("<Q", data, first)[0] == 20_000


@pytest.mark.parametrize("name", ["secret.docx", "secret.xlsx", "secret.pptx", "secret.bin", "secret.txt"])
def test_password_protected_office_file_is_encrypted(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(encrypted_office_file())

    with pytest.raises(ExtractionError) as info:
        extract_file(path, LIMITS)

    assert info.value.status is Status.ENCRYPTED


@pytest.mark.skipif(shutil.which("catdoc") is None, reason="catdoc is not installed")
def test_legacy_office_file_named_docx_is_read_as_a_word_97_file(tmp_path: Path) -> None:
    path = tmp_path / "old.docx"
    path.write_bytes(legacy_office_file())

    result = extract_file(path, LIMITS)[1]

    # Its FIB declares no text, and none comes out: an empty document, not an error.
    assert result.format == "doc" and result.text.strip() == ""


# --- regressions found by fuzzing -------------------------------------------------------


@pytest.mark.parametrize("name", ["brackets.txt", "brackets.md", "brackets.csv", "brackets"])
def test_thousands_of_open_brackets_are_text_not_a_crash(name: str) -> None:
    # JSON sniffing used json.loads on the head, which raised RecursionError (not
    # ValueError) out of format detection.
    data = OPEN_BRACKETS

    result = extract_bytes(Path(name), data, LIMITS)

    assert result.text == data.decode()


@pytest.mark.parametrize("pattern", UNTERMINATED)
def test_unterminated_markup_is_parsed_in_linear_time(pattern: str) -> None:
    # Python's HTML parser rescanned to the end of the document from every "<" that
    # could not start a complete construct: 160 KB of "<a b='" took 169 s.
    page = unterminated_page(pattern)

    with timed(f"200 KB of {pattern!r}") as elapsed:
        for suffix in (".html", ".xml"):
            result = extract_bytes(Path("page" + suffix), page.encode(), LIMITS)
            assert len(result.text) == len(page)
            assert "Visible words" in result.text
    assert elapsed[0] < 20


def test_markup_given_up_on_keeps_the_rest_as_text() -> None:
    page = "<p>start</p>" + "<a b='>'c" * 100_000 + " tail words"

    text = visible_text(page)

    assert len(text) == len(page)
    assert text.startswith("   start    ")
    assert text.endswith("'c tail words")


def test_file_growing_past_what_stat_said_is_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # read_file reads one byte past the size stat() gave; a file that grew since (or a
    # /proc file, which stat() calls empty) is read on, up to the cap.
    path = tmp_path / "growing.txt"
    path.write_bytes(b"grown " * 1000)
    real_stat = os.stat

    def stale_stat(target: object) -> os.stat_result:
        result = real_stat(target)  # type: ignore[arg-type]
        return os.stat_result((result.st_mode, *result[1:6], 10, *result[7:]))

    monkeypatch.setattr("leakwatch.extract.os.stat", stale_stat)

    assert extract_file(path, LIMITS)[1].text == "grown " * 1000
    with pytest.raises(ExtractionError) as info:
        extract_file(path, dataclasses.replace(LIMITS, max_file_bytes=100))
    assert info.value.status is Status.TOO_LARGE


def test_small_file_read_does_not_reserve_the_size_cap(tmp_path: Path) -> None:
    # read(max_file_bytes + 1) allocated the whole cap for every file, however small.
    path = tmp_path / "small.txt"
    path.write_bytes(b"six by")

    with peak_python_memory() as peak:
        extract_file(path, LIMITS)

    assert peak[0] < MiB


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc")
def test_proc_file_that_stat_calls_empty_is_read() -> None:
    _, result = extract_file(Path("/proc/self/status"), LIMITS)

    assert "Pid:" in result.text
