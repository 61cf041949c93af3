"""OpenDocument (ODF 1.0-1.3): text documents, spreadsheets and presentations.

An ODF file is a zip holding ``content.xml`` (and ``styles.xml``, where a text
document's page headers and footers live). It is read with the OOXML package's defences
(:mod:`leakwatch.extract.ooxml`: member count, size and ratio caps, defusedxml with DTDs
forbidden) and streamed: a finished block is dropped once read.

* **.odt**: one line per paragraph or heading (text boxes, table cells, footnotes,
  comments and tracked deletions included: they are in the file), then the headers and
  footers. ODF does not store pages (``text:soft-page-break`` marks are LibreOffice's
  layout at the last save, and other writers leave them out), so an ODT, like a DOCX,
  has no page numbers.
* **.ods**: one page per sheet, a row's non-empty cells joined with tabs (what the cell
  shows: its paragraphs), a line per row; repeated rows and cells are repeated, within
  the text limit (``number-columns-repeated="1000000000"`` on a full cell is too-large).
* **.odp**: one page per slide (``draw:page``), its paragraphs in order; speaker notes
  are left out, as for PPTX.

Pictures (``draw:image``) are read by OCR: an ODT's after its text, a slide's after the
slide's text, each a region named by its member (``Pictures/1000000.png``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element

from leakwatch.config import ExtractLimits
from leakwatch.extract.base import Extractor
from leakwatch.extract.ocr import OcrReader, PageText, join_pages, with_regions
from leakwatch.extract.ooxml import (
    RASTER_SUFFIXES,
    TextBudget,
    guarded,
    iterparse_xml,
    open_package,
    read_member,
)
from leakwatch.model import ExtractedText, ExtractionError, Status

CONTENT = "content.xml"
STYLES = "styles.xml"

NS_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
NS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
NS_DRAW = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
NS_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
NS_PRESENTATION = "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"
NS_XLINK = "http://www.w3.org/1999/xlink"

PARAGRAPHS = frozenset({f"{{{NS_TEXT}}}p", f"{{{NS_TEXT}}}h"})
_SPACE = f"{{{NS_TEXT}}}s"
_LITERALS = {f"{{{NS_TEXT}}}tab": "\t", f"{{{NS_TEXT}}}line-break": "\n"}
# Inside a paragraph, these hold paragraphs of their own (given their own lines before
# the paragraph's), or nothing to read: their text is not the paragraph's.
_OPAQUE = frozenset({f"{{{NS_TEXT}}}note", f"{{{NS_OFFICE}}}annotation", f"{{{NS_TEXT}}}tracked-changes",
                     f"{{{NS_DRAW}}}frame", f"{{{NS_DRAW}}}text-box", f"{{{NS_TEXT}}}soft-page-break"})
_READ = "{leakwatch}read"  # the tag a paragraph gets once its line is out
_TABLE = f"{{{NS_TABLE}}}table"
_ROW = f"{{{NS_TABLE}}}table-row"
_CELLS = frozenset({f"{{{NS_TABLE}}}table-cell", f"{{{NS_TABLE}}}covered-table-cell"})
_ROWS_REPEATED = f"{{{NS_TABLE}}}number-rows-repeated"
_COLUMNS_REPEATED = f"{{{NS_TABLE}}}number-columns-repeated"
_SLIDE = f"{{{NS_DRAW}}}page"
_NOTES = f"{{{NS_PRESENTATION}}}notes"
_IMAGE = f"{{{NS_DRAW}}}image"
_HREF = f"{{{NS_XLINK}}}href"
# Runs of spaces (text:s c="n") are kept short: words are what matters.
_MAX_SPACES = 64


def paragraph_text(paragraph: Element) -> str:
    """The text of one paragraph, its spans' text and tails in order, spaces, tabs and
    line breaks as characters; nested paragraphs, notes, comments and frames left out.
    Iterative: spans nested 100,000 deep are text like any other."""
    parts = [paragraph.text or ""]
    stack = [(paragraph, iter(paragraph))]
    while stack:
        element, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if stack:
                parts.append(element.tail or "")
            continue
        tag = child.tag
        if tag == _SPACE:
            count = child.get(f"{{{NS_TEXT}}}c", "1")
            parts.append(" " * min(int(count) if count.isdigit() else 1, _MAX_SPACES))
        elif tag in _LITERALS:
            parts.append(_LITERALS[tag])
        elif tag in _OPAQUE or tag in PARAGRAPHS or tag == _READ:
            pass
        else:
            parts.append(child.text or "")
            stack.append((child, iter(child)))
            continue
        parts.append(child.tail or "")
    return "".join(parts)


@dataclass(frozen=True)
class _Place:
    """Where an element ends: its parent, and how many paragraphs and notes are open around it."""

    parent: Element | None
    paragraphs: int
    notes: int


def _ends(xml: bytes, part: str) -> Iterator[tuple[Element, _Place]]:
    """Every element of a part as it ends, with where it is."""
    stack: list[Element] = []
    paragraphs = notes = 0
    for event, element in iterparse_xml(xml, part, ("start", "end")):
        if event == "start":
            stack.append(element)
            paragraphs += element.tag in PARAGRAPHS
            notes += element.tag == _NOTES
            continue
        stack.pop()
        paragraphs -= element.tag in PARAGRAPHS
        notes -= element.tag == _NOTES
        yield element, _Place(stack[-1] if stack else None, paragraphs, notes)


def _forget(element: Element, place: _Place) -> None:
    """Drop a finished element, unless it sits in a paragraph that still needs its tail."""
    if place.paragraphs:
        return
    element.clear()
    parent = place.parent
    if parent is not None and len(parent) and parent[0] is element:
        del parent[0]


def _paragraph(element: Element, budget: TextBudget) -> str:
    text = budget.add(paragraph_text(element))
    element.tag = _READ  # the paragraphs holding it skip it
    return text


def text_lines(xml: bytes, part: str, budget: TextBudget, pictures: list[str]) -> list[str]:
    """One line per paragraph of a text part (nested ones first); the pictures it shows
    are added to ``pictures``."""
    lines: list[str] = []
    for element, place in _ends(xml, part):
        if element.tag in PARAGRAPHS:
            lines.append(_paragraph(element, budget))
        elif element.tag == _IMAGE:
            pictures.append(element.get(_HREF, ""))
        _forget(element, place)
    return lines


def _repeat(element: Element, attribute: str) -> int:
    value = element.get(attribute, "1")
    return max(1, int(value)) if value.isdigit() else 1


def sheet_pages(xml: bytes, part: str, budget: TextBudget) -> list[PageText]:
    """One page per sheet: rows of tab-joined cell texts, repeats expanded within the budget."""
    pages: list[PageText] = []
    rows: list[str] = []
    cells: list[str] = []
    paragraphs: list[str] = []
    for element, place in _ends(xml, part):
        tag = element.tag
        if tag in PARAGRAPHS:
            paragraphs.append(_paragraph(element, budget))
        elif tag in _CELLS:
            text = " ".join(p for p in paragraphs if p)
            paragraphs.clear()
            if text:
                count = _repeat(element, _COLUMNS_REPEATED)
                budget.charge(count * (len(text) + 1))
                cells.extend([text] * count)
        elif tag == _ROW:
            if cells:
                line = "\t".join(cells)
                count = _repeat(element, _ROWS_REPEATED)
                budget.charge(count * (len(line) + 1))
                rows.extend([line] * count)
            cells.clear()
        elif tag == _TABLE and (place.parent is None or place.parent.tag not in _CELLS):
            pages.append(PageText("\n".join(rows)))
            rows.clear()
        _forget(element, place)
    return pages


def slide_pages(xml: bytes, part: str, budget: TextBudget) -> tuple[list[PageText], list[list[str]]]:
    """One page per slide (speaker notes left out), and the pictures on each."""
    pages: list[PageText] = []
    pictures: list[list[str]] = []
    lines: list[str] = []
    shown: list[str] = []
    for element, place in _ends(xml, part):
        tag = element.tag
        if tag in PARAGRAPHS:
            text = _paragraph(element, budget)
            if not place.notes:
                lines.append(text)
        elif tag == _IMAGE and not place.notes:
            shown.append(element.get(_HREF, ""))
        elif tag == _SLIDE:
            pages.append(PageText("\n".join(lines)))
            pictures.append(list(shown))
            lines.clear()
            shown.clear()
        _forget(element, place)
    return pages, pictures


# --- the extractors -----------------------------------------------------------------------


def _read_pictures(package: object, hrefs: list[str], page: PageText, reader: OcrReader,
                   names: set[str], limits: ExtractLimits) -> None:
    seen: set[str] = set()
    for href in hrefs:
        member = href.removeprefix("./")
        if member in seen or member not in names or not member.lower().endswith(RASTER_SUFFIXES):
            continue  # linked (outside the file), repeated, or not a raster picture
        seen.add(member)
        page.add(reader.read_embedded(read_member(package, member, limits), member))  # type: ignore[arg-type]


def _odf_pages(data: bytes, limits: ExtractLimits, kind: str) -> tuple[list[PageText], bool]:
    with open_package(data, limits) as package:
        names = set(package.namelist())
        if CONTENT not in names:
            raise ExtractionError(Status.PARSE_ERROR, f"not an OpenDocument file: no {CONTENT}")
        budget = TextBudget(limits)
        reader = OcrReader(limits)
        content = read_member(package, CONTENT, limits)
        if kind == "ods":
            return sheet_pages(content, CONTENT, budget) or [PageText()], False
        if kind == "odp":
            slides, pictures = slide_pages(content, CONTENT, budget)
            if reader.enabled:
                for slide, shown in zip(slides, pictures, strict=True):
                    _read_pictures(package, shown, slide, reader, names, limits)
            return slides or [PageText()], reader.images > 0
        hrefs: list[str] = []
        lines = text_lines(content, CONTENT, budget, hrefs)
        if STYLES in names:
            lines += text_lines(read_member(package, STYLES, limits), STYLES, budget, [])
        document = PageText("\n".join(lines))
        if reader.enabled:
            _read_pictures(package, hrefs, document, reader, names, limits)
        return [document], reader.images > 0


class _OdfExtractor(Extractor):
    def extract(self, path: Path, data: bytes, limits: ExtractLimits) -> ExtractedText:
        pages, used_ocr = guarded(f"{self.name.upper()} package", lambda: _odf_pages(data, limits, self.name))
        text, starts, regions = join_pages(pages)
        return with_regions(self.result(text, limits, page_starts=starts), regions, used_ocr, limits)


class OdtExtractor(_OdfExtractor):
    """OpenDocument text (LibreOffice Writer); no pages."""

    name = "odt"


class OdsExtractor(_OdfExtractor):
    """OpenDocument spreadsheets (LibreOffice Calc); sheets are pages."""

    name = "ods"


class OdpExtractor(_OdfExtractor):
    """OpenDocument presentations (LibreOffice Impress); slides are pages."""

    name = "odp"
