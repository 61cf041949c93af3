"""Copyright statements and SPDX licence identifier lines in extracted text.

A pure, line-oriented finder: :func:`find_notices` returns the copyright
statements (``Copyright (c) 2019-2023 Jane Doe``, ``© 2021 ACME Ltd``,
``(C) Copyright 1999 IBM Corp.``, DEP-5 ``Copyright:`` fields and their
continuation lines) and ``SPDX-License-Identifier:`` lines of a text, with
offsets into that text.

What counts as a statement (the rest is prose *about* copyright, which licence
texts are full of: "the above copyright notice", "COPYRIGHT HOLDERS AND
CONTRIBUTORS", "Copyright law"):

* the word ``copyright`` (optionally followed by ``:``) needs a symbol
  (``(c)``, ``©``, ``&copy;``) before or after it, or a year (or a bracketed
  template placeholder, ``<year>`` / ``[yyyy]``) right after it; after a symbol
  bare template words count as placeholders too (``Copyright (C) yyyy name of
  author``);
* a symbol alone needs a year right after it (so a ``(c)`` list bullet or a
  lone ``©`` does not fire);
* a statement without years needs a name-like holder (capitalised words:
  ``Copyright © Jens Jørgen Mortensen``, not ``copyright © notice which …``),
  and one that names neither years nor a holder is dropped;
* inside a DEP-5 ``Copyright:`` field (a ``Copyright:`` line at column 0 and
  its indented continuation lines) every line is its own statement. A line
  there that starts with a year (or symbol and year) counts anywhere; one
  without a year counts only when the document is recognisably DEP-5 (a
  ``Format: …copyright-format…`` or ``Files:`` line) and the line reads like
  names (at most eight words, mostly capitalised), until a `` .`` paragraph
  break or two prose lines in a row show that the field has turned into licence
  text (malformed files put a licence under ``Copyright:``). ``none`` /
  ``public-domain`` / ``unknown`` are not holders.

Years are four-digit 19xx/20xx numbers: ranges give their endpoints, lists each
year, sorted and unique; abbreviated ones (``1998-99``) and placeholders give
none. Years written after the holder (``(C) Copyright IBM Corp. 1999, 2004``)
count when none came before it.

The holder is the rest of the line after the years, up to the next statement on
the same line, cut before "All rights reserved", a comment closer, the end of
its sentence when prose follows (``Lawrence Rosen. Permission is granted …``)
or an unmatched closing quote or parenthesis of surrounding prose; then a
leading "by", symbol or separator and trailing punctuation (so ``Foo Inc.``
gives ``Foo Inc``) or a dangling "and"/"or" are stripped.

Templates count as statements: the SPDX ``MIT`` text's ``Copyright (c) <year>
<copyright holders>`` and Apache-2.0's appendix ``Copyright [yyyy] [name of
copyright owner]`` give a notice with that placeholder as holder and no years,
because a deliverable that carries the template line verbatim carries the
licence's boilerplate.

Statements do not span lines: when the holder is on the next line (``Copyright
(C) 1992, 1997,`` / ``2004 Free Software Foundation``) the notice has the years
and no holder.

Everything is done with compiled regular expressions over the whole text.
Repetitions that could otherwise backtrack use possessive quantifiers and atomic
groups (Python 3.11+), every variable-length piece is bounded by its line, and
the clean-up of a holder is a fixed number of linear string operations, so the
run time is linear in the text length even for one multi-megabyte line of junk.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass

from leakwatch.detect.base import Deliverable, Detector
from leakwatch.detect.scoring import stable_id
from leakwatch.model import Finding, FindingKind, Severity, Span

COPYRIGHT = "copyright"
SPDX_IDENTIFIER = "spdx-identifier"


@dataclass(frozen=True)
class Notice:
    """One copyright statement or SPDX identifier line.

    ``text[start:end]`` is the statement as written: from ``Copyright`` / the
    symbol / ``SPDX-License-Identifier`` (or, on a DEP-5 continuation line, its
    first character) to the end of the holder, or of the years when there is no
    holder, or of the licence expression. It excludes comment prefixes and
    closers, a trailing "All rights reserved" and trailing punctuation, so for a
    copyright statement with a holder the span ends with the holder exactly,
    except when the years come after the holder (``(C) Copyright IBM Corp.
    2004``), where it ends with the years.
    """

    kind: str  # COPYRIGHT or SPDX_IDENTIFIER
    start: int
    end: int
    holder: str | None
    years: tuple[int, ...]
    expression: str | None


# --- building blocks ---------------------------------------------------------------------------------------------

# Four-digit years only; the look-arounds keep "12019" or "2019300" from counting.
_YEAR = r"(?<!\d)(?:19|20)\d\d(?!\d)"
# Template placeholders (SPDX/GPL/Apache templates: "<year>", "[yyyy]") stand where years would.
_PLACEHOLDER = r"[<\[{][ \t]*(?:yyyy|years?|dates?)[ \t]*[>\]}]"
# After a symbol, unbracketed template words too ("Copyright (C) year name of author", GFDL's "Copyright (c) YEAR
# YOUR NAME"); not after a bare "Copyright", where "copyright year" is prose.
_BARE_PLACEHOLDER = r"(?:yyyy|19yy|19xx|20xx|year)\b"
# Abbreviated years ("1998-99", "1991-2", "1997,98,99") are consumed so they do not leak into the holder, but only
# four-digit years are reported.
_RANGE_END = r"(?:(?:19|20)\d\d(?!\d)|\d{1,2}(?!\d)|(?:present|now|today|current)\b)"
_RANGE = rf"(?:[ \t]*[-–—][ \t]*|[ \t]+(?:to|through)[ \t]+){_RANGE_END}"
_YEAR_ITEM = rf"(?:{_YEAR}(?:{_RANGE})?+|{_PLACEHOLDER})"
_YEAR_SEP = r"[ \t]*(?:,[ \t]*)?(?:(?:and|&)[ \t]+)?"
_SHORT_ITEM = r"[ \t]*,[ \t]*\d\d(?!\w)"
# Possessive/atomic: once a run of years is read it is never re-split, whatever follows.
_YEARS = rf"(?>{_YEAR_ITEM}(?:{_YEAR_SEP}{_YEAR_ITEM}|{_SHORT_ITEM})*+)"
_SYMBOL = r"(?:\(c\)|©|&copy;)"
_WORD = r"\bcopyright\b"

# Where another statement starts: the holder stops there so that "… Kim Woelders Copyright (C) 2004 Foo" or
# "Lawrence Rosen and Copyright (c) 2017 Nigel Tzeng" give two notices. The holder is a possessive run of characters
# that cannot start one, or that do but fail this look-ahead; the look-ahead is bounded, so the run stays linear.
_NEXT = rf"(?:{_WORD}[ \t]*:?[ \t]*(?:{_SYMBOL}|{_YEAR_ITEM})|{_SYMBOL}[ \t]*(?:{_WORD}|{_YEAR_ITEM}))"
_REST = rf"(?:[^\r\n(©&c]|(?!{_NEXT})[(©&c])*+"

# A copyright statement. Group names are shared by the master pattern and the standalone one, so one function
# reads both.
_STATEMENT = rf"""
    (?:
        # "(C) Copyright 1999 IBM Corp." / "(c) Copyright IBM Corp. 2004": the symbol comes first.
        (?P<pre>{_SYMBOL})[ \t]*{_WORD}[ \t]*:?[ \t]*(?:{_SYMBOL}[ \t]*)?
      | # "Copyright (c) 2020 X", "Copyright: © X": the symbol comes after the word (and optional colon) ...
        {_WORD}[ \t]*:?[ \t]*(?:{_SYMBOL}[ \t]*|(?={_YEAR_ITEM}))  # ... or else a year must follow
    )
    (?P<years>{_YEARS}|{_BARE_PLACEHOLDER})?
    (?P<rest>{_REST})
  | # "© 2021 ACME Ltd", "(c) 1989, 1991 The Regents": a bare symbol needs a year.
    {_SYMBOL}[ \t]*(?P<byears>{_YEARS})(?P<brest>{_REST})
