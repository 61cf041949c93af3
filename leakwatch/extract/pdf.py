"""PDF: the text layer, page by page, through pdfminer.six.

Pages are joined with a form feed and :attr:`ExtractedText.page_starts` records where
each page after the first begins. Every failure, including any exception raised
inside pdfminer, becomes an :class:`ExtractionError` with a status.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from pdfminer.converter import PDFPageAggregator
from pdfminer.layout import LAParams, LTFigure, LTPage, LTTextContainer
from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import resolve1

from leakwatch.config import ExtractLimits
from leakwatch.extract.base import Extractor
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
    device = PDFPageAggregator(resources, laparams=LAPARAMS)
    interpreter = PDFPageInterpreter(resources, device)
    for page in pages:
        interpreter.process_page(page)
        yield device.get_result()


def _assemble(page_texts: Iterable[str], limits: ExtractLimits) -> tuple[str, tuple[int, ...]]:
    """Join page texts with form feeds, checking the size as pages arrive."""
    parts: list[str] = []
    starts: list[int] = []
    length = 0
    for index, text in enumerate(page_texts):
        if index:
            parts.append(PAGE_SEPARATOR)
            length += len(PAGE_SEPARATOR)
            starts.append(length)
        parts.append(text)
        length += len(text)
        if length > limits.max_text_chars:
            raise ExtractionError(
                Status.TOO_LARGE,
                f"extracted text is over the limit of {limits.max_text_chars:,} characters",
            )
    return "".join(parts), tuple(starts)


def _extract(data: bytes, limits: ExtractLimits) -> tuple[str, tuple[int, ...]]:
    pages = _open_pages(data, limits)
    if not pages:
        raise ExtractionError(Status.PARSE_ERROR, "no pages found (damaged page tree?)")
    text, starts = _assemble((layout_text(layout) for layout in _page_layouts(pages)), limits)
    if not text.replace(PAGE_SEPARATOR, "").strip():
        raise ExtractionError(
            Status.UNSUPPORTED,
            f"no text layer on any of {len(pages)} page(s) (scanned image?); OCR is not supported",
        )
    return text, starts


class PdfExtractor(Extractor):
    """The text layer of a PDF; a PDF needing a password is ``encrypted``, one
    without any text is ``unsupported`` (never clean)."""

    name = "pdf"

    def extract(self, path: Path, data: bytes, limits: ExtractLimits) -> ExtractedText:
        try:
            text, starts = _extract(data, limits)
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
        return self.result(text, limits, page_starts=starts)
