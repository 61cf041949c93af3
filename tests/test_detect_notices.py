"""Copyright statements and SPDX identifier lines: made-up cases, properties, and the real corpora (../shared)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leakwatch.detect.notices import COPYRIGHT, SPDX_IDENTIFIER, Notice, find_notices
from tests.conftest import corpus


def only(text: str) -> Notice:
    notices = find_notices(text)
    assert len(notices) == 1, notices
    return notices[0]


def check(notice: Notice, text: str, span: str, holder: str | None, years: tuple[int, ...]) -> None:
    """``span`` occurs once in ``text`` and is exactly the notice's span."""
    assert text.count(span) == 1, "ambiguous expected span"
    assert (notice.start, notice.end) == (text.index(span), text.index(span) + len(span)), text[notice.start:notice.end]
    assert notice.kind == COPYRIGHT
    assert notice.holder == holder
    assert notice.years == years
    assert notice.expression is None


# --- copyright statements: positives ----------------------------------------------------------------------------

POSITIVE = [
    # text, span, holder, years
    ("Copyright (c) 2019-2023 Jane Doe <jane@x.org>", "Copyright (c) 2019-2023 Jane Doe <jane@x.org>",
     "Jane Doe <jane@x.org>", (2019, 2023)),
    ("Copyright © 2020 Foo Inc. All rights reserved.", "Copyright © 2020 Foo Inc", "Foo Inc", (2020,)),
    ("(C) Copyright 1999 IBM Corp.", "(C) Copyright 1999 IBM Corp", "IBM Corp", (1999,)),
    ("© 2021 ACME Ltd", "© 2021 ACME Ltd", "ACME Ltd", (2021,)),
    ("Copyright 2004, 2006 The Apache Software Foundation", "Copyright 2004, 2006 The Apache Software Foundation",
     "The Apache Software Foundation", (2004, 2006)),
    ("Copyright (C) 1989, 1991 Free Software Foundation, Inc.",
     "Copyright (C) 1989, 1991 Free Software Foundation, Inc", "Free Software Foundation, Inc", (1989, 1991)),
    ("Portions Copyright (c) 2010 X", "Copyright (c) 2010 X", "X", (2010,)),
    ("copyright: 2012 Foo", "copyright: 2012 Foo", "Foo", (2012,)),
    ("Copyright &copy; 2020 Web Corp", "Copyright &copy; 2020 Web Corp", "Web Corp", (2020,)),
    ("©2021 Tight Spacing Ltd.", "©2021 Tight Spacing Ltd", "Tight Spacing Ltd", (2021,)),
    ("COPYRIGHT (C) 2001 SHOUTING CORP.", "COPYRIGHT (C) 2001 SHOUTING CORP", "SHOUTING CORP", (2001,)),
    # years: lists, ranges (endpoints only), unsorted, abbreviated ends (consumed, not reported), "to present"
    ("Copyright 2004-2020, 2008 Foo", "Copyright 2004-2020, 2008 Foo", "Foo", (2004, 2008, 2020)),
    ("Copyright (c) 1991 - 1995, Stichting Mathematisch Centrum Amsterdam",
     "Copyright (c) 1991 - 1995, Stichting Mathematisch Centrum Amsterdam",
     "Stichting Mathematisch Centrum Amsterdam", (1991, 1995)),
    ("Copyright (C) 1998-99 Foo", "Copyright (C) 1998-99 Foo", "Foo", (1998,)),
    ("Copyright 1997,98,99 Stephan Kulow", "Copyright 1997,98,99 Stephan Kulow", "Stephan Kulow", (1997,)),
    ("Copyright 2009,2010 Alex", "Copyright 2009,2010 Alex", "Alex", (2009, 2010)),
    ("Copyright 2001 2001, 2001 Dup", "Copyright 2001 2001, 2001 Dup", "Dup", (2001,)),
    ("Copyright (c) 2017 to present Pydantic Services Inc. and individual contributors.",
     "Copyright (c) 2017 to present Pydantic Services Inc. and individual contributors",
     "Pydantic Services Inc. and individual contributors", (2017,)),
    # holder clean-up: separators, "by", a repeated symbol, sentences and prose after it, quotes around it
    ("Copyright (c) 2005-2025, Michele Simionato", "Copyright (c) 2005-2025, Michele Simionato",
     "Michele Simionato", (2005, 2025)),
    ("Copyright (c) 1996-1999 by Internet Software Consortium.",
     "Copyright (c) 1996-1999 by Internet Software Consortium", "Internet Software Consortium", (1996, 1999)),
    ("Copyright 2007 (C) Michael Kerrisk", "Copyright 2007 (C) Michael Kerrisk", "Michael Kerrisk", (2007,)),
    ("Copyright 2016 Amazon.com, Inc. or its affiliates. All Rights Reserved.",
     "Copyright 2016 Amazon.com, Inc. or its affiliates", "Amazon.com, Inc. or its affiliates", (2016,)),
    ("Copyright (C) 2001 Foo Ltd. This program is free software; you can redistribute it.",
     "Copyright (C) 2001 Foo Ltd", "Foo Ltd", (2001,)),
    ("Copyright 1992-1999 Rickard E. Faith and David A. Wheeler",
     "Copyright 1992-1999 Rickard E. Faith and David A. Wheeler", "Rickard E. Faith and David A. Wheeler",
     (1992, 1999)),
    ('are retained, i.e. "Copyright (c) 1991-2000 iMatix Corporation." in all copies',
     "Copyright (c) 1991-2000 iMatix Corporation", "iMatix Corporation", (1991, 2000)),
    ("(written by Bob, copyright 1988 Richard M. Stallman)", "copyright 1988 Richard M. Stallman",
     "Richard M. Stallman", (1988,)),
    ("Copyright (C) 2002\xa0Ömer Fadıl USTA", "Copyright (C) 2002\xa0Ömer Fadıl USTA", "Ömer Fadıl USTA", (2002,)),
    ("Copyright (c) 2009 PiCloud, Inc. http://www.picloud.com.",
     "Copyright (c) 2009 PiCloud, Inc. http://www.picloud.com", "PiCloud, Inc. http://www.picloud.com", (2009,)),
    ("Copyright (c) 2010 Foo, Bar, and", "Copyright (c) 2010 Foo, Bar", "Foo, Bar", (2010,)),
    # symbol and no year: a name-like holder
    ("Copyright © Jens Jørgen Mortensen, Günter Milde.", "Copyright © Jens Jørgen Mortensen, Günter Milde",
     "Jens Jørgen Mortensen, Günter Milde", ()),
    ("(c) Copyright Bigelow & Holmes 1986, 1985", "(c) Copyright Bigelow & Holmes 1986, 1985", "Bigelow & Holmes",
     (1985, 1986)),
    ("(C) Copyright IBM Corp. 1999, 2004", "(C) Copyright IBM Corp. 1999, 2004", "IBM Corp", (1999, 2004)),
    # in the middle of prose
    ("This software is copyright (C) 1991-2013, Thomas G. Lane, Guido Vollbeding.",
     "copyright (C) 1991-2013, Thomas G. Lane, Guido Vollbeding", "Thomas G. Lane, Guido Vollbeding", (1991, 2013)),
    ("based on SmartyPants © 2003 John Gruber", "© 2003 John Gruber", "John Gruber", (2003,)),
    # years and no holder (the holder is on the next line, which is not read)
    ("Copyright (C) 1992, 1997, 2004,\n2005 Free Software Foundation, Inc.", "Copyright (C) 1992, 1997, 2004", None,
     (1992, 1997, 2004)),
    # templates: a placeholder where the years go
    ("Copyright (c) <year> <copyright holders>", "Copyright (c) <year> <copyright holders>", "<copyright holders>",
     ()),
    ("Copyright [yyyy] [name of copyright owner]", "Copyright [yyyy] [name of copyright owner]",
     "[name of copyright owner]", ()),
    ("Copyright (C) <year>  <name of author>", "Copyright (C) <year>  <name of author>", "<name of author>", ()),
    ("Copyright (C) yyyy name of author", "Copyright (C) yyyy name of author", "name of author", ()),
    ("Copyright (c) YEAR YOUR NAME.", "Copyright (c) YEAR YOUR NAME", "YOUR NAME", ()),
]


