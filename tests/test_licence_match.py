"""Licence confusion pairs (issue 20): each told apart by the text its template requires."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from leakwatch.detect.licence.match import LICENCE_STACKS, match_licences
from leakwatch.detect.licence.templates import OPTIONAL, REQUIRED, VARIABLE, parse_licence_xml, shingle_classes
from leakwatch.detect.licence.texts import default_reference
from leakwatch.text import tokenize
from tests.conftest import corpus, make_text
from tests.licence_texts import (
    APACHE_NOTICE,
    BSD_2,
    BSD_3,
    BSD_4,
    GPL_2_NOTICE,
    GPL_2_ONLY_NOTICE,
    GPL_3_IN_GPL_2_WORDS,
    GPL_3_NOTICE,
    GPL_3_ONLY_NOTICE,
    ISC_NAMED,
    ISC_THE_AUTHOR,
    MIT,
    MIT_0,
    PSF_2,
    ZERO_BSD,
    template_xml,
)


def found(text: str) -> list[str]:
    ref = default_reference()
    return [ref.texts[m.text].spdx_id for m in match_licences(tokenize(text), text, ref)]


@pytest.mark.parametrize(("text", "expected"), [
    # ISC requires its notice clause; 0BSD has none, and ISC's "THE AUTHOR" is replaceable
    # text, so an ISC licence that says "THE AUTHOR" is no evidence for 0BSD.
    (ISC_THE_AUTHOR, "ISC"),
    (ISC_NAMED, "ISC"),
    (ZERO_BSD, "0BSD"),
    # MIT-0 is MIT without the condition that the notice be kept.
    (MIT, "MIT"),
    (MIT_0, "MIT-0"),
    # BSD-2 is contained in BSD-3, BSD-3 in BSD-4 (the advertising clause).
    (BSD_2, "BSD-2-Clause"),
    (BSD_3, "BSD-3-Clause"),
    (BSD_4, "BSD-4-Clause"),
    # GNU notices: the version stated, and "any later version" or not.
    (GPL_2_NOTICE, "GPL-2.0-or-later"),
    (GPL_2_ONLY_NOTICE, "GPL-2.0-only"),
    (GPL_3_NOTICE, "GPL-3.0-or-later"),
    (GPL_3_ONLY_NOTICE, "GPL-3.0-only"),
    (GPL_3_IN_GPL_2_WORDS, "GPL-3.0-or-later"),
    # The PSF agreement alone is PSF-2.0, not the Python-2.0 history that contains it.
    (PSF_2, "PSF-2.0"),
])
def test_confusion_pairs(text: str, expected: str) -> None:
    assert found(text) == [expected]


@pytest.mark.parametrize("package", ["s3transfer-0.17.0/LICENSE.txt", "requests-2.34.2/licenses/LICENSE"])
def test_apache_with_and_without_its_appendix_is_one_apache_licence(package: str) -> None:
    """s3transfer ships Apache-2.0 with its "How to apply" appendix, requests without: the
    appendix is optional text of Apache-2.0, so each file is one Apache-2.0 finding."""
    text = (corpus("licenses-in-the-wild-sample") / "python-wheels" / package).read_text(encoding="utf-8")
    ref = default_reference()
    tokens = tokenize(text)
    (match,) = match_licences(tokens, text, ref)
    assert ref.texts[match.text].spdx_id == "Apache-2.0" and match.coverage > 0.95
    assert ("APPENDIX" in text) == ("APPENDIX" in text[slice(*tokens.char_span(match.word_start, match.word_end))])


def test_the_apache_notice_alone_is_the_notice() -> None:
    ref = default_reference()
    (notice,) = match_licences(tokenize(APACHE_NOTICE), APACHE_NOTICE, ref)
    assert ref.texts[notice.text].spdx_id == "Apache-2.0" and ref.texts[notice.text].part == "notice"


def test_several_licences_in_one_file_are_several_matches_in_order() -> None:
    """libcst and parso ship MIT and the PSF agreement in one file: one match each, with
    its own span."""
    text = MIT + "\n\nParts of this package come from CPython:\n\n" + PSF_2 + "\n\n" + ISC_NAMED
    ref = default_reference()
    tokens = tokenize(text)
    matches = match_licences(tokens, text, ref)
    assert [ref.texts[m.text].spdx_id for m in matches] == ["MIT", "PSF-2.0", "ISC"]
    spans = [tokens.char_span(m.word_start, m.word_end) for m in matches]
    assert text[spans[0][0]: spans[0][1]].startswith("Permission is hereby granted")
    assert "PYTHON SOFTWARE FOUNDATION" in text[spans[1][0]: spans[1][1]]
    assert spans[0][1] <= spans[1][0] and spans[1][1] <= spans[2][0]


def test_template_classes_from_the_xml_markup() -> None:
    template = parse_licence_xml(template_xml()["Example-1.0"].encode())
    assert template is not None and template.notice is not None
    classes = dict(zip(template.text.ids.tolist(), template.text.classes.tolist(), strict=True))
    ids = tokenize("or author permission example copyright").ids.tolist()
    words = dict(zip(["or", "author", "permission", "example", "copyright"], ids, strict=True))
    assert classes[words["permission"]] == REQUIRED
    assert classes[words["author"]] == VARIABLE  # <alt>
    assert classes[words["example"]] == OPTIONAL  # the title
    # A shingle touching replaceable text is replaceable, one touching optional text optional.
    assert shingle_classes(np.array([0, 0, 1, 0, 0, 2], dtype=np.uint8), 2).tolist() == [0, 1, 1, 0, 2]


def test_python_history_is_reported_as_its_parts() -> None:
    """CPython's licence (PSF, BeOpen, CNRI, CWI agreements) ships in packages that
    declare PSF-2.0: the PSF and CNRI parts are findings of their own, and every part
    names the stack."""
    path = corpus("licenses-in-the-wild-sample") / "python-wheels" / "typing_extensions-4.15.0" / "licenses" / "LICENSE"
    text = path.read_text(encoding="utf-8")
    ref = default_reference()
    matches = match_licences(tokenize(text), text, ref)
    ids = [ref.texts[m.text].spdx_id for m in matches]
    assert "PSF-2.0" in ids and any(i.startswith("CNRI-Python") for i in ids)
    # The 0BSD licence for the documentation's code that ends the file is not the stack.
    assert ids[-1] == "0BSD" and matches[-1].stack is None
    stacked = [m for m in matches if m.stack is not None]
    assert {ref.texts[m.stack].spdx_id for m in stacked} <= set(LICENCE_STACKS)
    assert all(a.word_end <= b.word_start for a, b in itertools.pairwise(matches))


def test_licence_inside_prose_keeps_its_id() -> None:
    text = make_text(3, 200) + "\n\n" + ISC_THE_AUTHOR + "\n\n" + make_text(4, 200)
    assert found(text) == ["ISC"]
