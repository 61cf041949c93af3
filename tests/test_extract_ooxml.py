"""DOCX, PPTX and XLSX extraction, and the zip/XML defences they share."""

from __future__ import annotations

import dataclasses
import io
import struct
import zipfile
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pptx
import pytest
from pptx.util import Inches

from leakwatch.config import ExtractLimits
from leakwatch.extract.docx import DocxExtractor
from leakwatch.extract.ooxml import (
    is_ole_encrypted_package,
    join_pages,
    numbered_parts,
    open_package,
    read_member,
    sniff_zip_format,
)
from leakwatch.extract.pptx import PptxExtractor
from leakwatch.extract.xlsx import XlsxExtractor
from leakwatch.model import ExtractionError, Status

LIMITS = ExtractLimits()
MIB = 1024 * 1024

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PR = "http://schemas.openxmlformats.org/package/2006/relationships"
WORKSHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
CHARTSHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/chartsheet"
SHARED_STRINGS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


def make_zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as package:
        for name, content in members.items():
            package.writestr(name, content)
    return buffer.getvalue()


def word_document(body: str) -> bytes:
    return f'<?xml version="1.0"?><w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>'.encode()


Extractor = DocxExtractor | PptxExtractor | XlsxExtractor


def error_of(extractor: Extractor, data: bytes, limits: ExtractLimits = LIMITS) -> ExtractionError:
    with pytest.raises(ExtractionError) as info:
        extractor.extract(Path("deliverable"), data, limits)
    return info.value


def saved(document: Any) -> bytes:
    """The bytes of a python-docx / python-pptx / openpyxl document."""
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# --- DOCX -------------------------------------------------------------------------------


def test_docx_paragraphs_tables_headers_and_footers() -> None:
    document = docx.Document()
    document.add_paragraph("Opening paragraph of the report")
    document.add_paragraph("Second paragraph with the pricing model")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Supplier"
    table.cell(0, 1).text = "Unit price"
    table.cell(1, 0).text = "Acme Widgets"
    table.cell(1, 1).text = "12.50 EUR"
    document.add_paragraph("Closing paragraph after the table")
    document.sections[0].header.paragraphs[0].text = "Header: strictly confidential"
    document.sections[0].footer.paragraphs[0].text = "Footer: page numbers"

    result = DocxExtractor().extract(Path("report.docx"), saved(document), LIMITS)
    lines = result.text.split("\n")

    assert result.format == "docx"
    assert result.encoding is None
    assert result.page_starts == ()
    assert lines[:2] == ["Opening paragraph of the report", "Second paragraph with the pricing model"]
    for cell in ("Supplier", "Unit price", "Acme Widgets", "12.50 EUR"):
        assert cell in lines
    assert lines.index("Acme Widgets") < lines.index("Closing paragraph after the table")
    body_end = lines.index("Closing paragraph after the table")
    assert lines.index("Header: strictly confidential") > body_end
    assert lines.index("Footer: page numbers") > lines.index("Header: strictly confidential")


def test_docx_tabs_breaks_and_runs() -> None:
    document = docx.Document()
    paragraph = document.add_paragraph()
    run = paragraph.add_run("Name")
    run.add_tab()
    run.add_text("Value")
    run.add_break()
    paragraph.add_run("next line of the ").bold = True
    paragraph.add_run("same paragraph")

    text = DocxExtractor().extract(Path("x.docx"), saved(document), LIMITS).text

    assert text == "Name\tValue\nnext line of the same paragraph"


