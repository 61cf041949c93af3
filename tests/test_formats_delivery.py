"""Issue 19's acceptance: a delivery folder with every new format, each file carrying a
verbatim 70-110-word excerpt of a registered document, gives one finding per excerpt
against the right source, naming the page or the image; the same formats without an
excerpt give nothing; a registered scanned PDF is found in a later deliverable.

Everything runs through the CLI, so files are read by the isolated worker (OCR pages ask
it for their own time). Two registered sources: the shipped memo (English, for the
images OCR reads) and a synthetic document (for the other formats), so a finding against
the wrong one shows.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from leakwatch.cli import cli
from tests import formats, scans
from tests.conftest import make_text

ROOT = Path(__file__).resolve().parents[1]
MEMO = ROOT / "examples" / "confidential" / "halcyon-pricing-strategy.md"
FILLER = ROOT / "examples" / "deliverables" / "vendor-landscape.md"


def needs_tesseract() -> None:
    if shutil.which("tesseract") is None:
        import os

        if os.environ.get("CI"):
            pytest.fail("tesseract is missing: .ci/run must install tesseract-ocr and tesseract-ocr-eng")
        pytest.skip("tesseract is not installed")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout


def words(text: str, first: int, count: int) -> str:
    return " ".join(re.findall(r"\S+", text)[first:first + count])


def prose(text: str) -> str:
    """The running text of a Markdown file (headings and the title line left out)."""
    return " ".join(line for line in text.splitlines() if line and not line.startswith("#"))


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("sources")
    synthetic = make_text(1901, 1200)
    (root / "memo.md").write_text(MEMO.read_text(encoding="utf-8"), encoding="utf-8")
    (root / "plan.txt").write_text(synthetic, encoding="utf-8")
    store = root / "store"
    code, out = run("index", "add", str(root / "memo.md"), str(root / "plan.txt"), "--store", str(store))
    assert code == 0, out
    return {"store": store, "memo": prose(MEMO.read_text(encoding="utf-8")), "plan": synthetic,
            "filler": prose(FILLER.read_text(encoding="utf-8")), "other": make_text(1902, 1200)}


def scan(store: Path, folder: Path) -> dict:
    _, out = run("scan", str(folder), "--store", str(store), "--format", "json")
    return json.loads(out)


def page_images(text: str, pages: int) -> list[Image.Image]:
    """``text`` set on ``pages`` scanned pages (150 dpi, lightly degraded)."""
    chunks = re.findall(r"\S+", text)
    size = -(-len(chunks) // pages)
    return [scans.degrade(scans.render(" ".join(chunks[i * size:(i + 1) * size]), size=21, width=1240, margin=60),
                          scans.Degradation(angle=0.3, blur=0.4, noise=6), seed=i) for i in range(pages)]


def tiff(images: list[Image.Image]) -> bytes:
    out = io.BytesIO()
    images[0].save(out, "TIFF", save_all=True, append_images=images[1:], compression="tiff_deflate")
    return out.getvalue()


def ocr_delivery(folder: Path, memo: str, filler: str, planted: bool) -> dict[str, tuple[int | None, str]]:
    """Writes one file per OCR'd format; returns name -> (page, image) the finding must name."""
    folder.mkdir()
    excerpt = words(memo, 40, 80) if planted else ""
    head, tail = words(filler, 0, 45), words(filler, 45, 45)
    body = f"{head} {excerpt} {tail}"
    shot = formats.screenshot(body)
    (folder / "screen.png").write_bytes(shot)
    (folder / "scan.jpg").write_bytes(scans.encoded(page_images(body, 1)[0], "JPEG", quality=70))
    (folder / "fax.tif").write_bytes(tiff(page_images(f"{head} {tail}", 1) + page_images(body, 1)))
    (folder / "scanned.pdf").write_bytes(scans.scanned_pdf(page_images(f"{head} {tail}", 1) + page_images(body, 1),
                                                           dpi=150))
    (folder / "report.pdf").write_bytes(formats.pdf_text_and_picture([head[:90], tail[:90]], shot))
    (folder / "report.docx").write_bytes(formats.docx_with_picture([head, tail], shot))
    (folder / "deck.pptx").write_bytes(formats.pptx_with_picture(["Agenda", "Pricing"], shot, on=1))
    return {"screen.png": (1, "page 1"), "scan.jpg": (1, "page 1"), "fax.tif": (2, "page 2"),
            "scanned.pdf": (2, "page 2"), "report.pdf": (1, "page 1, image 1"),
            "report.docx": (None, "word/media/image1.png"), "deck.pptx": (2, "ppt/media/image1.png")}


def document_delivery(folder: Path, plan: str, other: str, planted: bool) -> dict[str, int | None]:
    """Writes one file per format read without OCR; returns name -> page the finding must name."""
    folder.mkdir()
    excerpt = words(plan, 300, 90) if planted else words(other, 500, 90)
    filler = [words(other, 0, 120), words(other, 120, 120)]
    (folder / "notes.odt").write_bytes(formats.odt([filler[0], excerpt, filler[1]]))
    (folder / "figures.ods").write_bytes(formats.ods({"Cover": [[filler[0]]], "Detail": [[filler[1]], [excerpt]]}))
    (folder / "talk.odp").write_bytes(formats.odp([[filler[0]], [filler[1]], [excerpt]]))
    (folder / "book.epub").write_bytes(formats.epub([filler[0], f"{filler[1]}\n{excerpt}"]))
    (folder / "memo.rtf").write_bytes(formats.rtf([filler[0], excerpt, filler[1]]))
    return {"notes.odt": None, "figures.ods": 2, "talk.odp": 3, "book.epub": 2, "memo.rtf": None}


