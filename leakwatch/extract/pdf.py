"""PDF: the text layer, page by page, through PDFium (pypdfium2) or pdfminer.six.

Which engine reads a file depends on its bytes and the limits only, so that a document
indexed and a deliverable scanned are read the same way:

1. PDFium (``leakwatch.extract.pdfium``), about 25 times faster, for every PDF its
   screen passes (no encryption, every stream PDFium would decode for text decodes
   within bounds, no nested forms, no oversized font ranges);
2. pdfminer.six, hardened below (decode budgets, range counts, drawing caps, a linear
   layout), for the files the screen refuses, the files PDFium cannot open or read a
   page of, and the files in which PDFium finds no text at all; and for every file
   under ``[extract] pdf_engine = "pdfminer"``.

:attr:`ExtractedText.extractor_version` names the engine (``2/pdfium-<build>`` or
``2/pdfminer``, ``+ocr-...`` when OCR read a page or picture: see
:mod:`leakwatch.extract.pdf_ocr`), and the store keeps it per document. Pages are joined
with a form feed and :attr:`ExtractedText.page_starts` records where each page after
the first begins. Every failure, including any exception raised inside either engine, becomes an
:class:`ExtractionError` with a status.
"""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
from pdfminer.converter import PDFPageAggregator
from pdfminer.layout import (
    LAParams,
    LTFigure,
    LTLayoutContainer,
    LTPage,
    LTTextBox,
    LTTextBoxHorizontal,
    LTTextBoxVertical,
    LTTextContainer,
    LTTextLine,
    LTTextLineHorizontal,
)
from pdfminer.pdfcolor import PDFColorSpace
from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdffont import PDFFont
from pdfminer.pdfinterp import PDFGraphicState, PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import PDFStream, resolve1
from pdfminer.utils import Matrix, PathSegment, Plane, Point, Rect, uniq

from leakwatch.config import ExtractLimits
from leakwatch.extract import pdf_decoding, pdf_ocr, pdfium
from leakwatch.extract.base import Extractor
from leakwatch.extract.ocr import ocr_version
from leakwatch.extract.pdf_decoding import BUDGET, new_budget
from leakwatch.model import ExtractedText, ExtractionError, Status

# pdfminer logs a warning for every recoverable defect (bad xref, missing glyph);
# on real-world files that is mostly noise, and real failures surface as exceptions.
logging.getLogger("pdfminer").setLevel(logging.ERROR)

# One layout configuration for indexing and scanning, so both see the same text.
# boxes_flow=None sorts text boxes top-to-bottom instead of running the
# hierarchical box grouping, which is quadratic on pages of scattered glyphs.
# all_texts=True lays out text inside Form XObjects (LTFigure) as well; without it
# that text stays as loose glyphs and would never reach the scanner.
LAPARAMS = LAParams(boxes_flow=None, all_texts=True)

PAGE_SEPARATOR = "\f"

# Exception messages from pdfminer can embed whole PDF dictionaries.
_MAX_DETAIL = 200


