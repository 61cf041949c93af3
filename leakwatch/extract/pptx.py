"""PPTX: the text of each slide, then the words of its pictures (OCR), slides in
numeric order, one page per slide.

Only slide parts are read (not notes, masters or layouts); hidden slides are
included, since they are in the file.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from leakwatch.config import ExtractLimits
from leakwatch.extract.base import Extractor
from leakwatch.extract.ocr import OcrReader, PageText, join_pages, with_regions
from leakwatch.extract.ooxml import (
    MC_FALLBACK,
    NS_DRAWING,
    NS_PACKAGE_RELS,
    RASTER_SUFFIXES,
    ParagraphVocabulary,
    guarded,
    numbered_parts,
    open_package,
    paragraph_lines,
    parse_xml,
    qnames,
    read_member,
)
from leakwatch.model import ExtractedText, ExtractionError, Status

MAIN_PART = "ppt/presentation.xml"
SLIDE_PREFIX = "ppt/slides/slide"

DRAWING_VOCABULARY = ParagraphVocabulary(
    paragraph=qnames(NS_DRAWING, "p"),
    text=qnames(NS_DRAWING, "t"),
    # DrawingML keeps tabs as literal characters inside a:t; only breaks are elements.
    literals=dict.fromkeys(qnames(NS_DRAWING, "br"), "\n"),
    skip=MC_FALLBACK,
)


_RELATIONSHIP = qnames(NS_PACKAGE_RELS, "Relationship")
_IMAGE_RELATIONSHIP = "/image"


def slide_pictures(rels: bytes, part: str, names: set[str]) -> list[str]:
    """The raster pictures a slide shows, from its relationships part, in order."""
    found: list[str] = []
    folder = posixpath.dirname(part)
    for rel in parse_xml(rels, part).iter():
        if (rel.tag not in _RELATIONSHIP or rel.get("TargetMode") == "External"
                or not rel.get("Type", "").endswith(_IMAGE_RELATIONSHIP)):
            continue
        target = rel.get("Target", "")
        member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"{folder}/../{target}")
        if member in names and member not in found and member.lower().endswith(RASTER_SUFFIXES):
            found.append(member)
    return found


def _slides(data: bytes, limits: ExtractLimits) -> tuple[list[PageText], bool]:
    with open_package(data, limits) as package:
        names = package.namelist()
        if MAIN_PART not in names:
            raise ExtractionError(Status.PARSE_ERROR, f"not a PowerPoint presentation: no {MAIN_PART}")
        present = set(names)
        reader = OcrReader(limits)
        slides: list[PageText] = []
        for part in numbered_parts(names, SLIDE_PREFIX):
            slide = PageText("\n".join(paragraph_lines(read_member(package, part, limits), part, DRAWING_VOCABULARY)))
            rels = f"{posixpath.dirname(part)}/_rels/{posixpath.basename(part)}.rels"
            if reader.enabled and rels in present:
                for picture in slide_pictures(read_member(package, rels, limits), rels, present):
                    slide.add(reader.read_embedded(read_member(package, picture, limits), picture))
            slides.append(slide)
        return slides, reader.images > 0


class PptxExtractor(Extractor):
    """PowerPoint presentations (Office Open XML); slides are pages, and the pictures on
    a slide are read by OCR after its text, each a region named by its part."""

    name = "pptx"

    def extract(self, path: Path, data: bytes, limits: ExtractLimits) -> ExtractedText:
        slides, used_ocr = guarded("PPTX package", lambda: _slides(data, limits))
        text, starts, regions = join_pages(slides)
        return with_regions(self.result(text, limits, page_starts=starts), regions, used_ocr, limits)
