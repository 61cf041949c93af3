"""The shipped SPDX licence reference and matching licence texts against it."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leakwatch.config import Config
from leakwatch.detect.licence.match import match_licences, stated_versions
from leakwatch.detect.licence.templates import read_templates
from leakwatch.detect.licence.texts import (
    LicenceReference,
    ReferenceFormatError,
    build_reference,
    default_reference,
    load_reference,
    save_reference,
)
from leakwatch.text import tokenize
from tests.conftest import CORPORA, corpus, make_text
from tests.licence_texts import APACHE_NOTICE, BSD_2, BSD_3, GPL_2_NOTICE, GPL_3_NOTICE, MIT, template_xml

ROOT = Path(__file__).resolve().parents[1]


def ids_found(text: str, ref: LicenceReference | None = None) -> list[str]:
    ref = ref or default_reference()
    return [ref.texts[m.text].spdx_id for m in match_licences(tokenize(text), text, ref)]


def test_shipped_reference_loads_from_the_package() -> None:
    ref = default_reference()
    ids = {i for t in ref.texts for i in t.ids}
    assert {"MIT", "Apache-2.0", "BSD-3-Clause", "GPL-2.0-only", "GPL-2.0-or-later"} <= ids
    assert len(ids) > 700
    assert ref.source.startswith("SPDX License List")
    gpl2 = ref.texts[ref.by_id("GPL-2.0-only") or 0]
    # Identical texts are stored once under all their ids.
    assert "GPL-2.0-or-later" in gpl2.ids and gpl2.part == "text"


@pytest.mark.parametrize(("text", "expected"), [
    (MIT, "MIT"),
    (BSD_2, "BSD-2-Clause"),
    (BSD_3, "BSD-3-Clause"),
    (GPL_2_NOTICE, "GPL-2.0-or-later"),
    (GPL_3_NOTICE, "GPL-3.0-or-later"),
    (APACHE_NOTICE, "Apache-2.0"),
])
def test_identifies_the_licence(text: str, expected: str) -> None:
    assert ids_found(text) == [expected]


def test_near_identical_licences_are_told_apart_by_what_differs() -> None:
    ref = default_reference()
    (bsd3,) = match_licences(tokenize(BSD_3), BSD_3, ref)
    (bsd2,) = match_licences(tokenize(BSD_2), BSD_2, ref)
    assert ref.texts[bsd3.text].spdx_id == "BSD-3-Clause"
    assert ref.texts[bsd2.text].spdx_id == "BSD-2-Clause"
    # BSD-3 won over its nearest variant (one with a clause of its own, absent here); the
    # evidence is reported.
    assert bsd3.distinction is not None
    assert bsd3.distinction.only_winner_present >= bsd3.distinction.only_runner_up_present
    assert bsd3.distinction.runner_up_coverage < bsd3.coverage
    # BSD-2 explains a BSD-2 text as well as BSD-3 does, but BSD-3's clause is absent.
    assert bsd2.distinction is not None
    assert bsd2.distinction.runner_up_coverage < bsd2.coverage


def test_span_covers_the_licence_inside_prose() -> None:
    before, after = make_text(1, 300), make_text(2, 300)
    text = before + "\n\n" + MIT + "\n\n" + after
    tokens = tokenize(text)
    (m,) = match_licences(tokens, text, default_reference())
    start, end = tokens.char_span(m.word_start, m.word_end)
    # The copyright line is not part of the template; the grant and disclaimer are.
    assert text.index("Permission is hereby granted") - 60 <= start <= text.index("Permission is hereby granted")
    assert end == text.index(after) - 2 or text[start:end].rstrip().endswith("SOFTWARE")
    assert m.coverage > 0.9


def test_licences_one_after_another_are_separate_matches() -> None:
    text = MIT + "\n\n----\n\n" + make_text(3, 80) + "\n\n" + GPL_3_NOTICE
    assert ids_found(text) == ["MIT", "GPL-3.0-or-later"]


def test_prose_and_short_licence_phrases_do_not_match() -> None:
    assert ids_found(make_text(4, 2000)) == []
    # Licence wording below the 20-word minimum is a quotation, not a licence.
    assert ids_found("The vendor said THE SOFTWARE IS PROVIDED AS IS, WITHOUT WARRANTY OF ANY KIND. Fine.") == []


def test_stated_versions() -> None:
    assert stated_versions("either version 3 of the License, or") == frozenset({"3.0"})
    assert stated_versions("Version 2.1, February 1999") == frozenset({"2.1"})
    assert stated_versions("no number here") == frozenset()


def test_round_trip_and_build_are_deterministic(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for spdx_id, xml in template_xml().items():
        (src / f"{spdx_id}.xml").write_text(xml, encoding="utf-8")
    ref = build_reference(read_templates(src), "test")
    again = build_reference(read_templates(src), "test")
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    save_reference(ref, first)
    save_reference(again, second)
    assert first.read_bytes() == second.read_bytes()
    loaded = load_reference(first)
    assert loaded.texts == ref.texts and np.array_equal(loaded.classes, ref.classes)
    # Licences with the same required words are one entry; the notice is an entry of its own.
    assert {t.part for t in loaded.texts} == {"text", "notice"}


def test_damaged_or_foreign_files_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ReferenceFormatError):
        load_reference(bad)
    # An object array would need pickle to load: refused, never unpickled.
    evil = tmp_path / "evil.npz"
    np.savez(evil, header=np.array([{"format": "x"}], dtype=object))
    with pytest.raises(ReferenceFormatError):
        load_reference(evil)
    wrong = tmp_path / "wrong.npz"
    header = json.dumps({"format": "other/9", "source": "", "texts": []}).encode()
    np.savez(wrong, header=np.frombuffer(header, dtype=np.uint8), vocabulary=np.zeros(0, np.uint64),
             words=np.zeros(0, np.uint16), bounds=np.zeros(1, np.int64), classes=np.zeros(0, np.uint8))
    with pytest.raises(ReferenceFormatError, match="format"):
        load_reference(wrong)


def test_save_load_round_trip(tmp_path: Path) -> None:
    ref = default_reference()
    path = tmp_path / "copy.npz"
    save_reference(ref, path)
    again = load_reference(path)
    assert again.texts == ref.texts
    assert np.array_equal(again.words, ref.words) and np.array_equal(again.vocabulary, ref.vocabulary)


def test_the_shipped_reference_is_package_data_not_in_the_store_folder() -> None:
    """The default store folder (./fingerprints) holds only what a user's index writes; the
    shipped licence reference is package data of the licence feature."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert data["leakwatch.detect.licence"] == ["*.npz"]
    assert (ROOT / "leakwatch" / "detect" / "licence" / "spdx-licences.npz").is_file()
    assert not list((ROOT / "fingerprints").glob("*.npz"))