def _detail(exc: BaseException) -> str:
    """A short, single-line description of an exception for an error message."""
    text = " ".join(str(exc).split())
    if len(text) > _MAX_DETAIL:
        text = text[: _MAX_DETAIL - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --- layout -----------------------------------------------------------------------------


_EXACT_INT = 2**53


def _exact_float(value: object) -> bool:
    """True when ``value`` compares the same as a float64 as it does itself."""
    return type(value) is float or (type(value) is int and -_EXACT_INT <= value <= _EXACT_INT)


class _Plane(Plane[LTTextLine]):
    """pdfminer's Plane, whose find() gives the same objects in the same order, testing
    a grid cell's boxes all at once.

    find() looks at every object in the 50-point grid cells a box touches; on a page of
    scattered glyphs that is hundreds per line, one at a time in Python, and grows with
    the density of the page. Cells whose coordinates a float64 holds exactly are tested
    with numpy (the same comparisons, NaN included); any other falls back to Python.
    """

    def __init__(self, bbox: Rect) -> None:
        super().__init__(bbox)
        self._boxes: dict[Point, np.ndarray | None] = {}

    def add(self, obj: LTTextLine) -> None:
        self._boxes.clear()
        super().add(obj)

    def remove(self, obj: LTTextLine) -> None:
        self._boxes.clear()
        super().remove(obj)

    def _cell_boxes(self, key: Point) -> np.ndarray | None:
        if key not in self._boxes:
            boxes = [(obj.x0, obj.y0, obj.x1, obj.y1) for obj in self._grid[key]]
            exact = all(_exact_float(value) for box in boxes for value in box)
            self._boxes[key] = np.array(boxes, dtype=np.float64) if exact else None
        return self._boxes[key]

    def find(self, bbox: Rect) -> Iterator[LTTextLine]:
        (x0, y0, x1, y1) = bbox
        if not all(_exact_float(value) for value in bbox):
            yield from super().find(bbox)
            return
        done: set[LTTextLine] = set()
        for key in self._getrange(bbox):
            objs = self._grid.get(key)
            if not objs:
                continue
            boxes = self._cell_boxes(key)
            if boxes is None:
                hits = [i for i, o in enumerate(objs) if not (o.x1 <= x0 or x1 <= o.x0 or o.y1 <= y0 or y1 <= o.y0)]
            else:
                apart = (boxes[:, 2] <= x0) | (x1 <= boxes[:, 0]) | (boxes[:, 3] <= y0) | (y1 <= boxes[:, 1])
                hits = np.flatnonzero(~apart).tolist()
            for index in hits:
                obj = objs[index]
                if obj not in done:
                    done.add(obj)
                    yield obj


class _LinearGrouping(LTLayoutContainer):
    """pdfminer's layout container with :meth:`group_textlines` made linear."""

    def group_textlines(self, laparams: LAParams, lines: Iterable[LTTextLine]) -> Iterator[LTTextBox]:
        """The boxes pdfminer's ``group_textlines`` yields, in the same order with the
        same lines in the same order, in time linear in the neighbour pairs.

        pdfminer builds a new box for every line, copying into it the boxes of the
        line's neighbours: when most lines of a page chain into one box (thousands of
        scattered glyphs) every line copies that box again, which is quadratic (4,000
        random words took 35 s). Here a box is recorded once, as the sequence pdfminer
        would copy (lines, and the numbers of the earlier boxes it swallows), and only
        the boxes that remain are spelled out at the end.
        """
        plane = _Plane(self.bbox)
        plane.extend(lines)
        parts: list[list[LTTextLine | int]] = []
        vertical: list[bool] = []
        swallowed_by: list[int] = []  # a box's own number while it stands
        holders: dict[LTTextLine, list[int]] = {}  # boxes naming the line directly

        def standing(box: int) -> int:
            while swallowed_by[box] != box:
                swallowed_by[box] = swallowed_by[swallowed_by[box]]
                box = swallowed_by[box]
            return box

        def holder(line: LTTextLine) -> int | None:
            """The newest box holding ``line`` (pdfminer's ``boxes[line]``)."""
            boxes = holders.get(line)
            if not boxes:
                return None
            if len(boxes) > 1:
                boxes = holders[line] = sorted({standing(box) for box in boxes})
            boxes[-1] = standing(boxes[-1])
            return boxes[-1]

        for line in lines:
            box = len(parts)
            swallowed_by.append(box)
            vertical.append(not isinstance(line, LTTextLineHorizontal))
            sequence: list[LTTextLine | int] = [line]
            for neighbor in line.find_neighbors(plane, laparams.line_margin):
                sequence.append(neighbor)
                old = holder(neighbor)
                if old is not None and old != box:
                    sequence.append(old)
                    swallowed_by[old] = box
            parts.append(sequence)
            for item in sequence:
                if not isinstance(item, int):
                    holders.setdefault(item, []).append(box)

        def spelled_out(box: int) -> Iterator[LTTextLine]:
            stack = [iter(parts[box])]
            while stack:
                for item in stack[-1]:
                    if isinstance(item, int):
                        stack.append(iter(parts[item]))
                        break
                    yield item
                else:
                    stack.pop()

        done: set[int] = set()
        for line in lines:
            box_number = holder(line)
            if box_number is None or box_number in done:
                continue
            done.add(box_number)
            textbox: LTTextBox = LTTextBoxVertical() if vertical[box_number] else LTTextBoxHorizontal()
            for member in uniq(spelled_out(box_number)):
                textbox.add(member)
            if not textbox.is_empty():
                yield textbox


class _Page(_LinearGrouping, LTPage):
    pass


class _Figure(_LinearGrouping, LTFigure):
    pass


# What one page may draw before it is refused as too-large. pdfminer keeps every glyph,
# path and image of a page as an object (about 800 bytes a glyph) until the page is
# laid out, so a 20 KB compressed content stream of "(abcdefghij) Tj" lines made
# millions; and Form XObjects each drawing the next one ten times (a 3 KB file, 8
# levels) drew 10^8 forms: 4 GB and 5 minutes. A form drawn costs as much as
# _FORM_WEIGHT glyphs (its content stream is parsed again each time).
_MAX_PAGE_ITEMS = 500_000
_FORM_WEIGHT = 50


class _Aggregator(PDFPageAggregator):
    """Lays pages and Form XObjects out with :class:`_LinearGrouping`, counting what a
    page draws."""

    _drawn = 0

    def _count(self, weight: int = 1) -> None:
        self._drawn += weight
        if self._drawn > _MAX_PAGE_ITEMS:
            raise ExtractionError(
                Status.TOO_LARGE, f"a PDF page draws more than {_MAX_PAGE_ITEMS:,} glyphs, paths, images and forms"
            )

    def begin_page(self, page: PDFPage, ctm: Matrix) -> None:
        self._drawn = 0
        super().begin_page(page, ctm)
        self.cur_item.__class__ = _Page

    def begin_figure(self, name: str, bbox: Rect, matrix: Matrix) -> None:
        self._count(_FORM_WEIGHT)
        super().begin_figure(name, bbox, matrix)
        self.cur_item.__class__ = _Figure

    def render_char(self, matrix: Matrix, font: PDFFont, fontsize: float, scaling: float, rise: float, cid: int,
                    ncs: PDFColorSpace, graphicstate: PDFGraphicState) -> float:
        self._count()
        return super().render_char(matrix, font, fontsize, scaling, rise, cid, ncs, graphicstate)

    def paint_path(self, gstate: PDFGraphicState, stroke: bool, fill: bool, evenodd: bool,
                   path: Sequence[PathSegment]) -> None:
        self._count()
        super().paint_path(gstate, stroke, fill, evenodd, path)

    def render_image(self, name: str, stream: PDFStream) -> None:
        self._count()
        super().render_image(name, stream)


def layout_text(container: Iterable[object]) -> str:
    """Concatenated text of the text containers in a layout tree, in layout order.

    Figures (Form XObjects) are descended into, since with ``all_texts`` their text
    is laid out into text boxes of their own.
    """
    parts: list[str] = []
    for item in container:
        if isinstance(item, LTTextContainer):
            parts.append(item.get_text())
        elif isinstance(item, LTFigure):
            parts.append(layout_text(item))
    # A form feed inside a page would read as a page break to anyone splitting the
    # text; one-for-one replacement keeps the offsets.
    return "".join(parts).replace(PAGE_SEPARATOR, " ")


def _declared_page_count(document: PDFDocument) -> int | None:
    """The page count the page tree declares (0 if it declares none), or None when
    the tree itself cannot be read.

    When the catalog's page tree cannot be resolved, pdfminer falls back to the page
    objects its cross-reference table happens to list, which on a damaged file can
    be a fraction of the pages: that must not pass for a complete extraction.
    """
    tree = resolve1(document.catalog.get("Pages"))
    if not isinstance(tree, dict):
        return None
    count = resolve1(tree.get("Count"))
    return count if isinstance(count, int) and not isinstance(count, bool) else 0


def _open_pages(data: bytes, limits: ExtractLimits) -> list[PDFPage]:
    """Parse the document structure (with the empty password) and list its pages.

    Pages are counted before any is laid out, so an oversized document costs only
    its page tree.

    Raises:
        ExtractionError: ``too-large`` over the page limit, ``parse-error`` when the
            page tree is damaged so that pages would be silently missed.
    """
    document = PDFDocument(PDFParser(io.BytesIO(data)), password="")
    declared = _declared_page_count(document)
    if declared is None:
        raise ExtractionError(Status.PARSE_ERROR, "damaged PDF: the page tree cannot be read, so pages could be missed")
    pages: list[PDFPage] = []
    for page in PDFPage.create_pages(document):
        pages.append(page)
        if len(pages) > limits.max_pdf_pages:
            raise ExtractionError(
                Status.TOO_LARGE,
                f"PDF has more than {limits.max_pdf_pages:,} pages (the limit)",
            )
    if len(pages) < declared:
        raise ExtractionError(
            Status.PARSE_ERROR,
            f"damaged PDF: the page tree declares {declared} pages but only {len(pages)} can be read",
        )
    return pages


def _page_layouts(pages: list[PDFPage]) -> Iterator[LTPage]:
    resources = PDFResourceManager(caching=True)
    device = _Aggregator(resources, laparams=LAPARAMS)
    interpreter = PDFPageInterpreter(resources, device)
    for page in pages:
        interpreter.process_page(page)
        yield device.get_result()


def _checked(page_texts: Iterable[str], limits: ExtractLimits) -> list[str]:
    """The page texts, their total size checked as pages arrive."""
    pages: list[str] = []
    length = 0
    for text in page_texts:
        pages.append(text)
        length += len(text) + len(PAGE_SEPARATOR)
        if length > limits.max_text_chars:
            raise ExtractionError(
                Status.TOO_LARGE,
                f"extracted text is over the limit of {limits.max_text_chars:,} characters",
            )
    return pages


def _pdfminer_pages(data: bytes, limits: ExtractLimits) -> list[str]:
    pages = _open_pages(data, limits)
    if not pages:
        raise ExtractionError(Status.PARSE_ERROR, "no pages found (damaged page tree?)")
    return _checked((layout_text(layout) for layout in _page_layouts(pages)), limits)


def _pdfium_pages(data: bytes, limits: ExtractLimits) -> tuple[list[str], str] | None:
    """The page texts and engine name through PDFium, or None when pdfminer.six must
    read the file (screen refused, PDFium could not read it, or found no text)."""
    try:
        pdfium.screen(data, limits, pdf_decoding.MAX_RANGE, pdf_decoding.MAX_RANGE_TOTAL)
        pages = pdfium.page_texts(data, limits, _MAX_PAGE_ITEMS)
    except (pdfium.Refused, pdfium.Unreadable):
        return None
    except ExtractionError:
        raise
    except MemoryError as exc:
        raise ExtractionError(Status.MEMORY, "out of memory while reading PDF") from exc
    except Exception:
        # pypdfium2 failing in a way it does not document: the same for the same bytes,
        # so handing the file to pdfminer stays deterministic.
        return None
    pages = _checked(pages, limits)
    if not any(page.strip() for page in pages):
        return None
    return pages, f"pdfium-{pdfium.engine_build()}"


class PdfExtractor(Extractor):
    """The text layer of a PDF, and what OCR reads on pages without one and on pictures;
    a PDF needing a password is ``encrypted``, one without any text is ``unsupported``
    (never clean)."""

    name = "pdf"
    version = "2"

    def extract(self, path: Path, data: bytes, limits: ExtractLimits) -> ExtractedText:
        token = BUDGET.set(new_budget(limits))
        try:
            fast = _pdfium_pages(data, limits) if limits.pdf_engine == "auto" else None
            pages, engine = fast if fast is not None else (_pdfminer_pages(data, limits), "pdfminer")
            text, starts, regions, used_ocr = pdf_ocr.joined_with_ocr(data, pages, limits)
        except ExtractionError:
            raise
        except PDFPasswordIncorrect as exc:
            raise ExtractionError(Status.ENCRYPTED, "PDF is password-protected") from exc
        except PDFEncryptionError as exc:
            # Unknown security handlers and revisions: still encrypted, not broken.
            raise ExtractionError(
                Status.ENCRYPTED, f"PDF is encrypted in a way that cannot be opened ({_detail(exc)})"
            ) from exc
        except MemoryError as exc:
            raise ExtractionError(Status.MEMORY, "out of memory while parsing PDF") from exc
        except RecursionError as exc:
            raise ExtractionError(Status.PARSE_ERROR, "PDF objects are nested too deeply") from exc
        except Exception as exc:
            # pdfminer raises a wide range of exceptions on damaged files (its own,
            # plus struct, zlib, KeyError, TypeError, AssertionError ...).
            raise ExtractionError(Status.PARSE_ERROR, f"cannot parse PDF ({_detail(exc)})") from exc
        finally:
            BUDGET.reset(token)
        ocr = f"+{ocr_version(limits)}" if used_ocr else ""
        return dataclasses.replace(self.result(text, limits, page_starts=starts), regions=regions,
                                   extractor_version=f"{self.version}/{engine}{ocr}")
