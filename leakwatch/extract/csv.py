"""CSV and TSV: kept as decoded text so offsets index the file; cell separators
are punctuation to the tokenizer, so copied cell text still matches prose."""

from __future__ import annotations

from leakwatch.extract.text import TextExtractor


class CsvExtractor(TextExtractor):
    name = "csv"
