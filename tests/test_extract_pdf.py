"""PdfExtractor: text per page, page offsets, and every failure mapped to a status."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import random
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from leakwatch.config import ExtractLimits
from leakwatch.extract import pdf as pdf_module
from leakwatch.extract.pdf import LAPARAMS, PdfExtractor
from leakwatch.model import ExtractedText, ExtractionError, Status

LIMITS = ExtractLimits()
PATH = Path("deliverable.pdf")

PAGE_ONE = "Quarterly revenue forecast for the northern region"
PAGE_TWO = "Confidential merger terms agreed with the supplier"
PAGE_THREE = "Appendix listing every unreleased product codename"


def make_pdf(draw_pages: list[Callable[[Canvas], None]], **canvas_kwargs: object) -> bytes:
    """A PDF with one page per drawing function, made with reportlab."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, **canvas_kwargs)  # type: ignore[arg-type]
    for draw in draw_pages:
        draw(canvas)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def text_page(*lines: str) -> Callable[[Canvas], None]:
    def draw(canvas: Canvas) -> None:
        for number, line in enumerate(lines):
            canvas.drawString(72, 720 - 20 * number, line)

    return draw


def blank_page(canvas: Canvas) -> None:
    """Leaves the page empty (showPage still emits it)."""


def extract(data: bytes, limits: ExtractLimits = LIMITS) -> ExtractedText:
    return PdfExtractor().extract(PATH, data, limits)


def extraction_error(data: bytes, limits: ExtractLimits = LIMITS) -> ExtractionError:
    with pytest.raises(ExtractionError) as info:
        extract(data, limits)
    return info.value


# --- text and pages ---------------------------------------------------------------------


def test_two_pages_keep_their_words_and_page_starts() -> None:
    result = extract(make_pdf([text_page(PAGE_ONE), text_page(PAGE_TWO)]))

    assert result.format == "pdf"
    assert result.encoding is None
    assert result.text.count("\f") == 1
    (second,) = result.page_starts
    assert result.text[second - 1] == "\f"
    first_page, second_page = result.text.split("\f")
    assert PAGE_ONE in first_page and PAGE_TWO not in first_page
    assert PAGE_TWO in second_page
    assert result.page_of(result.text.index(PAGE_ONE)) == 1
    assert result.page_of(result.text.index(PAGE_TWO)) == 2


def test_page_starts_point_after_each_form_feed() -> None:
    result = extract(make_pdf([text_page(PAGE_ONE), text_page(PAGE_TWO), text_page(PAGE_THREE)]))

    feeds = [i + 1 for i, char in enumerate(result.text) if char == "\f"]
    assert list(result.page_starts) == feeds
    assert result.text[result.page_starts[1] :].startswith(PAGE_THREE)
    assert result.page_of(result.text.index(PAGE_THREE)) == 3


def test_blank_page_between_text_pages_still_counts_as_a_page() -> None:
    result = extract(make_pdf([text_page(PAGE_ONE), blank_page, text_page(PAGE_THREE)]))

    assert len(result.page_starts) == 2
    assert result.page_of(result.text.index(PAGE_THREE)) == 3


def test_lines_on_a_page_come_out_top_to_bottom() -> None:
    result = extract(make_pdf([text_page("first line of the page", "second line", "third line")]))

    assert result.text.index("first line") < result.text.index("second line") < result.text.index("third")


def test_text_inside_a_form_xobject_is_extracted() -> None:
    # Letterheads, stamps and overlays are often Form XObjects; their text must
    # not vanish from the scan.
    def draw(canvas: Canvas) -> None:
        canvas.beginForm("stamp")
        canvas.drawString(72, 600, "Internal use only stamp text")
        canvas.endForm()
        canvas.doForm("stamp")
        canvas.drawString(72, 720, PAGE_ONE)

    result = extract(make_pdf([draw]))

    assert "Internal use only stamp text" in result.text
    assert PAGE_ONE in result.text


def test_layout_parameters_skip_box_grouping() -> None:
    assert LAPARAMS.boxes_flow is None