def test_docx_notes_deleted_text_and_no_doubled_fallbacks() -> None:
    mc = "http://schemas.openxmlformats.org/markup-compatibility/2006"
    body = (
        # Tab stops in paragraph properties are not tab characters.
        "<w:p><w:pPr><w:tabs><w:tab w:val='left' w:pos='720'/></w:tabs></w:pPr>"
        "<w:r><w:t>Kept words</w:t></w:r>"
        "<w:del w:id='1' w:author='x'><w:r><w:delText> and deleted words</w:delText></w:r></w:del></w:p>"
        f"<w:p><w:r><mc:AlternateContent xmlns:mc='{mc}'>"
        "<mc:Choice Requires='wps'><w:t>Text box words</w:t></mc:Choice>"
        "<mc:Fallback><w:t>Text box words</w:t></mc:Fallback>"
        "</mc:AlternateContent></w:r></w:p>"
    )
    footnotes = (
        f'<w:footnotes xmlns:w="{W}"><w:footnote w:id="1"><w:p><w:r><w:t>Footnote source citation'
        "</w:t></w:r></w:p></w:footnote></w:footnotes>"
    ).encode()
    data = make_zip(
        {
            "word/document.xml": word_document(body),
            "word/footnotes.xml": footnotes,
            "word/header10.xml": f'<w:hdr xmlns:w="{W}"><w:p><w:r><w:t>header ten</w:t></w:r></w:p></w:hdr>'.encode(),
            "word/header2.xml": f'<w:hdr xmlns:w="{W}"><w:p><w:r><w:t>header two</w:t></w:r></w:p></w:hdr>'.encode(),
        }
    )

    text = DocxExtractor().extract(Path("x.docx"), data, LIMITS).text

    assert text.split("\n") == [
        "Kept words and deleted words",
        "Text box words",
        "Footnote source citation",
        "header two",
        "header ten",
    ]


def test_docx_without_main_part_is_a_parse_error() -> None:
    error = error_of(DocxExtractor(), make_zip({"word/styles.xml": b"<x/>"}))

    assert error.status is Status.PARSE_ERROR
    assert "word/document.xml" in error.message


def test_docx_with_malformed_xml_is_a_parse_error() -> None:
    data = make_zip({"word/document.xml": word_document("<w:p><w:r><w:t>unclosed")})

    assert error_of(DocxExtractor(), data).status is Status.PARSE_ERROR


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:body><w:p><w:r><w:t>&xxe;</w:t></w:r></w:p></w:body></w:document>"""

BARE_DOCTYPE = b"""<?xml version="1.0"?><!DOCTYPE w:document>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body/></w:document>"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL_ENTITY, BARE_DOCTYPE], ids=["laughs", "xxe", "doctype"])
def test_xml_with_a_dtd_is_a_parse_error(xml: bytes) -> None:
    error = error_of(DocxExtractor(), make_zip({"word/document.xml": xml}))

    assert error.status is Status.PARSE_ERROR
    assert "forbidden" in error.message


def test_dtd_in_a_small_xml_part_is_a_parse_error() -> None:
    # The workbook is read as a tree rather than streamed; same defences.
    data = make_zip({"xl/workbook.xml": BILLION_LAUGHS})

    assert error_of(XlsxExtractor(), data).status is Status.PARSE_ERROR


# --- PPTX -------------------------------------------------------------------------------


def make_presentation(slide_count: int) -> bytes:
    presentation = pptx.Presentation()
    layout = presentation.slide_layouts[6]  # blank
    for number in range(1, slide_count + 1):
        slide = presentation.slides.add_slide(layout)
        box = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(2)).text_frame
        box.text = f"Slide number {number} title"
        box.add_paragraph().text = f"Body of slide {number}"
    return saved(presentation)


def test_pptx_slides_in_numeric_order_with_page_starts() -> None:
    result = PptxExtractor().extract(Path("deck.pptx"), make_presentation(11), LIMITS)

    assert result.format == "pptx"
    assert len(result.page_starts) == 10
    slides = result.text.split("\f")
    assert slides[1] == "Slide number 2 title\nBody of slide 2"
    assert slides[9] == "Slide number 10 title\nBody of slide 10"
    assert result.text.index("Slide number 2 title") < result.text.index("Slide number 10 title")
    for number in range(1, 12):
        assert result.page_of(result.text.index(f"Slide number {number} title")) == number


def test_pptx_line_breaks_inside_a_paragraph() -> None:
    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])
    frame = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(2)).text_frame
    frame.text = "first part\vsecond part"  # python-pptx turns \v into a:br

    assert PptxExtractor().extract(Path("d.pptx"), saved(presentation), LIMITS).text == "first part\nsecond part"


