"""Files of the formats read since issue 19, made in code: OpenDocument (odfpy), EPUB and
RTF (written by hand), DOCX/PPTX/PDF with pictures, legacy Office (LibreOffice converts a
DOCX, XLSX or PPTX made here), and images of text (tests/scans.py)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import docx
import openpyxl
import pptx
import pytest
from docx.shared import Inches
from odf.draw import Frame, Image, Page, TextBox
from odf.opendocument import OpenDocumentPresentation, OpenDocumentSpreadsheet, OpenDocumentText
from odf.style import MasterPage, PageLayout
from odf.table import Table, TableCell, TableRow
from odf.text import P

from tests import scans


def saved(document: object) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)  # type: ignore[attr-defined]
    return buffer.getvalue()


def odf_bytes(document: object) -> bytes:
    buffer = io.BytesIO()
    document.write(buffer)  # type: ignore[attr-defined]
    return buffer.getvalue()


def odt(paragraphs: list[str], picture: bytes | None = None) -> bytes:
    document = OpenDocumentText()
    for text in paragraphs:
        document.text.addElement(P(text=text))
    if picture is not None:
        href = document.addPicture("Pictures/shot.png", "image/png", picture)
        frame = Frame(width="15cm", height="5cm", anchortype="paragraph")
        frame.addElement(Image(href=href))
        holder = P()
        holder.addElement(frame)
        document.text.addElement(holder)
    return odf_bytes(document)


def ods(sheets: dict[str, list[list[str]]]) -> bytes:
    document = OpenDocumentSpreadsheet()
    for name, rows in sheets.items():
        table = Table(name=name)
        for row in rows:
            line = TableRow()
            for value in row:
                cell = TableCell()
                cell.addElement(P(text=value))
                line.addElement(cell)
            table.addElement(line)
        document.spreadsheet.addElement(table)
    return odf_bytes(document)


def odp(slides: list[list[str]], picture_on: int | None = None, picture: bytes | None = None) -> bytes:
    document = OpenDocumentPresentation()
    layout = PageLayout(name="layout")
    document.automaticstyles.addElement(layout)
    master = MasterPage(name="master", pagelayoutname=layout)
    document.masterstyles.addElement(master)
    for number, lines in enumerate(slides):
        page = Page(masterpagename=master)
        frame = Frame(width="20cm", height="10cm", x="1cm", y="1cm")
        box = TextBox()
        for line in lines:
            box.addElement(P(text=line))
        frame.addElement(box)
        page.addElement(frame)
        if picture is not None and number == picture_on:
            href = document.addPicture("Pictures/slide-shot.png", "image/png", picture)
            holder = Frame(width="20cm", height="6cm", x="1cm", y="11cm")
            holder.addElement(Image(href=href))
            page.addElement(holder)
        document.presentation.addElement(page)
    return odf_bytes(document)


def epub(chapters: list[str], title: str = "Book", encrypted: bool = False,
         spine_order: list[int] | None = None) -> bytes:
    """An EPUB 3 whose chapters are XHTML files (spine in ``spine_order`` if given)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        package.writestr("META-INF/container.xml", (
            '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
            '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
            "</rootfiles></container>"))
        items = "".join(f'<item id="c{i}" href="text/chapter%20{i}.xhtml" media-type="application/xhtml+xml"/>'
                        for i in range(len(chapters)))
        order = spine_order if spine_order is not None else list(range(len(chapters)))
        spine = "".join(f'<itemref idref="c{i}"/>' for i in order)
        package.writestr("OEBPS/content.opf", (
            '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
            f'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title></metadata>'
            f"<manifest>{items}</manifest><spine>{spine}</spine></package>"))
        for i, text in enumerate(chapters):
            body = "".join(f"<p>{paragraph}</p>" for paragraph in text.split("\n"))
            package.writestr(f"OEBPS/text/chapter {i}.xhtml", (
                '<?xml version="1.0" encoding="utf-8"?><!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml">'
                f"<head><title>Chapter {i}</title><style>p {{ margin: 0 }}</style></head>"
                f"<body><h1>Chapter&nbsp;{i + 1}</h1>{body}</body></html>"))
        if encrypted:
            package.writestr("META-INF/encryption.xml", (
                '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
                'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
                '<enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>'
                '<enc:CipherData><enc:CipherReference URI="OEBPS/text/chapter%200.xhtml"/></enc:CipherData>'
                "</enc:EncryptedData></encryption>"))
    return out.getvalue()


