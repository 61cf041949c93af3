"""XLSX: cell values row by row, one page per worksheet, in workbook order.

A row is its non-empty cell values joined with tabs; rows are lines. Sheets are
streamed (iterparse, rows dropped once read) so memory stays flat on big sheets.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from leakwatch.config import ExtractLimits
from leakwatch.extract.base import Extractor
from leakwatch.extract.ooxml import (
    NS_PACKAGE_RELS,
    NS_RELATIONSHIPS,
    NS_SHEET,
    TextBudget,
    guarded,
    iterparse_xml,
    join_pages,
    numbered_parts,
    open_package,
    parse_xml,
    qnames,
    read_member,
)
from leakwatch.model import ExtractedText, ExtractionError, Status

MAIN_PART = "xl/workbook.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
DEFAULT_SHARED_STRINGS = "xl/sharedStrings.xml"
DEFAULT_STYLES = "xl/styles.xml"
WORKSHEET_PREFIX = "xl/worksheets/sheet"

_SHEET = qnames(NS_SHEET, "sheet")
_SHEET_DATA = qnames(NS_SHEET, "sheetData")
_ROW = qnames(NS_SHEET, "row")
_CELL = qnames(NS_SHEET, "c")
_VALUE = qnames(NS_SHEET, "v")
_INLINE = qnames(NS_SHEET, "is")
_STRING_ITEM = qnames(NS_SHEET, "si")
_TEXT = qnames(NS_SHEET, "t")
_RUN = qnames(NS_SHEET, "r")
_RELATIONSHIP = qnames(NS_PACKAGE_RELS, "Relationship")
_REL_ID_ATTRS = tuple(f"{{{ns}}}id" for ns in NS_RELATIONSHIPS)

_BOOLEANS = {"0": "FALSE", "1": "TRUE"}
_NUM_FMT = qnames(NS_SHEET, "numFmt")
_CELL_XFS = qnames(NS_SHEET, "cellXfs")
_XF = qnames(NS_SHEET, "xf")
_WORKBOOK_PR = qnames(NS_SHEET, "workbookPr")
# Built-in number formats that show a date (14-17, 22 and the East Asian ones) or only
# a time (18-21, 45-47); ECMA-376 part 1, 18.8.30.
_BUILTIN_DATES = frozenset({14, 15, 16, 17, 22, *range(27, 37), *range(50, 59)})
_BUILTIN_TIMES = frozenset({18, 19, 20, 21, 45, 46, 47})
# A format code shows a date when a d/m/y token is left once quoted text, escapes and
# [colour]/[$-locale] sections are removed ("mm" alone is minutes only beside h or s).
_FORMAT_NOISE = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')
_EXCEL_EPOCH = datetime(1899, 12, 30)  # serial 1 = 1900-01-01 (after Excel's 1900 leap-day bug)
_EXCEL_1904_EPOCH = datetime(1904, 1, 1)


@dataclass(frozen=True)
class CellStyles:
    """What a workbook says about showing numbers: which cell styles are dates or times."""

    dates: frozenset[int] = field(default_factory=frozenset)
    times: frozenset[int] = field(default_factory=frozenset)
    epoch: datetime = _EXCEL_EPOCH


def _format_kind(code: str) -> str | None:
    bare = _FORMAT_NOISE.sub("", code).lower()
    if "y" in bare or "d" in bare or ("m" in bare and "h" not in bare and "s" not in bare and bare.strip() != "m"):
        return "date" if "general" not in bare else None
    if "h" in bare or "s" in bare:
        return "time"
    return None


def read_styles(xml: bytes, part: str, workbook: bytes | None) -> CellStyles:
    """Date and time cell styles from ``styles.xml`` (and the 1904 date system from the workbook)."""
    custom: dict[int, str] = {}
    kinds: list[str | None] = []
    in_xfs = False
    for event, element in iterparse_xml(xml, part, ("start", "end")):
        if element.tag in _CELL_XFS:
            in_xfs = event == "start"
        elif event == "end" and element.tag in _NUM_FMT:
            code_id = element.get("numFmtId", "")
            if code_id.isdigit():
                custom[int(code_id)] = element.get("formatCode", "")
        elif event == "end" and in_xfs and element.tag in _XF:
            try:
                fmt = int(element.get("numFmtId", "0"))
            except ValueError:
                fmt = 0
            if fmt in custom:
                kinds.append(_format_kind(custom[fmt]))
            else:
                kinds.append("date" if fmt in _BUILTIN_DATES else "time" if fmt in _BUILTIN_TIMES else None)
    epoch = _EXCEL_EPOCH
    if workbook is not None:
        for element in parse_xml(workbook, MAIN_PART).iter():
            if element.tag in _WORKBOOK_PR and element.get("date1904", "").lower() in ("1", "true"):
                epoch = _EXCEL_1904_EPOCH
    return CellStyles(frozenset(i for i, k in enumerate(kinds) if k == "date"),
                      frozenset(i for i, k in enumerate(kinds) if k == "time"), epoch)


def shown_date(value: str, style: int, styles: CellStyles) -> str:
    """A date or time cell as ISO text ("2024-03-05", "2024-03-05 14:30:00", "14:30:00"),
    which is how prose and CSV files write it; the serial number when it is not one."""
    try:
        serial = float(value)
        moment = styles.epoch + timedelta(days=serial)
    except (ValueError, OverflowError):
        return value
    moment = moment.replace(microsecond=0) + timedelta(seconds=round(moment.microsecond / 1e6))
    if style in styles.times:
        return moment.strftime("%H:%M:%S")
    if moment.hour or moment.minute or moment.second:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.strftime("%Y-%m-%d")


def string_item_text(item: Element) -> str:
    """Text of a string item (``si`` or ``is``): its ``t``, or its runs' ``t``.

    Phonetic runs (``rPh``, furigana) are reading aids, not cell text, and are left out.
    """
    parts: list[str] = []
    for child in item:
        if child.tag in _TEXT:
            parts.append(child.text or "")
        elif child.tag in _RUN:
            parts.extend(t.text or "" for t in child if t.tag in _TEXT)
    return "".join(parts)


def _drop(container: Element | None, element: Element) -> None:
    """Forget a streamed element once read, so the tree never grows."""
    element.clear()
    if container is not None and len(container) and container[0] is element:
        del container[0]


def read_shared_strings(xml: bytes, part: str) -> list[str]:
    """The shared string table, in index order."""
    strings: list[str] = []
    table: Element | None = None
    for event, element in iterparse_xml(xml, part, ("start", "end")):
        if event == "start":
            if table is None:
                table = element
        elif element.tag in _STRING_ITEM:
            strings.append(string_item_text(element))
            _drop(table, element)
    return strings


def cell_value(cell: Element, shared: list[str], styles: CellStyles | None = None) -> str:
    """The text a cell shows, by its type (``t`` attribute); formulas give their
    cached result.

    Raises:
        ExtractionError: ``parse-error`` for a shared-string reference that is not
            an index into the table.
    """
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        return "".join(string_item_text(child) for child in cell if child.tag in _INLINE)
    value = next((child.text or "" for child in cell if child.tag in _VALUE), "")
    if kind == "s":
        try:
            return shared[int(value)]
        except (ValueError, IndexError):
            raise ExtractionError(
                Status.PARSE_ERROR, f"cell {cell.get('r', '?')} refers to missing shared string {value!r}"
            ) from None
    if kind == "b":
        return _BOOLEANS.get(value.strip(), value)
    if styles is not None and kind == "n" and value:
        style = cell.get("s")
        if style is not None and style.isdigit() and (int(style) in styles.dates or int(style) in styles.times):
            return shown_date(value, int(style), styles)
    return value


def sheet_cells(xml: bytes, part: str, shared: list[str], budget: TextBudget,
                styles: CellStyles | None = None) -> Iterator[dict[int, str]]:
    """Each row of a worksheet with any value, as its non-empty values by 0-based column,
    streamed (a row is dropped once read, so memory stays flat)."""
    cells: dict[int, str] = {}
    sheet_data: Element | None = None
    for event, element in iterparse_xml(xml, part, ("start", "end")):
        tag = element.tag
        if event == "start":
            if tag in _SHEET_DATA:
                sheet_data = element
        elif tag in _CELL:
            value = cell_value(element, shared, styles)
            column = _column_index(element.get("r"), max(cells, default=-1) + 1)
            if column in cells:  # a repeated reference: keep both values, never drop text
                column = max(cells) + 1
            if value:
                cells[column] = budget.add(value)
        elif tag in _ROW:
            if cells:
                yield cells
                cells = {}
            _drop(sheet_data, element)


def sheet_rows(xml: bytes, part: str, shared: list[str], budget: TextBudget,
               styles: CellStyles | None = None) -> list[str]:
    """One line per row with any value: the non-empty cell values joined with tabs."""
    rows: list[str] = []
    for cells in sheet_cells(xml, part, shared, budget, styles):
        rows.append("\t".join(cells.values()))
        budget.charge(len(cells))  # the tabs and the newline
    return rows


def _relationship_targets(xml: bytes) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, part name) for the workbook's internal relationships."""
    targets: dict[str, tuple[str, str]] = {}
    for rel in parse_xml(xml, WORKBOOK_RELS).iter():
        if rel.tag not in _RELATIONSHIP or rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target", "")
        # Targets are relative to xl/ unless absolute within the package.
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
        targets[rel.get("Id", "")] = (rel.get("Type", ""), part)
    return targets


