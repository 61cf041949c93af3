"""Images (PNG, JPEG, TIFF, GIF, BMP, WebP): their words, read by OCR.

A TIFF's pages are pages; other formats have one (an animated GIF's first frame).
Every page is a :class:`leakwatch.model.TextRegion` named ``page N``, so a finding says
where on the image its words are. An image in which OCR finds no word, and every image
under ``[extract] ocr = false``, is ``unsupported``: never clean.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from leakwatch.config import ExtractLimits
from leakwatch.extract.base import Extractor
from leakwatch.extract.ocr import OcrReader, PageText, image_frames, join_pages, ocr_version, readable_size
from leakwatch.model import ExtractedText, ExtractionError, Status

# Magic numbers; BMP's two letters are checked further (see is_image).
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"GIF87a", b"GIF89a")
_BMP_HEADER_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})


def is_image(head: bytes) -> bool:
    """True for the head of an image file this module reads."""
    if head.startswith(_MAGIC):
        return True
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    # "BM" starts plenty of text ("BMW ..."): a BMP also has zero reserved bytes and a
    # known header size.
    return (head[:2] == b"BM" and len(head) >= 18 and head[6:10] == b"\x00\x00\x00\x00"
            and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES)


class ImageExtractor(Extractor):
    """The words of an image, by OCR; a TIFF's pages are pages."""

    name = "image"

    def extract(self, path: Path, data: bytes, limits: ExtractLimits) -> ExtractedText:
        if not limits.ocr:
            raise ExtractionError(Status.UNSUPPORTED, "an image, and OCR is turned off ([extract] ocr = false)")
        reader = OcrReader(limits)
        pages: list[PageText] = []
        for number, frame in enumerate(image_frames(data, limits, "the image"), start=1):
            page = PageText()
            if readable_size(*frame.size):  # type: ignore[attr-defined]
                page.add(reader.read(frame, f"page {number}"))
            pages.append(page)
        text, starts, regions = join_pages(pages)
        if not text.replace("\f", "").strip():
            # Never clean: a scan OCR could not read looks the same as a photo without words.
            raise ExtractionError(Status.UNSUPPORTED, "OCR found no words in the image (a picture without text, "
                                                      "or text too poor to read)")
        extracted = self.result(text, limits, page_starts=starts)
        return dataclasses.replace(extracted, regions=regions,
                                   extractor_version=f"{self.version}/{ocr_version(limits)}")
