"""HTML: the visible text, laid at the offsets it has in the decoded file."""

from __future__ import annotations

from pathlib import Path

from leakwatch.config import ExtractLimits
from leakwatch.extract.base import Extractor, check_text_size, decode_text
from leakwatch.extract.markup import HTML_HIDDEN, visible_text
from leakwatch.model import ExtractedText, ExtractionError, Status


class HtmlExtractor(Extractor):
    name = "html"
    hidden_elements: frozenset[str] = HTML_HIDDEN

    def extract(self, path: Path, data: bytes, limits: ExtractLimits) -> ExtractedText:
        text, encoding = decode_text(data)
        check_text_size(text, limits)
        try:
            visible = visible_text(text, self.hidden_elements)
        except (AssertionError, ValueError, RecursionError) as exc:
            raise ExtractionError(Status.PARSE_ERROR, f"cannot parse {self.name.upper()}: {exc}") from exc
        return self.result(visible, limits, encoding=encoding)