def test_pdf_encrypted_with_an_empty_user_password_is_extracted() -> None:
    data = make_pdf([text_page(PAGE_ONE)], encrypt=StandardEncryption("", ownerPassword="owner", strength=128))
    assert b"/Encrypt" in data

    assert PAGE_ONE in extract(data).text


# --- failures ---------------------------------------------------------------------------


@pytest.mark.parametrize("strength", [40, 128])
def test_password_protected_pdf_is_encrypted(strength: int) -> None:
    encryption = StandardEncryption("userpw", ownerPassword="ownerpw", strength=strength)
    data = make_pdf([text_page(PAGE_ONE)], encrypt=encryption)

    error = extraction_error(data)

    assert error.status is Status.ENCRYPTED
    assert "password" in error.message


def test_unknown_security_handler_is_encrypted_not_parse_error() -> None:
    encryption = StandardEncryption("userpw", ownerPassword="ownerpw", strength=128)
    data = make_pdf([text_page(PAGE_ONE)], encrypt=encryption).replace(b"/Standard", b"/Acme12X", 1)

    assert extraction_error(data).status is Status.ENCRYPTED


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"%PDF-1.4\n",
        b"%PDF-1.7\n" + bytes(range(256)) * 40,
        b"this is not a PDF at all, just some words in a file",
    ],
    ids=["empty", "header-only", "garbage-body", "plain-text"],
)
def test_garbage_is_a_parse_error(data: bytes) -> None:
    error = extraction_error(data)

    assert error.status is Status.PARSE_ERROR
    assert error.message


def test_truncated_pdf_is_a_parse_error() -> None:
    data = make_pdf([text_page(PAGE_ONE), text_page(PAGE_TWO)])

    assert extraction_error(data[:200]).status is Status.PARSE_ERROR


def test_page_tree_declaring_more_pages_than_readable_is_a_parse_error() -> None:
    # Pages that cannot be reached must not pass for a complete (clean) extraction.
    data = make_pdf([text_page(PAGE_ONE), text_page(PAGE_TWO)])
    assert data.count(b"/Count 2") == 1

    error = extraction_error(data.replace(b"/Count 2", b"/Count 5"))

    assert error.status is Status.PARSE_ERROR
    assert "declares 5 pages but only 2" in error.message


def test_unreadable_page_tree_is_a_parse_error() -> None:
    data = make_pdf([text_page(PAGE_ONE)])
    catalog_pages = re.search(rb"/Pages \d+ 0 R", data)
    assert catalog_pages is not None
    # Same length, so the cross-reference offsets stay right.
    broken = data.replace(catalog_pages.group(0), b"/Pages null".ljust(len(catalog_pages.group(0))), 1)

    error = extraction_error(broken)

    assert error.status is Status.PARSE_ERROR
    assert "page tree" in error.message


def test_mutated_pdfs_never_raise_anything_but_extraction_error() -> None:
    data = make_pdf([text_page(PAGE_ONE), text_page(PAGE_TWO)], pageCompression=0)
    rng = random.Random(20260107)
    for _ in range(60):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        cut = rng.choice([len(mutated), rng.randrange(len(mutated))])
        try:
            extract(bytes(mutated[:cut]))
        except ExtractionError as error:
            assert error.status in {Status.PARSE_ERROR, Status.UNSUPPORTED, Status.ENCRYPTED}


def test_page_limit_is_too_large() -> None:
    data = make_pdf([text_page(PAGE_ONE), text_page(PAGE_TWO), text_page(PAGE_THREE)])

    error = extraction_error(data, dataclasses.replace(LIMITS, max_pdf_pages=2))

    assert error.status is Status.TOO_LARGE
    assert extract(data, dataclasses.replace(LIMITS, max_pdf_pages=3)).page_starts


def test_text_limit_is_too_large() -> None:
    data = make_pdf([text_page(PAGE_ONE), text_page(PAGE_TWO)])

    error = extraction_error(data, dataclasses.replace(LIMITS, max_text_chars=len(PAGE_ONE) + 5))

    assert error.status is Status.TOO_LARGE