def rtf(paragraphs: list[str]) -> bytes:
    """An RTF document as Word writes one: font and colour tables, document information,
    a generator, then paragraphs; non-ASCII characters as \\uN with a ? fallback."""
    def escaped(text: str) -> str:
        out = []
        for character in text:
            if character in "\\{}":
                out.append("\\" + character)
            elif ord(character) > 127:
                code = ord(character)
                out.append(f"\\u{code if code < 32768 else code - 65536}?")
            else:
                out.append(character)
        return "".join(out)

    body = "".join(f"\\pard\\plain\\f0\\fs24 {escaped(p)}\\par\n" for p in paragraphs)
    return ("{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\froman\\fcharset0 Times New Roman;}}"
            "{\\colortbl;\\red0\\green0\\blue0;}{\\*\\generator Riched20 10.0.19041}"
            "{\\info{\\title Internal memo}{\\author A. Writer}}\\viewkind4\\uc1\n" + body + "}").encode("ascii")


def docx_with_picture(paragraphs: list[str], picture: bytes) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    document.add_picture(io.BytesIO(picture), width=Inches(6))
    return saved(document)


def pptx_with_picture(titles: list[str], picture: bytes, on: int) -> bytes:
    presentation = pptx.Presentation()
    for number, title in enumerate(titles):
        slide = presentation.slides.add_slide(presentation.slide_layouts[5])
        slide.shapes.title.text = title
        if number == on:
            slide.shapes.add_picture(io.BytesIO(picture), Inches(0.5), Inches(2), width=Inches(9))
    return saved(presentation)


def pdf_text_and_picture(lines: list[str], picture: bytes) -> bytes:
    """A PDF page with a text layer and, below it, a picture (a pasted screenshot)."""
    from PIL import Image as PILImage
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    text = pdf.beginText(60, 780)
    text.setFont("Helvetica", 10)
    for line in lines:
        text.textLine(line)
    pdf.drawText(text)
    image = PILImage.open(io.BytesIO(picture))
    width = 480
    pdf.drawImage(ImageReader(image), 60, 120, width, width * image.height / image.width)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def screenshot(text: str, width: int = 900) -> bytes:
    """A PNG of ``text`` as a screen shows it (sans serif, 15 px)."""
    return scans.encoded(scans.render(text, kind="sans", size=15, width=width, margin=14))


# --- legacy Office, through LibreOffice ---------------------------------------------------

def soffice() -> str:
    """LibreOffice, or skip (fail on CI, where .ci/run installs it)."""
    found = shutil.which("soffice")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("soffice is missing: .ci/run must install LibreOffice (writer, calc, impress)")
        pytest.skip("LibreOffice (soffice) is not installed")
    return found


def converted(files: dict[str, bytes], target: str) -> dict[str, bytes]:
    """Each file converted by LibreOffice to ``target`` (doc, xls, ppt), in one run."""
    program = soffice()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for name, data in files.items():
            (root / name).write_bytes(data)
        subprocess.run([program, f"-env:UserInstallation={(root / 'profile').as_uri()}", "--headless", "--norestore",
                        "--convert-to", target, "--outdir", str(root / "out"), *files],
                       cwd=root, capture_output=True, timeout=300, check=True)
        return {name: (root / "out" / f"{Path(name).stem}.{target}").read_bytes() for name in files}



def xlsx(rows: list[list[str]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.create_sheet("Second")["A1"] = "second sheet"
    return saved(book)


def pptx_slides(slides: list[str]) -> bytes:
    presentation = pptx.Presentation()
    for text in slides:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = "Slide"
        slide.placeholders[1].text = text
    return saved(presentation)


def docx_paragraphs(paragraphs: list[str]) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    return saved(document)