@pytest.mark.parametrize(("text", "span", "holder", "years"), POSITIVE)
def test_copyright_statement(text: str, span: str, holder: str | None, years: tuple[int, ...]) -> None:
    check(only(text), text, span, holder, years)


@pytest.mark.parametrize("prefix", ["# ", "// ", " * ", ";; ", "-- ", "    ", "\t", "% ", "REM "])
@pytest.mark.parametrize("line_end", ["\n", "\r\n", None])
def test_comment_prefixes_and_line_endings_stay_outside_the_span(prefix: str, line_end: str | None) -> None:
    statement = "Copyright (c) 2019-2023 Jane Doe <jane@x.org>"
    # None: the statement ends the text
    text = f"{prefix}{statement}  " if line_end is None else f"{prefix}{statement}  {line_end}int x = 1;{line_end}"
    check(only(text), text, statement, "Jane Doe <jane@x.org>", (2019, 2023))


@pytest.mark.parametrize(
    ("text", "span", "holder"),
    [
        ("/* Copyright (c) 2015 Foo Bar */", "Copyright (c) 2015 Foo Bar", "Foo Bar"),
        ("/* Copyright (c) 2015 Foo Bar. */ int x;", "Copyright (c) 2015 Foo Bar", "Foo Bar"),
        ("<!-- Copyright 2015 Foo Bar -->", "Copyright 2015 Foo Bar", "Foo Bar"),
        ("#  Copyright 2015 Foo Bar          #", "Copyright 2015 Foo Bar", "Foo Bar"),
        ("** Copyright 2015 Foo Bar **", "Copyright 2015 Foo Bar", "Foo Bar"),
    ],
)
def test_comment_closers_and_box_decoration_are_not_in_the_holder(text: str, span: str, holder: str) -> None:
    check(only(text), text, span, holder, (2015,))


