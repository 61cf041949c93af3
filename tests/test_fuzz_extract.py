"""Property tests on untrusted input: every extractor, given random bytes or a mutated
valid file of its format, returns text or raises ExtractionError with a status, never
another exception and never a hang; text formats keep their offsets.

The default run is small (CI). For a longer fuzz run, raise the example count, e.g.
``LEAKWATCH_FUZZ_EXAMPLES=5000 python -m pytest tests/test_fuzz_extract.py``; a
long run draws new random examples each time (the default run is derandomized) and
Hypothesis keeps any failure it finds in its database for the next run.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
import signal
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pptx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pdfminer.layout import LAParams, LTLayoutContainer, LTPage, LTTextLine, LTTextLineHorizontal, LTTextLineVertical
from pptx.util import Inches
from reportlab.pdfgen.canvas import Canvas

from leakwatch.config import ExtractLimits
from leakwatch.extract import EXTRACTORS, extract_bytes
from leakwatch.extract.base import decode_text
from leakwatch.extract.pdf import _LinearGrouping
from leakwatch.extract.pdf_decoding import _inflate
from leakwatch.model import PAGED_FORMATS, ExtractedText, ExtractionError, Status
from leakwatch.text import normalize_word, tokenize

EXAMPLES = int(os.environ.get("LEAKWATCH_FUZZ_EXAMPLES", "100"))
LONG_RUN = "LEAKWATCH_FUZZ_EXAMPLES" in os.environ
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=5),
    derandomize=not LONG_RUN,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Past this, an extraction counts as hung (the deadline above catches slow ones).
HANG_SECONDS = 60

LIMITS = ExtractLimits()
FAILURES = frozenset(Status) - {Status.OK}
TEXT_FORMATS = frozenset({"text", "markdown", "csv", "json", "code"})
MARKUP_FORMATS = frozenset({"html", "xml"})
SUFFIXES = [".txt", ".md", ".csv", ".json", ".xml", ".html", ".pdf", ".docx", ".pptx", ".xlsx", ".py"]


class Hang(BaseException):
    """An extraction ran past HANG_SECONDS. A BaseException, so that no extractor's
    ``except Exception`` can turn it into a status."""


@contextmanager
def hang_guard(seconds: float = HANG_SECONDS) -> Iterator[None]:
    def alarm(signum: int, frame: object) -> None:
        raise Hang(f"extraction still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def outcome(name: str, data: bytes) -> ExtractedText | ExtractionError:
    """Extract ``data`` as a file called ``name``; anything but text or an
    ExtractionError (a stray exception, a hang) fails the test."""
    path = Path(name)
    try:
        with hang_guard():
            result = extract_bytes(path, data, LIMITS)
    except ExtractionError as error:
        assert error.status in FAILURES
        assert error.message
        return error
    check_result(result)
    if result.format in TEXT_FORMATS:
        check_text_offsets(result, data)
    elif result.format in MARKUP_FORMATS:
        check_markup_offsets(result, data)
    return result


def check_result(result: ExtractedText) -> None:
    assert isinstance(result, ExtractedText)
    assert result.format in EXTRACTORS
    assert len(result.text) <= LIMITS.max_text_chars
    if result.format in PAGED_FORMATS:
        starts = list(result.page_starts)
        assert starts == sorted(set(starts))
        assert all(0 < start <= len(result.text) and result.text[start - 1] == "\f" for start in starts)
        assert result.text.count("\f") == len(starts)
    else:
        assert result.page_starts == ()


def check_text_offsets(result: ExtractedText, data: bytes) -> None:
    """Plain-text formats: the extracted text is the decoded file, unchanged."""
    assert (result.text, result.encoding) == decode_text(data)


def check_markup_offsets(result: ExtractedText, data: bytes) -> None:
    """HTML/XML: same length as the decoded file; a character differs from the file's
    only where markup was blanked or an entity decoded in place."""
    decoded, encoding = decode_text(data)
    assert result.encoding == encoding
    assert len(result.text) == len(decoded)
    for index, (got, had) in enumerate(zip(result.text, decoded, strict=True)):
        if got != had and got != " ":
            assert decoded.rfind("&", max(0, index - 40), index + 1) != -1, (index, got, had)


# --- valid samples of every format ------------------------------------------------------

PROSE = "Quarterly “results” — naïve café: the northern region grew 12 % (see note 3).\r\n"


def saved(document: Any) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def sample_pdf(compress: bool) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pageCompression=int(compress))
    for page in range(2):
        canvas.drawString(72, 720, f"Page {page + 1}: confidential pricing for the northern region")
        canvas.drawString(72, 700, "Second line with a café and (parentheses) \\ backslash")
        canvas.beginForm(f"stamp{page}")
        canvas.drawString(300, 100, "Internal use only")
        canvas.endForm()
        canvas.doForm(f"stamp{page}")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def sample_docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("Opening paragraph of the report")
    run = document.add_paragraph().add_run("Name")
    run.add_tab()
    run.add_text("Value")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Supplier"
    table.cell(0, 1).text = "12.50 EUR"
    document.sections[0].header.paragraphs[0].text = "Header: strictly confidential"
    return saved(document)


def sample_pptx() -> bytes:
    presentation = pptx.Presentation()
    for number in (1, 2):
        slide = presentation.slides.add_slide(presentation.slide_layouts[6])
        frame = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(2)).text_frame
        frame.text = f"Slide {number} title"
        frame.add_paragraph().text = "first part\vsecond part"
    return saved(presentation)


def sample_xlsx() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Item", "Price", "In stock"])
    sheet.append(["Widget", 12.5, True])
    book.create_sheet("Notes")["B3"] = "Negotiated discount applies until March"
    return saved(book)


@functools.cache
def samples() -> dict[str, bytes]:
    """One small valid file per suffix (and two PDFs: plain and compressed streams)."""
    return {
        "sample.txt": (PROSE * 3).encode("utf-8"),
        "sample.md": ("# Title\n\n* item one\n* item **two**\n\n" + PROSE).encode("utf-8"),
        "sample.csv": b'name,price,note\r\nwidget,12.5,"quoted, with comma"\r\ngadget,7,\xe9t\xe9\r\n',
        "sample.json": b'{"title": "Q3", "rows": [1, 2.5, null, true], "note": "caf\\u00e9 \\"x\\""}',
        "sample.xml": (
            b'<?xml version="1.0" encoding="UTF-8"?>\n<contract id="a">\n  <clause>Payment &lt;30 days&gt;</clause>'
            b"\n  <!-- a comment -->\n  <note><![CDATA[raw <cdata> text]]></note>\n</contract>\n"
        ),
        "sample.html": (
            b"<!DOCTYPE html><html><head><title>Minutes</title><style>p{}</style>"
            b"<script>var hidden = 1;</script></head>\n<body><p>Smith &amp; Wesson &#233;t&#xE9;</p>"
            b"<p>Last <b>words</b></p></body></html>\n"
        ),
        "sample.py": b'def main() -> int:\r\n    """Doc."""\r\n    return 42  # caf\xc3\xa9\r\n',
        "sample.pdf": sample_pdf(compress=False),
        "compressed.pdf": sample_pdf(compress=True),
        "sample.docx": sample_docx(),
        "sample.pptx": sample_pptx(),
        "sample.xlsx": sample_xlsx(),
    }


def test_every_sample_extracts() -> None:
    """The seeds of the mutation tests are themselves valid files of their format."""
    for name, data in samples().items():
        result = outcome(name, data)
        assert isinstance(result, ExtractedText), (name, result)
        assert result.text.strip(), name


# --- random bytes -----------------------------------------------------------------------

MAGIC = {".pdf": b"%PDF-1.7\n", ".docx": b"PK\x03\x04", ".pptx": b"PK\x03\x04", ".xlsx": b"PK\x03\x04"}


def random_content(suffix: str) -> st.SearchStrategy[bytes]:
    """Raw bytes, encoded random text, and (for container formats) bytes behind the
    format's magic number, so the parser itself is reached."""
    choices = [st.binary(max_size=4096), st.text(max_size=2000).map(lambda text: text.encode("utf-8"))]
    if suffix in MAGIC:
        choices.append(st.binary(max_size=4096).map(lambda tail: MAGIC[suffix] + tail))
    return st.one_of(choices)


