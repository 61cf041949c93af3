"""Text formats: decoding, plain text kept unchanged, HTML/XML visible text at file offsets,
format detection by content, and the per-file errors of reading."""

from __future__ import annotations

import codecs
import dataclasses
import os
import threading
from pathlib import Path

import pytest

from leakwatch.config import ExtractLimits
from leakwatch.extract import EXTRACTORS, detect_format, extract_bytes, extract_file
from leakwatch.extract.base import FileSample, decode_text, looks_binary
from leakwatch.extract.markup import visible_text
from leakwatch.model import ExtractionError, Status

LIMITS = ExtractLimits()
SAMPLE = "Quarterly “results” — naïve café\r\nsecond line\n"
ASCII_SAMPLE = "Quarterly results of the northern region\r\nsecond line of the report\n"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def status_of(exc_info: pytest.ExceptionInfo[ExtractionError]) -> Status:
    return exc_info.value.status


# --- decode_text ------------------------------------------------------------------------


def test_utf8() -> None:
    assert decode_text(SAMPLE.encode("utf-8")) == (SAMPLE, "utf-8")


def test_utf8_bom_stays_in_the_text(tmp_path: Path) -> None:
    data = codecs.BOM_UTF8 + SAMPLE.encode("utf-8")
    text, encoding = decode_text(data)
    assert encoding == "utf-8"
    assert text[0] == "\ufeff"
    assert text[1:] == SAMPLE
    # Offsets agree with what Python's own utf-8 codec gives for the file.
    path = write(tmp_path, "bom.txt", data)
    with open(path, encoding="utf-8", newline="") as fh:
        assert fh.read() == text


@pytest.mark.parametrize(
    ("codec", "bom"),
    [
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-32-le", codecs.BOM_UTF32_LE),
        ("utf-32-be", codecs.BOM_UTF32_BE),
    ],
)
@pytest.mark.parametrize("sample", [SAMPLE, ASCII_SAMPLE])
def test_utf16_and_utf32_with_bom(codec: str, bom: bytes, sample: str) -> None:
    data = bom + sample.encode(codec)
    assert not looks_binary(data)
    text, encoding = decode_text(data)
    assert text == sample  # the BOM is consumed, as open(encoding="utf-16") does
    assert encoding == codec[:6]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_non_ascii(codec: str) -> None:
    sample = "Grüße aus Köln, the figures are confidential.\r\n" * 3
    data = sample.encode(codec)
    assert not looks_binary(data)
    assert decode_text(data) == (sample, codec)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_not_binary(codec: str) -> None:
    assert not looks_binary(ASCII_SAMPLE.encode(codec))
    assert detect_format(FileSample(Path("report.txt"), ASCII_SAMPLE.encode(codec))) == "text"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_ascii_text(codec: str) -> None:
    assert decode_text(ASCII_SAMPLE.encode(codec)) == (ASCII_SAMPLE, codec)


def test_extract_file_utf16le_without_bom(tmp_path: Path) -> None:
    path = write(tmp_path, "export.txt", ASCII_SAMPLE.encode("utf-16-le"))
    _, extracted = extract_file(path, LIMITS)
    assert extracted.text == ASCII_SAMPLE
    assert extracted.encoding == "utf-16-le"


def test_cp1252_smart_quotes() -> None:
    data = b"\x93Confidential\x94 \x96 don\x92t share \x85"
    assert decode_text(data) == ("“Confidential” – don’t share …", "cp1252")


def test_latin1_fallback() -> None:
    # 0x81 and 0x8D are undefined in Windows-1252: only Latin-1 decodes them (two stray
    # bytes in a page of text; more than 1% of control characters is not text, below).
    data = b"caf\xe9 \x81\x8d end. " + b"Quarterly results of the northern region. " * 10
    assert decode_text(data) == (data.decode("latin-1"), "latin-1")


# --- what no decoding should guess: status, not garbage ---------------------------------

JAPANESE = ("本資料は社外秘です。第三四半期の売上高は前年同期比で十二パーセント増加し、"
            "営業利益は過去最高を記録しました。新製品の発売時期については、"
            "取締役会の承認を得た後に正式に発表する予定です。関係者以外への開示を固く禁じます。")