def spdx_xml_sources() -> Path:
    """The SPDX license-list-XML checkout the shipped reference is built from
    ($LEAKWATCH_SPDX_XML, or ../shared/corpora/spdx-license-xml), or skip."""
    path = Path(os.environ.get("LEAKWATCH_SPDX_XML", str(CORPORA / "spdx-license-xml")))
    if not (path / "src").is_dir():
        pytest.skip(f"{path} holds no license-list-XML sources (src/*.xml)")
    return path


def test_committed_reference_is_what_the_script_builds(tmp_path: Path) -> None:
    import subprocess
    import sys

    xml = spdx_xml_sources()
    out = tmp_path / "rebuilt.npz"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_licences.py"), str(xml), "--output", str(out)],
                   check=True, capture_output=True)
    assert out.read_bytes() == (ROOT / "leakwatch" / "detect" / "licence" / "spdx-licences.npz").read_bytes()


@pytest.mark.corpus
def test_every_spdx_text_is_identified_as_itself() -> None:
    """Each licence text of the reference set, scanned as a deliverable, comes back
    under its own id (or one with the identical text)."""
    spdx = corpus("spdx-license-texts") / "text"
    ref = default_reference()
    wrong = []
    for path in sorted(spdx.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        matches = match_licences(tokenize(text), text, ref)
        if not matches:
            continue  # texts under 20 words are below the reporting minimum
        top = max(matches, key=lambda m: m.matched_words)
        # A stacked licence (CPython's history) comes back as its parts, each naming it.
        named = ref.texts[top.text].ids + (ref.texts[top.stack].ids if top.stack is not None else ())
        if path.stem not in named:
            wrong.append((path.stem, ref.texts[top.text].spdx_id))
    # Measured: 721 of 723 (MPL-2.0-no-copyleft-exception, whose Exhibit B MPL-2.0 has as
    # optional text; SMLNJ, the deprecated id of StandardML-NJ, a few words apart).
    assert len(wrong) <= 3, wrong


@pytest.mark.corpus
def test_agreement_with_declared_licences_in_the_wild() -> None:
    from leakwatch.evaluate.licences import evaluate_licences

    result = evaluate_licences(corpus("licenses-in-the-wild-sample"), Config())
    assert len(result.scored) >= 35
    assert not result.errors
    assert result.agreement >= 0.92, [r for r in result.scored if not r["agrees"]]
    # Issue 20: every wheel that declares one SPDX id has it among its findings (16/16).
    wheels = [r for r in result.scored if r["single_id"]]
    assert len(wheels) == 16 and all(r["present"] for r in wheels), [r for r in wheels if not r["present"]]


@pytest.mark.parametrize(("expression", "valid"), [
    ("MIT", True), ("mit", True), ("Apache-2.0 OR MIT", True), ("(MIT AND BSD-3-Clause)", True),
    ("GPL-2.0-only WITH Classpath-exception-2.0", True), ("LicenseRef-acme-internal", True),
    ("Proprietary", False), ("MIT OR Whatever-1.0", False), ("", False),
])
def test_spdx_expressions(expression: str, valid: bool) -> None:
    from leakwatch.detect.licence.texts import is_spdx_expression

    assert is_spdx_expression(expression) is valid


_PIECES = [MIT, BSD_2, BSD_3, GPL_2_NOTICE, GPL_3_NOTICE, APACHE_NOTICE]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_PIECES).map(lambda t: ("licence", t)),
                          st.integers(0, 10_000).map(lambda seed: ("prose", make_text(seed, 60)))),
                max_size=6),
       st.integers(0, 40))
def test_matches_lie_inside_the_text_in_order_without_overlap(pieces: list[tuple[str, str]], cut: int) -> None:
    text = "\n\n".join(t for _, t in pieces)
    text = text[cut:]  # start anywhere, even inside a word
    tokens = tokenize(text)
    matches = match_licences(tokens, text, default_reference())
    previous_end = 0
    for m in matches:
        assert 0 <= m.word_start < m.word_end <= len(tokens)
        assert m.word_start >= previous_end
        previous_end = m.word_end
        assert 0.0 < m.coverage <= 1.0 and m.matched_words >= 20
    # Every whole licence piece is found (a prefix cut may shorten only the first).
    whole = [t for kind, t in pieces[1:] if kind == "licence"]
    assert len(matches) >= min(len(whole), 1) if whole else True
