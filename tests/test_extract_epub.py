"""EPUB: chapters in spine order as pages; DRM; hostile packages."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from leakwatch.config import ExtractLimits
from leakwatch.extract import extract_bytes
from leakwatch.extract.ooxml import sniff_zip_format
from leakwatch.model import ExtractionError, Status
from tests import formats

LIMITS = ExtractLimits(isolate=False, ocr=False)


def failure(data: bytes, name: str = "book.epub") -> ExtractionError:
    with pytest.raises(ExtractionError) as info:
        extract_bytes(Path(name), data, LIMITS)
    return info.value


def test_chapters_are_pages_in_spine_order() -> None:
    data = formats.epub(["First chapter words.", "Second chapter, one line\nand another."], spine_order=[1, 0])

    result = extract_bytes(Path("book.epub"), data, LIMITS)

    assert result.format == "epub" and sniff_zip_format(data) == "epub"
    first, second = result.text.split("\f")
    assert first == "Chapter 2\nSecond chapter, one line\nand another."  # &nbsp; read as a space
    assert second == "Chapter 1\nFirst chapter words."
    assert result.page_starts == (len(first) + 1,)


def test_head_title_and_styles_are_not_text() -> None:
    result = extract_bytes(Path("b.epub"), formats.epub(["Body only."]), LIMITS)
    assert "margin" not in result.text and "Chapter 0" not in result.text


def test_drm_encrypted_chapters_are_encrypted() -> None:
    assert failure(formats.epub(["Locked."], encrypted=True)).status is Status.ENCRYPTED


def rewritten(data: bytes, member: str, content: bytes | None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename == member:
                if content is not None:
                    target.writestr(info, content)
            else:
                target.writestr(info, source.read(info))
    return out.getvalue()


@pytest.mark.parametrize(
    ("member", "content"),
    [
        ("META-INF/container.xml", None),
        ("META-INF/container.xml", b"<container/>"),
        ("OEBPS/content.opf", None),
        ("OEBPS/content.opf", b'<package xmlns="http://www.idpf.org/2007/opf"><spine/></package>'),
        ("OEBPS/content.opf", b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "x">]><package>&a;</package>'),
        ("OEBPS/text/chapter 0.xhtml", None),
    ],
    ids=["no-container", "container-without-rootfile", "no-opf", "empty-spine", "opf-entities", "missing-chapter"],
)
def test_broken_packages_are_parse_errors(member: str, content: bytes | None) -> None:
    data = rewritten(formats.epub(["Some words."]), member, content)
    assert failure(data).status is Status.PARSE_ERROR


def test_chapter_bomb_member_is_too_large() -> None:
    data = rewritten(formats.epub(["x"]), "OEBPS/text/chapter 0.xhtml", b"<p>" + b" " * (3 * 1024 * 1024) + b"</p>")
    limits = ExtractLimits(isolate=False, ocr=False, max_compression_ratio=50.0)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
    with pytest.raises(ExtractionError) as info:
        extract_bytes(Path("bomb.epub"), out.getvalue(), limits)
    assert info.value.status is Status.TOO_LARGE


def test_truncated_epub_gets_a_status() -> None:
    data = formats.epub(["Some words in a book."])
    assert failure(data[: len(data) * 2 // 3]).status in (Status.PARSE_ERROR, Status.UNSUPPORTED)