def check(report: dict, expected: dict[str, tuple[int | None, str | None]], source: str) -> None:
    assert report["errors"] == []
    by_file = {Path(f["deliverable"]["path"]).name: f for f in report["findings"]}
    assert sorted(by_file) == sorted(expected)
    assert len(report["findings"]) == len(expected)
    for name, (page, image) in expected.items():
        finding = by_file[name]
        assert finding["kind"] == "confidential-excerpt", name
        assert Path(finding["source"]["path"]).name == source, name
        assert finding["deliverable"]["page"] == page, name
        assert finding["scores"]["matched_words"] >= 60, name
        if image is not None:
            assert [r["image"] for r in finding["ocr"]] == [image], name
            left, top, right, bottom = finding["ocr"][0]["bbox"]
            width, height = finding["ocr"][0]["image_size"]
            assert 0 <= left < right <= width and 0 <= top < bottom <= height, name


def test_ocr_formats_give_one_finding_per_planted_excerpt_naming_the_image(
        sources: dict[str, object], tmp_path: Path) -> None:
    needs_tesseract()
    store = sources["store"]
    assert isinstance(store, Path)
    expected = ocr_delivery(tmp_path / "planted", str(sources["memo"]), str(sources["filler"]), planted=True)
    check(scan(store, tmp_path / "planted"), {k: (p, i) for k, (p, i) in expected.items()}, "memo.md")
    ocr_delivery(tmp_path / "clean", str(sources["memo"]), str(sources["filler"]), planted=False)
    clean = scan(store, tmp_path / "clean")
    assert clean["findings"] == [] and clean["errors"] == []
    assert clean["summary"]["files_scanned"] == len(expected)


def test_document_formats_give_one_finding_per_planted_excerpt_naming_the_page(
        sources: dict[str, object], tmp_path: Path) -> None:
    store = sources["store"]
    assert isinstance(store, Path)
    expected = document_delivery(tmp_path / "planted", str(sources["plan"]), str(sources["other"]), planted=True)
    check(scan(store, tmp_path / "planted"), {k: (p, None) for k, p in expected.items()}, "plan.txt")
    document_delivery(tmp_path / "clean", str(sources["plan"]), str(sources["other"]), planted=False)
    clean = scan(store, tmp_path / "clean")
    assert clean["findings"] == [] and clean["errors"] == []
    assert clean["summary"]["files_scanned"] == len(expected)


def test_legacy_office_formats_give_one_finding_per_planted_excerpt(
        sources: dict[str, object], tmp_path: Path) -> None:
    formats.soffice()
    if shutil.which("catdoc") is None:
        import os

        if os.environ.get("CI"):
            pytest.fail("catdoc is missing: .ci/run must install it")
        pytest.skip("catdoc is not installed")
    store = sources["store"]
    assert isinstance(store, Path)
    plan, other = str(sources["plan"]), str(sources["other"])
    filler = [words(other, 0, 100), words(other, 100, 100)]
    excerpts = {"planted": words(plan, 600, 75), "clean": words(other, 600, 75)}
    # One LibreOffice run per target format, both variants at once (each run costs a second or two).
    made = {
        **formats.converted({f"{k}.docx": formats.docx_paragraphs([filler[0], e, filler[1]])
                             for k, e in excerpts.items()}, "doc"),
        **formats.converted({f"{k}.xlsx": formats.xlsx([[filler[0]], [e], [filler[1]]]) for k, e in excerpts.items()},
                            "xls"),
        **formats.converted({f"{k}.pptx": formats.pptx_slides([filler[0], e]) for k, e in excerpts.items()}, "ppt"),
    }
    legacy = {".docx": "memo.doc", ".xlsx": "sheet.xls", ".pptx": "deck.ppt"}
    for name, data in made.items():
        folder = tmp_path / Path(name).stem
        folder.mkdir(exist_ok=True)
        (folder / legacy[Path(name).suffix]).write_bytes(data)
    expected: dict[str, tuple[int | None, str | None]] = {"memo.doc": (None, None), "sheet.xls": (1, None),
                                                          "deck.ppt": (2, None)}
    check(scan(store, tmp_path / "planted"), expected, "plan.txt")
    clean = scan(store, tmp_path / "clean")
    assert clean["findings"] == [] and clean["errors"] == []


def test_a_registered_scanned_pdf_is_found_in_a_later_deliverable(tmp_path: Path) -> None:
    needs_tesseract()
    memo = prose(MEMO.read_text(encoding="utf-8"))
    scanned = tmp_path / "confidential" / "signed-strategy.pdf"
    scanned.parent.mkdir()
    scanned.write_bytes(scans.scanned_pdf(page_images(words(memo, 0, 300), 2), dpi=150))
    store = tmp_path / "store"
    code, out = run("index", "add", str(scanned), "--store", str(store))
    assert code == 0, out
    deliverable = tmp_path / "delivery" / "summary.md"
    deliverable.parent.mkdir()
    filler = prose(FILLER.read_text(encoding="utf-8"))
    deliverable.write_text(f"{words(filler, 0, 80)}\n\n{words(memo, 180, 85)}\n\n{words(filler, 80, 60)}\n",
                           encoding="utf-8")

    report = scan(store, deliverable.parent)

    assert len(report["findings"]) == 1
    finding = report["findings"][0]
    assert Path(finding["source"]["path"]).name == "signed-strategy.pdf"
    assert finding["source"]["page"] == 2 and finding["scores"]["matched_words"] >= 60