def test_several_statements_one_per_line_and_two_on_one_line() -> None:
    text = (
        "Copyright (c) 2015, Cloudpickle contributors.\n"
        "Copyright (c) 2012, Regents of the University of California.\n"
        "Copyright (C) 2004 Foo and Copyright (c) 2017 Bar Baz\n"
        "Portions Copyright 1998-2003 Kurt D. Zeilenga. (c) 2009 Qux\n"
    )
    got = [(text[n.start:n.end], n.holder, n.years) for n in find_notices(text)]
    assert got == [
        ("Copyright (c) 2015, Cloudpickle contributors", "Cloudpickle contributors", (2015,)),
        ("Copyright (c) 2012, Regents of the University of California", "Regents of the University of California",
         (2012,)),
        ("Copyright (C) 2004 Foo", "Foo", (2004,)),
        ("Copyright (c) 2017 Bar Baz", "Bar Baz", (2017,)),
        ("Copyright 1998-2003 Kurt D. Zeilenga", "Kurt D. Zeilenga", (1998, 2003)),
        ("(c) 2009 Qux", "Qux", (2009,)),
    ]


def test_crlf_text_offsets_and_holders() -> None:
    text = "Header\r\n# Copyright (c) 2019 Jane Doe\r\n# SPDX-License-Identifier: MIT\r\n\r\nbody\r\n"
    first, second = find_notices(text)
    check(first, text, "Copyright (c) 2019 Jane Doe", "Jane Doe", (2019,))
    assert (second.kind, second.expression, text[second.start:second.end]) == (
        SPDX_IDENTIFIER, "MIT", "SPDX-License-Identifier: MIT")