def _sheet_rel_id(sheet: Element) -> str | None:
    return next((value for attr in _REL_ID_ATTRS if (value := sheet.get(attr))), None)


def sheet_parts(workbook: bytes, rels: dict[str, tuple[str, str]], names: list[str]) -> list[str]:
    """Worksheet part names in the order the workbook lists its sheets.

    Chart sheets and dialog sheets have no cells and are skipped. Without usable
    relationships, falls back to the worksheet parts in numeric order.

    Raises:
        ExtractionError: ``parse-error`` when a listed worksheet part is missing.
    """
    return [part for _, part in named_sheet_parts(workbook, rels, names)]


def named_sheet_parts(workbook: bytes, rels: dict[str, tuple[str, str]], names: list[str]) -> list[tuple[str, str]]:
    """(sheet name, worksheet part) in workbook order; see :func:`sheet_parts`."""
    present = set(names)
    parts: list[tuple[str, str]] = []
    for sheet in parse_xml(workbook, MAIN_PART).iter():
        if sheet.tag not in _SHEET:
            continue
        kind, part = rels.get(_sheet_rel_id(sheet) or "", ("", ""))
        if not kind.endswith("/worksheet"):
            continue
        if part not in present:
            raise ExtractionError(Status.PARSE_ERROR, f"sheet {sheet.get('name', '?')!r} points to missing part {part}")
        parts.append((sheet.get("name", ""), part))
    if parts:
        return parts
    return [(f"Sheet{i}", part) for i, part in enumerate(numbered_parts(names, WORKSHEET_PREFIX), start=1)]