def test_pptx_without_presentation_part_is_a_parse_error() -> None:
    data = make_zip({"ppt/slides/slide1.xml": b"<x/>"})

    assert error_of(PptxExtractor(), data).status is Status.PARSE_ERROR


# --- XLSX -------------------------------------------------------------------------------


def workbook_package(
    sheets: list[tuple[str, str, str]],
    sheet_xml: dict[str, str],
    shared: list[str] | None = None,
) -> bytes:
    """A hand-made XLSX: ``sheets`` is (name, relationship id, relationship type) in
    workbook order; ``sheet_xml`` maps part name -> sheetData content."""
    targets = {f"rId{n}": f"worksheets/sheet{n}.xml" for n in range(1, 10)}
    rels = "".join(f'<Relationship Id="{rid}" Type="{kind}" Target="{targets[rid]}"/>' for _, rid, kind in sheets)
    rels += f'<Relationship Id="rId99" Type="{SHARED_STRINGS}" Target="sharedStrings.xml"/>'
    members = {
        "xl/workbook.xml": (
            f'<workbook xmlns="{S}" xmlns:r="{R}"><sheets>'
            + "".join(f'<sheet name="{name}" sheetId="{i}" r:id="{rid}"/>' for i, (name, rid, _) in enumerate(sheets))
            + "</sheets></workbook>"
        ).encode(),
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PR}">{rels}</Relationships>'.encode(),
    }
    for part, rows in sheet_xml.items():
        members[part] = f'<worksheet xmlns="{S}"><sheetData>{rows}</sheetData></worksheet>'.encode()
    if shared is not None:
        members["xl/sharedStrings.xml"] = (
            f'<sst xmlns="{S}" count="{len(shared)}">' + "".join(shared) + "</sst>"
        ).encode()
    return make_zip(members)


def test_xlsx_cell_types_shared_and_inline_strings_in_workbook_order() -> None:
    shared = [
        "<si><t>Customer list</t></si>",
        # Rich text: runs are concatenated; the phonetic reading (rPh) is not cell text.
        "<si><r><t>Acme </t></r><r><rPr><b/></rPr><t>Holdings</t></r><rPh sb='0' eb='1'><t>AKUME</t></rPh></si>",
    ]
    first = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>Inline heading</t></is></c></row>'
        '<row r="2"><c r="A2" t="s"><v>1</v></c><c r="B2"><v>1234.5</v></c><c r="C2" t="b"><v>1</v></c>'
        '<c r="D2" t="str"><f>A2&amp;"!"</f><v>Acme Holdings!</v></c><c r="E2" s="3"/></row>'
        '<row r="3"><c r="A3" s="1"/></row>'
        '<row r="4"><c r="A4" t="e"><v>#DIV/0!</v></c><c r="B4" t="b"><v>0</v></c></row>'
    )
    second = '<row r="1"><c r="A1" t="inlineStr"><is><r><t>Summary </t></r><r><t>sheet</t></r></is></c></row>'
    data = workbook_package(
        # The workbook lists sheet2.xml first: that is the order to keep.
        [("Summary", "rId2", WORKSHEET), ("Chart", "rId3", CHARTSHEET), ("Data", "rId1", WORKSHEET)],
        {"xl/worksheets/sheet1.xml": first, "xl/worksheets/sheet2.xml": second},
        shared,
    )

    result = XlsxExtractor().extract(Path("book.xlsx"), data, LIMITS)

    assert result.format == "xlsx"
    assert result.encoding is None
    assert result.text.split("\f") == [
        "Summary sheet",
        "Customer list\tInline heading\nAcme Holdings\t1234.5\tTRUE\tAcme Holdings!\n#DIV/0!\tFALSE",
    ]
    assert result.page_starts == (len("Summary sheet") + 1,)
    assert result.page_of(result.text.index("Acme Holdings")) == 2