def test_year_boundaries() -> None:
    assert find_notices("Copyright 20001 Foo") == []  # five digits: no year, no symbol
    assert find_notices("Copyright 1875 Foo") == []  # only 19xx/20xx
    check(only("Copyright (c) 1875 Foo"), "Copyright (c) 1875 Foo", "Copyright (c) 1875 Foo", "1875 Foo", ())
    check(only("Copyright 2019300 x; © 2019 Y"), "Copyright 2019300 x; © 2019 Y", "© 2019 Y", "Y", (2019,))


# --- copyright statements: negatives ----------------------------------------------------------------------------

NEGATIVE = [
    "The above copyright notice and this permission notice shall be included in all copies.",
    "THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS \"AS IS\"",
    "copyright holders and contributors",
    "Copyright law of the United States (title 17, U.S. Code)",
    "IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT DAMAGES",
    "This product includes copyrighted material from third parties.",
    "See the files COPYING for copyright and license information.",
    "Works that are no longer under copyright may be reused.",
    "Copyright Notice",
    "Copyright\n=========\n",
    "2. Grant of Copyright License. Subject to the terms and conditions of this License",
    "(a) the first item; (b) the second item; (c) the third item",
    "     (c) You must retain, in the Source form of any Derivative Works that You distribute, all copyright",
    "© and ™ are symbols; © the authors",
    "©",
    "(c)",
    "Copyright (c)",
    "Copyright ©   ",
    "Copyright:",
    "The Copyright Act of 1976 and the WIPO Copyright Treaty of 1996",
    "accept the copyright © notice which appears when You download the Software",
    ":Copyright: This document has been placed in the public domain.",
    "copyright by Mark Pilgrim, released under the MIT license",
    "Copyright year of first publication goes here",
    "the copyright owner or entity authorized by the copyright owner",
    "Copyright: none",
    "SPDX-License-Identifier:",
    "SPDX-License-Identifier: */",
    "",
]


@pytest.mark.parametrize("text", NEGATIVE)
def test_prose_about_copyright_does_not_fire(text: str) -> None:
    assert find_notices(text) == []


# --- SPDX identifier lines ----------------------------------------------------------------------------------------

SPDX_CASES = [
    ("SPDX-License-Identifier: MIT", "MIT"),
    ("// SPDX-License-Identifier: GPL-2.0-or-later WITH Classpath-exception-2.0",
     "GPL-2.0-or-later WITH Classpath-exception-2.0"),
    ("/* SPDX-License-Identifier: (Apache-2.0 OR MIT) */", "(Apache-2.0 OR MIT)"),
    ("# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause", "Apache-2.0 OR BSD-3-Clause"),
    ("<!-- SPDX-License-Identifier: MIT -->", "MIT"),
    ("-- SPDX-License-Identifier: GPL-2.0+", "GPL-2.0+"),
    (" * SPDX-License-Identifier: LicenseRef-Proprietary", "LicenseRef-Proprietary"),
    ("SPDX-License-Identifier:MIT AND (LGPL-2.1-or-later OR BSD-3-Clause)",
     "MIT AND (LGPL-2.1-or-later OR BSD-3-Clause)"),
    ("SPDX-License-Identifier: MIT.", "MIT"),
    ('"SPDX-License-Identifier: MIT",', "MIT"),
]


@pytest.mark.parametrize(("text", "expression"), SPDX_CASES)
def test_spdx_identifier_line(text: str, expression: str) -> None:
    notice = only(text)
    span = "SPDX-License-Identifier" + text.split("SPDX-License-Identifier", 1)[1]
    span = span[: span.index(expression) + len(expression)]
    assert (notice.kind, notice.expression, notice.holder, notice.years) == (SPDX_IDENTIFIER, expression, None, ())
    assert text[notice.start:notice.end] == span


# --- DEP-5 (Debian machine-readable copyright files) --------------------------------------------------------------

DEP5 = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: foo

Files: *
Copyright: 2009-2012 John Smith <js@example.org>
           2013, Jane Roe
           Richard Hughes <richard@hughsie.com>
           (C) 1997, 1998 Colin Plumb.
           Copyright (c) 2001 Mike Barcroft <mike@FreeBSD.org>
           (C) Markus Kuhn, 1995, 2001
           .
           Not A Holder After The Break