"""

# An SPDX licence expression: idstrings, "+", WITH/AND/OR, parentheses, LicenseRef-/DocumentRef-…:…. A token must
# start with a letter, digit or "(" so that comment closers ("*/", "-->") end the expression.
_SPDX_TOKEN = r"[A-Za-z0-9(][A-Za-z0-9.+\-:()]*+"
_SPDX = rf"(?P<spdx>\bSPDX-License-Identifier)[ \t]*:[ \t]*(?P<expr>{_SPDX_TOKEN}(?:[ \t]+{_SPDX_TOKEN})*+)"

# A DEP-5 "Copyright:" field: the field line at column 0 plus its indented continuation lines.
_DEP5 = r"^(?P<dep5>copyright)[ \t]*:(?P<first>[^\r\n]*)(?P<cont>(?:\r?\n[ \t]+[^ \t\r\n][^\r\n]*)*+)"

_FLAGS = re.IGNORECASE | re.MULTILINE | re.VERBOSE
# SPDX first (its own keyword), then a DEP-5 field (only at column 0), then free-standing statements. The leading
# look-ahead on the possible first characters lets the engine skip ordinary text quickly (about 4x on prose).
_MASTER = re.compile(rf"(?=[sc(©&])(?:{_SPDX}|{_DEP5}|{_STATEMENT})", _FLAGS)
_STATEMENT_RE = re.compile(_STATEMENT, _FLAGS)
_CONT_LINE = re.compile(r"\n[ \t]+(?P<value>[^\r\n]*)")
# One value of a DEP-5 Copyright field with no ordinary statement in it: "2014-2018, Matthias Klumpp <…>",
# "(C) Markus Kuhn, 1995, 2001", "Portions Copyright IBM Corp. 1997,2002,2003", "Richard Hughes <…>".
_DEP5_VALUE = re.compile(
    rf"(?:portions[ \t]+)?(?P<lead>(?:{_WORD}[ \t]*:?[ \t]*)?(?:{_SYMBOL}[ \t]*,?[ \t]*)?)(?P<years>{_YEARS})?"
    r"(?P<rest>[^\r\n]*)",
    _FLAGS,
)
_DEP5_DOCUMENT = re.compile(r"^(?:Format:[^\r\n]*copyright-format|Files:)", re.IGNORECASE | re.MULTILINE)
_YEAR_RE = re.compile(_YEAR)
# Years written after the holder ("IBM Corp. 1999, 2004"); only looked for when none came first, and only in a
# bounded tail of the holder so a long line costs no more than that window.
_TRAILING_YEARS = re.compile(rf"[ \t,]+(?P<years>{_YEARS})\Z", _FLAGS)
_TRAILING_WINDOW = 120
# "All Rights" alone too: the phrase wraps ("Thomas G. Lane.  All Rights" / "Reserved.").
_ALL_RIGHTS = re.compile(r"\ball[ \t]+rights\b", re.IGNORECASE)
# The holder ends with its sentence when prose follows on the same line ("Lawrence Rosen. Permission is granted",
# "Foo Corp. You may use it"): a full stop or semicolon, then a capitalised word and a lower-case one. Initials
# ("Rickard E. Faith and …"), "Inc. or its affiliates" and addresses ("Inc. 51 Franklin St") do not match.
_SENTENCE_END = re.compile(r"(?<!\b[A-Z])[.;!?][ \t\xa0]+(?=[A-Z][a-z]+[ \t\xa0]+[a-z])")
_COMMENT_CLOSERS = ("*/", "-->")
# Extracted web pages and PDFs join a footer's fields on one line ("Rodale Press Inc.   -0-   Visit ...",
# "Netscape  |  visit our"): a wide gap or a bar ends the holder, and no holder runs past a long name's length.
_FIELD_GAP = re.compile(r"[ \t\xa0]{3,}|[ \t\xa0]\|[ \t\xa0]|[ \t\xa0]-{2,}")
_MAX_HOLDER_CHARS = 100
_LEADING_BY = re.compile(r"by\b", re.IGNORECASE)
_DANGLING = re.compile(r"[ \t,]+(?:and|or|&)\Z", re.IGNORECASE)
_LEADING_SYMBOL = re.compile(_SYMBOL, re.IGNORECASE)
# DEP-5 values that say there is no holder.
_NO_HOLDER = re.compile(
    r"(?:none\b|no[ \t]+copyright|not[ \t]+copyright|n/a\b|unknown\b|unspecified\b|public[- \t]*domain)", re.IGNORECASE
)
# Every character str.isspace() accepts except "\r\n" (holders never contain those): form feeds and the like
# occur in extracted text.
_SPACES = " \t\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"
_SPACES += "".join(map(chr, range(0x2000, 0x200B)))  # en quad … hair space
# One character set each, stripped in one pass: alternating strips would copy the string once per run.
_LEADING_JUNK = _SPACES + ",:;.-–—"
# Trailing punctuation and comment-box decoration; ">", ")" and "]" stay (emails, placeholders, "(ALSA)").
_TRAILING_JUNK = _SPACES + ".,;:*#|=-"
# A name-like DEP-5 value has few words, most of them capitalised or connectors ("Daniel Kahn Gillmor",
# "Debian Cyrus SASL Team", "(Royal Institute of Technology, Stockholm, Sweden)"); licence prose does not.
_WORD_RE = re.compile(r"[^\W\d_][\w'’-]*")
_CONNECTORS = frozenset(
    ("and", "of", "the", "for", "by", "de", "da", "di", "du", "del", "der", "den", "van", "von", "la", "le", "y", "i",
     "et", "al", "team", "authors", "contributors", "developers", "project", "foundation", "community", "others")
)
_MAX_NAME_WORDS = 8
# E-mail addresses and URLs say nothing about whether a line is names or prose ("<rra@debian.org>").
_ADDRESSES = re.compile(r"<[^<>\s]*>|\S*@\S*|\w+://\S*")


# --- helpers ------------------------------------------------------------------------------------------------------


def _years(text: str, start: int, end: int) -> tuple[int, ...]:
    """Sorted unique four-digit years in ``text[start:end]`` (range endpoints only, placeholders none)."""
    if start < 0:
        return ()
    return tuple(sorted({int(y) for y in _YEAR_RE.findall(text, start, end)}))


def _clean_holder(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The holder's offsets within ``text[start:end]`` (the rest of the line after the years), or None.

    Cuts "All rights reserved", the end of a sentence and comment closers with whatever follows them; strips
    separators, a leading symbol ("2007 (C) Michael Kerrisk") and a leading "by"; strips trailing punctuation.
    Works on offsets so the caller's span stays in the original text.
    """
    segment = text[start:end]
    cut = len(segment)
    for ending in (_ALL_RIGHTS, _SENTENCE_END, _FIELD_GAP):
        found = ending.search(segment, 0, cut)
        if found:
            cut = found.start()
    for closer in _COMMENT_CLOSERS:
        at = segment.find(closer, 0, cut)
        if at >= 0:
            cut = at
    # A statement quoted or parenthesised in prose ('… "Copyright (c) 1991 iMatix Corporation." …', "(… copyright
    # 1988 Richard M. Stallman)") leaves the closing mark unmatched in the holder: cut there.
    for opening, closing in (('"', '"'), ("“", "”"), ("(", ")")):
        at = segment.find(closing, 0, cut)
        if at < 0:
            continue
        if (segment.count(closing, 0, cut) % 2 == 1) if opening == closing else (segment.find(opening, 0, at) < 0):
            cut = at
    if cut > _MAX_HOLDER_CHARS:
        # At the last word boundary within the limit: a holder is a name, not a paragraph.
        space = segment.rfind(" ", 0, _MAX_HOLDER_CHARS)
        cut = space if space > 0 else _MAX_HOLDER_CHARS
    head = segment[:cut]
    stripped = head.lstrip(_LEADING_JUNK)
    for prefix in (_LEADING_SYMBOL, _LEADING_BY):
        found = prefix.match(stripped)
        if found:
            stripped = stripped[found.end():].lstrip(_LEADING_JUNK)
    lo = len(head) - len(stripped)
    stripped = stripped.rstrip(_TRAILING_JUNK)
    # A holder list cut at the next statement or wrapped onto the next line ends with its conjunction.
    dangling = _DANGLING.search(stripped, max(0, len(stripped) - 8))
    if dangling:
        stripped = stripped[:dangling.start()].rstrip(_TRAILING_JUNK)
    hi = lo + len(stripped)
    if hi <= lo:
        return None
    return start + lo, start + hi