@pytest.mark.parametrize("suffix", SUFFIXES)
@FUZZ
@given(data=st.data())
def test_random_bytes_give_text_or_a_status(suffix: str, data: st.DataObject) -> None:
    outcome("random" + suffix, data.draw(random_content(suffix)))


# --- mutations of valid files -----------------------------------------------------------

Mutation = tuple[str, int, bytes]
MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(["flip", "overwrite", "insert", "delete", "truncate", "repeat"]),
        st.integers(min_value=0, max_value=1 << 30),
        st.binary(min_size=1, max_size=24),
    ),
    min_size=1,
    max_size=8,
)


def mutate(data: bytes, mutations: list[Mutation]) -> bytes:
    buffer = bytearray(data)
    for kind, where, payload in mutations:
        at = where % (len(buffer) + 1)
        if kind == "flip" and buffer:
            buffer[where % len(buffer)] ^= payload[0] or 0x80
        elif kind == "overwrite":
            buffer[at : at + len(payload)] = payload
        elif kind == "insert":
            buffer[at:at] = payload
        elif kind == "delete":
            del buffer[at : at + len(payload)]
        elif kind == "truncate":
            del buffer[at:]
        elif kind == "repeat":
            buffer[at:at] = buffer[at : at + len(payload)] * (1 + payload[0] % 8)
    return bytes(buffer)


