"""Excel 97-2003 (.xls): cell values row by row, one page per sheet, through xlrd.

xlrd (2.x reads .xls only, which is all it is for here) parses the BIFF records in this
process, under the extraction worker's limits: no converter, 13 ms a file where
LibreOffice takes 2.8 s, with every planted cell found in both (benchmarks/legacy_office.py).
Rows are laid out as the XLSX extractor lays them (non-empty values joined with tabs, a
line per row, dates as ISO text, whole numbers without ".0"), so the same table in
either format gives the same words. An encrypted workbook is ``encrypted``.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any

from leakwatch.config import ExtractLimits
from leakwatch.extract.base import Extractor
from leakwatch.extract.ocr import PageText, join_pages
from leakwatch.extract.ole import check_not_encrypted
from leakwatch.extract.ooxml import TextBudget, guarded
from leakwatch.model import ExtractedText, ExtractionError, Status


def _shown(cell: Any, datemode: int) -> str:
    import xlrd

    kind, value = cell.ctype, cell.value
    if kind == xlrd.XL_CELL_TEXT:
        return str(value)
    if kind == xlrd.XL_CELL_NUMBER:
        return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))
    if kind == xlrd.XL_CELL_DATE:
        try:
            moment: datetime = xlrd.xldate_as_datetime(value, datemode)
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return repr(float(value))
        if value < 1:
            return moment.strftime("%H:%M:%S")
        return moment.strftime("%Y-%m-%d %H:%M:%S" if moment.hour or moment.minute or moment.second else "%Y-%m-%d")
    if kind == xlrd.XL_CELL_BOOLEAN:
        return "TRUE" if value else "FALSE"
    if kind == xlrd.XL_CELL_ERROR:
        return str(xlrd.error_text_from_code.get(value, "#ERR"))
    return ""


def _sheets(data: bytes, limits: ExtractLimits) -> list[PageText]:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True, logfile=io.StringIO(), verbosity=0)
    except xlrd.XLRDError as exc:
        if "encrypt" in str(exc).lower():
            raise ExtractionError(Status.ENCRYPTED, "password-protected legacy Office file (.xls)") from exc
        raise ExtractionError(Status.PARSE_ERROR, f"cannot read the workbook ({exc})") from exc
    budget = TextBudget(limits)
    pages: list[PageText] = []
    try:
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            rows: list[str] = []
            for number in range(sheet.nrows):
                values = [v for v in (_shown(c, book.datemode) for c in sheet.row(number)) if v]
                if values:
                    rows.append(budget.add("\t".join(values)))
            pages.append(PageText("\n".join(rows)))
            book.unload_sheet(index)
    finally:
        book.release_resources()
    return pages or [PageText()]


class XlsExtractor(Extractor):
    """Excel 97-2003 workbooks, by xlrd; sheets are pages."""

    name = "xls"

    def extract(self, path: Path, data: bytes, limits: ExtractLimits) -> ExtractedText:
        check_not_encrypted(data, self.name)
        text, starts, _ = join_pages(guarded("XLS workbook", lambda: _sheets(data, limits)))
        return self.result(text, limits, page_starts=starts)
