"""Registered tables: a client list, a pricing sheet, the cells of a model.

``leakwatch index add-table`` reads a CSV/TSV file or one worksheet of an XLSX
workbook, reduces every cell to its canonical value (:mod:`leakwatch.records.cells`) and
hands the store keyed hashes only, with each value's row and column: "exact data
match" without the data. Per table it also decides which values may anchor a
match (distinctive, in a key column) and which only corroborate one (a value many
rows share, a date, a short number), and keeps a MinHash of the whole table's
values for spotting a spreadsheet that is a near-copy of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from leakwatch.config import ExtractLimits, FingerprintParams, RecordsParams
from leakwatch.extract import read_file
from leakwatch.extract.base import decode_text
from leakwatch.extract.ooxml import sniff_zip_format
from leakwatch.fingerprint import block_minima, empty_signature, fmix64
from leakwatch.keys import CELL_DOMAIN, StoreKey
from leakwatch.model import ExtractionError, Status
from leakwatch.records.cells import Weight, canonical_values, csv_rows

_OCCURRENCE = np.uint64(0x9FB2_1C65_1E98_DF25)


class TableError(ValueError):
    """The table or the options naming its columns cannot be used (usage error)."""


@dataclass(frozen=True)
class TableFile:
    """A table as read: its header and its rows of cell strings (ragged rows padded)."""

    path: Path
    data: bytes
    sheet: str | None
    header: list[str]
    rows: list[list[str]]


def read_table(path: Path, limits: ExtractLimits, sheet: str | None = None, header: bool = True) -> TableFile:
    """Read a CSV/TSV file or one worksheet of an XLSX workbook (the first unless named).

    Raises:
        ExtractionError: the file cannot be read, or is not a table.
    """
    from leakwatch.extract.xlsx import read_sheet

    data = read_file(path, limits)
    sheet_name: str | None = None
    if data.startswith(b"PK\x03\x04"):
        if sniff_zip_format(data) != "xlsx":
            raise ExtractionError(Status.UNSUPPORTED, "a zip package that is not an XLSX workbook")
        sheet_name, rows = read_sheet(data, limits, sheet)
    else:
        if sheet is not None:
            raise ExtractionError(Status.UNSUPPORTED, "--sheet applies to XLSX workbooks only")
        text, _ = decode_text(data)
        rows = csv_rows(text, "\t" if path.suffix.lower() == ".tsv" else ",")
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise ExtractionError(Status.UNSUPPORTED, "the table has no rows")
    width = max(len(r) for r in rows)
    for r in rows:  # in place: a million-row list is not copied again
        if len(r) < width:
            r.extend([""] * (width - len(r)))
    if header:
        names = [name.strip() or f"column {i}" for i, name in enumerate(rows[0], start=1)]
        body = rows[1:]
    else:
        names = [f"column {i}" for i in range(1, width + 1)]
        body = rows
    return TableFile(path, data, sheet_name, names, body)


def select_columns(header: list[str], wanted: tuple[str, ...]) -> list[int]:
    """Column indexes named by header (case-insensitive) or by 1-based number; all when empty.

    Raises:
        TableError: a name or number that is not a column.
    """
    if not wanted:
        return list(range(len(header)))
    by_name = {name.casefold(): i for i, name in reversed(list(enumerate(header)))}
    chosen: list[int] = []
    for item in (part.strip() for w in wanted for part in w.split(",")):
        if not item:
            continue
        if item.casefold() in by_name:
            index = by_name[item.casefold()]
        elif item.isdigit() and 1 <= int(item) <= len(header):
            index = int(item) - 1
        else:
            raise TableError(f"no column {item!r} (columns: {', '.join(header)})")
        if index not in chosen:
            chosen.append(index)
    return chosen


@dataclass(frozen=True)
class NewTable:
    """What the store records for a registered table: keyed values, no text."""

    path: str
    content_mac: str
    size: int
    label: str
    owner: str | None
    sheet: str | None
    columns: tuple[str, ...]
    key_columns: tuple[int, ...]  # indexes into columns
    cells: np.ndarray  # (rows, columns) uint64 keyed value hashes; 0 where nothing counts
    distinctive: np.ndarray  # (rows, columns) bool: counts toward min_cells (rare in the table, not short)
    anchors: np.ndarray  # (rows, columns) bool: may start a match (distinctive, in a key column)
    text_lengths: tuple[int, ...]  # word counts of registered text values
    signature: np.ndarray  # uint32 MinHash of the table's values (as a multiset)
    skipped_long: int  # cells left out as prose (over max_cell_words words)
    common_values: int  # distinct values found in too many rows to anchor

    @property
    def n_rows(self) -> int:
        return int(self.cells.shape[0])


def keyed_values(hashes: np.ndarray, key: StoreKey) -> np.ndarray:
    """The keyed form of unkeyed value hashes; never 0, which marks an empty cell."""
    keyed = key.prf64(np.asarray(hashes, dtype=np.uint64), CELL_DOMAIN)
    keyed[keyed == 0] = 1
    return keyed


def multiset_signature(keyed: np.ndarray, params: FingerprintParams) -> np.ndarray:
    """MinHash of a multiset of keyed values: the n-th copy of a value is its own
    element, so a table of 500 "USD" cells differs from one with 5."""
    if keyed.size == 0:
        return empty_signature(params)
    order = np.argsort(keyed, kind="stable")
    ranked = keyed[order]
    first = np.r_[True, ranked[1:] != ranked[:-1]]
    group_start = np.maximum.accumulate(np.where(first, np.arange(ranked.size), 0))
    occurrence = (np.arange(ranked.size) - group_start).astype(np.uint64)
    with np.errstate(over="ignore"):
        elements = fmix64(ranked + occurrence * _OCCURRENCE)
    return block_minima(elements, int(elements.size), params)[0]


def anchor_limit(n_rows: int, params: RecordsParams) -> int:
    """The most rows a value may appear in and still anchor a match."""
    return max(1, min(params.max_anchor_rows, math.ceil(params.max_anchor_fraction * n_rows)))


def build_table(table: TableFile, columns: list[int], key_columns: list[int], key: StoreKey, label: str,
                owner: str | None, params: RecordsParams, fp_params: FingerprintParams,
                day_first: bool = False) -> NewTable:
    """Canonicalize, weigh and key every cell of the chosen columns."""
    n_rows, n_cols = len(table.rows), len(columns)
    raw = np.zeros((n_rows, n_cols), dtype=np.uint64)
    weight = np.zeros((n_rows, n_cols), dtype=np.int8)
    present = np.zeros((n_rows, n_cols), dtype=bool)
    lengths: set[int] = set()
    skipped = 0
    for j, c in enumerate(columns):
        column = [row[c] for row in table.rows]
        found = canonical_values(column, params.max_cell_words, day_first)
        raw[:, j], weight[:, j], present[:, j] = found.hashes, found.weights, found.present
        lengths.update(np.unique(found.words[found.present & (found.weights > Weight.IGNORED)]).tolist())
        skipped += sum(1 for i in np.flatnonzero(~found.present).tolist() if column[i].strip())
    lengths.discard(0)
    keyed = np.zeros_like(raw)
    keyed[present] = keyed_values(raw[present], key)
    signature = multiset_signature(keyed[present], fp_params)
    counting = present & (weight > Weight.IGNORED)
    # Rows each value appears in (a value twice in one row counts once).
    rows_of = np.broadcast_to(np.arange(n_rows)[:, None], keyed.shape)[counting]
    pairs = np.unique(np.column_stack([keyed[counting].view(np.int64), rows_of]), axis=0)
    seen, row_counts = np.unique(pairs[:, 0], return_counts=True)
    common = seen[row_counts > anchor_limit(n_rows, params)].view(np.uint64)
    is_key = np.isin(np.arange(n_cols), [columns.index(c) for c in key_columns])
    distinctive = counting & (weight == Weight.ANCHORS) & ~np.isin(keyed, common)
    cells = np.where(counting, keyed, np.uint64(0))
    return NewTable(
        path=str(table.path.resolve()),
        content_mac=key.content_mac(table.data),
        size=len(table.data),
        label=label,
        owner=owner,
        sheet=table.sheet,
        columns=tuple(table.header[c] for c in columns),
        key_columns=tuple(columns.index(c) for c in key_columns),
        cells=cells,
        distinctive=distinctive,
        anchors=distinctive & is_key[None, :],
        text_lengths=tuple(sorted(lengths)),
        signature=signature,
        skipped_long=skipped,
        common_values=int(common.size),
    )