@pytest.mark.parametrize("name", sorted(samples()))
@FUZZ
@given(mutations=MUTATIONS)
def test_mutated_files_give_text_or_a_status(name: str, mutations: list[Mutation]) -> None:
    outcome(name, mutate(samples()[name], mutations))


def rezipped(data: bytes, member: str, content: bytes) -> bytes:
    """The package ``data`` with one member's content replaced (zip structure intact)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, content if info.filename == member else source.read(info))
    return out.getvalue()


def xml_members(name: str) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(samples()[name])) as package:
        return sorted(n for n in package.namelist() if n.endswith((".xml", ".rels")))


@pytest.mark.parametrize("name", ["sample.docx", "sample.pptx", "sample.xlsx"])
@FUZZ
@given(data=st.data(), mutations=MUTATIONS)
def test_mutated_office_xml_parts_give_text_or_a_status(name: str, data: st.DataObject,
                                                        mutations: list[Mutation]) -> None:
    """Mutations inside one XML part of a well-formed zip: they reach the XML parsers
    and the format logic (shared strings, relationships, numbered parts)."""
    member = data.draw(st.sampled_from(xml_members(name)))
    with zipfile.ZipFile(io.BytesIO(samples()[name])) as package:
        original = package.read(member)
    outcome(name, rezipped(samples()[name], member, mutate(original, mutations)))


OPERATORS = [b"BT", b"ET", b"Tf", b"Td", b"TD", b"Tm", b"T*", b"Tj", b"TJ", b"'", b'"', b"Tc", b"Tw", b"Tz", b"TL",
             b"Ts", b"Tr", b"q", b"Q", b"cm", b"re", b"m", b"l", b"c", b"h", b"S", b"f", b"n", b"W", b"Do", b"gs",
             b"cs", b"scn", b"rg", b"d", b"w", b"BMC", b"BDC", b"EMC", b"BX", b"EX", b"d0", b"d1", b"BI", b"ID", b"EI"]
OPERANDS = st.one_of(
    st.integers(-(10**12), 10**12).map(lambda n: str(n).encode()),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda x: f"{x:.3f}".encode()),
    st.sampled_from([b"/F1", b"/Fm", b"/GS", b"/Missing", b"(Hello)", b"(caf\\351 \\(x\\))", b"<48656c6c6f>",
                     b"[(Wo) -250 (rd)]", b"[1 2 [3", b"<< /MCID 0 >>", b"<<", b">>", b"[", b"]", b"true", b"null",
                     b"1e308", b"-0", b".5", b"99999999999999999999"]),
)
CONTENT = st.lists(st.one_of(st.sampled_from(OPERATORS), OPERANDS), max_size=80).map(b" ".join)


def pdf_with_content(content: bytes) -> bytes:
    """A one-page PDF drawing ``content`` with font /F1, form /Fm (which draws
    ``content`` too) and graphics state /GS available."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources 5 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Font << /F1 6 0 R >> /XObject << /Fm 7 0 R >> /ExtGState << /GS << /LW 2 >> >> >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /XObject /Subtype /Form /BBox [0 0 100 100] /Resources << /Font << /F1 6 0 R >> >>"
        b" /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@FUZZ