def image_page(canvas: Canvas) -> None:
    picture = Image.new("RGB", (64, 64), (200, 30, 30))
    canvas.drawImage(ImageReader(picture), 72, 500, width=300, height=300)


def shapes_page(canvas: Canvas) -> None:
    canvas.rect(72, 72, 200, 200, fill=1)
    canvas.line(0, 0, 500, 500)


@pytest.mark.parametrize(
    "pages",
    [[image_page], [image_page, image_page], [blank_page], [shapes_page], [text_page("   ", "      ")]],
    ids=["one-image", "two-images", "blank", "shapes", "whitespace"],
)
def test_pdf_without_text_layer_is_unsupported_never_clean(pages: list[Callable[[Canvas], None]]) -> None:
    error = extraction_error(make_pdf(pages))

    assert error.status is Status.UNSUPPORTED
    assert "no text layer" in error.message
    assert "OCR" in error.message


@pytest.mark.parametrize(
    ("raised", "status"),
    [
        (KeyError("Root"), Status.PARSE_ERROR),
        (TypeError("unsupported operand"), Status.PARSE_ERROR),
        (AssertionError(), Status.PARSE_ERROR),
        (IndexError("list index out of range"), Status.PARSE_ERROR),
        (RecursionError("maximum recursion depth exceeded"), Status.PARSE_ERROR),
        (MemoryError(), Status.MEMORY),
    ],
)
def test_unexpected_exceptions_inside_pdfminer_become_extraction_errors(
    monkeypatch: pytest.MonkeyPatch, raised: Exception, status: Status
) -> None:
    def explode(data: bytes, limits: ExtractLimits) -> list[object]:
        raise raised

    monkeypatch.setattr(pdf_module, "_open_pages", explode)

    assert extraction_error(make_pdf([text_page(PAGE_ONE)])).status is status