RUSSIAN = "Конфиденциально: цифры квартала и прогноз прибыли, не для передачи третьим лицам.\r\n"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("sample", [JAPANESE + "\r\n", JAPANESE + " 2024", RUSSIAN * 3],
                         ids=["japanese-crlf", "japanese-digits", "russian"])
def test_utf16_without_bom_in_other_scripts(codec: str, sample: str) -> None:
    # Few NUL bytes (line breaks, digits, spaces): not the ASCII pattern, and not binary.
    # Japanese was read as Latin-1 (garbage words), Russian refused as binary.
    data = sample.encode(codec)
    assert not looks_binary(data)
    assert decode_text(data) == (sample, codec)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_or_nul_bytes_is_told_by_the_detector(codec: str) -> None:
    # No NUL byte at all: the NUL pattern cannot tell it from Shift-JIS and the like, but
    # charset-normalizer's coherence measures can. (最 is U+6700, a NUL byte in UTF-16.)
    text = JAPANESE.replace("最", "")
    data = text.encode(codec)
    assert b"\x00" not in data
    assert decode_text(data) == (text, codec.replace("-", "_"))


@pytest.mark.parametrize(("sample", "codec"), [
    (JAPANESE, "shift_jis"), (JAPANESE, "euc_jp"), (RUSSIAN * 3, "cp1251"), (RUSSIAN * 3, "koi8_r"),
    ("公司的定价策略是机密的。我们计划在下个季度将价格降低百分之十二，以留住主要客户。" * 2, "gb18030"),
    ("Η στρατηγική τιμολόγησης της εταιρείας είναι εμπιστευτική. Σχεδιάζουμε μείωση τιμών. " * 2, "cp1253"),
])
def test_legacy_encodings_of_other_scripts_are_read_not_garbled(sample: str, codec: str) -> None:
    # Read as Windows-1252 these were letters that match nothing (a leak missed without
    # a word), or refused; the detector's code page gives the same text back.
    text, encoding = decode_text(sample.encode(codec))
    assert text == sample
    assert codecs.lookup(encoding).name in {codecs.lookup(codec).name, "cp932", "euc_jis_2004"}


def test_latin_script_text_stays_windows_1252() -> None:
    # The detector's pick among Latin code pages is unreliable on short texts (cp775 for
    # French): Latin-script text keeps the Windows-1252 reading.
    sample = "La stratégie de prix est confidentielle — nous prévoyons de réduire les prix de douze pour cent."
    assert decode_text(sample.encode("cp1252")) == (sample, "cp1252")


@pytest.mark.parametrize("seed", range(20))
def test_random_bytes_without_nul_are_still_refused(seed: int) -> None:
    import random

    rng = random.Random(seed)
    data = bytes(rng.randrange(1, 256) for _ in range(4000))
    with pytest.raises(ExtractionError) as err:
        decode_text(data)
    assert status_of(err) == Status.UNSUPPORTED


@pytest.mark.parametrize(
    ("data", "codec"),
    [
        (codecs.BOM_UTF16_LE + ASCII_SAMPLE.encode("utf-16-le") + b"\x00", "utf-16"),
        (codecs.BOM_UTF16_BE + SAMPLE.encode("utf-16-be") + b"\x00", "utf-16"),
        (ASCII_SAMPLE.encode("utf-16-le") + b"\x0a", "utf-16-le"),
        (ASCII_SAMPLE.encode("utf-16-be") + b"\x00", "utf-16-be"),
        (SAMPLE.encode("utf-8") + "Kö".encode()[:-1], "utf-8"),
        (codecs.BOM_UTF32_LE + SAMPLE.encode("utf-32-le") + b"\x00\x00", "utf-32"),
    ],
    ids=["utf-16-le-bom", "utf-16-be-bom", "utf-16-le", "utf-16-be", "utf-8-cut", "utf-32-bom"],
)
def test_incomplete_last_character_is_replaced_not_the_encoding(data: bytes, codec: str) -> None:
    # An odd-length UTF-16 file was refused as binary; a UTF-8 file cut inside its last
    # character was read whole as Windows-1252.
    text, encoding = decode_text(data)
    assert encoding == codec
    assert text.endswith("\ufffd")
    assert text[:-1].lstrip("\ufeff").startswith(("Quarterly", "Quarterly “results”"))


