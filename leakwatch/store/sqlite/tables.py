"""Registered tables (exact data match) in the embedded store: records, anchor values
indexed for look-up, and each row's keyed values as one blob."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from leakwatch.keys import StoreKey
from leakwatch.store.base import AddAction, CellHits, RecordTable, StoredTable, StoreError, printable
from leakwatch.store.sqlite.connection import Transactions, reading

if TYPE_CHECKING:
    from leakwatch.records.tables import NewTable

_LOOKUP_BATCH = 250_000

_TABLE_COLUMNS = (
    "table_key, table_id, path, sheet, content_mac, size, label, owner, added_at, version, n_rows, columns, "
    "key_columns, n_cells, n_anchors, text_lengths, signature"
)


def as_int64(values: np.ndarray) -> list[int]:
    """uint64 values as the signed integers SQLite stores (the same bits)."""
    return np.ascontiguousarray(values, dtype=np.uint64).view(np.int64).tolist()


class RecordTables(Transactions):
    """The registered-table methods of :class:`~leakwatch.store.sqlite.SQLiteStore`."""

    _db: sqlite3.Connection
    key: StoreKey

    def _row_to_table(self, row: tuple[Any, ...]) -> RecordTable:
        return RecordTable(
            table_key=row[0], table_id=row[1], path=row[2], sheet=row[3], content_mac=row[4], size=row[5],
            label=row[6], owner=row[7], added_at=row[8], version=row[9], n_rows=row[10],
            columns=tuple(json.loads(row[11])), key_columns=tuple(json.loads(row[12])), n_cells=row[13],
            n_anchors=row[14], text_lengths=tuple(json.loads(row[15])),
            signature=np.frombuffer(row[16], dtype="<u4").astype(np.uint32),
        )

    @reading
    def find_table(self, table_id_or_path: str) -> RecordTable | None:
        row = self._db.execute(
            f"SELECT {_TABLE_COLUMNS} FROM record_tables WHERE table_id = ? OR path = ? ORDER BY table_key LIMIT 1",
            (table_id_or_path, table_id_or_path),
        ).fetchone()
        return self._row_to_table(row) if row else None

    @reading
    def list_tables(self) -> list[RecordTable]:
        rows = self._db.execute(f"SELECT {_TABLE_COLUMNS} FROM record_tables ORDER BY table_key").fetchall()
        return [self._row_to_table(r) for r in rows]

    def add_table(self, table: NewTable) -> tuple[RecordTable, AddAction]:
        table_id = self.key.table_id(table.path)
        old = self.find_table(table_id)
        if old is not None and old.registers(table):
            return old, "unchanged"
        n_cells = int(np.count_nonzero(table.cells))
        rows, cols = np.nonzero(table.anchors)
        what = f"table {printable(table.path)} was not {'replaced' if old else 'added'}"
        with self._transaction(f"{what}; the store is as it was before it"):
            if old is not None:
                self._db.execute("DELETE FROM record_tables WHERE table_key = ?", (old.table_key,))
            record = RecordTable(
                table_key=0, table_id=table_id, path=table.path, sheet=table.sheet, content_mac=table.content_mac,
                size=table.size, label=table.label, owner=table.owner,
                added_at=datetime.now(UTC).isoformat(timespec="seconds"), version=old.version + 1 if old else 1,
                n_rows=table.n_rows, columns=tuple(table.columns), key_columns=tuple(table.key_columns),
                n_cells=n_cells, n_anchors=int(rows.size), text_lengths=tuple(table.text_lengths),
                signature=table.signature)
            self._insert_table(StoredTable(record, table.cells, table.distinctive, rows, cols))
        added = self.find_table(table_id)
        assert added is not None
        return added, ("replaced" if old else "added")

    def remove_table(self, table_id: str) -> bool:
        with self._transaction(f"{table_id} was not removed; the store is unchanged"):
            removed = self._db.execute("DELETE FROM record_tables WHERE table_id = ?", (table_id,)).rowcount
        return removed > 0

    @reading
    def lookup_cells(self, hashes: np.ndarray) -> CellHits:
        unique = as_int64(np.unique(np.asarray(hashes, dtype=np.uint64)))
        rows: list[tuple[int, int, int, int]] = []
        # In batches: a long deliverable has millions of candidate values, and one JSON
        # array of them all would cost as much memory again.
        for lo in range(0, len(unique), _LOOKUP_BATCH):
            rows += self._db.execute(
                "SELECT c.hash, c.table_key, c.row, c.col FROM json_each(?) q JOIN record_cells c ON c.hash = q.value",
                (json.dumps(unique[lo:lo + _LOOKUP_BATCH]),),
            ).fetchall()
        arr = np.asarray(rows, dtype=np.int64).reshape(-1, 4)
        return CellHits(arr[:, 0].view(np.uint64).copy(), arr[:, 1].copy(), arr[:, 2].copy(), arr[:, 3].copy())

    @reading
    def table_rows(self, table_key: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        width = self._db.execute("SELECT json_array_length(columns) FROM record_tables WHERE table_key = ?",
                                 (table_key,)).fetchone()
        wanted = np.asarray(rows, dtype=np.int64)
        n_cols = int(width[0]) if width else 0
        values = np.zeros((wanted.size, n_cols), dtype=np.uint64)
        distinctive = np.zeros((wanted.size, n_cols), dtype=bool)
        if wanted.size == 0 or width is None:
            return values, distinctive
        found = self._db.execute(
            # IN, not a join with json_each: with a join SQLite walks every row of the
            # table and probes the list (2 s for a million rows); IN seeks each row.
            "SELECT row, cells, distinctive FROM record_rows "
            "WHERE table_key = ? AND row IN (SELECT value FROM json_each(?))",
            (table_key, json.dumps(wanted.tolist())),
        ).fetchall()
        where = {int(r): i for i, r in enumerate(wanted.tolist())}
        for row, blob, mask in found:
            i = where[int(row)]
            values[i] = np.frombuffer(blob, dtype="<u8")
            distinctive[i] = np.unpackbits(np.frombuffer(mask, dtype=np.uint8), count=n_cols).astype(bool)
        return values, distinctive

    def _insert_table(self, stored: StoredTable) -> None:
        """Insert a table's record, anchor values and rows (inside a transaction)."""
        t = stored.record
        hashes = stored.cells[stored.anchor_rows, stored.anchor_columns]
        order = np.argsort(hashes.view(np.int64), kind="stable")  # index order: appends, not page splits
        table_key = self._db.execute(
            "INSERT INTO record_tables (table_id, path, sheet, content_mac, size, label, owner, added_at, "
            "version, n_rows, columns, key_columns, n_cells, n_anchors, text_lengths, signature) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (t.table_id, t.path, t.sheet, t.content_mac, t.size, t.label, t.owner, t.added_at, t.version,
             t.n_rows, json.dumps(list(t.columns)), json.dumps(list(t.key_columns)), t.n_cells, t.n_anchors,
             json.dumps(list(t.text_lengths)), np.ascontiguousarray(t.signature, dtype="<u4").tobytes()),
        ).lastrowid or 0
        self._db.executemany(
            "INSERT OR IGNORE INTO record_cells (hash, table_key, row, col) VALUES (?, ?, ?, ?)",
            zip(as_int64(hashes[order]), [table_key] * len(order), np.asarray(stored.anchor_rows)[order].tolist(),
                np.asarray(stored.anchor_columns)[order].tolist(), strict=True),
        )
        blobs = np.ascontiguousarray(stored.cells, dtype="<u8")
        masks = np.packbits(np.asarray(stored.distinctive, dtype=bool), axis=1)
        self._db.executemany(
            "INSERT INTO record_rows (table_key, row, cells, distinctive) VALUES (?, ?, ?, ?)",
            ((table_key, i, blobs[i].tobytes(), masks[i].tobytes()) for i in range(stored.cells.shape[0])),
        )

    def export_table(self, table_key: int) -> StoredTable:
        record = next((t for t in self.list_tables() if t.table_key == table_key), None)
        if record is None:
            raise StoreError(f"no table with key {table_key} in {self.location}")
        cells, distinctive = self.table_rows(table_key, np.arange(record.n_rows))
        anchors = self._db.execute("SELECT row, col FROM record_cells WHERE table_key = ? ORDER BY row, col",
                                   (table_key,)).fetchall()
        arr = np.asarray(anchors, dtype=np.int64).reshape(-1, 2)
        return StoredTable(record, cells, distinctive, arr[:, 0].copy(), arr[:, 1].copy())

    def import_table(self, stored: StoredTable) -> RecordTable:
        t = stored.record
        with self._transaction(f"table {t.table_id} was not copied; the store is as it was before it"):
            self._db.execute("DELETE FROM record_tables WHERE table_id = ?", (t.table_id,))
            self._insert_table(stored)
        copied = self.find_table(t.table_id)
        assert copied is not None
        return copied
