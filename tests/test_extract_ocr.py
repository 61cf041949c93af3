"""OCR: images, scanned PDF pages, pictures in documents; word boxes; limits and statuses.

Few, small images: each OCR call costs a fraction of a second to a second.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from leakwatch.config import ExtractLimits
from leakwatch.extract import extract_bytes
from leakwatch.extract.ocr import PageText, join_pages, line_pitch, parse_tsv
from leakwatch.extract.pdf_ocr import COVERED_WORDS
from leakwatch.isolate import IsolatedExtractor
from leakwatch.model import (
    ExtractedText,
    ExtractionError,
    Finding,
    Scores,
    Severity,
    SourceRef,
    Span,
    Status,
    TextRegion,
    with_ocr_regions,
)
from leakwatch.report.text import TextReporter
from tests import formats, scans

LIMITS = ExtractLimits(isolate=False)
TEXT = ("Halcyon will raise list prices for the Meridian tier by nine percent in the second quarter while "
        "holding the Atlas tier flat for existing customers until their renewal date")


@pytest.fixture(autouse=True)
def tesseract() -> None:
    if shutil.which("tesseract") is None:
        if os.environ.get("CI"):
            pytest.fail("tesseract is missing: .ci/run must install tesseract-ocr and tesseract-ocr-eng")
        pytest.skip("tesseract is not installed")


def shot(text: str = TEXT, width: int = 900) -> bytes:
    return formats.screenshot(text, width)


def extracted(name: str, data: bytes, limits: ExtractLimits = LIMITS) -> ExtractedText:
    return extract_bytes(Path(name), data, limits)


def failure(name: str, data: bytes, limits: ExtractLimits = LIMITS) -> ExtractionError:
    with pytest.raises(ExtractionError) as info:
        extract_bytes(Path(name), data, limits)
    return info.value


def read_words(text: str) -> list[str]:
    return [w.strip(".,").lower() for w in text.split()]


# --- images -------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "options"), [("PNG", {}), ("JPEG", {"quality": 80}), ("WEBP", {"quality": 90}),
                                              ("BMP", {}), ("GIF", {})])
def test_an_image_of_text_is_read_with_word_boxes(fmt: str, options: dict[str, object]) -> None:
    image = scans.render(TEXT, kind="sans", size=16, width=900, margin=14)
    result = extracted("shot.bin", scans.encoded(image, fmt, **options))

    assert result.format == "image" and result.page_starts == ()
    assert read_words(result.text)[:8] == read_words(TEXT)[:8]
    (region,) = result.regions
    assert (region.name, region.size, region.start, region.end) == ("page 1", image.size, 0, len(result.text))
    for start, end, left, top, right, bottom in region.words:
        assert result.text[start:end].strip() and 0 <= left < right <= image.width and 0 <= top < bottom <= image.height
    # Words run left to right on the first line: the boxes say where each is.
    first, second = region.words[0], region.words[1]
    assert first[4] <= second[2] + 2 and abs(first[3] - second[3]) < 10
    assert result.extractor_version.startswith("1/ocr-tesseract-")


def test_tiff_pages_are_pages_and_regions() -> None:
    pages = [scans.render(f"Page {n} says {TEXT}", kind="sans", size=16, width=900, margin=14) for n in (1, 2)]
    out = io.BytesIO()
    pages[0].save(out, "TIFF", save_all=True, append_images=pages[1:])

    result = extracted("fax.tif", out.getvalue())

    assert len(result.page_starts) == 1
    assert [r.name for r in result.regions] == ["page 1", "page 2"]
    second = result.regions[1]
    assert result.page_of(second.start) == 2 and "Page 2" in result.text[second.start:second.end]


def test_transparent_screenshot_is_read_on_white() -> None:
    text_layer = scans.render(TEXT, kind="sans", size=16, width=900, margin=14)
    rgba = Image.new("RGBA", text_layer.size, (0, 0, 0, 0))
    rgba.putalpha(Image.eval(text_layer, lambda v: 255 - v))  # black ink, transparent paper

    result = extracted("shot.png", scans.encoded(rgba))

    assert read_words(result.text)[:6] == read_words(TEXT)[:6]


def test_image_without_words_is_never_clean() -> None:
    error = failure("photo.png", scans.encoded(Image.new("RGB", (400, 300), (120, 160, 200))))
    assert error.status is Status.UNSUPPORTED and "no words" in error.message


def test_images_are_unsupported_when_ocr_is_off() -> None:
    error = failure("shot.png", shot(), dataclasses.replace(LIMITS, ocr=False))
    assert error.status is Status.UNSUPPORTED and "ocr = false" in error.message


def test_pixel_bomb_is_too_large_before_it_is_decoded() -> None:
    # 20,000 x 20,000 white pixels: a few KB of PNG, 400 MB decoded.
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000), 1).save(out, "PNG")
    assert len(out.getvalue()) < 200_000

    error = failure("bomb.png", out.getvalue())

    assert error.status is Status.TOO_LARGE and "pixels" in error.message


def test_tiff_with_more_frames_than_the_limit_is_too_large() -> None:
    frames = [Image.new("L", (8, 8), 255) for _ in range(12)]
    out = io.BytesIO()
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:])

    error = failure("many.tif", out.getvalue(), dataclasses.replace(LIMITS, ocr_max_images=10))

    assert error.status is Status.TOO_LARGE and "frames" in error.message


@pytest.mark.parametrize("cut", [0.3, 0.7])
def test_truncated_images_are_parse_errors(cut: float) -> None:
    data = scans.encoded(scans.render(TEXT, size=16, width=600), "PNG")
    error = failure("cut.png", data[: int(len(data) * cut)])
    assert error.status is Status.PARSE_ERROR


def test_ocr_past_its_time_is_a_timeout() -> None:
    error = failure("shot.png", shot(), dataclasses.replace(LIMITS, ocr_timeout_s=0.001))
    assert error.status is Status.TIMEOUT and "OCR of page 1" in error.message


def test_without_tesseract_images_are_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    error = failure("shot.png", shot())
    assert error.status is Status.UNSUPPORTED and "tesseract-ocr" in error.message


# --- PDF pages ------------------------------------------------------------------------------


def test_scanned_pdf_pages_are_read_and_named() -> None:
    pages = [scans.render(f"Scanned page {n}. {TEXT}", size=21, width=1240, margin=60) for n in (1, 2)]

    result = extracted("scan.pdf", scans.scanned_pdf(pages, dpi=150))

    assert [r.name for r in result.regions] == ["page 1", "page 2"]
    assert result.page_of(result.regions[1].start) == 2
    assert "+ocr-tesseract-" in result.extractor_version


def test_a_page_header_over_a_scanned_body_does_not_stop_ocr() -> None:
    page = scans.render(TEXT, size=21, width=1240, margin=60)

    result = extracted("stamped.pdf", scans.scanned_pdf([page], header="ACME Corp - confidential - page 1", dpi=150))

    assert "ACME Corp" in result.text and "Meridian" in result.text
    assert [r.name for r in result.regions] == ["page 1, image 1"]


def test_a_searchable_scan_is_not_read_twice() -> None:
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    image = scans.render(TEXT * 2, size=21, width=1240, margin=60)
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(image.width * 72 / 150, image.height * 72 / 150))
    pdf.drawImage(ImageReader(image), 0, 0, image.width * 72 / 150, image.height * 72 / 150)
    hidden = pdf.beginText(20, image.height * 72 / 150 - 30)
    hidden.setTextRenderMode(3)  # invisible: the OCR layer a scanner adds
    words = (TEXT * 2).split()
    for first in range(0, len(words), 10):
        hidden.textLine(" ".join(words[first:first + 10]))
    pdf.drawText(hidden)
    pdf.showPage()
    pdf.save()
    assert len(words) >= COVERED_WORDS

    result = extracted("searchable.pdf", out.getvalue())

    assert result.regions == () and "+ocr" not in result.extractor_version
    assert result.text.count("Meridian") == 2


def test_a_screenshot_pasted_beside_text_is_read_and_named() -> None:
    result = extracted("report.pdf", formats.pdf_text_and_picture(["Quarterly notes, page one."], shot()))

    assert result.text.startswith("Quarterly notes")
    (region,) = result.regions
    assert region.name == "page 1, image 1" and "Meridian" in result.text[region.start:region.end]


def test_pdf_with_a_picture_bomb_is_too_large() -> None:
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    pdf.drawImage(ImageReader(Image.new("1", (12_000, 12_000), 1)), 0, 0, 100, 100)
    pdf.showPage()
    pdf.save()

    error = failure("bomb.pdf", out.getvalue(), dataclasses.replace(LIMITS, max_image_pixels=100_000_000))

    assert error.status is Status.TOO_LARGE and "page 1" in error.message


def test_scanned_pdf_with_ocr_off_is_unsupported_not_clean() -> None:
    page = scans.render(TEXT, size=21, width=1240, margin=60)
    error = failure("scan.pdf", scans.scanned_pdf([page], dpi=150), dataclasses.replace(LIMITS, ocr=False))
    assert error.status is Status.UNSUPPORTED and "ocr = false" in error.message


# --- pictures in documents ------------------------------------------------------------------


def test_docx_picture_is_read_after_the_text_and_named() -> None:
    result = extracted("report.docx", formats.docx_with_picture(["Opening paragraph."], shot()))

    assert result.text.startswith("Opening paragraph.")
    (region,) = result.regions
    assert region.name == "word/media/image1.png" and "Meridian" in result.text[region.start:region.end]


def test_pptx_picture_is_read_on_its_slide() -> None:
    result = extracted("deck.pptx", formats.pptx_with_picture(["Agenda", "Pricing", "Close"], shot(), on=1))

    (region,) = result.regions
    assert region.name == "ppt/media/image1.png" and result.page_of(region.start) == 2
    assert len(result.page_starts) == 2


def test_odt_and_odp_pictures_are_read() -> None:
    odt = extracted("notes.odt", formats.odt(["Opening paragraph."], picture=shot()))
    odp = extracted("talk.odp", formats.odp([["first"], ["second"]], picture_on=1, picture=shot()))

    assert [r.name for r in odt.regions] == ["Pictures/shot.png"]
    assert [r.name for r in odp.regions] == ["Pictures/slide-shot.png"] and odp.page_of(odp.regions[0].start) == 2


def test_documents_keep_their_text_unchanged_when_ocr_is_off() -> None:
    data = formats.docx_with_picture(["Opening paragraph."], shot())
    off = extracted("report.docx", data, dataclasses.replace(LIMITS, ocr=False))
    assert off.text == "Opening paragraph.\n" and off.regions == () and off.extractor_version == "1"


# --- regions through the worker, into findings and reports ---------------------------------


def test_regions_cross_the_isolated_worker_and_ocr_gets_time_of_its_own(tmp_path: Path) -> None:
    pages = [scans.render(f"Scanned page {n}. {TEXT}", size=21, width=1240, margin=60) for n in (1, 2, 3)]
    path = tmp_path / "scan.pdf"
    path.write_bytes(scans.scanned_pdf(pages, dpi=150))
    direct = extracted("scan.pdf", path.read_bytes())

    # A file budget far under three pages of OCR: each page asks the parent for its own time.
    with IsolatedExtractor(dataclasses.replace(ExtractLimits(), timeout_s=0.5)) as isolated:
        _, result = isolated.extract(path)

    assert result == dataclasses.replace(direct)
    assert [r.name for r in result.regions] == ["page 1", "page 2", "page 3"]


def test_region_json_is_checked_when_read_back() -> None:
    region = TextRegion(3, 10, "page 1", (100, 50), ((3, 8, 1, 2, 30, 12),))
    assert TextRegion.from_dict(json.loads(json.dumps(region.to_dict()))) == region
    with pytest.raises(ValueError):
        TextRegion.from_dict({**region.to_dict(), "words": [[1, 2, 3]]})


def finding_on(start: int, end: int) -> Finding:
    return Finding(id="lw-x", kind="confidential-excerpt", severity=Severity.HIGH, deliverable_path="/d/shot.png",
                   deliverable_sha256="0" * 64, deliverable_span=Span(start, end, 1),
                   source=SourceRef("doc-1", "/c/memo.md", "confidential", Span(0, 50)),
                   scores=Scores(0.9, 0.5, 0.1, 40, 0.95))


def test_a_finding_names_the_image_and_the_box_of_its_words() -> None:
    region = TextRegion(10, 40, "word/media/image1.png", (900, 120),
                        ((10, 15, 5, 5, 50, 20), (16, 25, 60, 5, 120, 20), (26, 40, 5, 30, 90, 45)))
    text = ExtractedText(text="x" * 40, format="docx", regions=(region,))

    finding = with_ocr_regions(finding_on(16, 40), text)

    assert finding.to_dict()["ocr"] == [{"image": "word/media/image1.png", "bbox": [5, 5, 120, 45],
                                         "image_size": [900, 120]}]
    assert with_ocr_regions(finding_on(0, 9), text).extra == {}
    out = io.StringIO()
    from leakwatch.results import ScanReport

    TextReporter().write(ScanReport(findings=[finding]), out)
    assert "read by OCR from word/media/image1.png, pixels 5,5-120,45 of 900x120" in out.getvalue()
    from leakwatch.report.html import DeliverableText, render_html

    page = render_html(ScanReport(findings=[finding]), lambda path, sha: DeliverableText(text="x" * 40))
    assert "<dt>image</dt><dd>read by OCR from word/media/image1.png, pixels 5,5-120,45 of 900x120</dd>" in page


# --- helpers --------------------------------------------------------------------------------


def test_tsv_lines_and_blocks_become_line_breaks_and_boxes_follow_the_scale() -> None:
    header = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
    rows = ["5\t1\t1\t1\t1\t1\t10\t10\t40\t20\t95\tHello", "5\t1\t1\t1\t1\t2\t60\t10\t40\t20\t95\tworld",
            "5\t1\t1\t1\t2\t1\t10\t40\t40\t20\t95\tnext", "4\t1\t1\t1\t2\t0\t10\t40\t40\t20\t-1\t",
            "5\t1\t2\t1\t1\t1\t10\t90\t40\t20\t95\tblock"]

    text, words = parse_tsv("\n".join([header, *rows]), scale=2.0)

    assert text == "Hello world\nnext\n\nblock"
    assert words[0] == (0, 5, 5, 5, 25, 15) and words[-1][:2] == (18, 23)


def test_pages_join_with_regions_shifted() -> None:
    first, second = PageText("one"), PageText("two")
    second.regions.append(TextRegion(0, 3, "page 2", (10, 10), ((0, 3, 0, 0, 5, 5),)))

    text, starts, regions = join_pages([first, second])

    assert (text, starts) == ("one\ftwo", (4,))
    assert regions[0].start == 4 and regions[0].words[0][:2] == (4, 7)


def test_line_pitch_tells_small_text_from_large() -> None:
    small = line_pitch(scans.render(TEXT * 3, kind="sans", size=10, width=700, margin=10))
    large = line_pitch(scans.render(TEXT * 3, kind="serif", size=30, width=1500))
    assert small is not None and large is not None and small < 16 < large
    assert line_pitch(Image.new("L", (50, 50), 255)) is None