def test_xlsx_made_by_openpyxl_two_sheets() -> None:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = "Prices"
    first.append(["Item", "Price", "In stock"])
    first.append(["Widget", 12.5, True])
    first.append(["Gadget", 7, False])
    second = book.create_sheet("Notes")
    second["B3"] = "Negotiated discount applies until March"

    result = XlsxExtractor().extract(Path("book.xlsx"), saved(book), LIMITS)

    prices, notes = result.text.split("\f")
    assert prices.split("\n") == ["Item\tPrice\tIn stock", "Widget\t12.5\tTRUE", "Gadget\t7\tFALSE"]
    assert notes == "Negotiated discount applies until March"
    assert result.page_starts == (len(prices) + 1,)


def test_xlsx_without_relationships_falls_back_to_numeric_sheet_order() -> None:
    cell = '<row r="1"><c r="A1" t="inlineStr"><is><t>sheet {}</t></is></c></row>'
    members = {"xl/workbook.xml": f'<workbook xmlns="{S}"/>'.encode()}
    for number in (10, 2, 1):
        members[f"xl/worksheets/sheet{number}.xml"] = (
            f'<worksheet xmlns="{S}"><sheetData>{cell.format(number)}</sheetData></worksheet>'
        ).encode()

    result = XlsxExtractor().extract(Path("b.xlsx"), make_zip(members), LIMITS)

    assert result.text.split("\f") == ["sheet 1", "sheet 2", "sheet 10"]


def test_xlsx_bad_shared_string_index_is_a_parse_error() -> None:
    data = workbook_package(
        [("Data", "rId1", WORKSHEET)],
        {"xl/worksheets/sheet1.xml": '<row r="1"><c r="A1" t="s"><v>7</v></c></row>'},
        ["<si><t>only one</t></si>"],
    )

    error = error_of(XlsxExtractor(), data)

    assert error.status is Status.PARSE_ERROR
    assert "A1" in error.message


def test_xlsx_sheet_pointing_to_a_missing_part_is_a_parse_error() -> None:
    data = workbook_package([("Gone", "rId1", WORKSHEET)], {})

    assert error_of(XlsxExtractor(), data).status is Status.PARSE_ERROR


def test_xlsx_shared_string_amplification_is_too_large() -> None:
    # One long shared string referenced by many cells: small package, huge text.
    rows = "".join(f'<row r="{n}"><c r="A{n}" t="s"><v>0</v></c></row>' for n in range(1, 201))
    data = workbook_package(
        [("Data", "rId1", WORKSHEET)], {"xl/worksheets/sheet1.xml": rows}, [f"<si><t>{'x' * 1000}</t></si>"]
    )
    limits = dataclasses.replace(LIMITS, max_text_chars=50_000)

    assert error_of(XlsxExtractor(), data, limits).status is Status.TOO_LARGE
    assert len(XlsxExtractor().extract(Path("b.xlsx"), data, LIMITS).text) > 200_000


def test_xlsx_without_workbook_is_a_parse_error() -> None:
    data = make_zip({"xl/worksheets/sheet1.xml": f'<worksheet xmlns="{S}"/>'.encode()})

    assert error_of(XlsxExtractor(), data).status is Status.PARSE_ERROR


# --- zip defences -----------------------------------------------------------------------