def _column_index(ref: str | None, fallback: int) -> int:
    """0-based column of a cell reference ("C5" -> 2); the next column when absent."""
    letters = "".join(ch for ch in (ref or "") if ch.isalpha()).upper()
    if not letters or len(letters) > 3:
        return fallback
    index = 0
    for ch in letters:
        index = index * 26 + (ord(ch) - ord("A") + 1)
    return index - 1


def sheet_grid(xml: bytes, part: str, shared: list[str], budget: TextBudget,
               styles: CellStyles | None = None) -> list[list[str]]:
    """The rows of one worksheet with their cells in their columns (empty cells as "").

    Unlike :func:`sheet_rows`, a value keeps its column, which table registration
    needs (``leakwatch index add-table --columns``).
    """
    rows: list[list[str]] = []
    for cells in sheet_cells(xml, part, shared, budget, styles):
        width = max(cells) + 1
        rows.append([cells.get(c, "") for c in range(width)])
        budget.charge(width)
    return rows


def read_sheet(data: bytes, limits: ExtractLimits, sheet: str | None = None) -> tuple[str, list[list[str]]]:
    """One worksheet of a workbook as a grid: by name, by 1-based number, or the first.

    Raises:
        ExtractionError: not a workbook, no such sheet, or a limit was passed.
    """
    def read() -> tuple[str, list[list[str]]]:
        budget = TextBudget(limits)
        with open_package(data, limits) as package:
            book = _open_workbook(package, limits)
            name, part = _choose_sheet(named_sheet_parts(book.xml, book.rels, package.namelist()), sheet)
            return name, sheet_grid(read_member(package, part, limits), part, book.shared, budget, book.styles)

    return guarded("XLSX package", read)


