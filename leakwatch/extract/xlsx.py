"""XLSX: cell values row by row, one page per worksheet, in workbook order.

A row is its non-empty cell values joined with tabs; rows are lines. Sheets are
streamed (iterparse, rows dropped once read) so memory stays flat on big sheets.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
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


def cell_value(cell: Element, shared: list[str]) -> str:
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
    return value


def sheet_rows(xml: bytes, part: str, shared: list[str], budget: TextBudget) -> list[str]:
    """One line per row with any value: the non-empty cell values joined with tabs."""
    rows: list[str] = []
    cells: list[str] = []
    sheet_data: Element | None = None
    for event, element in iterparse_xml(xml, part, ("start", "end")):
        tag = element.tag
        if event == "start":
            if tag in _SHEET_DATA:
                sheet_data = element
        elif tag in _CELL:
            value = cell_value(element, shared)
            if value:
                cells.append(budget.add(value))
        elif tag in _ROW:
            if cells:
                rows.append("\t".join(cells))
                budget.charge(len(cells))  # the tabs and the newline
                cells = []
            _drop(sheet_data, element)
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


def sheet_grid(xml: bytes, part: str, shared: list[str], budget: TextBudget) -> list[list[str]]:
    """The rows of one worksheet with their cells in their columns (empty cells as "").

    Unlike :func:`sheet_rows`, a value keeps its column, which table registration
    needs (``leakwatch index add-table --columns``).
    """
    rows: list[list[str]] = []
    cells: dict[int, str] = {}
    sheet_data: Element | None = None
    for event, element in iterparse_xml(xml, part, ("start", "end")):
        tag = element.tag
        if event == "start":
            if tag in _SHEET_DATA:
                sheet_data = element
        elif tag in _CELL:
            value = cell_value(element, shared)
            column = _column_index(element.get("r"), max(cells, default=-1) + 1)
            if value:
                cells[column] = budget.add(value)
        elif tag in _ROW:
            if cells:
                width = max(cells) + 1
                rows.append([cells.get(c, "") for c in range(width)])
                budget.charge(width)
                cells = {}
            _drop(sheet_data, element)
    return rows


def read_sheet(data: bytes, limits: ExtractLimits, sheet: str | None = None) -> tuple[str, list[list[str]]]:
    """One worksheet of a workbook as a grid: by name, by 1-based number, or the first.

    Raises:
        ExtractionError: not a workbook, no such sheet, or a limit was passed.
    """
    def read() -> tuple[str, list[list[str]]]:
        budget = TextBudget(limits)
        with open_package(data, limits) as package:
            names = package.namelist()
            if MAIN_PART not in names:
                raise ExtractionError(Status.PARSE_ERROR, f"not an Excel workbook: no {MAIN_PART}")
            rels = (_relationship_targets(read_member(package, WORKBOOK_RELS, limits))
                    if WORKBOOK_RELS in names else {})
            sheets = named_sheet_parts(read_member(package, MAIN_PART, limits), rels, names)
            chosen = _choose_sheet(sheets, sheet)
            strings_part = _shared_strings_part(rels, names)
            shared = (read_shared_strings(read_member(package, strings_part, limits), strings_part)
                      if strings_part else [])
            return chosen[0], sheet_grid(read_member(package, chosen[1], limits), chosen[1], shared, budget)

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


def _sheet_texts(data: bytes, limits: ExtractLimits) -> list[str]:
    budget = TextBudget(limits)
    with open_package(data, limits) as package:
        names = package.namelist()
        if MAIN_PART not in names:
            raise ExtractionError(Status.PARSE_ERROR, f"not an Excel workbook: no {MAIN_PART}")
        rels = _relationship_targets(read_member(package, WORKBOOK_RELS, limits)) if WORKBOOK_RELS in names else {}
        strings_part = _shared_strings_part(rels, names)
        shared = read_shared_strings(read_member(package, strings_part, limits), strings_part) if strings_part else []
        parts = sheet_parts(read_member(package, MAIN_PART, limits), rels, names)
        return ["\n".join(sheet_rows(read_member(package, part, limits), part, shared, budget)) for part in parts]


class XlsxExtractor(Extractor):
    """Excel workbooks (Office Open XML); worksheets are pages."""

    name = "xlsx"

    def extract(self, path: Path, data: bytes, limits: ExtractLimits) -> ExtractedText:
        text, starts = join_pages(guarded("XLSX package", lambda: _sheet_texts(data, limits)))
        return self.result(text, limits, page_starts=starts)
