"""OpenDocument: text, spreadsheets, presentations; detection; hostile packages."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from leakwatch.config import ExtractLimits
from leakwatch.extract import extract_bytes
from leakwatch.extract.odf import paragraph_text
from leakwatch.extract.ooxml import package_mimetype, parse_xml, sniff_zip_format
from leakwatch.model import ExtractedText, ExtractionError, Status
from tests import formats

LIMITS = ExtractLimits(isolate=False, ocr=False)
NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
      'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
      'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
      'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
      'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"')
MIME = {"odt": "application/vnd.oasis.opendocument.text", "ods": "application/vnd.oasis.opendocument.spreadsheet",
        "odp": "application/vnd.oasis.opendocument.presentation"}


def package(kind: str, body: str, extra: dict[str, bytes] | None = None, mimetype_first: bool = True) -> bytes:
    """An ODF package whose content.xml holds ``body`` inside office:body."""
    content = f'<?xml version="1.0"?><office:document-content {NS}><office:body>{body}</office:body>' \
              "</office:document-content>"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        members = {"content.xml": content.encode(), **(extra or {})}
        if not mimetype_first:
            z.writestr("content.xml", members.pop("content.xml"))
        z.writestr(zipfile.ZipInfo("mimetype"), MIME[kind])
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def read(name: str, data: bytes) -> ExtractedText:
    return extract_bytes(Path(name), data, LIMITS)


def failure(name: str, data: bytes) -> ExtractionError:
    with pytest.raises(ExtractionError) as info:
        extract_bytes(Path(name), data, LIMITS)
    return info.value


def test_odt_paragraphs_spans_spaces_notes_and_frames() -> None:
    body = ('<office:text><text:h>Title</text:h><text:p>One <text:span>two</text:span> three<text:s text:c="3"/>four'
            '<text:tab/>five<text:line-break/>six<text:note><text:note-citation>1</text:note-citation>'
            '<text:note-body><text:p>The note.</text:p></text:note-body></text:note> after the note.</text:p>'
            '<text:p><draw:frame><draw:text-box><text:p>In a box.</text:p></draw:text-box></draw:frame>Beside.</text:p>'
            "<table:table><table:table-row><table:table-cell><text:p>Cell text</text:p></table:table-cell>"
            "</table:table-row></table:table></office:text>")

    result = read("doc.odt", package("odt", body))

    assert result.format == "odt" and result.page_starts == ()
    # A nested paragraph (note, text box) gets its own line before the one holding it;
    # the holder's text runs on across it (tails kept).
    assert result.text.split("\n") == ["Title", "The note.", "One two three   four\tfive", "six after the note.",
                                       "In a box.", "Beside.", "Cell text"]


def test_odt_headers_and_footers_come_after_the_body() -> None:
    styles = (f'<?xml version="1.0"?><office:document-styles {NS} '
              'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"><office:master-styles>'
              '<style:master-page style:name="Standard"><style:header><text:p>Company confidential</text:p>'
              "</style:header></style:master-page></office:master-styles></office:document-styles>")
    result = read("doc.odt", package("odt", "<office:text><text:p>Body</text:p></office:text>",
                                     {"styles.xml": styles.encode()}))
    assert result.text == "Body\nCompany confidential"


def test_ods_sheets_are_pages_and_repeats_are_expanded() -> None:
    body = ('<office:spreadsheet><table:table table:name="A"><table:table-row>'
            '<table:table-cell><text:p>x</text:p></table:table-cell>'
            '<table:table-cell table:number-columns-repeated="2"><text:p>y</text:p></table:table-cell>'
            '<table:table-cell table:number-columns-repeated="1000"/></table:table-row>'
            '<table:table-row table:number-rows-repeated="2"><table:table-cell><text:p>z</text:p></table:table-cell>'
            '</table:table-row><table:table-row table:number-rows-repeated="1048000"/></table:table>'
            '<table:table table:name="B"><table:table-row><table:table-cell><text:p>second</text:p>'
            "</table:table-cell></table:table-row></table:table></office:spreadsheet>")

    result = read("book.ods", package("ods", body))

    assert result.text == "x\ty\ty\nz\nz\fsecond" and result.page_starts == (len("x\ty\ty\nz\nz") + 1,)


def test_ods_repeated_cell_bomb_is_too_large() -> None:
    body = ('<office:spreadsheet><table:table><table:table-row table:number-rows-repeated="1000000">'
            '<table:table-cell table:number-columns-repeated="1000000"><text:p>boom</text:p></table:table-cell>'
            "</table:table-row></table:table></office:spreadsheet>")
    assert failure("bomb.ods", package("ods", body)).status is Status.TOO_LARGE


def test_odp_slides_are_pages_without_speaker_notes() -> None:
    body = ('<office:presentation><draw:page><draw:frame><draw:text-box><text:p>Slide one</text:p></draw:text-box>'
            "</draw:frame><presentation:notes><draw:frame><draw:text-box><text:p>Say this aloud</text:p>"
            "</draw:text-box></draw:frame></presentation:notes></draw:page>"
            "<draw:page><draw:frame><draw:text-box><text:p>Slide two</text:p></draw:text-box></draw:frame>"
            "</draw:page></office:presentation>")
    result = read("talk.odp", package("odp", body))
    assert result.text == "Slide one\fSlide two" and result.page_starts == (10,)


def test_odfpy_files_of_each_kind_read() -> None:
    assert read("a.odt", formats.odt(["First paragraph.", "Second one."])).text == "First paragraph.\nSecond one."
    assert read("a.ods", formats.ods({"S1": [["a", "b"]], "S2": [["c"]]})).text == "a\tb\fc"
    assert read("a.odp", formats.odp([["one"], ["two", "three"]])).text == "one\ftwo\nthree"


@pytest.mark.parametrize("kind", ["odt", "ods", "odp"])
def test_detected_by_mimetype_whatever_the_name(kind: str) -> None:
    data = package(kind, "<office:text/>" if kind == "odt" else "")
    assert sniff_zip_format(data) == kind
    assert read("misnamed.docx", data).format == kind


def test_mimetype_not_first_is_still_found() -> None:
    data = package("odt", "<office:text><text:p>late mimetype</text:p></office:text>", mimetype_first=False)
    assert package_mimetype(data) == MIME["odt"]
    assert read("doc.odt", data).text == "late mimetype"


def test_odg_and_other_odf_types_are_unsupported_zips() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.graphics")
        z.writestr("content.xml", "<x/>")
    assert failure("drawing.odg", out.getvalue()).status is Status.UNSUPPORTED


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"<office:document-content", Status.PARSE_ERROR),  # truncated XML
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>',
         Status.PARSE_ERROR),  # entities: forbidden
        (b"\xff\xfe not xml", Status.PARSE_ERROR),
    ],
    ids=["truncated-xml", "entity-bomb", "garbage"],
)
def test_hostile_content_xml_gets_a_status(content: bytes, status: Status) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), MIME["odt"])
        z.writestr("content.xml", content)
    assert failure("bad.odt", out.getvalue()).status is status


def test_missing_content_and_truncated_packages_get_statuses() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), MIME["odt"])
    assert failure("empty.odt", out.getvalue()).status is Status.PARSE_ERROR
    data = formats.odt(["Some words to cut."])
    error = failure("cut.odt", data[: len(data) // 2])
    assert error.status in (Status.PARSE_ERROR, Status.UNSUPPORTED)


def test_spans_nested_100000_deep_are_text_not_a_recursion_error() -> None:
    depth = 100_000
    paragraph = parse_xml(f'<text:p {NS}>{"<text:span>" * depth}deep{"</text:span>" * depth} tail</text:p>'.encode(),
                          "deep.xml")
    assert paragraph_text(paragraph) == "deep tail"