def _choose_sheet(sheets: list[tuple[str, str]], wanted: str | None) -> tuple[str, str]:
    if not sheets:
        raise ExtractionError(Status.PARSE_ERROR, "the workbook has no worksheet")
    if wanted is None:
        return sheets[0]
    for name, part in sheets:
        if name == wanted:
            return name, part
    if wanted.isdigit() and 1 <= int(wanted) <= len(sheets):
        return sheets[int(wanted) - 1]
    listed = ", ".join(repr(name) for name, _ in sheets)
    raise ExtractionError(Status.UNSUPPORTED, f"no worksheet {wanted!r} (sheets: {listed})")


def _shared_strings_part(rels: dict[str, tuple[str, str]], names: list[str]) -> str | None:
    for kind, part in rels.values():
        if kind.endswith("/sharedStrings") and part in names:
            return part
    return DEFAULT_SHARED_STRINGS if DEFAULT_SHARED_STRINGS in names else None


@dataclass(frozen=True)
class _Workbook:
    """The parts every sheet is read with."""

    xml: bytes
    rels: dict[str, tuple[str, str]]
    shared: list[str]
    styles: CellStyles


def _styles_part(rels: dict[str, tuple[str, str]], names: list[str]) -> str | None:
    for kind, part in rels.values():
        if kind.endswith("/styles") and part in names:
            return part
    return DEFAULT_STYLES if DEFAULT_STYLES in names else None


def _open_workbook(package: Any, limits: ExtractLimits) -> _Workbook:
    names = package.namelist()
    if MAIN_PART not in names:
        raise ExtractionError(Status.PARSE_ERROR, f"not an Excel workbook: no {MAIN_PART}")
    rels = _relationship_targets(read_member(package, WORKBOOK_RELS, limits)) if WORKBOOK_RELS in names else {}
    workbook = read_member(package, MAIN_PART, limits)
    strings_part = _shared_strings_part(rels, names)
    shared = read_shared_strings(read_member(package, strings_part, limits), strings_part) if strings_part else []
    styles_part = _styles_part(rels, names)
    styles = (read_styles(read_member(package, styles_part, limits), styles_part, workbook) if styles_part
              else CellStyles())
    return _Workbook(workbook, rels, shared, styles)


def _sheet_texts(data: bytes, limits: ExtractLimits) -> list[str]:
    budget = TextBudget(limits)
    with open_package(data, limits) as package:
        book = _open_workbook(package, limits)
        parts = sheet_parts(book.xml, book.rels, package.namelist())
        return ["\n".join(sheet_rows(read_member(package, part, limits), part, book.shared, budget, book.styles))
                for part in parts]


class XlsxExtractor(Extractor):
    """Excel workbooks (Office Open XML); worksheets are pages."""

    name = "xlsx"
    # 2: date and time cells are shown as ISO dates and times, not serial numbers.
    version = "2"

    def extract(self, path: Path, data: bytes, limits: ExtractLimits) -> ExtractedText:
        text, starts = join_pages(guarded("XLSX package", lambda: _sheet_texts(data, limits)))
        return self.result(text, limits, page_starts=starts)