def _holder_and_years(
    text: str, years_span: tuple[int, int], rest_span: tuple[int, int]
) -> tuple[tuple[int, int] | None, tuple[int, ...], int]:
    """(holder span or None, years, end of the statement or -1) from the years group and the rest of the line."""
    years = _years(text, *years_span)
    end = years_span[1] if years_span[0] >= 0 else -1
    holder = _clean_holder(text, *rest_span)
    if holder is not None and years_span[0] < 0:
        h_start, h_end = holder
        trailing = _TRAILING_YEARS.search(text, max(h_start, h_end - _TRAILING_WINDOW), h_end)
        if trailing:
            years = _years(text, *trailing.span("years"))
            end = trailing.end("years")
            holder = _clean_holder(text, h_start, trailing.start())
    if holder is not None:
        end = max(end, holder[1])
    return holder, years, end


def _statement(text: str, m: re.Match[str]) -> Notice | None:
    """A copyright notice from a match of the statement pattern, or None when it names neither years nor holder."""
    if m.group("byears") is not None:
        years_span, rest_span = m.span("byears"), m.span("brest")
    else:
        years_span, rest_span = m.span("years"), m.span("rest")
    holder, years, end = _holder_and_years(text, years_span, rest_span)
    if years_span[0] < 0 and not years and holder is not None and not _holder_like(text, *holder):
        holder = None  # "Copyright (c) , …" or "copyright © notice which appears …": no holder named
    if holder is None and not years:
        return None  # "Copyright (c)" with nothing after it, or only a placeholder: names neither years nor holder
    return Notice(COPYRIGHT, m.start(), end, _text(text, holder), years, None)


