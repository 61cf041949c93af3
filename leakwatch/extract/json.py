"""JSON: kept as decoded text (keys and quotes are punctuation or words to the
tokenizer); offsets index the file."""

from __future__ import annotations

import json

from leakwatch.extract.base import FileSample
from leakwatch.extract.text import TextExtractor


class JsonExtractor(TextExtractor):
    name = "json"


def looks_like_json(sample: FileSample, text_head: str) -> bool:
    """JSON by content: an object or array that parses (whole head, when the head is the file)."""
    stripped = text_head.lstrip("\ufeff \t\r\n")
    if not stripped.startswith(("{", "[")):
        return False
    if sample.suffix == ".json":
        return True
    try:
        json.loads(stripped)
    except (ValueError, RecursionError):
        # RecursionError: a head of thousands of "[" (the json module recurses per
        # level) escaped format detection instead of reading the file as text.
        return False
    return True
