"""Canonical cell values: the same value written two ways hashes the same.

Registered tables (``leakwatch index add-table``) are matched value by value, not
by word shingles: a client's name, account number and price are found in a
deliverable whatever order, case or number format they are written in. Every
value is reduced to one canonical form before it is hashed:

* **text**: its words, as the tokenizer normalizes them (NFKC, case-folded), so
  case, punctuation and whitespace never matter ("ACME Ltd." = "Acme  Ltd");
* **numbers**: the decimal value, without grouping, currency sign, sign or
  trailing zeros ("$1,234.50" = "1234.5" = "(1,234.50)"; a percentage is also its
  fraction, "12.5%" = 0.125), rounded to 15 significant digits as a spreadsheet
  stores them;
* **dates**: ISO ``YYYY-MM-DD`` ("5 March 2024" = "2024-03-05" = "03/05/2024");
  an ambiguous ``03/05/2024`` in a deliverable is tried both ways.

A deliverable is read the same way: every run of 1..L words (the lengths that
registered text values have), every number and every date becomes a candidate
value with its character span. Only keyed hashes of these values are ever stored
or compared (see :mod:`leakwatch.records.tables`).
"""

from __future__ import annotations

import csv
import enum
import hashlib
import re
from dataclasses import dataclass
from datetime import date
from decimal import Context, Decimal

import numpy as np

from leakwatch.fingerprint import fmix64
from leakwatch.text import Tokens, stop_ids, tokenize

_ROLL = np.uint64(0xA24B_AED4_963E_E407)
_TEXT_SEED = np.uint64(0x7465_7874_6365_6C6C)  # "textcell"
# Spreadsheets keep 15 significant digits; more are binary-float noise (0.1 + 0.2).
_DECIMALS = Context(prec=15)


class Weight(enum.IntEnum):
    """What a value may do in a match."""

    IGNORED = 0  # too short to mean anything ("Y", "1")
    CORROBORATES = 1  # counts beside a distinctive value (a date, "12", a country)
    ANCHORS = 2  # distinctive enough to start a match (a name, an account number)


@dataclass(frozen=True)
class CellValue:
    """The canonical form of one cell: its unkeyed 64-bit hash and its weight."""

    hash: int
    weight: Weight
    words: int  # words of a text value (0 for numbers and dates)


# --- numbers --------------------------------------------------------------------------------

_CURRENCY = "$€£¥"
_NUMBER_CELL = re.compile(
    r"\s*[-+−(]?\s*[" + _CURRENCY + r"]?\s*(?P<int>\d{1,3}(?:,\d{3})+|\d*)(?:\.(?P<frac>\d+))?\s*(?P<pct>%?)\s*\)?\s*"
)
# In running text: not glued to a word or to another number ("3.5.1", "A123").
_NUMBER_TEXT = re.compile(
    r"(?<![\w.,])[" + _CURRENCY + r"]?(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?(?P<pct>%?)(?![\w]|[.,]\d)"
)


def canonical_number(int_part: str, frac: str | None) -> str:
    """"1,234.50" -> "1234.5"; "0.30000000000000004" -> "0.3"; "007" -> "7"."""
    digits = (int_part or "0").replace(",", "") + ("." + frac if frac else "")
    value = _DECIMALS.create_decimal(Decimal(digits)).normalize()
    return "0" if value.is_zero() else format(value, "f")


def _scaled(canon: str, divisor: int) -> str:
    return canonical_number(*_split(format(_DECIMALS.divide(Decimal(canon), Decimal(divisor)), "f")))


def _split(canon: str) -> tuple[str, str | None]:
    whole, _, frac = canon.partition(".")
    return whole, frac or None


def significant_digits(canon: str) -> int:
    """Digits that carry information: "1234.5" has 5, "1200" has 2, "0.05" has 1."""
    return len(canon.replace(".", "").strip("0"))


def _number_weight(canon: str) -> Weight:
    sig = significant_digits(canon)
    if sig >= 4:
        return Weight.ANCHORS
    return Weight.CORROBORATES if sig >= 2 else Weight.IGNORED


# --- dates ----------------------------------------------------------------------------------

_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4, "may": 5,
    "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9,
    "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}
