"""PowerPoint 97-2003 (.ppt): converted to PPTX by LibreOffice, then read as a PPTX.

catppt (catdoc's) reads only the text PowerPoint keeps in its slide list: on six
presentations LibreOffice wrote, whose text sits in the slides' shapes, it found none of
the 90 planted texts; LibreOffice (Debian's ``libreoffice-impress-nogui``) converts them
with all 90 (benchmarks/legacy_office.py), in about 1-2 s and 220 MB a file. The
conversion runs as a child of the extraction worker (:mod:`leakwatch.extract.external`:
a private folder holding the copy, LibreOffice's profile and the output; its own
timeout); the PPTX it writes goes through the PPTX extractor, with its zip limits, so
slides are pages and their pictures are read by OCR. An encrypted file is
``encrypted`` before LibreOffice sees it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from leakwatch.config import ExtractLimits
from leakwatch.extract.base import Extractor
from leakwatch.extract.external import find_program, private_folder, run_program
from leakwatch.extract.ole import check_not_encrypted
from leakwatch.extract.pptx import PptxExtractor
from leakwatch.model import ExtractedText, ExtractionError, Status


def convert(data: bytes, suffix: str, target: str, limits: ExtractLimits) -> bytes:
    """``data`` (a file with ``suffix``) converted by LibreOffice to ``target`` (its
    extension), in a private folder.

    Raises:
        ExtractionError: ``unsupported`` without LibreOffice, ``timeout``, ``parse-error``
            when LibreOffice writes nothing (it exits 0 on files it cannot load).
    """
    program = find_program("soffice", "libreoffice-impress-nogui", f"a {suffix} file")
    with private_folder() as folder:
        source = folder / f"input{suffix}"
        source.write_bytes(data)
        out = folder / "out"
        run_program([program, f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--headless", "--norestore",
                     "--nolockcheck", "--convert-to", target, "--outdir", str(out), source.name],
                    what="LibreOffice conversion", folder=folder, timeout=limits.timeout_s)
        converted = out / f"input.{target}"
        if not converted.is_file():
            raise ExtractionError(Status.PARSE_ERROR, f"LibreOffice could not read the {suffix} file")
        if converted.stat().st_size > limits.max_file_bytes:
            raise ExtractionError(Status.TOO_LARGE, f"the converted {target} is over the file size limit")
        return converted.read_bytes()


class PptExtractor(Extractor):
    """PowerPoint 97-2003 presentations, through LibreOffice; slides are pages."""

    name = "ppt"

    def extract(self, path: Path, data: bytes, limits: ExtractLimits) -> ExtractedText:
        check_not_encrypted(data, self.name)
        pptx = PptxExtractor().extract(path, convert(data, ".ppt", "pptx", limits), limits)
        return dataclasses.replace(pptx, format=self.name,
                                   extractor_version=f"{self.version}/libreoffice+{pptx.extractor_version}")
