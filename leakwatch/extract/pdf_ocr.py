"""OCR of PDF pages: pages without a text layer, and pictures on pages that have one.

Which engine read the text layer does not matter here: pages are rendered by PDFium
(pypdfium2), which every PDF is opened with again for this. For each page:

* **no text at all** (a scan, or text drawn as outlines): the page is rendered at
  ``ocr_dpi`` (fewer dots when the page would be over ``max_image_pixels``) and read
  whole, as a region named ``page N``. A page that draws nothing is blank, not read.
* **a text layer**: each picture on it (forms included) that is big enough to hold words
  and that the text layer does not already cover is read at its own resolution, as
  ``page N, image K``, and its words follow the page's text. "Covered" means at least
  ``COVERED_WORDS`` words of the text layer lie over the picture: a searchable scan (an
  invisible OCR layer over the scan) or text set over a background picture is not read
  twice, while a page with a header line over a scanned body, or a screenshot pasted
  beside paragraphs, is read (tests/test_extract_ocr.py has both).

Every picture's declared size is checked against ``max_image_pixels`` before PDFium
decodes it (a page render decodes every picture on the page). A page that cannot be
rendered or read makes the file's status: the file is never reported clean with a page
unread.
"""

from __future__ import annotations

from collections.abc import Sequence

from leakwatch.config import ExtractLimits
from leakwatch.extract.ocr import OcrReader, PageText, join_pages, readable_size
from leakwatch.model import ExtractionError, Status, TextRegion

# Words of the text layer over a picture from which it counts as already read.
COVERED_WORDS = 20
_POINTS_PER_INCH = 72


def _images(page: object) -> list[object]:
    import pypdfium2.raw as pdfium_c

    return list(page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)))  # type: ignore[attr-defined]


def _check_images(images: Sequence[object], limits: ExtractLimits, number: int) -> None:
    for image in images:
        width, height = image.get_px_size()  # type: ignore[attr-defined]
        if width * height > limits.max_image_pixels:
            raise ExtractionError(Status.TOO_LARGE, f"page {number} has a {width:,} x {height:,} pixel picture, over "
                                                    f"the limit of {limits.max_image_pixels:,} (decompression bomb?)")


def _render_scale(page: object, limits: ExtractLimits) -> float:
    """Dots per point for reading a whole page: ``ocr_dpi``, less for a page so large that
    it would be over ``max_image_pixels``."""
    width, height = page.get_size()  # type: ignore[attr-defined]
    scale = limits.ocr_dpi / _POINTS_PER_INCH
    area = max(width * height, 1.0) * scale * scale
    if area > limits.max_image_pixels:
        scale *= (limits.max_image_pixels / area) ** 0.5
    return scale


def _read_whole_page(page: object, images: Sequence[object], reader: OcrReader, number: int) -> PageText:
    import pypdfium2.raw as pdfium_c

    result = PageText()
    if not images and pdfium_c.FPDFPage_CountObjects(page.raw) == 0:  # type: ignore[attr-defined]
        return result  # a blank page
    bitmap = page.render(scale=_render_scale(page, reader.limits), grayscale=True)  # type: ignore[attr-defined]
    result.add(reader.read(bitmap.to_pil(), f"page {number}"))
    return result


def _read_pictures(page: object, text: str, images: Sequence[object], reader: OcrReader, number: int) -> PageText:
    result = PageText(text)
    textpage = page.get_textpage()  # type: ignore[attr-defined]
    try:
        for index, image in enumerate(images, start=1):
            if not readable_size(*image.get_px_size()):  # type: ignore[attr-defined]
                continue
            left, bottom, right, top = image.get_bounds()  # type: ignore[attr-defined]
            if len(textpage.get_text_bounded(left, bottom, right, top).split()) >= COVERED_WORDS:
                continue
            bitmap = image.get_bitmap(render=True)  # type: ignore[attr-defined]
            result.add(reader.read(bitmap.to_pil(), f"page {number}, image {index}"))
    finally:
        textpage.close()
    return result


def read_pages(data: bytes, texts: Sequence[str], limits: ExtractLimits) -> tuple[list[PageText], bool]:
    """The pages' texts with what OCR reads on them, and whether OCR read anything
    (whether the text depends on Tesseract).

    Raises:
        ExtractionError: the status of a page that could not be read (``too-large``,
            ``timeout``, ``parse-error``, ``unsupported`` without Tesseract).
    """
    if not limits.ocr:
        return [PageText(t) for t in texts], False
    import pypdfium2 as pdfium

    from leakwatch.extract.pdfium import LOCK

    reader = OcrReader(limits)
    pages: list[PageText] = []
    with LOCK:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if any(not t.strip() for t in texts):
                raise ExtractionError(Status.PARSE_ERROR, "a page has no text layer and PDFium cannot open the "
                                                          f"file to read it by OCR ({exc})") from exc
            return [PageText(t) for t in texts], False
        try:
            if len(document) != len(texts):
                raise ExtractionError(Status.PARSE_ERROR, f"PDFium finds {len(document)} pages where the text layer "
                                                          f"has {len(texts)}: pages cannot be matched for OCR")
            for index, text in enumerate(texts):
                number = index + 1
                page = document[index]
                try:
                    images = _images(page)
                    _check_images(images, limits, number)
                    if text.strip():
                        pages.append(_read_pictures(page, text, images, reader, number))
                    else:
                        pages.append(_read_whole_page(page, images, reader, number))
                except ExtractionError:
                    raise
                except pdfium.PdfiumError as exc:
                    raise ExtractionError(Status.PARSE_ERROR, f"page {number} cannot be rendered for OCR "
                                                              f"({exc})") from exc
                finally:
                    page.close()
        finally:
            document.close()
    return pages, reader.images > 0


def joined_with_ocr(data: bytes, texts: Sequence[str], limits: ExtractLimits) -> tuple[
        str, tuple[int, ...], tuple[TextRegion, ...], bool]:
    """The pages joined with form feeds, with what OCR read on them (:func:`read_pages`):
    text, page starts, regions, and whether OCR read anything.

    Raises:
        ExtractionError: as :func:`read_pages`; ``unsupported`` when no page has any text.
    """
    read, used = read_pages(data, texts, limits)
    text, starts, regions = join_pages(read)
    if not text.replace("\f", "").strip():
        why = "OCR found no words" if limits.ocr else "OCR is turned off ([extract] ocr = false)"
        raise ExtractionError(Status.UNSUPPORTED, f"no text layer on any of {len(texts)} page(s) (scanned image?), "
                                                  f"and {why}")
    return text, starts, regions, used