License: GPL-2+
 This program is free software; you can redistribute it.

Files: debian/*
Copyright: Bastian Blank <waldi@debian.org>
License: GPL-2+

Files: data/*
Copyright: public-domain
License: PD

Files: lib/*
Copyright: 2016-2020, Google Inc.
 Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software and associated documentation files (the "Software"), to deal
 THE SOFTWARE.
License: Expat
"""

DEP5_EXPECTED = [
    ("Copyright: 2009-2012 John Smith <js@example.org>", "John Smith <js@example.org>", (2009, 2012)),
    ("2013, Jane Roe", "Jane Roe", (2013,)),
    ("Richard Hughes <richard@hughsie.com>", "Richard Hughes <richard@hughsie.com>", ()),
    ("(C) 1997, 1998 Colin Plumb", "Colin Plumb", (1997, 1998)),
    ("Copyright (c) 2001 Mike Barcroft <mike@FreeBSD.org>", "Mike Barcroft <mike@FreeBSD.org>", (2001,)),
    ("(C) Markus Kuhn, 1995, 2001", "Markus Kuhn", (1995, 2001)),
    ("Copyright: Bastian Blank <waldi@debian.org>", "Bastian Blank <waldi@debian.org>", ()),
    ("Copyright: 2016-2020, Google Inc", "Google Inc", (2016, 2020)),
]


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_dep5_fields_each_line_its_own_notice(line_end: str) -> None:
    text = DEP5.replace("\n", line_end)
    notices = find_notices(text)
    assert [(text[n.start:n.end], n.holder, n.years) for n in notices] == DEP5_EXPECTED
    assert all("\r" not in (n.holder or "") for n in notices)


def test_dep5_lines_without_years_need_a_dep5_document() -> None:
    # The same field in a plain text file: only the lines with a year or symbol count.
    text = "README\n\nCopyright: Bastian Blank <waldi@debian.org>\n  Ben Collins\n  2004 Real Holder\n"
    check(only(text), text, "2004 Real Holder", "Real Holder", (2004,))


def test_dep5_portions_copyright_without_year_first() -> None:
    text = (
        "Files: x\nCopyright: Copyright 1998-2022 The OpenLDAP Foundation.\n"
        "           Portions Copyright IBM Corp. 1997,2002,2003\n"
    )
    first, second = find_notices(text)
    check(first, text, "Copyright 1998-2022 The OpenLDAP Foundation", "The OpenLDAP Foundation", (1998, 2022))
    check(second, text, "Copyright IBM Corp. 1997,2002,2003", "IBM Corp", (1997, 2002, 2003))


# --- limits -------------------------------------------------------------------------------------------------------


def test_max_notices() -> None:
    text = "".join(f"Copyright {2000 + i} Holder{i}\n" for i in range(10))
    assert [n.holder for n in find_notices(text, max_notices=3)] == ["Holder0", "Holder1", "Holder2"]
    assert find_notices(text, max_notices=0) == []
    assert len(find_notices(text)) == 10
    dep5 = "Files: *\nCopyright: 2001 A\n" + "".join(f" {2002 + i} B{i}\n" for i in range(20))
    assert len(find_notices(dep5, max_notices=5)) == 5


PATHOLOGICAL = {
    "symbols and words": "abc (c) ghi © jkl copyright mno " * 30_000,
    "one line after a statement": "© 2001 " + "x" * 1_000_000,
    "endless years": "© " + "2001, " * 170_000,
    "endless ranges": "Copyright " + "2001-2002-" * 100_000,
    "copyright words": "Copyright " * 100_000,
    "symbols": "(c)" * 330_000,
    "unclosed symbols": "Copyright (c) 2001 a" + "(c" * 500_000,
    "spaces": "Copyright (c)" + " " * 1_000_000,
    "full stops": "Copyright 2001 Foo" + ". " * 500_000,
    "trailing years": "(c) Copyright Foo" + ", 2001" * 170_000,
    "quotes": "© 2001 " + '"' * 1_000_000,
    "parentheses": "© 2001 " + ")(" * 500_000,
    "spdx": "SPDX-License-Identifier: " + "MIT " * 250_000,
    "dep5 prose": "Files: *\nCopyright: 2001 Foo\n" + " permission is hereby granted\n" * 35_000,
    "dep5 names": "Files: *\nCopyright: 2001 Foo\n" + " Jane Doe\n" * 100_000,
    "many statements": "© 2001 Foo " * 100_000,
    "placeholders": "Copyright " + "[yyyy]" * 170_000,
    "crlf": "Copyright (c) 2001 Foo\r\n" * 45_000,
}


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_pathological_megabyte_inputs_finish(name: str) -> None:
    # No timing assertion (machines differ): a catastrophic backtrack would not finish within the test run. Each
    # input is about 1 MB; see the module docstring for why the work is linear.
    text = PATHOLOGICAL[name]
    notices = find_notices(text)
    assert len(notices) <= 1000
    check_invariants(text, notices)


# --- properties ---------------------------------------------------------------------------------------------------

_TRAILING = " \t.,;:*#|=-"


def check_invariants(text: str, notices: list[Notice]) -> None:
    previous_end = -1
    for n in notices:
        assert 0 <= n.start < n.end <= len(text)
        assert n.start >= previous_end, "notices are in text order and do not overlap"
        previous_end = n.end
        span = text[n.start:n.end]
        assert span == span.strip()
        assert "\r" not in span and "\n" not in span
        if n.kind == SPDX_IDENTIFIER:
            assert span.lower().startswith("spdx-license-identifier")
            assert n.expression and span.endswith(n.expression) and n.holder is None and n.years == ()
            continue
        assert n.kind == COPYRIGHT and n.expression is None
        assert list(n.years) == sorted(set(n.years)) and all(1900 <= y <= 2099 for y in n.years)
        assert n.holder is not None or n.years
        if n.holder is not None:
            assert n.holder and n.holder in span
            assert n.holder == n.holder.strip() and n.holder[-1] not in _TRAILING
            assert not n.holder.lower().startswith("by ")
            assert not re.search(r"\ball\s+rights\s+reserved", n.holder, re.I)


_FRAGMENTS = [
    "Copyright", "copyright", "COPYRIGHT", "(c)", "(C)", "©", "&copy;", "2001", "1999", "20", "19", "-", ",", " ",
    "  ", "\n", "\r\n", "\t", ":", "by ", "All rights reserved", "SPDX-License-Identifier:", "MIT", " OR ", "(", ")",
    "*/", "<", ">", "[yyyy]", "<year>", "year", "Foo", "Inc.", ".", '"', "Files: *\n", "Copyright: ", "\n ", "\n .",
    "é", "\xa0", "and", "Portions ", "Jane Doe", "<a@b.org>",
]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=4)), max_size=60))
def test_invariants_on_arbitrary_text(parts: list[str]) -> None:
    text = "".join(parts)
    check_invariants(text, find_notices(text))


