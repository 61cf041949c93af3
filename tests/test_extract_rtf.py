"""RTF: the tokenizer-based reader on what Word, WordPad and LibreOffice write, and on hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakwatch.config import ExtractLimits
from leakwatch.extract import extract_bytes
from leakwatch.extract.rtf import MAX_DEPTH, rtf_text
from leakwatch.model import ExtractionError, Status
from tests import formats

LIMITS = ExtractLimits(isolate=False)


def text(rtf: bytes | str) -> str:
    return rtf_text(rtf.encode("latin-1") if isinstance(rtf, str) else rtf, LIMITS)


def test_a_word_style_document_gives_its_paragraphs_only() -> None:
    data = formats.rtf(["Naïve café — “quoted” text.", "Second paragraph {with braces} and a \\ backslash."])

    result = extract_bytes(Path("memo.rtf"), data, LIMITS)

    assert result.format == "rtf" and result.page_starts == ()
    assert result.text == "Naïve café — “quoted” text.\nSecond paragraph {with braces} and a \\ backslash.\n"
    assert "Times New Roman" not in result.text and "Internal memo" not in result.text  # font table, info


@pytest.mark.parametrize(
    ("rtf", "expected"),
    [
        (r"{\rtf1\ansi\ansicpg1252 caf\'e9}", "café"),
        (r"{\rtf1\ansi\ansicpg1251 \'cf\'f0\'e8\'e2\'e5\'f2}", "Привет"),
        (r"{\rtf1\ansi{\fonttbl{\f0\fcharset0 Arial;}{\f1\fcharset204 Arial Cyr;}}\f0 a {\f1 \'e4\'e0} b}", "a да b"),
        (r"{\rtf1\ansi\ansicpg932 \'93\'fa\'96\'7b}", "日本"),  # double-byte code page, byte pairs
        (r"{\rtf1\uc1 na\u239?ve \uc2\u8220 xxquoted\u8221 yy}", "naïve “quoted”"),
        (r"{\rtf1 \u-10179?\u-8704?}", "\U0001f600"),  # a surrogate pair
        (r"{\rtf1 a\tab b\line c\par d\cell e\row}", "a\tb\nc\nd\te\n"),
        (r"{\rtf1 \emdash\~\lquote x\rquote}", "—\u00a0‘x’"),
        (r"{\rtf1 {\*\unknowndest hidden}{\*\fldinst HYPERLINK x}{\fldrslt shown}}", "shown"),
        (r"{\rtf1 {\pict\pngblip 89504e47}{\info{\author Bob}}{\stylesheet{Normal;}}text}", "text"),
        (r"{\rtf1 {\header Header words}\par {\footnote A note}}", "Header words\nA note"),
        ("{\\rtf1 a\\bin4 \x00{}\\ b}", "a b"),  # \binN bytes jumped over, braces in them too
        ("{\\rtf1 line\r\nbreaks\r\nin the file}", "linebreaksin the file"),
        (r"{\rtf1 hidden {\v text} stays}", "hidden text stays"),
    ],
    ids=["cp1252", "ansicpg1251", "fcharset204", "cp932", "unicode-fallback", "surrogates", "breaks", "symbols",
         "starred-and-fields", "skipped-destinations", "header-footnote", "bin", "file-line-ends", "hidden-text"],
)
def test_rtf_constructs(rtf: str, expected: str) -> None:
    assert text(rtf.encode("utf-8") if not rtf.isascii() and "\x00" not in rtf else rtf) == expected


def test_unclosed_groups_are_a_parse_error() -> None:
    with pytest.raises(ExtractionError) as info:
        text(r"{\rtf1 {\fonttbl{\f0 Arial;} everything after here would be hidden")
    assert info.value.status is Status.PARSE_ERROR and "never closed" in info.value.message


def test_deep_nesting_is_refused_not_stacked() -> None:
    with pytest.raises(ExtractionError) as info:
        text("{\\rtf1 " + "{" * (MAX_DEPTH + 5) + "x" + "}" * (MAX_DEPTH + 5) + "}")
    assert info.value.status is Status.PARSE_ERROR


def test_text_over_the_limit_is_too_large() -> None:
    with pytest.raises(ExtractionError) as info:
        rtf_text(b"{\\rtf1 " + b"word " * 1000 + b"}", ExtractLimits(max_text_chars=100))
    assert info.value.status is Status.TOO_LARGE


def test_detected_by_content_whatever_the_name() -> None:
    assert extract_bytes(Path("letter.doc"), b"{\\rtf1\\ansi Hello}", LIMITS).format == "rtf"
    assert extract_bytes(Path("notes.txt"), b"\xef\xbb\xbf{\\rtf1 Hi}", LIMITS).text == "Hi"


def test_a_lone_backslash_at_the_end_is_harmless() -> None:
    with pytest.raises(ExtractionError):
        text("{\\rtf1 text\\")  # still unclosed
    assert text("{\\rtf1 text}\\") == "text"