def _text(text: str, span: tuple[int, int] | None) -> str | None:
    return text[span[0]:span[1]] if span is not None else None


def _holder_like(text: str, start: int, end: int) -> bool:
    """Whether a holder given without years reads like one ("Jens Jørgen Mortensen", "<copyright holders>")."""
    first = text[start]
    if first in "<[":
        return True  # a template placeholder
    if not (first.isupper() or first.isdigit() or first in "(\"'"):
        return False
    # Only the first words are read, so a long holder list costs no more than a short one.
    return _looks_like_names(text[start:min(end, start + 200)], max_words=None)


def _looks_like_names(value: str, max_words: int | None = _MAX_NAME_WORDS) -> bool:
    """Whether a value without years reads like holder names rather than prose: most words capitalised.

    With ``max_words`` a longer value is prose (DEP-5 lines); without it only the first words are read.
    """
    words = _WORD_RE.findall(_ADDRESSES.sub(" ", value))
    if not words or (max_words is not None and len(words) > max_words):
        return False
    words = words[:_MAX_NAME_WORDS]
    lower = sum(1 for w in words if w[0].islower() and w.lower() not in _CONNECTORS)
    return lower * 2 <= len(words)


def _dep5_field(text: str, m: re.Match[str], dep5: bool, budget: int) -> list[Notice]:
    """Each line of a DEP-5 ``Copyright:`` field as its own notice; at most about ``budget`` of them."""
    out: list[Notice] = []
    # (where the search for an ordinary statement starts, where the line ends) for the field line (searched from
    # the word "Copyright", so "Copyright: 2009 X" is one statement) and each continuation line; lazily, so a huge
    # field stops being read once the budget is spent.
    lines = itertools.chain(
        [(m.start("dep5"), m.end("first"))],
        (cont.span("value") for cont in _CONT_LINE.finditer(text, m.start("cont"), m.end("cont"))),
    )
    # Lines without years are holders only in DEP-5 files, and only until the field turns into licence text (a
    # paragraph break, or two prose lines in a row: malformed files put a licence under "Copyright:").
    names_allowed = dep5
    prose_lines = 0
    for index, (line_start, line_end) in enumerate(lines):
        if len(out) >= budget:
            break
        found = [n for s in _STATEMENT_RE.finditer(text, line_start, line_end) if (n := _statement(text, s))]
        if found:
            out.extend(found)
            prose_lines = 0
            continue
        value_start = m.start("first") if index == 0 else line_start  # after "Copyright:" on the field line
        raw = text[value_start:line_end]
        value = raw.strip()
        if not value:
            continue
        if value == ".":
            names_allowed = False
            continue
        if not names_allowed and _YEAR_RE.search(text, value_start, line_end) is None:
            continue  # cheap skip: without a year such a line cannot count any more
        v = _DEP5_VALUE.match(text, line_end - len(raw.lstrip()), line_end)
        if v is None:  # pragma: no cover - the pattern matches the empty string
            continue
        holder, years, end = _holder_and_years(text, v.span("years"), v.span("rest"))
        if v.start("years") < 0 and not years:
            if holder is None:
                continue
            holder_text = text[holder[0]:holder[1]]
            if _NO_HOLDER.match(holder_text):
                continue
            if not (names_allowed and _looks_like_names(holder_text)):
                prose_lines += 1
                names_allowed = names_allowed and prose_lines < 2
                continue
        prose_lines = 0
        start = m.start("dep5") if index == 0 else v.start("lead")
        out.append(Notice(COPYRIGHT, start, end, _text(text, holder), years, None))
    return out


