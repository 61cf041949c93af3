"""Legacy Office (.doc by catdoc, .xls by xlrd, .ppt by LibreOffice): detection by the OLE
main stream, encryption before any tool runs, tool failures as statuses.

Real files are LibreOffice conversions of files made here (skipped without LibreOffice,
failing on CI, where .ci/run installs it); encrypted and damaged ones are built as OLE
compound files by tests/hostile.py.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import shutil
import struct
from pathlib import Path

import openpyxl
import pytest

from leakwatch.config import ExtractLimits
from leakwatch.extract import extract_bytes
from leakwatch.extract.ole import sniff_ole_format
from leakwatch.model import ExtractionError, Status
from tests import formats
from tests.hostile import ole_file

LIMITS = ExtractLimits(isolate=False, ocr=False)
PARAGRAPH = "The Meridian tier rises nine percent in the second quarter; Atlas stays flat until renewal."


@pytest.fixture(scope="module")
def legacy() -> dict[str, bytes]:
    """A .doc, an .xls (with a date, a number and two sheets) and a .ppt, by LibreOffice."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Signed", datetime.date(2024, 3, 5), 12.5, 3])
    book.create_sheet("Notes")["A1"] = PARAGRAPH
    made = {
        **formats.converted({"memo.docx": formats.docx_paragraphs(["First line.", PARAGRAPH])}, "doc"),
        **formats.converted({"book.xlsx": formats.saved(book)}, "xls"),
        **formats.converted({"deck.pptx": formats.pptx_slides(["Opening", PARAGRAPH])}, "ppt"),
    }
    return {"doc": made["memo.docx"], "xls": made["book.xlsx"], "ppt": made["deck.pptx"]}


def failure(name: str, data: bytes, limits: ExtractLimits = LIMITS) -> ExtractionError:
    with pytest.raises(ExtractionError) as info:
        extract_bytes(Path(name), data, limits)
    return info.value


def needs(program: str) -> None:
    if shutil.which(program) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{program} is missing: .ci/run must install it")
        pytest.skip(f"{program} is not installed")


def test_each_kind_is_told_by_its_main_stream(legacy: dict[str, bytes]) -> None:
    assert {kind: sniff_ole_format(data) for kind, data in legacy.items()} == {"doc": "doc", "xls": "xls",
                                                                                 "ppt": "ppt"}


def test_doc_text_through_catdoc(legacy: dict[str, bytes]) -> None:
    needs("catdoc")
    result = extract_bytes(Path("misnamed.docx"), legacy["doc"], LIMITS)
    assert result.format == "doc" and result.page_starts == ()
    assert "First line." in result.text and PARAGRAPH in result.text


def test_xls_sheets_are_pages_laid_out_as_xlsx(legacy: dict[str, bytes]) -> None:
    result = extract_bytes(Path("book.xls"), legacy["xls"], LIMITS)
    assert result.format == "xls"
    assert result.text.split("\f") == ["Signed\t2024-03-05\t12.5\t3", PARAGRAPH]


def test_ppt_slides_are_pages_through_libreoffice(legacy: dict[str, bytes]) -> None:
    result = extract_bytes(Path("deck.ppt"), legacy["ppt"], LIMITS)
    assert result.format == "ppt" and len(result.page_starts) == 1
    assert result.page_of(result.text.index("Meridian")) == 2
    assert result.extractor_version.startswith("1/libreoffice+")


def test_ppt_conversion_past_its_time_is_a_timeout(legacy: dict[str, bytes]) -> None:
    error = failure("deck.ppt", legacy["ppt"], dataclasses.replace(LIMITS, timeout_s=0.01))
    assert error.status is Status.TIMEOUT


def fib(encrypted: bool, text_length: int = 0) -> bytes:
    flags = 0x0100 if encrypted else 0
    return struct.pack("<HHHHHH", 0xA5EC, 0xC1, 0, 0, 0, flags).ljust(76, b"\0") + struct.pack("<I", text_length)


def biff(*records: tuple[int, bytes]) -> bytes:
    return b"".join(struct.pack("<HH", kind, len(body)) + body for kind, body in records)


@pytest.mark.parametrize(
    ("name", "streams"),
    [
        ("locked.doc", {"WordDocument": fib(encrypted=True), "1Table": b"\0" * 64}),
        ("locked.xls", {"Workbook": biff((0x0809, b"\0" * 16), (0x002F, b"\x01\0" + b"\0" * 52), (0x000A, b""))}),
        ("locked.ppt", {"PowerPoint Document": b"\0" * 64,
                        "Current User": struct.pack("<HHIII", 0, 0x0FF6, 20, 20, 0xF3D1C4DF)}),
    ],
    ids=["doc", "xls", "ppt"],
)
def test_password_protected_legacy_files_are_encrypted_before_any_tool_runs(name: str, streams: dict[str, bytes],
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # no converter could even start
    assert failure(name, ole_file(streams)).status is Status.ENCRYPTED


def test_other_ole_files_are_unsupported() -> None:
    error = failure("drawing.vsd", ole_file({"VisioDocument": b"\0" * 64}))
    assert error.status is Status.UNSUPPORTED and "OLE" in error.message


def test_damaged_ole_files_get_a_status(legacy: dict[str, bytes]) -> None:
    for kind, data in legacy.items():
        error = failure(f"cut.{kind}", data[: len(data) // 3])
        assert error.status in (Status.PARSE_ERROR, Status.UNSUPPORTED), kind


def test_doc_whose_text_catdoc_cannot_find_is_a_parse_error() -> None:
    needs("catdoc")
    error = failure("hollow.doc", ole_file({"WordDocument": fib(encrypted=False, text_length=5000),
                                            "1Table": b"\0" * 64}))
    assert error.status is Status.PARSE_ERROR and "5,000 characters" in error.message


def test_without_catdoc_or_libreoffice_the_status_names_the_package(legacy: dict[str, bytes],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    doc, ppt = failure("memo.doc", legacy["doc"]), failure("deck.ppt", legacy["ppt"])
    assert doc.status is Status.UNSUPPORTED and "Debian package catdoc" in doc.message
    assert ppt.status is Status.UNSUPPORTED and "libreoffice-impress" in ppt.message