_MONTH = "(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?:\d{1,2})(?:st|nd|rd|th)?"
_DATE = re.compile(
    r"(?<![\w.])(?:"
    r"(?P<iy>\d{4})[-/.](?P<im>\d{1,2})[-/.](?P<id>\d{1,2})"  # 2024-03-05
    r"|(?P<na>\d{1,2})[/.-](?P<nb>\d{1,2})[/.-](?P<ny>\d{4}|\d{2})"  # 05/03/2024 (either order)
    r"|(?P<dd>" + _DAY + r")(?:\s+of)?[\s-]+(?P<dm>" + _MONTH + r"),?[\s-]+(?P<dy>\d{4}|\d{2})"  # 5 March 2024
    r"|(?P<mm>" + _MONTH + r")[\s-]+(?P<md>" + _DAY + r"),?\s+(?P<my>\d{4})"  # March 5, 2024
    r")(?![\w]|[.,]\d)",
    re.IGNORECASE,
)
_TIME_SUFFIX = re.compile(r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*")


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:  # spreadsheet convention: 00-29 is 2000-2029, 30-99 is 1930-1999
        year += 2000 if year < 30 else 1900
    return year


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _day(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def _month(text: str) -> int:
    return _MONTHS[text.rstrip(".").lower()]


def date_readings(m: re.Match[str], day_first: bool | None = None) -> list[str]:
    """ISO dates a date match can mean: one, or two for an ambiguous ``03/05/2024``
    (``day_first`` None: both readings; True or False: that one, when valid)."""
    g = m.groupdict()
    if g["iy"]:
        found = [_iso(int(g["iy"]), int(g["im"]), int(g["id"]))]
    elif g["na"]:
        a, b, y = int(g["na"]), int(g["nb"]), _year(g["ny"])
        month_first, day_first_reading = _iso(y, a, b), _iso(y, b, a)
        if day_first is None:
            found = [month_first, day_first_reading]
        else:
            preferred, other = (day_first_reading, month_first) if day_first else (month_first, day_first_reading)
            found = [preferred or other]
    elif g["dd"]:
        found = [_iso(_year(g["dy"]), _month(g["dm"]), _day(g["dd"]))]
    else:
        found = [_iso(int(g["my"]), _month(g["mm"]), _day(g["md"]))]
    return list(dict.fromkeys(d for d in found if d is not None))


# --- hashing --------------------------------------------------------------------------------

def value_hash(kind: str, canon: str) -> int:
    """Unkeyed 64-bit hash of a canonical number or date (kept in memory only)."""
    return int.from_bytes(hashlib.blake2b(canon.encode("ascii"), digest_size=8, person=kind.encode()).digest(),
                          "little")


def text_hashes(ids: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Hash of each run of ``lengths[i]`` word ids starting at ``starts[i]``.

    The length is part of the hash, so a value never equals its own prefix. All runs
    advance together, one word position per step: no loop per value.
    """
    h = _TEXT_SEED + lengths.astype(np.uint64)
    with np.errstate(over="ignore"):
        for j in range(int(lengths.max()) if lengths.size else 0):
            live = lengths > j
            h[live] = h[live] * _ROLL + ids[starts[live] + j]
        return fmix64(h)


@dataclass(frozen=True)
class CanonicalCells:
    """Canonical values of a list of cells, as parallel arrays."""

    hashes: np.ndarray  # uint64 unkeyed value hash (meaningful where ``present``)
    weights: np.ndarray  # int8 Weight
    words: np.ndarray  # int32 words of a text value, 0 for numbers and dates
    present: np.ndarray  # bool: the cell holds a value (not empty, not prose)


def canonical_values(values: list[str], max_words: int, day_first: bool = False) -> CanonicalCells:
    """The canonical value of every cell; empty cells and prose longer than
    ``max_words`` words have none.

    Numbers and dates are recognised cell by cell; text cells are tokenized together
    (one pass over the column) and hashed and weighed as arrays.
    """
    n = len(values)
    out = CanonicalCells(np.zeros(n, dtype=np.uint64), np.zeros(n, dtype=np.int8), np.zeros(n, dtype=np.int32),
                         np.zeros(n, dtype=bool))
    texts: list[int] = []
    for i, raw in enumerate(values):
        value = raw.strip()
        if not value:
            continue
        number = _NUMBER_CELL.fullmatch(value)
        if number is not None and (number["int"] or number["frac"]):
            canon = canonical_number(number["int"], number["frac"])
            if number["pct"]:
                canon = _scaled(canon, 100)
            out.hashes[i], out.weights[i], out.present[i] = value_hash("num", canon), _number_weight(canon), True
            continue
        when = _DATE.match(value)
        if when is not None and _TIME_SUFFIX.fullmatch(value, when.end()):
            readings = date_readings(when, day_first)
            if readings:
                out.hashes[i], out.weights[i] = value_hash("date", readings[0]), Weight.CORROBORATES
                out.present[i] = True
                continue
        texts.append(i)
    if texts:
        _text_cells(values, np.asarray(texts, dtype=np.int64), max_words, out)
    return out


def canonical_cells(values: list[str], max_words: int, day_first: bool = False) -> list[CellValue | None]:
    """:func:`canonical_values` as one :class:`CellValue` (or None) per cell."""
    found = canonical_values(values, max_words, day_first)
    return [CellValue(int(h), Weight(int(w)), int(n)) if p else None
            for h, w, n, p in zip(found.hashes, found.weights, found.words, found.present, strict=True)]


def _text_cells(values: list[str], which: np.ndarray, max_words: int, out: CanonicalCells) -> None:
    # One text, cells separated by a newline (never part of a word): words keep the
    # tokenizer's exact normalization, and each cell's words are a contiguous run.
    sizes = np.asarray([len(values[i]) for i in which.tolist()], dtype=np.int64)
    tokens = tokenize("\n".join(values[i] for i in which.tolist()))
    cell_starts = np.cumsum(sizes + 1) - (sizes + 1)
    first = np.searchsorted(tokens.starts, cell_starts, side="left")
    last = np.searchsorted(tokens.starts, cell_starts + sizes, side="left")
    counts = last - first
    usable = (counts > 0) & (counts <= max_words)
    first, counts, cells = first[usable], counts[usable], which[usable]
    if cells.size == 0:
        return
    chars = np.concatenate([[0], np.cumsum(tokens.ends - tokens.starts)])
    n_chars = chars[first + counts] - chars[first]
    lone_stop = (counts == 1) & np.isin(tokens.ids[first], stop_ids())
    weights = np.where(n_chars >= 4, Weight.ANCHORS, np.where(n_chars >= 2, Weight.CORROBORATES, Weight.IGNORED))
    weights[lone_stop] = Weight.IGNORED
    out.hashes[cells] = text_hashes(tokens.ids, first, counts)
    out.weights[cells] = weights
    out.words[cells] = counts
    out.present[cells] = True


# --- candidates in a deliverable --------------------------------------------------------------

@dataclass(frozen=True)
class Candidates:
    """Every value a text could be quoting, with its span (unkeyed hashes)."""

    hashes: np.ndarray  # uint64
    starts: np.ndarray  # int64 character offsets
    ends: np.ndarray

    def __len__(self) -> int:
        return int(self.hashes.shape[0])


def candidate_values(text: str, tokens: Tokens, lengths: tuple[int, ...]) -> Candidates:
    """Word runs of the given lengths, numbers and dates found in ``text``."""
    parts_h: list[np.ndarray] = []
    parts_s: list[np.ndarray] = []
    parts_e: list[np.ndarray] = []
    n = len(tokens)
    for length in lengths:
        count = n - length + 1
        if count <= 0:
            continue
        starts = np.arange(count, dtype=np.int64)
        parts_h.append(text_hashes(tokens.ids, starts, np.full(count, length, dtype=np.int64)))
        parts_s.append(tokens.starts[:count])
        parts_e.append(tokens.ends[length - 1 :])
    found: list[tuple[int, int, int]] = []
    for m in _NUMBER_TEXT.finditer(text):
        canon = canonical_number(m["int"], m["frac"])
        found.append((value_hash("num", canon), m.start(), m.end()))
        if m["pct"]:
            found.append((value_hash("num", _scaled(canon, 100)), m.start(), m.end()))
    for m in _DATE.finditer(text):
        found.extend((value_hash("date", iso), m.start(), m.end()) for iso in date_readings(m))
    if found:
        arr = np.asarray(found, dtype=np.uint64).reshape(-1, 3)
        parts_h.append(arr[:, 0])
        parts_s.append(arr[:, 1].astype(np.int64))
        parts_e.append(arr[:, 2].astype(np.int64))
    if not parts_h:
        empty = np.zeros(0, dtype=np.int64)
        return Candidates(np.zeros(0, dtype=np.uint64), empty, empty.copy())
    return Candidates(np.concatenate(parts_h).astype(np.uint64), np.concatenate(parts_s), np.concatenate(parts_e))


def sniff_delimiter(text: str, hint: str = ",") -> str:
    """The delimiter of a CSV-like text: the candidate that splits the most of its first
    lines into the same number (above one) of fields. csv.Sniffer guesses from character
    frequencies and often takes a letter or a space; consistency across lines is what a
    delimiter has and other characters lack."""
    lines = [line for line in text[:65536].splitlines()[:50] if line.strip()]
    best, best_score = hint, 0
    for delimiter in dict.fromkeys((hint, ",", ";", "\t", "|")):
        widths = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if not widths:
            continue
        common = max(set(widths), key=widths.count)
        score = widths.count(common) if common > 1 else 0
        if score > best_score:
            best, best_score = delimiter, score
    return best


def csv_rows(text: str, hint: str = ",") -> list[list[str]]:
    """The rows of a CSV/TSV text, in its own delimiter and quoting."""
    delimiter = sniff_delimiter(text, hint)
    try:
        return list(csv.reader(text.splitlines(), delimiter=delimiter))
    except csv.Error:  # a field too large or a stray NUL: split plainly rather than fail
        return [line.split(delimiter) for line in text.splitlines()]


def spreadsheet_cells(text: str, fmt: str) -> list[str]:
    """The cell values of a spreadsheet deliverable's text: an XLSX's extracted rows
    (cells joined with tabs) or a CSV/TSV file (its own quoting and delimiter)."""
    if fmt == "xlsx":
        return [cell for line in text.split("\n") for cell in line.split("\t")]
    return [cell for row in csv_rows(text) for cell in row]