_NAMES = ["Jane", "Doe", "Acme", "Widgets", "Ltd", "GmbH", "Foundation", "Müller", "Øster", "Zhang", "O'Brien",
          "Smith-Jones", "Inc", "Project", "Team"]
_FORMS = ["Copyright (c) {y} {h}", "Copyright © {y} {h}", "(C) Copyright {y} {h}", "© {y} {h}", "Copyright {y} {h}",
          "copyright: {y} {h}", "Copyright (C) {y}, {h}", "Copyright {y} by {h}"]
_PROSE = [
    "The above copyright notice shall be included in all copies.",
    "THE SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS.",
    "(a) first; (b) second; (c) the third.",
    "int main(void) { return 0; }",
    "",
]


@st.composite
def statements(draw: st.DrawFn) -> tuple[str, str, str, tuple[int, ...], str]:
    """(text, statement span, holder, years, form) for one generated statement inside other lines."""
    items = draw(st.lists(st.tuples(st.integers(1970, 2030), st.integers(0, 5)), min_size=1, max_size=4))
    written = [f"{a}-{a + d}" if d else str(a) for a, d in items]
    years = tuple(sorted({y for a, d in items for y in ((a, a + d) if d else (a,))}))
    years_text = draw(st.sampled_from([", ", ",", " "])).join(written)
    holder = " ".join(draw(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=4)))
    if draw(st.booleans()):
        holder += " <info@example.org>"
    form = draw(st.sampled_from(_FORMS))
    statement = form.format(y=years_text, h=holder)
    prefix = draw(st.sampled_from(["", "# ", "// ", " * ", ";; ", "-- "]))
    suffix = draw(st.sampled_from(["", ".", ". All rights reserved.", "  ", ",", " */"]))
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    before = draw(st.lists(st.sampled_from(_PROSE), max_size=3))
    after = draw(st.lists(st.sampled_from(_PROSE), max_size=3))
    text = eol.join([*before, prefix + statement + suffix, *after]) + eol
    return text, statement, holder, years, form


