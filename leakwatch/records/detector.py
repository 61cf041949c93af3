"""Registered tables in deliverables: ``confidential-records`` and spreadsheet near-copies.

Exact data match (as commercial DLP does it, over keyed hashes): every value a
deliverable could be quoting (word runs, numbers, dates; :mod:`leakwatch.records.cells`)
is keyed and looked up among the registered anchor values. A hit names a row; the
row's other values are read back (keyed) and looked for around the hit. A row
counts as leaked when values of at least ``min_cells`` of its cells sit within
``proximity_chars`` of the anchor, on spans that do not overlap: a client's name
and e-mail in one sentence, a pasted row of a price list. A value that many rows
share (a country, a currency) never starts a match.

One finding per deliverable and table, with the rows matched, the columns and the
spans; a spreadsheet deliverable (XLSX, CSV) whose values as a whole resemble a
registered table's is instead reported once as its near-duplicate.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from leakwatch.config import Config
from leakwatch.detect.base import Deliverable, Detector
from leakwatch.detect.confidential import NEAR_DUPLICATE
from leakwatch.detect.scoring import stable_id
from leakwatch.fingerprint import estimate_jaccard
from leakwatch.model import Finding, FindingKind, Scores, Severity, SourceRef, Span
from leakwatch.records.cells import candidate_values, canonical_values, spreadsheet_cells
from leakwatch.records.tables import keyed_values, multiset_signature
from leakwatch.store.base import FingerprintStore, RecordTable

RECORDS = FindingKind(
    "confidential-records", "ConfidentialRecords", "Rows of a registered confidential table",
    "Rows of a table registered as confidential (a client list, a price list) are in the deliverable, in any "
    "order, format or layout; the finding names the table, the rows and the columns matched.",
    Severity.HIGH, confidential=True)
SPREADSHEET_FORMATS = frozenset({"xlsx", "csv"})
# Spans listed in one finding (the count is always given in full).
MAX_SPANS = 500


@dataclass
class RowMatch:
    """One registered row found in the deliverable: its matched values' spans, by column."""

    row: int
    spans: dict[tuple[int, int], set[int]] = field(default_factory=dict)  # span -> columns


@dataclass(frozen=True)
class SortedCandidates:
    """A deliverable's candidate values, keyed and sorted for look-up by value."""

    hashes: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    def occurrences(self, value: int) -> tuple[np.ndarray, np.ndarray]:
        v = np.uint64(value)
        lo, hi = np.searchsorted(self.hashes, v, "left"), np.searchsorted(self.hashes, v, "right")
        return self.starts[lo:hi], self.ends[lo:hi]