def forbid_decompression(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a member was decompressed")

    monkeypatch.setattr(zipfile.ZipFile, "open", refuse)


def test_zip_bomb_member_is_too_large_by_ratio_without_decompressing(monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = word_document("<w:p/>" + " " * (50 * MIB) + "<w:p/>")
    data = make_zip({"word/document.xml": bomb})
    assert len(data) < MIB
    forbid_decompression(monkeypatch)

    error = error_of(DocxExtractor(), data)

    assert error.status is Status.TOO_LARGE
    assert "compression ratio" in error.message


def test_member_over_the_size_cap_is_too_large_without_decompressing(monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_zip({"word/document.xml": word_document("<w:p/>" * 400_000)})
    limits = dataclasses.replace(LIMITS, max_member_bytes=MIB, max_compression_ratio=1e9)
    forbid_decompression(monkeypatch)

    error = error_of(DocxExtractor(), data, limits)

    assert error.status is Status.TOO_LARGE
    assert "word/document.xml" in error.message


def test_small_members_may_compress_very_well() -> None:
    data = make_zip({"word/document.xml": word_document("<w:p/>" * 20_000 + "<w:p><w:r><w:t>end</w:t></w:r></w:p>")})

    assert DocxExtractor().extract(Path("x.docx"), data, LIMITS).text.endswith("\nend")


def test_declared_total_over_the_cap_is_too_large() -> None:
    data = make_zip({f"part{n}.xml": b"<a/>" * 100_000 for n in range(4)})
    limits = dataclasses.replace(LIMITS, max_total_uncompressed=1_000_000)

    with pytest.raises(ExtractionError) as info:
        open_package(data, limits)

    assert info.value.status is Status.TOO_LARGE


def test_too_many_members_is_too_large() -> None:
    data = make_zip({f"word/media/image{n}.png": b"x" for n in range(11)} | {"word/document.xml": word_document("")})
    limits = dataclasses.replace(LIMITS, max_members=10)

    error = error_of(DocxExtractor(), data, limits)

    assert error.status is Status.TOO_LARGE
    assert "members" in error.message


def understate_size(data: bytes, name: str, declared: int) -> bytes:
    """Rewrite a member's uncompressed size in its local header and the central directory."""
    patched = bytearray(data)
    encoded = name.encode()
    local = patched.find(b"PK\x03\x04")
    while patched[local + 30 : local + 30 + len(encoded)] != encoded:
        local = patched.find(b"PK\x03\x04", local + 4)
    struct.pack_into("<I", patched, local + 22, declared)
    central = patched.find(b"PK\x01\x02")
    while patched[central + 46 : central + 46 + len(encoded)] != encoded:
        central = patched.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", patched, central + 24, declared)
    return bytes(patched)


def test_member_understating_its_size_is_never_inflated_past_it() -> None:
    # zipfile stops inflating at the declared size, so the lie surfaces as a
    # checksum failure on the truncated member, never as a big allocation.
    real = word_document("<w:p><w:r><w:t>words</w:t></w:r></w:p>" * 50_000)
    data = understate_size(make_zip({"word/document.xml": real}), "word/document.xml", 1000)
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        assert package.getinfo("word/document.xml").file_size == 1000

    error = error_of(DocxExtractor(), data)

    assert error.status is Status.PARSE_ERROR
    assert "CRC" in error.message


def test_reading_stops_once_a_member_yields_more_than_declared(monkeypatch: pytest.MonkeyPatch) -> None:
    # Should a zip reader ever hand back more than the header says, the chunked
    # read must stop at the declared size rather than trust it.
    package = zipfile.ZipFile(io.BytesIO(make_zip({"a.xml": b"<a/>" * 1000})))
    handed_out: list[int] = []

    class Endless(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            buffer[:] = b"\0" * len(buffer)
            handed_out.append(len(buffer))
            return len(buffer)

    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, info: io.BufferedReader(Endless()))

    with pytest.raises(ExtractionError) as info:
        read_member(package, "a.xml", LIMITS)

    assert info.value.status is Status.TOO_LARGE
    assert sum(handed_out) < 4000 + 2 * 64 * 1024


def test_read_member_missing_part_is_a_parse_error() -> None:
    package = open_package(make_zip({"a.xml": b"<a/>"}), LIMITS)

    with pytest.raises(ExtractionError) as info:
        read_member(package, "b.xml", LIMITS)

    assert info.value.status is Status.PARSE_ERROR


@pytest.mark.parametrize("data", [b"", b"PK\x03\x04garbage", b"not a zip at all", b"\0" * 4096])
def test_bad_zip_is_a_parse_error(data: bytes) -> None:
    for extractor in (DocxExtractor(), PptxExtractor(), XlsxExtractor()):
        assert error_of(extractor, data).status is Status.PARSE_ERROR


def test_truncated_docx_is_a_parse_error() -> None:
    document = docx.Document()
    document.add_paragraph("text")
    data = saved(document)

    assert error_of(DocxExtractor(), data[: len(data) // 2]).status is Status.PARSE_ERROR


def test_corrupt_member_data_is_a_parse_error() -> None:
    data = bytearray(make_zip({"word/document.xml": word_document("<w:p><w:r><w:t>x</w:t></w:r></w:p>" * 500)}))
    data[60:80] = b"\xff" * 20  # inside the deflate stream of the only member

    assert error_of(DocxExtractor(), bytes(data)).status is Status.PARSE_ERROR


def test_unexpected_exceptions_become_parse_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object) -> list[str]:
        raise TypeError("unexpected")

    monkeypatch.setattr("leakwatch.extract.docx.paragraph_lines", explode)
    document = docx.Document()
    document.add_paragraph("text")

    error = error_of(DocxExtractor(), saved(document))

    assert error.status is Status.PARSE_ERROR
    assert "TypeError" in error.message


# --- detection helpers ------------------------------------------------------------------

OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")


def test_ole_encrypted_package_is_recognised() -> None:
    blob = OLE_MAGIC + b"\0" * 504 + "EncryptedPackage".encode("utf-16-le") + b"\0" * 64

    assert is_ole_encrypted_package(blob)
    with pytest.raises(ExtractionError) as info:
        open_package(blob, LIMITS)
    assert info.value.status is Status.ENCRYPTED


@pytest.mark.parametrize(
    "blob",
    [
        OLE_MAGIC + b"\0" * 504 + "WordDocument".encode("utf-16-le"),  # legacy .doc
        b"PK\x03\x04" + "EncryptedPackage".encode("utf-16-le"),
        OLE_MAGIC + b"EncryptedPackage",  # not UTF-16
        b"",
    ],
    ids=["legacy-doc", "zip", "ascii-name", "empty"],
)
def test_other_blobs_are_not_ole_encrypted_packages(blob: bytes) -> None:
    assert not is_ole_encrypted_package(blob)


def test_sniff_zip_format_names_office_packages() -> None:
    document = docx.Document()
    document.add_paragraph("x")
    book = openpyxl.Workbook()

    assert sniff_zip_format(saved(document)) == "docx"
    assert sniff_zip_format(make_presentation(1)) == "pptx"
    assert sniff_zip_format(saved(book)) == "xlsx"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"PK\x03\x04 broken",
        b"%PDF-1.7 word/document.xml",
        OLE_MAGIC + b"\0" * 100,
        make_zip({"readme.txt": b"hello", "src/main.py": b"print()"}),
        # The name inside a member's content is not a member name.
        make_zip({"notes.txt": b"see word/document.xml and xl/workbook.xml"}, zipfile.ZIP_STORED),
    ],
    ids=["empty", "broken", "pdf", "ole", "plain-zip", "name-in-content"],
)
def test_sniff_zip_format_is_none_for_everything_else(data: bytes) -> None:
    assert sniff_zip_format(data) is None


def test_sniff_zip_format_on_a_truncated_package_is_none() -> None:
    document = docx.Document()
    document.add_paragraph("x")
    data = saved(document)

    assert sniff_zip_format(data[: len(data) // 2]) is None


def test_numbered_parts_sort_numerically() -> None:
    names = [
        "ppt/slides/slide10.xml",
        "ppt/slides/slide2.xml",
        "ppt/slides/slide1.xml",
        "ppt/slides/_rels/slide1.xml.rels",
        "ppt/slides/slideLayout1.xml",
    ]

    assert numbered_parts(names, "ppt/slides/slide") == [
        "ppt/slides/slide1.xml",
        "ppt/slides/slide2.xml",
        "ppt/slides/slide10.xml",
    ]


@pytest.mark.parametrize(
    ("pages", "starts"),
    [([], ()), (["only"], ()), (["ab", "", "cde"], (3, 4)), (["", ""], (1,))],
)
def test_join_pages_offsets(pages: list[str], starts: tuple[int, ...]) -> None:
    text, offsets = join_pages(pages)

    assert offsets == starts
    assert text == "\f".join(pages)
    assert all(text[offset - 1] == "\f" for offset in offsets)