@settings(max_examples=300, deadline=None, derandomize=True)
@given(statements())
def test_generated_statements_are_found_exactly(case: tuple[str, str, str, tuple[int, ...], str]) -> None:
    text, statement, holder, years, _ = case
    notices = find_notices(text)
    check_invariants(text, notices)
    assert len(notices) == 1, (text, notices)
    n = notices[0]
    start = text.index(statement)
    assert (n.start, n.end) == (start, start + len(statement))
    assert (n.holder, n.years) == (holder, years)


# --- the real corpora (../shared) ---------------------------------------------------------------------------------

# Their only Copyright field says there is no holder ("Copyright: public-domain").
NO_HOLDER_FILES = {"media-types.copyright"}


@pytest.mark.corpus
def test_every_debian_copyright_file_yields_a_holder() -> None:
    folder = corpus("licenses-in-the-wild-sample") / "debian-copyright"
    files = sorted(folder.glob("*.copyright"))
    assert len(files) == 40
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert re.search(r"^Copyright:", text, re.MULTILINE), path.name
        notices = find_notices(text, max_notices=10_000)
        check_invariants(text, notices)
        if path.name in NO_HOLDER_FILES:
            assert "Copyright: public-domain" in text
            assert notices == [], path.name
            continue
        assert any(n.holder for n in notices), path.name
        # Every "Copyright:" field line that starts with a year (after an optional symbol) gives a notice on that
        # line with those years.
        starts = {n.start: n for n in notices}
        for field in re.finditer(r"^Copyright:[ \t]*(?:\(c\)|©)?[ \t]*((?:19|20)\d\d)", text, re.MULTILINE | re.I):
            found = starts.get(field.start())
            assert found is not None and int(field.group(1)) in found.years, (path.name, field.group(0))


@pytest.mark.corpus
def test_debian_samples_spot_checks() -> None:
    folder = corpus("licenses-in-the-wild-sample") / "debian-copyright"

    def notices(name: str) -> list[tuple[str | None, tuple[int, ...]]]:
        return [(n.holder, n.years) for n in find_notices((folder / name).read_text(encoding="utf-8"), 10_000)]

    assert notices("netbase.copyright") == [
        ("Peter Tobias", (1994, 1998)), ("Anthony Towns", (1998, 2001)), ("Marco d'Itri", (2002, 2022))]
    assert notices("appstream.copyright")[:2] == [
        ("Matthias Klumpp <matthias@tenstral.net>", (2012, 2021)), ("Richard Hughes <richard@hughsie.com>", ())]
    # libclang-cpp14 has an MIT licence text under a "Copyright:" field (no "License:" line): its prose lines are not
    # holders.
    clang = notices("libclang-cpp14.copyright")
    assert ("Google Inc", (2016, 2020)) in clang
    assert not any(h and ("Permission" in h or "SOFTWARE" in h) for h, _ in clang)