# --- public API ---------------------------------------------------------------------------------------------------


def find_notices(text: str, max_notices: int = 1000) -> list[Notice]:
    """Copyright statements and SPDX identifier lines in ``text``, in text order, at most ``max_notices``.

    Offsets index ``text`` itself (Python ``str`` indices, end exclusive); ``\\r\\n`` line endings are fine.
    """
    if max_notices <= 0:
        return []
    out: list[Notice] = []
    dep5: bool | None = None  # decided once, on the first DEP-5 field, by one search over the text
    for m in _MASTER.finditer(text):
        if m.group("spdx") is not None:
            expression = m.group("expr").rstrip(".:")
            if expression:
                end = m.start("expr") + len(expression)
                out.append(Notice(SPDX_IDENTIFIER, m.start("spdx"), end, None, (), expression))
        elif m.group("dep5") is not None:
            if dep5 is None:
                dep5 = _DEP5_DOCUMENT.search(text) is not None
            out.extend(_dep5_field(text, m, dep5, max_notices - len(out)))
        else:
            notice = _statement(text, m)
            if notice is not None:
                out.append(notice)
        if len(out) >= max_notices:
            return out[:max_notices]
    return out


# --- the detector ---------------------------------------------------------------------------

COPYRIGHT_NOTICE = FindingKind(
    "copyright-notice", "CopyrightNotice", "A copyright notice or SPDX licence identifier",
    "The deliverable carries a copyright statement or an SPDX identifier line, naming whose material it holds "
    "and under which licence.", Severity.LOW)


