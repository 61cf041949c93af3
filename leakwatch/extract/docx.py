"""DOCX: paragraphs of the body, then of notes, comments, headers and footers, then
the words of its pictures (OCR).

Each paragraph is one line (table cells included, one line per paragraph in a
cell). Deleted text of tracked changes is kept: it is still in the file, and a
deliverable that leaks through a tracked deletion leaks all the same.
"""

from __future__ import annotations

from pathlib import Path

from leakwatch.config import ExtractLimits
from leakwatch.extract.base import Extractor
from leakwatch.extract.ocr import OcrReader, PageText, with_regions
from leakwatch.extract.ooxml import (
    MC_FALLBACK,
    NS_WORD,
    ParagraphVocabulary,
    guarded,
    numbered_parts,
    open_package,
    paragraph_lines,
    picture_parts,
    qnames,
    read_member,
)
from leakwatch.model import ExtractedText, ExtractionError, Status

MAIN_PART = "word/document.xml"
# Parts after the body, in this order when present.
_NOTE_PARTS = ("word/footnotes.xml", "word/endnotes.xml", "word/comments.xml")

NS_MATH = (
    "http://schemas.openxmlformats.org/officeDocument/2006/math",
    "http://purl.oclc.org/ooxml/officeDocument/math",
)

WORD_VOCABULARY = ParagraphVocabulary(
    paragraph=qnames(NS_WORD, "p"),
    text=qnames(NS_WORD, "t", "delText") | qnames(NS_MATH, "t"),
    literals={
        **dict.fromkeys(qnames(NS_WORD, "tab", "ptab"), "\t"),
        **dict.fromkeys(qnames(NS_WORD, "br", "cr"), "\n"),
        **dict.fromkeys(qnames(NS_WORD, "noBreakHyphen"), "-"),
    },
    # w:pPr holds w:tabs/w:tab, which are tab stops, not tab characters.
    skip=qnames(NS_WORD, "pPr", "rPr") | MC_FALLBACK,
)


def text_parts(names: list[str]) -> list[str]:
    """The parts holding text, in reading order: body, notes, headers, footers."""
    present = set(names)
    return [
        MAIN_PART,
        *(part for part in _NOTE_PARTS if part in present),
        *numbered_parts(names, "word/header"),
        *numbered_parts(names, "word/footer"),
    ]


MEDIA_FOLDER = "word/media/"


def _docx_text(data: bytes, limits: ExtractLimits) -> tuple[PageText, bool]:
    with open_package(data, limits) as package:
        names = package.namelist()
        if MAIN_PART not in names:
            raise ExtractionError(Status.PARSE_ERROR, f"not a Word document: no {MAIN_PART}")
        lines: list[str] = []
        for part in text_parts(names):
            lines.extend(paragraph_lines(read_member(package, part, limits), part, WORD_VOCABULARY))
        text = PageText("\n".join(lines))
        reader = OcrReader(limits)
        if reader.enabled:
            for part in picture_parts(names, MEDIA_FOLDER):
                text.add(reader.read_embedded(read_member(package, part, limits), part))
    return text, reader.images > 0


class DocxExtractor(Extractor):
    """Word documents (Office Open XML); pictures are read by OCR after the text, each
    a region named by its part (``word/media/image1.png``)."""

    name = "docx"

    def extract(self, path: Path, data: bytes, limits: ExtractLimits) -> ExtractedText:
        text, used_ocr = guarded("DOCX package", lambda: _docx_text(data, limits))
        return with_regions(self.result(text.text, limits), text.regions, used_ocr, limits)
