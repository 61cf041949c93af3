"""Property tests for the readers of issue 19 (see tests/test_fuzz_extract.py for the
harness): random and mutated RTF, OpenDocument, EPUB, legacy-Office OLE files and
images give text or a status, never another exception or a hang.

OCR is off here: mutated images that still decode would each cost a Tesseract run, and
the parsers under test are Pillow's decoders and the frame and pixel checks; the OCR
path has its own tests (tests/test_extract_ocr.py).
"""

from __future__ import annotations

import dataclasses
import functools
import io
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leakwatch.config import ExtractLimits
from leakwatch.extract import extract_bytes
from leakwatch.extract.ocr import image_frames
from leakwatch.extract.ole import check_not_encrypted, sniff_ole_format
from leakwatch.extract.rtf import rtf_text
from leakwatch.model import ExtractedText, ExtractionError, Status
from tests import formats, scans
from tests.hostile import ole_file
from tests.test_fuzz_extract import FUZZ, MUTATIONS, Mutation, check_result, hang_guard, mutate

LIMITS = ExtractLimits(isolate=False, ocr=False)
FAILURES = frozenset(Status) - {Status.OK}


def outcome(name: str, data: bytes, limits: ExtractLimits = LIMITS) -> ExtractedText | ExtractionError:
    from pathlib import Path

    try:
        with hang_guard():
            result = extract_bytes(Path(name), data, limits)
    except ExtractionError as error:
        assert error.status in FAILURES and error.message
        return error
    check_result(result)
    return result


@functools.cache
def samples() -> dict[str, bytes]:
    words = "Quarterly results naïve café “quoted” — the northern region grew 12 %"
    return {
        "sample.rtf": formats.rtf([words, "Second paragraph {braces} \\ backslash"]),
        "sample.odt": formats.odt([words, "Second paragraph."]),
        "sample.ods": formats.ods({"One": [["a", words]], "Two": [["b"]]}),
        "sample.odp": formats.odp([[words], ["second slide"]]),
        "sample.epub": formats.epub([words, "Second chapter."]),
        "sample.doc": ole_file({"WordDocument": b"\xec\xa5\xc1\x00" + b"\0" * 200, "1Table": b"\0" * 200}),
    }


def test_every_sample_extracts() -> None:
    for name, data in samples().items():
        if name.endswith(".doc"):
            continue  # needs catdoc; its mutations are fuzzed through the OLE checks below
        result = outcome(name, data)
        assert isinstance(result, ExtractedText) and result.text.strip(), name


@pytest.mark.parametrize("name", sorted(set(samples()) - {"sample.doc"}))
@FUZZ
@given(mutations=MUTATIONS)
def test_mutated_files_give_text_or_a_status(name: str, mutations: list[Mutation]) -> None:
    outcome(name, mutate(samples()[name], mutations))


def members(name: str) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(samples()[name])) as package:
        return sorted(n for n in package.namelist() if n.endswith((".xml", ".opf", ".xhtml")))


def rezipped(data: bytes, member: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, content if info.filename == member else source.read(info))
    return out.getvalue()


@pytest.mark.parametrize("name", ["sample.odt", "sample.ods", "sample.odp", "sample.epub"])
@FUZZ
@given(data=st.data(), mutations=MUTATIONS)
def test_mutated_xml_members_give_text_or_a_status(name: str, data: st.DataObject, mutations: list[Mutation]) -> None:
    member = data.draw(st.sampled_from(members(name)))
    with zipfile.ZipFile(io.BytesIO(samples()[name])) as package:
        original = package.read(member)
    outcome(name, rezipped(samples()[name], member, mutate(original, mutations)))


RTF_TOKENS = st.lists(st.one_of(
    st.sampled_from(["{", "}", "\\par ", "\\u-10179?", "\\u8220 ", "\\uc0 ", "\\uc5 ", "\\'e9", "\\'9", "\\bin5 ",
                     "\\bin-3 ", "\\*", "\\fonttbl", "\\f1 ", "\\fcharset204 ", "\\ansicpg932 ", "\\ansicpg99999 ",
                     "\\pict ", "\\~", "\\\\", "\\{", "\\", "\\'", "\r\n", "\\u99999999 "]),
    st.text(max_size=12),
), max_size=60).map(lambda parts: "{\\rtf1 " + "".join(parts))


@FUZZ
@given(body=RTF_TOKENS)
def test_rtf_token_soup_gives_text_or_a_status(body: str) -> None:
    try:
        with hang_guard():
            rtf_text(body.encode("utf-8", "surrogatepass"), LIMITS)
    except ExtractionError as error:
        assert error.status in FAILURES


@functools.cache
def image_samples() -> dict[str, bytes]:
    page = scans.render("Quarterly results for the northern region", size=14, width=300, margin=8)
    tiff = io.BytesIO()
    page.save(tiff, "TIFF", save_all=True, append_images=[page], compression="tiff_deflate")
    return {"png": scans.encoded(page), "jpeg": scans.encoded(page, "JPEG"), "tiff": tiff.getvalue(),
            "gif": scans.encoded(page, "GIF"), "webp": scans.encoded(page, "WEBP"), "bmp": scans.encoded(page, "BMP")}


@pytest.mark.parametrize("kind", ["png", "jpeg", "tiff", "gif", "webp", "bmp"])
@FUZZ
@given(mutations=MUTATIONS)
def test_mutated_images_decode_or_give_a_status(kind: str, mutations: list[Mutation]) -> None:
    limits = dataclasses.replace(LIMITS, max_image_pixels=4_000_000, ocr_max_images=20)
    try:
        with hang_guard():
            for frame in image_frames(mutate(image_samples()[kind], mutations), limits, "the image"):
                assert frame.width * frame.height <= limits.max_image_pixels  # type: ignore[attr-defined]
    except ExtractionError as error:
        assert error.status in FAILURES


@pytest.mark.parametrize("stream", ["WordDocument", "Workbook", "PowerPoint Document"])
@FUZZ
@given(body=st.binary(max_size=512), mutations=MUTATIONS)
def test_mutated_ole_files_are_told_apart_and_checked_or_refused(stream: str, body: bytes,
                                                                 mutations: list[Mutation]) -> None:
    data = mutate(ole_file({stream: body, "Current User": body[:32]}), mutations)
    with hang_guard():
        kind = sniff_ole_format(data)
        if kind is not None:
            try:
                check_not_encrypted(data, kind)
            except ExtractionError as error:
                assert error.status in (Status.ENCRYPTED, Status.PARSE_ERROR)
        if kind == "xls":
            outcome("book.xls", data)
