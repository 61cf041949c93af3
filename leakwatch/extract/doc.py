"""Word 97-2003 (.doc): the text, through catdoc (Debian's ``catdoc`` package).

Measured against antiword and LibreOffice on six Word files LibreOffice wrote from
generated DOCX (benchmarks/legacy_office.py): catdoc gives every planted paragraph,
table cell and header as a contiguous run of words (126/126) in 4 ms a file; antiword
drops headers and lays table cells side by side, cutting their sentences (72/126);
LibreOffice's conversion gives the same 126/126 in 2.2 s a file. catdoc runs as a child
of the extraction worker (:mod:`leakwatch.extract.external`) on a copy of the file in a
private folder. No pages: a .doc stores none.
"""

from __future__ import annotations

from pathlib import Path

from leakwatch.config import ExtractLimits
from leakwatch.extract.base import Extractor
from leakwatch.extract.external import find_program, private_folder, run_program
from leakwatch.extract.ole import check_not_encrypted, word_text_length
from leakwatch.model import ExtractedText, ExtractionError, Status


class DocExtractor(Extractor):
    """Word 97-2003 documents, by catdoc; a password-protected one is ``encrypted``."""

    name = "doc"

    def extract(self, path: Path, data: bytes, limits: ExtractLimits) -> ExtractedText:
        check_not_encrypted(data, self.name)
        program = find_program("catdoc", "catdoc", "a Word 97-2003 (.doc) file")
        with private_folder() as folder:
            copy = folder / "document.doc"
            copy.write_bytes(data)
            out = run_program([program, "-d", "utf-8", "-w", copy.name], what="catdoc", folder=folder,
                              timeout=limits.timeout_s)
        text = out.decode("utf-8", "replace")
        declared = word_text_length(data)
        if not text.strip() and declared:
            # catdoc exits 0 on files it cannot follow: empty text from a document that
            # declares some is a failure, not an empty document.
            raise ExtractionError(Status.PARSE_ERROR, f"catdoc read no text from a document that declares "
                                                      f"{declared:,} characters (damaged?)")
        return self.result(text, limits)