def test_utf16_with_a_lone_surrogate_inside_is_still_refused() -> None:
    data = ASCII_SAMPLE.encode("utf-16-le") + b"\x00\xd8" + ASCII_SAMPLE.encode("utf-16-le")
    with pytest.raises(ExtractionError) as err:
        decode_text(data)
    assert status_of(err) == Status.UNSUPPORTED


@pytest.mark.parametrize("tail", [bytes(range(256)) * 8, bytes(range(1, 256)) * 8],
                         ids=["with-nul-bytes", "without-nul-bytes"])
def test_binary_after_the_sniffed_head_is_refused(tmp_path: Path, tail: bytes) -> None:
    # Only the first 8 KB were checked for NUL bytes: the whole file was read as Latin-1.
    path = write(tmp_path, "notes.txt", ASCII_SAMPLE.encode() * 200 + tail)
    assert len(ASCII_SAMPLE.encode() * 200) > 8192
    with pytest.raises(ExtractionError) as err:
        extract_file(path, LIMITS)
    assert status_of(err) == Status.UNSUPPORTED


def test_a_few_stray_control_bytes_in_legacy_text_are_kept() -> None:
    data = ("Köln café – “quoted” text.\r\n".encode("cp1252") * 10 + b"\x07") * 4
    assert decode_text(data) == (data.decode("cp1252"), "cp1252")


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 4,
        b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00>\x00\xff\xfe\x80",
        b"\x00\xff\x00\x80garbage\x00\x00\x00\xc3\x28",
    ],
)
def test_binary_with_nuls_is_unsupported(data: bytes) -> None:
    assert looks_binary(data)
    with pytest.raises(ExtractionError) as err:
        decode_text(data)
    assert status_of(err) == Status.UNSUPPORTED


def test_empty_data() -> None:
    assert decode_text(b"") == ("", "utf-8")


# --- plain text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"line one\r\nline two\r\n",
        b"mac\rline\rendings\r",
        b"  leading and trailing spaces  \n\n\n",
        codecs.BOM_UTF8 + b"bom first\r\n",
        b"tabs\tand\x0cform feed\n",
    ],
)
def test_text_extractor_returns_the_file_unchanged(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path, "notes.txt", content)
    data, extracted = extract_file(path, LIMITS)
    assert data == content
    assert extracted.text == content.decode("utf-8")
    assert extracted.format == "text"
    assert extracted.encoding == "utf-8"
    assert extracted.page_starts == ()
    assert extracted.extractor_version == EXTRACTORS["text"].version


def test_text_over_max_text_chars(tmp_path: Path) -> None:
    path = write(tmp_path, "long.txt", b"x" * 50)
    with pytest.raises(ExtractionError) as err:
        extract_file(path, dataclasses.replace(LIMITS, max_text_chars=10))
    assert status_of(err) == Status.TOO_LARGE


# --- HTML and XML -----------------------------------------------------------------------

HTML_DOC = """<!DOCTYPE html>
<html lang="en">
<head>
  <title>Board minutes</title>
  <style>body { font-family: "Hidden Style Font"; }</style>
  <script type="text/javascript">
    var secretVariable = "not visible";
  </script>
</head>
<body class="attrsecret">
  <!-- a hidden comment -->
  <p>Visible paragraph about Smith &amp; Wesson.</p>
  <p>Caf&eacute; d&#233;j&#xE0; vu &lt;b&gt;</p>
  <noscript>Enable scripts</noscript>
  <p>Last words here.</p>
</body>
</html>
"""


def test_visible_text_keeps_length_and_line_breaks() -> None:
    visible = visible_text(HTML_DOC)
    assert len(visible) == len(HTML_DOC)
    assert [i for i, c in enumerate(visible) if c == "\n"] == [i for i, c in enumerate(HTML_DOC) if c == "\n"]