@pytest.mark.corpus
def test_python_wheel_licence_files() -> None:
    folder = corpus("licenses-in-the-wild-sample") / "python-wheels"

    def notices(path: str) -> list[tuple[str | None, tuple[int, ...]]]:
        return [(n.holder, n.years) for n in find_notices((folder / path).read_text(encoding="utf-8"))]

    assert notices("decorator-5.2.1/LICENSE.txt") == [("Michele Simionato", (2005, 2025))]
    assert notices("MarkupSafe-3.0.3/licenses/LICENSE.txt") == [("Pallets", (2010,))]
    assert notices("pydantic-2.13.4/licenses/LICENSE") == [
        ("Pydantic Services Inc. and individual contributors", (2017,))]
    assert notices("cloudpickle-2.1.0/LICENSE") == [
        ("Cloudpickle contributors", (2015,)), ("Regents of the University of California", (2012,)),
        ("PiCloud, Inc. http://www.picloud.com", (2009,))]
    assert notices("s3transfer-0.17.0/NOTICE.txt") == [("Amazon.com, Inc. or its affiliates", (2016,))]
    # The MIT text with its copyright line removed, and the Apache licence without its appendix: nothing.
    assert notices("orjson-3.8.3/license_files/LICENSE-MIT") == []
    assert notices("requests-2.34.2/licenses/LICENSE") == []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8")
        check_invariants(text, find_notices(text))


@pytest.mark.corpus
def test_spdx_mit_template_line_is_the_only_notice() -> None:
    text = (corpus("spdx-license-texts") / "text" / "MIT.txt").read_text(encoding="utf-8")
    check(only(text), text, "Copyright (c) <year> <copyright holders>", "<copyright holders>", ())


@pytest.mark.corpus
def test_spdx_apache_body_does_not_fire_only_its_appendix_template() -> None:
    # The body says "copyright owner", "copyright notice", "Grant of Copyright License", "(c) You must retain … all
    # copyright … notices": none of that is a statement. The appendix's boilerplate line "Copyright [yyyy] [name of
    # copyright owner]" is a template statement, treated like MIT's "<year> <copyright holders>" line: a deliverable
    # that carries it verbatim carries the licence's boilerplate.
    text = (corpus("spdx-license-texts") / "text" / "Apache-2.0.txt").read_text(encoding="utf-8")
    appendix = text.index("APPENDIX")
    assert re.search(r"copyright owner", text[:appendix], re.I) and "(c) You must retain" in text
    notice = only(text)
    assert notice.start > appendix
    check(notice, text, "Copyright [yyyy] [name of copyright owner]", "[name of copyright owner]", ())


@pytest.mark.corpus
def test_spdx_texts_prose_never_fires() -> None:
    # Across all 728 licence texts: no notice starts with "copyright" followed by prose words, and every notice
    # keeps the invariants.
    folder = corpus("spdx-license-texts") / "text"
    prose = re.compile(r"copyright[ \t:]*(?:notice|holder|owner|law|licen[cs]e|and|of|statement|protection)\b", re.I)
    for path in sorted(folder.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        notices = find_notices(text)
        check_invariants(text, notices)
        for n in notices:
            assert not prose.match(text, n.start), (path.name, text[n.start:n.end])


@pytest.mark.parametrize(("text", "holder"), [
    # Footers of extracted web pages join their fields on one line.
    ("Copyright 2000 Rodale Press Inc.   -0-   Visit Prevention Web site", "Rodale Press Inc"),
    ("Copyright 1998-2008 Netscape\xa0\xa0|\xa0 visit our site", "Netscape"),
])
def test_holder_ends_at_a_field_gap(text: str, holder: str) -> None:
    [n] = find_notices(text)
    assert n.holder == holder
    assert text[n.start : n.end].endswith(holder)


def test_holder_is_never_a_paragraph() -> None:
    [n] = find_notices("Copyright 1999 " + "word " * 60)
    assert n.holder is not None and len(n.holder) <= 100
