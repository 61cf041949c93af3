"""XML: text content, laid at the offsets it has in the decoded file (tags blanked)."""

from __future__ import annotations

from leakwatch.extract.html import HtmlExtractor


class XmlExtractor(HtmlExtractor):
    name = "xml"
    # Element names carry no visibility meaning in XML: all text content counts.
    hidden_elements: frozenset[str] = frozenset()
