"""Plain text and Markdown: the extracted text is the decoded file, unchanged."""

from __future__ import annotations

from pathlib import Path

from leakwatch.config import ExtractLimits
from leakwatch.extract.base import Extractor, decode_text
from leakwatch.model import ExtractedText


class TextExtractor(Extractor):
    """Decoded file content, no newline translation and no stripping, so that
    character offsets in findings index the file itself."""

    name = "text"

    def extract(self, path: Path, data: bytes, limits: ExtractLimits) -> ExtractedText:
        text, encoding = decode_text(data)
        return self.result(text, limits, encoding=encoding)


class MarkdownExtractor(TextExtractor):
    name = "markdown"