@pytest.mark.parametrize("word", ["Board minutes", "Visible paragraph about Smith", "Wesson.", "Last words here."])
def test_visible_text_is_at_its_file_offsets(word: str) -> None:
    visible = visible_text(HTML_DOC)
    at = HTML_DOC.index(word)
    assert visible[at : at + len(word)] == word


@pytest.mark.parametrize(
    "hidden", ["secretVariable", "not visible", "Hidden Style Font", "attrsecret", "hidden comment",
               "Enable scripts", "DOCTYPE", "<p>", "lang"],
)
def test_markup_script_and_style_are_blanked(hidden: str) -> None:
    assert hidden not in visible_text(HTML_DOC)


def test_entities_are_decoded_at_their_offset() -> None:
    visible = visible_text(HTML_DOC)
    amp = HTML_DOC.index("&amp;")
    assert visible[amp : amp + 5] == "&    "
    eacute = HTML_DOC.index("&eacute;")
    assert visible[eacute] == "é"
    charref = HTML_DOC.index("&#233;")
    assert visible[charref] == "é"
    hexref = HTML_DOC.index("&#xE0;")
    assert visible[hexref] == "à"
    lt = HTML_DOC.index("&lt;")
    assert visible[lt : lt + 4] == "<   "


def test_visible_text_only_blanks() -> None:
    # Every character is either the file's own, a space, or a decoded entity's.
    visible = visible_text(HTML_DOC)
    for i, (v, h) in enumerate(zip(visible, HTML_DOC, strict=True)):
        assert v == h or v == " " or HTML_DOC[i] == "&", (i, v, h)


@pytest.mark.parametrize(
    "doc",
    [
        "",
        "plain text, no markup",
        "<p>unclosed <b>tags",
        "<p>a &amp b &unknown; c &#99999999; d &</p>",
        "<script>never closed",
        "<p>crlf\r\nline</p>\r\n<!-- c\r\n -->",
        "<![CDATA[raw <text>]]><p>x</p>",
    ],
)
def test_visible_text_length_never_changes(doc: str) -> None:
    assert len(visible_text(doc)) == len(doc)


def test_html_extractor(tmp_path: Path) -> None:
    path = write(tmp_path, "page.html", HTML_DOC.encode("utf-8"))
    data, extracted = extract_file(path, LIMITS)
    assert data == HTML_DOC.encode("utf-8")
    assert extracted.format == "html"
    assert extracted.encoding == "utf-8"
    assert extracted.text == visible_text(HTML_DOC)
    assert "secretVariable" not in extracted.text


XML_DOC = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<contract id=\"attr-hidden\">\n"
    "  <clause>Payment within thirty days</clause>\n"
    "  <clause>Penalty &lt;5%&gt; applies</clause>\n"
    "  <script>kept in xml</script>\n"
    "  <note><![CDATA[raw <cdata> text]]></note>\n"
    "</contract>\n"
)


def test_xml_text_extraction(tmp_path: Path) -> None:
    path = write(tmp_path, "contract.data", XML_DOC.encode("utf-8"))
    _, extracted = extract_file(path, LIMITS)
    text = extracted.text
    assert extracted.format == "xml"
    assert len(text) == len(XML_DOC)
    for word in ("Payment within thirty days", "kept in xml", "raw <cdata> text"):
        at = XML_DOC.index(word)
        assert text[at : at + len(word)] == word
    lt = XML_DOC.index("&lt;")
    assert text[lt] == "<"
    assert "attr-hidden" not in text
    assert "version" not in text
    assert "clause" not in text