def test_long_exception_messages_are_shortened(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(data: bytes, limits: ExtractLimits) -> list[object]:
        raise ValueError("x" * 5000)

    monkeypatch.setattr(pdf_module, "_open_pages", explode)

    assert len(extraction_error(b"%PDF-1.4").message) < 300


def test_pdfminer_warnings_are_silenced() -> None:
    assert logging.getLogger("pdfminer").getEffectiveLevel() >= logging.ERROR


# --- real-world samples -----------------------------------------------------------------

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "pdf-samples"
ENCRYPTION = "pdfminer-six/samples/encryption"
# Encrypted, but opens with the empty password (and base.pdf is the plain original).
OPENS_WITHOUT_PASSWORD = {"encrypted_doc_no_id.pdf", "base.pdf"}
SLOW_SECONDS = 30.0

Outcome = ExtractedText | ExtractionError


@pytest.fixture(scope="module")
def corpus_results() -> dict[str, tuple[Outcome, float]]:
    """Every sample PDF extracted once: relative path -> (text or error, seconds).

    Any exception other than ExtractionError fails here, naming the file.
    """
    if not CORPUS.is_dir():
        pytest.skip(f"PDF sample corpus not found at {CORPUS}")
    results: dict[str, tuple[Outcome, float]] = {}
    for path in sorted(CORPUS.rglob("*.pdf")):
        data = path.read_bytes()
        started = time.perf_counter()
        outcome: Outcome
        try:
            outcome = PdfExtractor().extract(path, data, LIMITS)
        except ExtractionError as error:
            outcome = error
        except Exception as exc:  # pragma: no cover - the failure being tested for
            pytest.fail(f"{path.relative_to(CORPUS)} raised {type(exc).__name__}: {exc}")
        results[path.relative_to(CORPUS).as_posix()] = (outcome, time.perf_counter() - started)
    assert results, f"no PDFs under {CORPUS}"
    return results


@pytest.mark.corpus
def test_corpus_every_sample_gives_text_or_a_status(corpus_results: dict[str, tuple[Outcome, float]]) -> None:
    for name, (outcome, _) in corpus_results.items():
        if isinstance(outcome, ExtractedText):
            assert outcome.text.strip(), name
            assert len(outcome.page_starts) == outcome.text.count("\f"), name
        else:
            assert outcome.status in set(Status) - {Status.OK}, name
            assert outcome.message, name


@pytest.mark.corpus
def test_corpus_no_sample_is_slow(corpus_results: dict[str, tuple[Outcome, float]]) -> None:
    slow = {name: round(seconds, 1) for name, (_, seconds) in corpus_results.items() if seconds > SLOW_SECONDS}
    assert not slow


@pytest.mark.corpus
def test_corpus_password_protected_samples_are_encrypted(
    corpus_results: dict[str, tuple[Outcome, float]],
) -> None:
    encrypted = {
        name: outcome
        for name, (outcome, _) in corpus_results.items()
        if name.startswith(ENCRYPTION + "/") and name.rsplit("/", 1)[1] not in OPENS_WITHOUT_PASSWORD
    }
    libreoffice = "py-pdf-sample-files/005-libreoffice-writer-password/libreoffice-writer-password.pdf"
    encrypted[libreoffice] = corpus_results[libreoffice][0]
    assert len(encrypted) == 8
    for name, outcome in encrypted.items():
        assert isinstance(outcome, ExtractionError), name
        assert outcome.status is Status.ENCRYPTED, name


@pytest.mark.corpus
def test_corpus_samples_opening_with_empty_password_are_not_encrypted(
    corpus_results: dict[str, tuple[Outcome, float]],
) -> None:
    base, _ = corpus_results[f"{ENCRYPTION}/base.pdf"]
    assert isinstance(base, ExtractedText)
    assert "Secret!" in base.text

    # No trailer ID, empty user password: it opens, and its three pages are images.
    no_id, _ = corpus_results[f"{ENCRYPTION}/encrypted_doc_no_id.pdf"]
    assert isinstance(no_id, ExtractionError)
    assert no_id.status is Status.UNSUPPORTED


@pytest.mark.corpus
def test_corpus_corrupted_stream_still_gives_the_text(corpus_results: dict[str, tuple[Outcome, float]]) -> None:
    zen, _ = corpus_results["pdfminer-six/samples/zen_of_python_corrupted.pdf"]
    assert isinstance(zen, ExtractedText)
    assert "Mai 30, 18 13:27" in zen.text
    assert "zen_of_python.txt" in zen.text
    assert "Beautiful is better than ugly." in zen.text


@pytest.mark.corpus
def test_corpus_page_counts_match_the_sample_catalogue(corpus_results: dict[str, tuple[Outcome, float]]) -> None:
    catalogue = json.loads((CORPUS / "py-pdf-sample-files" / "files.json").read_text(encoding="utf-8"))
    checked = 0
    for entry in catalogue["data"]:
        outcome, _ = corpus_results.get(f"py-pdf-sample-files/{entry['path']}", (None, 0.0))
        if isinstance(outcome, ExtractedText):
            assert len(outcome.page_starts) + 1 == entry["pages"], entry["path"]
            checked += 1
    assert checked >= 20


@pytest.mark.corpus
def test_corpus_damaged_page_trees_are_parse_errors(corpus_results: dict[str, tuple[Outcome, float]]) -> None:
    # Both have a broken cross-reference chain: pdfminer alone would find 0 of 2
    # pages in the first and 1 of 4 in the second (and call the rest clean).
    for name in (
        "pdfminer-six/samples/nonfree/175.pdf",
        "py-pdf-sample-files/017-unreadable-meta-data/unreadablemetadata.pdf",
    ):
        outcome, _ = corpus_results[name]
        assert isinstance(outcome, ExtractionError), name
        assert outcome.status is Status.PARSE_ERROR, name


@pytest.mark.corpus
def test_corpus_xobject_text_is_found(corpus_results: dict[str, tuple[Outcome, float]]) -> None:
    # All of this sample's text sits in nested Form XObjects.
    evil, _ = corpus_results["pdfminer-six/samples/contrib/issue-1113-evil-xobjects.pdf"]
    assert isinstance(evil, ExtractedText)
    assert "Hello world" in evil.text