@given(content=CONTENT)
def test_random_pdf_content_streams_give_text_or_a_status(content: bytes) -> None:
    """Operator soup in a well-formed PDF: it reaches pdfminer's interpreter and layout."""
    outcome("page.pdf", pdf_with_content(content))


# --- text offsets -----------------------------------------------------------------------

ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252", "latin-1"]


@pytest.mark.parametrize("suffix", [".txt", ".md", ".csv", ".json", ".py"])
@FUZZ
@given(text=st.text(max_size=500), encoding=st.sampled_from(ENCODINGS))
def test_plain_text_is_the_decoded_file(suffix: str, text: str, encoding: str) -> None:
    """Whatever the encoding, a plain-text format's text is ``decode_text`` of the file
    (checked in ``outcome``), and a UTF-8 file comes back exactly. (Not one holding NUL
    characters: NUL bytes mean binary or UTF-16 to ``decode_text``, so "0\\x00\\x80" in
    UTF-8 is read as UTF-16-LE.)"""
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        return
    result = outcome("document" + suffix, data)
    if encoding == "utf-8" and "\x00" not in text and isinstance(result, ExtractedText) \
            and result.format in TEXT_FORMATS:  # (content that is HTML, XML or a PDF is read as such)
        assert result.text == text


MARKUP = st.lists(
    st.one_of(
        st.text(max_size=20),
        st.sampled_from(["<p>", "</p>", "<b class='x'>", "</b>", "<script>", "</script>", "<style>", "<!--", "-->",
                         "<![CDATA[", "]]>", "&amp;", "&#233;", "&#x1F600;", "&lt;", "&bogus;", "&#", "<?pi x?>",
                         "<!DOCTYPE html>", "<a href=\"", "'", "\"", ">", "<", "\r\n", "<br/>", "</", "<!"]),
    ),
    max_size=40,
).map("".join)


@pytest.mark.parametrize("suffix", [".html", ".xml"])
@FUZZ
@given(body=MARKUP)
def test_markup_keeps_the_file_length(suffix: str, body: str) -> None:
    head = "<html>" if suffix == ".html" else '<?xml version="1.0"?>'
    outcome("page" + suffix, (head + body).encode("utf-8"))


# --- tokenizer --------------------------------------------------------------------------

TRICKY = ["\u0301", "\u093f", "\u094d", "ß", "ﬁ", "İ", "ǅ", "Ω", "\u0345", "Ｃ", "١", "_", "'", "-", "\ud800", "😀",
          "\u200b", "\ufeff", "ᾈ"]
WORD_CHAR = re.compile(r"\w")