# --- format detection -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "head", "fmt"),
    [
        ("report.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "pdf"),
        ("report.bin", b"\n\n%PDF-1.4 junk before", "pdf"),
        ("mail.eml", b"From: a@example.com\r\n\r\n%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", "pdf"),
        ("spec.txt", b"Every PDF starts with %PDF-1.7 and ends with %%EOF.\n1 0 obj", "text"),
        ("check.py", b'def is_pdf(data):\n    return data.startswith(b"%PDF-")\n', "code"),
        ("notes.md", b"# Headers\n\n%PDF-1.7\nis how a PDF starts.\n", "markdown"),
        ("page.txt", b"<!DOCTYPE html><html><body>Hi</body></html>", "html"),
        ("page.txt", b"  \n<HTML><BODY>Hi</BODY></HTML>", "html"),
        ("frag.txt", b"<div>x</div><body>y</body>", "html"),
        ("page.txt", codecs.BOM_UTF8 + b"<html><p>x</p></html>", "html"),
        ("data.txt", b'{"a": [1, 2, {"b": null}]}', "json"),
        ("data.txt", b'  [1, 2, 3]\n', "json"),
        ("data.json", b'{"truncated": ', "json"),
        ("notjson.txt", b"{not json at all", "text"),
        ("feed.txt", b'<?xml version="1.0"?><feed/>', "xml"),
        ("note.xml", b"<note>hello</note>", "xml"),
        ("script.py", b"def main():\n    return 1\n", "code"),
        ("Main.JAVA", b"class Main {}", "code"),
        ("README.md", b"# Title\n\nText", "markdown"),
        ("table.csv", b"a,b\n1,2\n", "csv"),
        ("table.tsv", b"a\tb\n1\t2\n", "csv"),
        ("notes.txt", b"just some words", "text"),
        ("notes.log", b"just some words", "text"),
        ("noext", b"just some words", "text"),
    ],
)
def test_detect_format_by_content(name: str, head: bytes, fmt: str) -> None:
    assert detect_format(FileSample(Path(name), head)) == fmt


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image"),
        (b"GIF89a\x01\x00", "image"),
        (b"II*\x00\x08\x00\x00\x00", "image"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image"),
        (b"BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00", "image"),
        (b"{\\rtf1\\ansi hello}", "rtf"),
        (b"BMW sales rose again this quarter", "text"),
    ],
)
def test_detect_format_names_images_and_rtf_by_content(head: bytes, fmt: str) -> None:
    assert detect_format(FileSample(Path("looks-like.txt"), head)) == fmt


@pytest.mark.parametrize(
    "head",
    [
        b"\x1f\x8b\x08\x00",
        b"PK\x03\x04\x14\x00\x00\x00",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00",
        b"MZ\x90\x00\x03\x00",
        b"text then \x00\x01\x02\x03\xff binary",
    ],
)
def test_detect_format_refuses_other_binary_formats(head: bytes) -> None:
    with pytest.raises(ExtractionError) as err:
        detect_format(FileSample(Path("looks-like.txt"), head))
    assert status_of(err) == Status.UNSUPPORTED