def notice_info(n: Notice) -> dict[str, object]:
    """The ``notice`` object of a finding."""
    return {"type": n.kind, "holder": n.holder, "years": list(n.years), "expression": n.expression}


class NoticeDetector(Detector):
    """``copyright-notice`` findings: copyright statements and SPDX identifier lines.

    Low severity: a notice is not a leak by itself, but it names whose material a
    deliverable carries and under which licence, which is what the lawyers ask.
    """

    name = "notices"
    kinds = (COPYRIGHT_NOTICE,)

    def __init__(self, max_notices: int = 1000) -> None:
        self.max_notices = max_notices

    def detect(self, deliverable: Deliverable) -> list[Finding]:
        extracted = deliverable.extracted
        findings: list[Finding] = []
        seen: Counter[tuple[str, str]] = Counter()
        for n in find_notices(extracted.text, self.max_notices):
            what = (n.kind, n.expression or n.holder or ",".join(map(str, n.years)))
            seen[what] += 1
            findings.append(Finding(
                # Identity: what the notice says (holder or expression) and its occurrence,
                # not where it is, so an edit elsewhere in the file keeps the id.
                id=stable_id(COPYRIGHT_NOTICE.id, *what, str(seen[what]), deliverable.path),
                kind=COPYRIGHT_NOTICE.id,
                severity=Severity.LOW,
                deliverable_path=deliverable.path,
                deliverable_sha256=deliverable.sha256,
                deliverable_span=Span(n.start, n.end, extracted.page_of(n.start)),
                source=None,
                scores=None,
                deliverable_format=extracted.format,
                deliverable_encoding=extracted.encoding,
                extra={"notice": notice_info(n)},
            ))
        return findings
