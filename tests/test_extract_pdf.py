"""PdfExtractor: text per page, page offsets, and every failure mapped to a status."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import random
import re
import time
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from leakwatch.config import ExtractLimits
from leakwatch.extract import extract_file, pdf_decoding
from leakwatch.extract import pdf as pdf_module
from leakwatch.extract import pdfium as pdfium_module
from leakwatch.extract.pdf import LAPARAMS, PdfExtractor
from leakwatch.model import ExtractedText, ExtractionError, Status
from leakwatch.text import tokenize
from tests import hostile
from tests.conftest import make_text

LIMITS = ExtractLimits()
# The hardened pdfminer.six engine for every PDF (the engine of files PDFium does not read).
PDFMINER = ExtractLimits(pdf_engine="pdfminer")
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

    assert extraction_error(make_pdf([text_page(PAGE_ONE)]), PDFMINER).status is status


def test_long_exception_messages_are_shortened(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(data: bytes, limits: ExtractLimits) -> list[object]:
        raise ValueError("x" * 5000)

    monkeypatch.setattr(pdf_module, "_open_pages", explode)

    assert len(extraction_error(b"%PDF-1.4").message) < 300


def test_pdfminer_warnings_are_silenced() -> None:
    assert logging.getLogger("pdfminer").getEffectiveLevel() >= logging.ERROR


# --- engines: PDFium first, pdfminer.six for the rest -------------------------------------


def word_ids(text: str) -> list[int]:
    """The words as the fingerprinting sees them (normalized, hashed), in order."""
    return tokenize(text).ids.tolist()


def engine_of(result: ExtractedText) -> str:
    return "pdfium" if result.extractor_version.startswith("2/pdfium-") else result.extractor_version


def prose_page(seed: int, lines: int = 40) -> Callable[[Canvas], None]:
    words = make_text(seed, lines * 12).split()
    return text_page(*(" ".join(words[i : i + 12]) for i in range(0, len(words), 12)))


def text_object_page(seed: int) -> Callable[[Canvas], None]:
    """Lines written as one text object (BT ... T* ... ET), as word processors do."""

    def draw(canvas: Canvas) -> None:
        text = canvas.beginText(50, 780)
        text.setFont("Times-Roman", 10)
        words = make_text(seed, 500).split()
        for i in range(0, len(words), 14):
            text.textLine(" ".join(words[i : i + 14]))
        canvas.drawText(text)

    return draw


def form_page(canvas: Canvas) -> None:
    canvas.beginForm("letterhead")
    canvas.drawString(72, 780, "Northwind Holdings internal memorandum")
    canvas.endForm()
    canvas.doForm("letterhead")
    text_page(PAGE_ONE, PAGE_TWO)(canvas)


SAME_WORDS_PDFS: dict[str, Callable[[], bytes]] = {
    "three-pages": lambda: make_pdf([text_page(PAGE_ONE), text_page(PAGE_TWO), text_page(PAGE_THREE)]),
    "prose-5-pages": lambda: make_pdf([prose_page(seed) for seed in range(5)]),
    "text-objects": lambda: make_pdf([text_object_page(seed) for seed in range(3)]),
    "uncompressed": lambda: make_pdf([prose_page(7), prose_page(8)], pageCompression=0),
    "blank-page-between": lambda: make_pdf([prose_page(10), blank_page, prose_page(11)]),
}


@pytest.mark.parametrize("make", list(SAME_WORDS_PDFS.values()), ids=list(SAME_WORDS_PDFS))
def test_pdfium_reads_what_pdfminer_reads_word_for_word(make: Callable[[], bytes]) -> None:
    data = make()

    fast = extract(data)
    slow = extract(data, PDFMINER)

    assert engine_of(fast) == "pdfium"
    assert slow.extractor_version == "2/pdfminer"
    assert len(fast.page_starts) == len(slow.page_starts)
    assert word_ids(fast.text) == word_ids(slow.text)
    for fast_page, slow_page in zip(fast.text.split("\f"), slow.text.split("\f"), strict=True):
        assert word_ids(fast_page) == word_ids(slow_page)


def test_form_text_comes_in_drawing_order_with_the_same_words() -> None:
    # pdfminer lays a Form XObject out apart from the page and puts its text after the
    # page's own; PDFium keeps the order of drawing (here the letterhead, at the top,
    # first). The words are the same.
    data = make_pdf([form_page, prose_page(9)])

    fast, slow = extract(data), extract(data, PDFMINER)

    assert engine_of(fast) == "pdfium"
    assert sorted(word_ids(fast.text)) == sorted(word_ids(slow.text))
    assert fast.text.index("Northwind") < fast.text.index(PAGE_ONE)


def test_pdfium_text_uses_line_feeds_and_no_form_feed_inside_a_page() -> None:
    result = extract(make_pdf([text_page(PAGE_ONE, PAGE_TWO), text_page(PAGE_THREE)]))

    assert engine_of(result) == "pdfium"
    assert "\r" not in result.text
    assert result.text.count("\f") == 1
    assert result.text.split("\f")[0].splitlines() == [PAGE_ONE, PAGE_TWO]


def test_offsets_map_to_pages_in_the_pdfium_text() -> None:
    pages = [make_text(seed, 300) for seed in (21, 22, 23, 24)]

    def page(text: str) -> Callable[[Canvas], None]:
        words = text.split()
        return text_page(*(" ".join(words[i : i + 12]) for i in range(0, len(words), 12)))

    result = extract(make_pdf([page(text) for text in pages]))

    assert engine_of(result) == "pdfium"
    tokens = tokenize(result.text)
    for number, text in enumerate(pages, 1):
        first = tokenize(text).ids[0]
        start = int(tokens.starts[tokens.ids.tolist().index(first)])
        assert result.page_of(start) == number
        begin = 0 if number == 1 else result.page_starts[number - 2]
        assert word_ids(result.text[begin : result.page_starts[number - 1] if number < 4 else None]) == word_ids(text)


def test_a_finding_in_a_pdf_names_its_page_and_offsets(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from leakwatch.cli import cli

    secret = make_text(31, 400)
    (tmp_path / "secret.txt").write_text(secret, encoding="utf-8")
    copied = secret.split()[100:220]
    filler = make_text(32, 400).split()
    lines = [" ".join(copied[i : i + 12]) for i in range(0, len(copied), 12)]
    pdf = tmp_path / "deliverable.pdf"
    pdf.write_bytes(make_pdf([text_page(*(" ".join(filler[i : i + 12]) for i in range(0, 240, 12))),
                              text_page(*lines)]))
    store = str(tmp_path / "store")
    runner = CliRunner()
    assert runner.invoke(cli, ["index", "add", str(tmp_path / "secret.txt"), "--store", store]).exit_code == 0

    result = runner.invoke(cli, ["scan", str(pdf), "--store", store, "--format", "json"])

    report = json.loads(result.stdout)
    (finding,) = report["findings"]
    deliverable = finding["deliverable"]
    assert deliverable["page"] == 2
    text = extract_file(pdf, LIMITS)[1].text
    assert word_ids(text[deliverable["start"] : deliverable["end"]]) == word_ids(" ".join(copied))


def test_the_same_bytes_take_the_same_engine_in_process_and_in_the_worker(tmp_path: Path) -> None:
    from leakwatch.isolate import IsolatedExtractor

    path = tmp_path / "report.pdf"
    path.write_bytes(make_pdf([prose_page(41), prose_page(42)]))

    in_process = extract_file(path, LIMITS)[1]
    with IsolatedExtractor(LIMITS) as isolated:
        in_worker = isolated.extract(path)[1]

    assert engine_of(in_process) == "pdfium"
    assert (in_worker.text, in_worker.page_starts, in_worker.extractor_version) == (
        in_process.text, in_process.page_starts, in_process.extractor_version)


def test_pdf_engine_pdfminer_reads_every_pdf_with_pdfminer() -> None:
    assert extract(make_pdf([text_page(PAGE_ONE)]), PDFMINER).extractor_version == "2/pdfminer"


def test_a_pdf_pdfium_cannot_open_falls_back_to_pdfminer(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreadable(data: bytes, limits: ExtractLimits, max_page_items: int) -> list[str]:
        raise pdfium_module.Unreadable("Failed to load document (PDFium: Data format error).")

    monkeypatch.setattr(pdfium_module, "page_texts", unreadable)
    result = extract(make_pdf([text_page(PAGE_ONE)]))

    assert result.extractor_version == "2/pdfminer"
    assert PAGE_ONE in result.text


def damaged_pdf() -> bytes:
    """A page whose content stream has a wrong zlib checksum."""
    damaged = zlib.compress(hostile.TEXT_OPS)[:-4] + b"\0\0\0\0"
    return hostile.one_page_pdf(b"6 0 R", extra=[hostile.stream(damaged, b"/Filter /FlateDecode")])


def test_a_damaged_stream_goes_to_pdfminer_which_salvages_it() -> None:
    # The screen cannot vouch for a stream whose checksum is wrong; pdfminer keeps
    # the text before the damage.
    result = extract(damaged_pdf())

    assert result.extractor_version == "2/pdfminer"
    assert "Hello from the page" in result.text


def test_a_pdf_neither_engine_can_read_is_a_parse_error() -> None:
    data = make_pdf([text_page(PAGE_ONE)])
    broken = data[: data.index(b"xref")]  # no cross-reference table, no trailer
    broken = broken.replace(b"/Type /Catalog", b"/Type /Katalog")

    error = extraction_error(broken)

    assert error.status in {Status.PARSE_ERROR, Status.UNSUPPORTED}


@pytest.mark.parametrize("strength", [40, 128])
def test_pdfium_maps_a_password_to_encrypted(strength: int) -> None:
    # The screen sends encrypted files to pdfminer; PDFium's own answer is the same.
    data = hostile.encrypted_pdf(strength)

    with pytest.raises(ExtractionError) as info:
        pdfium_module.page_texts(data, LIMITS, 1000)

    assert info.value.status is Status.ENCRYPTED
    assert extraction_error(data).status is Status.ENCRYPTED


def test_pdfium_maps_an_unknown_security_handler_to_encrypted() -> None:
    with pytest.raises(ExtractionError) as info:
        pdfium_module.page_texts(hostile.broken_encryption_pdf(), LIMITS, 1000)

    assert info.value.status is Status.ENCRYPTED


def test_pdfium_page_limit_and_drawing_cap_are_too_large() -> None:
    data = make_pdf([text_page(PAGE_ONE), text_page(PAGE_TWO), text_page(PAGE_THREE)])

    with pytest.raises(ExtractionError) as pages:
        pdfium_module.page_texts(data, dataclasses.replace(LIMITS, max_pdf_pages=2), 1000)
    with pytest.raises(ExtractionError) as drawn:
        pdfium_module.page_texts(data, LIMITS, 10)

    assert pages.value.status is Status.TOO_LARGE
    assert drawn.value.status is Status.TOO_LARGE and "draws more than 10 " in drawn.value.message


# --- the screen -----------------------------------------------------------------------------


def refusal(data: bytes, limits: ExtractLimits = LIMITS) -> str | None:
    try:
        pdfium_module.screen(data, limits, pdf_decoding.MAX_RANGE, pdf_decoding.MAX_RANGE_TOTAL)
    except pdfium_module.Refused as refused:
        return str(refused)
    return None


def test_ascii85_decoding_matches_the_standard_library() -> None:
    import base64

    rng = random.Random(5)
    for size in (0, 1, 4, 5, 7, 64, 1001):
        raw = bytes(rng.randrange(256) for _ in range(size)) + b"\0" * rng.randrange(9)
        encoded = base64.a85encode(raw, wrapcol=60, adobe=True)[2:]  # "~>" ends it, "<~" left out
        assert pdfium_module._a85(encoded) == raw


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: hostile.stream_bomb_pdf(64 * hostile.MiB), "decodes to more than"),
        (lambda: hostile.double_flate_pdf(64 * hostile.MiB), "decodes to more than"),
        (lambda: hostile.runlength_bomb_pdf(1000), "RunLengthDecode"),
        (lambda: hostile.form_fanout_pdf(8), "draw too much"),
        (hostile.self_drawing_form_pdf, "cycle"),
        (lambda: hostile.font_bomb_pdf(hostile.FONT_BOMBS["W-array"]), "spans too many codes"),
        (lambda: hostile.font_bomb_pdf(hostile.FONT_BOMBS["ToUnicode-range"]), "spans too many codes"),
        (lambda: hostile.encrypted_pdf(128), "encrypted"),
        (lambda: damaged_pdf(), "Flate stream cannot be decoded"),
    ],
    ids=["stream-bomb", "double-flate", "runlength", "form-fanout", "form-cycle", "W-array", "ToUnicode-range",
         "encrypted", "damaged-flate"],
)
def test_the_screen_sends_hostile_pdfs_to_pdfminer(make: Callable[[], bytes], reason: str) -> None:
    refused = refusal(make())

    assert refused is not None and reason in refused


@pytest.mark.parametrize(
    "make",
    [
        lambda: make_pdf([text_page(PAGE_ONE)]),
        lambda: make_pdf([form_page]),
        lambda: hostile.many_streams_pdf(4, 200 * 1024),
        lambda: hostile.font_bomb_pdf(hostile.FONT_BOMBS["ToUnicode-many-ranges"]),  # under the default caps
        lambda: make_pdf([image_page, text_page(PAGE_ONE)]),
    ],
    ids=["text", "form", "streams-under-the-caps", "many-ranges", "image"],
)
def test_the_screen_passes_ordinary_pdfs(make: Callable[[], bytes]) -> None:
    assert refusal(make()) is None


def test_the_screen_applies_the_configured_stream_caps() -> None:
    data = hostile.many_streams_pdf(4, 200 * 1024)
    limits = dataclasses.replace(LIMITS, max_member_bytes=256 * 1024, max_total_uncompressed=500 * 1024)

    assert refusal(data, limits) == "streams decode to more than PDFium is given in all"


def test_nested_forms_without_a_cycle_pass_the_screen() -> None:
    # pdfTeX wraps included figures in forms that draw forms: weighed, not refused.
    inner = hostile.form(hostile.TEXT_OPS)
    outer = hostile.form(b"/Y Do /Y Do\n", b"/Y 8 0 R")
    data = hostile.one_page_pdf(b"6 0 R", resources=b"/Font << /F1 5 0 R >> /XObject << /X 7 0 R >>",
                                extra=[hostile.stream(b"/X Do\n"), outer, inner])

    assert refusal(data) is None
    assert extract(data).text.count("Hello from the page") == 2


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

    # No trailer ID, empty user password: it opens; its second page is a scanned image
    # (the other two draw nothing), read by OCR.
    no_id, _ = corpus_results[f"{ENCRYPTION}/encrypted_doc_no_id.pdf"]
    assert isinstance(no_id, ExtractedText)
    assert [r.name for r in no_id.regions] == ["page 2"] and "patent" in no_id.text


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


# Real PDFs whose word sequence PDFium gives exactly as pdfminer does (LaTeX, LibreOffice,
# Google Docs-free simple producers). Elsewhere the two differ in order (pdfminer sorts
# text boxes top to bottom, so table columns, footers and multi-column text move; PDFium
# keeps the order of drawing) and in what pdfminer cannot map to Unicode ("(cid:169)"
# where PDFium gives "©"), in vertical CJK (one glyph per line in pdfminer), fake bold
# (text drawn twice) and right-to-left text.
SAME_SEQUENCE = [
    "pdfminer-six/samples/contrib/pagelabels.pdf",
    "pdfminer-six/samples/font-size-test.pdf",
    "pdfminer-six/samples/simple5.pdf",
    "py-pdf-sample-files/001-trivial/minimal-document.pdf",
    "py-pdf-sample-files/002-trivial-libre-office-writer/002-trivial-libre-office-writer.pdf",
    "py-pdf-sample-files/003-pdflatex-image/pdflatex-image.pdf",
    "py-pdf-sample-files/004-pdflatex-4-pages/pdflatex-4-pages.pdf",
    "py-pdf-sample-files/006-pdflatex-outline/pdflatex-outline.pdf",
    "py-pdf-sample-files/014-outlines/mistitled_outlines_example.pdf",
    "py-pdf-sample-files/016-libre-office-link/libre-office-link.pdf",
    "py-pdf-sample-files/018-base64-image/base64image.pdf",
    "py-pdf-sample-files/021-pdfa/crazyones-pdfa.pdf",
    "py-pdf-sample-files/024-annotations/annotated_pdf.pdf",
    "py-pdf-sample-files/025-attachment/with-attachment.pdf",
]


@pytest.mark.corpus
def test_corpus_pdfium_gives_pdfminers_words(corpus_results: dict[str, tuple[Outcome, float]]) -> None:
    common = total = 0
    read_by_pdfium = 0
    for name, (outcome, _) in corpus_results.items():
        if not isinstance(outcome, ExtractedText) or engine_of(outcome) != "pdfium":
            continue
        read_by_pdfium += 1
        slow = PdfExtractor().extract(CORPUS / name, (CORPUS / name).read_bytes(), PDFMINER)
        fast_words, slow_words = word_ids(outcome.text), word_ids(slow.text)
        assert len(outcome.page_starts) == len(slow.page_starts), name
        if name in SAME_SEQUENCE:
            assert fast_words == slow_words, name
        common += sum((Counter(fast_words) & Counter(slow_words)).values())
        total += max(len(fast_words), len(slow_words))
    print(f"{read_by_pdfium} sample PDFs read by PDFium: {common / total:.3f} of the words in common with pdfminer")
    assert read_by_pdfium >= 40
    assert common / total > 0.9
