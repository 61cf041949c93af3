"""PPTX: the text of each slide, slides in numeric order, one page per slide.

Only slide parts are read (not notes, masters or layouts); hidden slides are
included, since they are in the file.
"""

from __future__ import annotations

from pathlib import Path

from leakwatch.config import ExtractLimits
from leakwatch.extract.base import Extractor
from leakwatch.extract.ooxml import (
    MC_FALLBACK,
    NS_DRAWING,
    ParagraphVocabulary,
    guarded,
    join_pages,
    numbered_parts,
    open_package,
    paragraph_lines,
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


def _slide_texts(data: bytes, limits: ExtractLimits) -> list[str]:
    with open_package(data, limits) as package:
        names = package.namelist()
        if MAIN_PART not in names:
            raise ExtractionError(Status.PARSE_ERROR, f"not a PowerPoint presentation: no {MAIN_PART}")
        return [
            "\n".join(paragraph_lines(read_member(package, part, limits), part, DRAWING_VOCABULARY))
            for part in numbered_parts(names, SLIDE_PREFIX)
        ]


class PptxExtractor(Extractor):
    """PowerPoint presentations (Office Open XML); slides are pages."""

    name = "pptx"

    def extract(self, path: Path, data: bytes, limits: ExtractLimits) -> ExtractedText:
        text, starts = join_pages(guarded("PPTX package", lambda: _slide_texts(data, limits)))
        return self.result(text, limits, page_starts=starts)