def test_broken_png_named_txt_is_read_as_an_image_and_fails_as_one(tmp_path: Path) -> None:
    path = write(tmp_path, "image.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    with pytest.raises(ExtractionError) as err:
        extract_file(path, LIMITS)
    assert status_of(err) == Status.PARSE_ERROR
    assert "image" in err.value.message


@pytest.mark.parametrize(
    ("name", "fmt", "language"),
    [("tool.py", "code", "python"), ("lib.rs", "code", "rust"), ("q.SQL", "code", "sql"),
     ("doc.md", "markdown", None), ("t.csv", "csv", None), ("d.json", "json", None)],
)
def test_extract_file_formats(tmp_path: Path, name: str, fmt: str, language: str | None) -> None:
    content = b'{"k": "def f():\\r\\n    return 1"}\r\n' if fmt == "json" else b"def f():\r\n    return 1\r\n"
    path = write(tmp_path, name, content)
    data, extracted = extract_file(path, LIMITS)
    assert extracted.format == fmt
    assert extracted.language == language
    assert extracted.text == content.decode()
    assert data == content


def test_extract_bytes_uses_content_not_name(tmp_path: Path) -> None:
    extracted = extract_bytes(tmp_path / "x.txt", HTML_DOC.encode(), LIMITS)
    assert extracted.format == "html"
    assert "secretVariable" not in extracted.text


# --- reading files ----------------------------------------------------------------------


def test_missing_file_is_vanished(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError) as err:
        extract_file(tmp_path / "gone.txt", LIMITS)
    assert status_of(err) == Status.VANISHED


def test_fifo_is_unsupported_and_not_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            extract_file(fifo, LIMITS)
            outcome.append(None)
        except BaseException as exc:  # handed to the main thread
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    assert outcome, "extract_file blocked on the FIFO (it opened it)"
    exc = outcome[0]
    assert isinstance(exc, ExtractionError)
    assert exc.status == Status.UNSUPPORTED


def test_directory_is_unsupported(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError) as err:
        extract_file(tmp_path, LIMITS)
    assert status_of(err) == Status.UNSUPPORTED


@pytest.mark.parametrize(("size", "too_large"), [(10, False), (11, True), (5000, True)])
def test_max_file_bytes(tmp_path: Path, size: int, too_large: bool) -> None:
    path = write(tmp_path, "f.txt", b"a" * size)
    limits = dataclasses.replace(ExtractLimits(), max_file_bytes=10)
    if not too_large:
        assert extract_file(path, limits)[1].text == "a" * size
        return
    with pytest.raises(ExtractionError) as err:
        extract_file(path, limits)
    assert status_of(err) == Status.TOO_LARGE
    assert "10" in err.value.message


# --- stray control bytes: text is told from binary by their share, not by one byte -------

# Web text as crawled: a NUL inside a sentence, a bell, a form feed, one DEL.
STRAY = ("The tasting menu changes every season.\x00 Guests who book early get the terrace, "
         "and the chef\x07 explains each course at the table.\r\n\x0cWinter brings game and root "
         "vegetables; summer brings\x7f fish from the harbour.\r\n")


@pytest.mark.parametrize("codec", ["utf-8", "cp1252"])
def test_text_with_stray_nul_and_control_bytes_is_text(codec: str) -> None:
    # Three control bytes in a page of text (in a single-byte encoding, where any bytes
    # decode, text holds under 1% of them).
    data = (STRAY + "Café terrace, ‘signature’ dishes, a view of the old town.\r\n" * 8).encode(codec) * 3
    assert not looks_binary(data)
    text, encoding = decode_text(data)
    # Nothing dropped or mapped: the NUL stays a character, so offsets index the decoded file.
    assert (text, encoding) == (data.decode(codec), codec)
    assert text.count("\x00") == 3


def test_a_deliverable_cannot_dodge_a_scan_with_one_nul(tmp_path: Path) -> None:
    data = b"\x00" + (STRAY * 20).encode()
    path = write(tmp_path, "report.txt", data)
    assert detect_format(FileSample(path, data[:8192])) == "text"
    extracted = extract_file(path, LIMITS)[1]
    assert extracted.text == data.decode("utf-8")


def test_crawled_junk_with_many_control_bytes_but_valid_utf8_is_text() -> None:
    # A crawled page whose binary content lost its high bytes: 1 byte in 8 a control, all
    # ASCII. Not prose, but text (its words match nothing), and a refused document is never
    # protected.
    import random

    rng = random.Random(5)
    data = bytes(rng.choice([*range(1, 32), *b" " * 40, *range(33, 127)]) for _ in range(6000))
    share = sum(b in set(range(0, 9)) | set(range(14, 26)) | set(range(28, 32)) | {127} for b in data) / len(data)
    assert 0.1 < share < 0.25
    assert decode_text(data) == (data.decode("ascii"), "utf-8")


@pytest.mark.parametrize(
    "data",
    [
        b"".join(n.to_bytes(4, "little") for n in range(2000)),  # little-endian records: valid UTF-8
        b"\x00\x01\x02binary\x00" * 100,
        b"\x00" * 4096,
    ],
    ids=["int32-records", "mostly-controls", "all-nul"],
)
def test_valid_utf8_that_is_mostly_control_bytes_is_binary(tmp_path: Path, data: bytes) -> None:
    assert looks_binary(data)
    path = write(tmp_path, "records.txt", data)
    with pytest.raises(ExtractionError) as err:
        extract_file(path, LIMITS)
    assert status_of(err) == Status.UNSUPPORTED
    assert "binary data" in str(err.value)