@FUZZ
@given(text=st.text(st.one_of(st.characters(), st.sampled_from(TRICKY)), max_size=300))
def test_token_spans_lie_in_the_text_and_hash_their_normalized_word(text: str) -> None:
    tokens = tokenize(text)
    previous_end = 0
    covered = [False] * len(text)
    for token_id, start, end in zip(tokens.ids.tolist(), tokens.starts.tolist(), tokens.ends.tolist(), strict=True):
        assert previous_end <= start < end <= len(text)
        word = normalize_word(text[start:end]).encode("utf-8", "surrogatepass")
        assert token_id == int.from_bytes(hashlib.blake2b(word, digest_size=8).digest(), "little")
        covered[start:end] = [True] * (end - start)
        previous_end = end
    # No word character is left outside a token.
    assert not any(WORD_CHAR.match(char) for char, inside in zip(text, covered, strict=True) if not inside)


# --- the bounded decoders match what they replace ---------------------------------------


def pdfminer_decompress_corrupted(data: bytes) -> bytes:
    """pdfminer.pdftypes.decompress_corrupted (before it was replaced), minus its
    quadratic concatenation."""
    inflater = zlib.decompressobj()
    out: list[bytes] = []
    for index in range(len(data)):
        try:
            out.append(inflater.decompress(data[index : index + 1]))
        except zlib.error:
            if index < len(data) - 3:
                raise
            break
    return b"".join(out)


def result_of(decode: Callable[[bytes], bytes], data: bytes) -> bytes | str:
    try:
        return decode(data)
    except zlib.error:
        return "zlib.error"


DEFLATED = st.builds(
    lambda payload, level, mutations, cut: mutate(zlib.compress(payload, level), mutations)[: cut or None],
    st.one_of(st.binary(max_size=2000), st.binary(max_size=20).map(lambda b: b * 500)),
    st.integers(0, 9),
    st.lists(st.tuples(st.sampled_from(["flip", "overwrite", "insert", "delete"]), st.integers(0, 1 << 20),
                       st.binary(min_size=1, max_size=4)), max_size=2),
    st.integers(0, 3000),
)


@FUZZ
@given(data=st.one_of(DEFLATED, st.binary(max_size=200)))
def test_bounded_inflate_matches_zlib_and_pdfminer(data: bytes) -> None:
    assert result_of(_inflate, data) == result_of(zlib.decompress, data)
    salvage = functools.partial(_inflate, salvage=True)
    assert result_of(salvage, data) == result_of(pdfminer_decompress_corrupted, data)


# --- linear text-line grouping matches pdfminer's ---------------------------------------

COORDINATE = st.one_of(
    st.integers(0, 150),  # on a small grid, so that lines touch and share grid cells
    st.floats(0, 150),
    st.sampled_from([float("nan"), float("inf"), 2**60, 10**20, 1e17, -(2**53) - 1, 0.1 + 0.2]),
)
LINE = st.tuples(st.booleans(), COORDINATE, COORDINATE, st.integers(0, 12), st.integers(0, 12) | COORDINATE)


def grouped(grouping: Callable[..., Iterator[Any]], specs: list[tuple[bool, Any, Any, int, Any]]) -> object:
    """The boxes ``grouping`` makes of lines (vertical?, x0, y0, width, height), as line
    numbers; or the exception it raises."""
    page = LTPage(1, (0, 0, 160, 160))
    lines: list[LTTextLine] = []
    for vertical, x0, y0, width, height in specs:
        line = LTTextLineVertical(0.1) if vertical else LTTextLineHorizontal(0.1)
        line.set_bbox((x0, y0, x0 + width, y0 + height))
        lines.append(line)
    index = {id(line): number for number, line in enumerate(lines)}
    try:
        boxes = list(grouping(page, LAParams(), lines))
    except Exception as exc:
        return type(exc)
    return [(type(box).__name__, [index[id(line)] for line in box]) for box in boxes]


@FUZZ
@given(specs=st.lists(LINE, max_size=80))
def test_linear_grouping_gives_pdfminers_boxes(specs: list[tuple[bool, Any, Any, int, Any]]) -> None:
    """Same boxes, same lines in the same order: the extracted text cannot change."""
    assert grouped(_LinearGrouping.group_textlines, specs) == grouped(LTLayoutContainer.group_textlines, specs)