def _nearest_free(starts: np.ndarray, ends: np.ndarray, lo: int, hi: int, centre: int,
                  taken: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The occurrence inside [lo, hi] nearest ``centre`` that overlaps no taken span."""
    inside = np.flatnonzero((starts >= lo) & (ends <= hi))
    for i in inside[np.argsort(np.abs(starts[inside] - centre), kind="stable")].tolist():
        s, e = int(starts[i]), int(ends[i])
        if all(e <= ts or s >= te for ts, te in taken):
            return s, e
    return None


def match_row(row: int, values: np.ndarray, distinctive: np.ndarray, anchors: list[int], cands: SortedCandidates,
              min_cells: int, window: int, max_anchor_occurrences: int = 50) -> RowMatch | None:
    """Whether a registered row is quoted around one of its anchor values.

    Args:
        values: the row's keyed values (0 = none); distinctive: which count toward
            ``min_cells``; anchors: the row's values the look-up hit.

    Each of the row's other values is taken at its occurrence nearest the anchor,
    inside the window and overlapping no span already taken (so "Acme" inside
    "Acme Holdings" is not two cells), distinctive values first. Values many rows
    share are reported beside a match but never make one.
    """
    listed = values.tolist()
    rare = {int(v) for v, d in zip(listed, distinctive.tolist(), strict=True) if v and d}
    ordered = sorted((int(v) for v in dict.fromkeys(listed) if v), key=lambda v: v not in rare)
    columns_of = {v: {c for c, x in enumerate(listed) if x == v} for v in ordered}
    match: RowMatch | None = None
    for anchor in dict.fromkeys(anchors):
        a_starts, a_ends = cands.occurrences(anchor)
        for s0, e0 in list(zip(a_starts.tolist(), a_ends.tolist(), strict=True))[:max_anchor_occurrences]:
            taken: list[tuple[tuple[int, int], int]] = [((s0, e0), anchor)]
            for v in ordered:
                if v == anchor:
                    continue
                starts, ends = cands.occurrences(v)
                if starts.size == 0:
                    continue
                found = _nearest_free(starts, ends, s0 - window, e0 + window, s0, [span for span, _ in taken])
                if found is not None:
                    taken.append((found, v))
            if sum(v in rare for _, v in taken) < min_cells:
                continue
            match = match or RowMatch(row)
            for span, v in taken:
                match.spans.setdefault(span, set()).update(columns_of[v])
    if match is not None:
        match.spans = _without_overlaps(match.spans)
    return match


def _without_overlaps(spans: dict[tuple[int, int], set[int]]) -> dict[tuple[int, int], set[int]]:
    """One value per stretch of text across every anchor's reading of a row: each anchor's
    cells are disjoint, but two anchors can read one stretch differently (the name
    "Samuel Thorne" inside the e-mail address samuel.thorne@... is a second cell only
    when the e-mail anchors). The longest value wins; a value inside it is not a cell."""
    kept: list[tuple[int, int]] = []
    for s, e in sorted(spans, key=lambda se: (se[0] - se[1], se[0])):
        if all(e <= ks or s >= ke for ks, ke in kept):
            kept.append((s, e))
    return {span: spans[span] for span in sorted(kept)}


class RecordsDetector(Detector):
    """Values of registered tables (client lists, price lists) in any deliverable."""

    name = "records"
    # A whole registered table delivered is reported as its near-duplicate.
    kinds = (RECORDS, NEAR_DUPLICATE)

    def __init__(self, store: FingerprintStore, config: Config) -> None:
        self.store = store
        self.params = config.records
        self.tables = {t.table_key: t for t in store.list_tables()}
        self.lengths = tuple(sorted({n for t in self.tables.values() for n in t.text_lengths}))

    def detect(self, deliverable: Deliverable) -> list[Finding]:
        if not self.tables:
            return []
        extracted = deliverable.extracted
        raw = candidate_values(extracted.text, deliverable.fingerprints.tokens, self.lengths)
        if len(raw) == 0:
            return []
        keyed = keyed_values(raw.hashes, self.store.key)
        order = np.argsort(keyed, kind="stable")
        cands = SortedCandidates(keyed[order], raw.starts[order], raw.ends[order])
        hits = self.store.lookup_cells(keyed)
        if len(hits) == 0:
            return []
        resemblance = self._spreadsheet_resemblance(deliverable, np.unique(hits.table_keys).tolist())
        findings: list[Finding] = []
        for table_key in np.unique(hits.table_keys).tolist():
            table = self.tables.get(table_key)
            if table is None:  # registered after this detector was built
                continue
            mine = hits.table_keys == table_key
            matches = self._table_matches(table, hits.rows[mine], hits.hashes[mine], cands)
            near = resemblance.get(table_key, 0.0)
            if near >= self.params.near_duplicate_resemblance:
                findings.append(self._finding(NEAR_DUPLICATE, deliverable, table, matches, near))
            elif matches:
                findings.append(self._finding(RECORDS, deliverable, table, matches, near))
        return findings

    def _table_matches(self, table: RecordTable, rows: np.ndarray, hashes: np.ndarray,
                       cands: SortedCandidates) -> list[RowMatch]:
        by_row: dict[int, list[int]] = defaultdict(list)
        for r, h in zip(rows.tolist(), hashes.tolist(), strict=True):
            by_row[r].append(h)
        wanted = np.asarray(sorted(by_row), dtype=np.int64)
        values, distinctive = self.store.table_rows(table.table_key, wanted)
        found = (match_row(row, values[i], distinctive[i], by_row[row], cands, self.params.min_cells,
                           self.params.proximity_chars) for i, row in enumerate(wanted.tolist()))
        return [m for m in found if m is not None]

    def _spreadsheet_resemblance(self, deliverable: Deliverable, table_keys: list[int]) -> dict[int, float]:
        """Estimated resemblance of a spreadsheet deliverable's values to each hit table."""
        extracted = deliverable.extracted
        if extracted.format not in SPREADSHEET_FORMATS:
            return {}
        cells = canonical_values(spreadsheet_cells(extracted.text, extracted.format), self.params.max_cell_words)
        if not cells.present.any():
            return {}
        keyed = keyed_values(cells.hashes[cells.present], self.store.key)
        signature = multiset_signature(keyed, self.store.params)
        return {k: estimate_jaccard(signature, self.tables[k].signature) for k in table_keys if k in self.tables}

    def _finding(self, kind: FindingKind, deliverable: Deliverable, table: RecordTable, matches: list[RowMatch],
                 resemblance: float) -> Finding:
        extracted = deliverable.extracted
        spans = sorted({span: cols for m in matches for span, cols in m.spans.items()}.items())
        n_cells = sum(len({c for cols in m.spans.values() for c in cols}) for m in matches)
        columns = sorted({c for m in matches for cols in m.spans.values() for c in cols})
        if kind == NEAR_DUPLICATE or not spans:
            d_span = Span(0, len(extracted.text), extracted.page_of(0))
        else:
            start, end = spans[0][0][0], max(e for (_, e), _ in spans)
            d_span = Span(start, end, extracted.page_of(start))
        counting = max(1, len(table.columns))
        matched_chars = sum(e - s for (s, e), _ in spans)
        scores = Scores(
            resemblance=resemblance if kind == NEAR_DUPLICATE else n_cells / (counting * max(1, len(matches))),
            containment_deliverable=min(1.0, matched_chars / max(1, len(extracted.text))),
            containment_source=len(matches) / max(1, table.n_rows),
            matched_words=n_cells,
            confidence=round(resemblance if kind == NEAR_DUPLICATE else 1.0 - math.exp(-n_cells / 4.0), 4),
        )
        records: dict[str, Any] = {
            "table_id": table.table_id,
            "sheet": table.sheet,
            "rows_matched": len(matches),
            "rows_registered": table.n_rows,
            "cells_matched": n_cells,
            "columns": [table.columns[c] for c in columns],
            "spans_total": len(spans),
            "spans": [{"start": s, "end": e, "page": extracted.page_of(s),
                       "columns": [table.columns[c] for c in sorted(cols)]} for (s, e), cols in spans[:MAX_SPANS]],
        }
        return Finding(
            id=stable_id(kind.id, table.table_id, str(table.version), deliverable.path),
            kind=kind.id,
            severity=self._severity(kind, matches),
            deliverable_path=deliverable.path,
            deliverable_sha256=deliverable.sha256,
            deliverable_span=d_span,
            source=SourceRef(table.table_id, table.path, table.label, None, table.owner),
            scores=scores,
            verified=False,
            deliverable_format=extracted.format,
            deliverable_encoding=extracted.encoding,
            extra={"records": records},
        )

    def _severity(self, kind: FindingKind, matches: list[RowMatch]) -> Severity:
        if kind.whole_document or len(matches) >= self.params.high_rows:
            return Severity.HIGH
        widest = max((len({c for cols in m.spans.values() for c in cols}) for m in matches), default=0)
        return Severity.MEDIUM if len(matches) >= 2 or widest >= 3 else Severity.LOW
