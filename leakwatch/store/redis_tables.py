"""Registered tables (exact data match) in the Redis store: records, anchor values
(``P c:<hash>``: packed table, row, column) and each row's values (``P t:<k>:rows``)."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

import numpy as np

from leakwatch.keys import StoreKey
from leakwatch.store.base import AddAction, CellHits, RecordTable, StoredTable, StoreError, printable

if TYPE_CHECKING:
    from leakwatch.records.tables import NewTable

_R = TypeVar("_R")
_P = ParamSpec("_P")
_S = TypeVar("_S", bound="_Readable")

_BATCH = 20_000
_CELL = np.dtype([("table", "<i8"), ("row", "<u4"), ("col", "<u4")])  # P c:<hash>
_ANCHOR = np.dtype([("hash", "<u8"), ("row", "<u4"), ("col", "<u4")])  # P t:<k>:anchors

# Drops the records of one owner (table_key, their first 8 bytes) from packed
# multi-record values; a value left empty is deleted.
DROP_OWNER = """
local owner, size = ARGV[1], tonumber(ARGV[2])
for _, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v then
    local keep = {}
    for j = 1, #v, size do
      if string.sub(v, j, j + 7) ~= owner then keep[#keep + 1] = string.sub(v, j, j + size - 1) end
    end
    if #keep == 0 then redis.call('DEL', k) else redis.call('SET', k, table.concat(keep)) end
  end
end
return #KEYS
"""


def packed_keys(prefix: bytes, values: np.ndarray) -> list[bytes]:
    """Keys ``prefix + the 8 little-endian bytes of each value``."""
    raw = np.ascontiguousarray(values, dtype="<u8").tobytes()
    return [prefix + raw[i:i + 8] for i in range(0, len(raw), 8)]


def records(values: list[bytes | None] | list[bytes], dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """(records of every non-empty value, concatenated; how many each value held)."""
    counts = np.fromiter((len(v) // dtype.itemsize if v else 0 for v in values), dtype=np.int64, count=len(values))
    data = b"".join(v for v in values if v)
    return np.frombuffer(data, dtype=dtype), counts


def b64(arr: np.ndarray) -> str:
    import base64

    return base64.b64encode(np.ascontiguousarray(arr, dtype="<u4").tobytes()).decode("ascii")


def unb64(text: str) -> np.ndarray:
    import base64

    return np.frombuffer(base64.b64decode(text), dtype="<u4").astype(np.uint32)


def path_key(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


class _Readable(Protocol):
    """What :func:`reading` needs of a store part: its location and its client's errors."""

    location: str
    _errors: tuple[type[BaseException], ...]


def reading(method: Callable[Concatenate[_S, _P], _R]) -> Callable[Concatenate[_S, _P], _R]:
    """A look-up whose Redis failure becomes a StoreError ("cannot read the store ...")."""

    @functools.wraps(method)
    def wrapper(self: _S, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except self._errors as exc:
            raise StoreError(f"cannot read the store {self.location}: {exc}") from exc

    return wrapper


class RedisTables:
    """The registered-table methods of :class:`~leakwatch.store.redis.RedisStore`."""

    _r: Any
    key: StoreKey
    location: str
    _drop_owner: Any
    _errors: tuple[type[BaseException], ...]

    # Provided by the store class.
    _k: Callable[[str], bytes]
    _run_change: Callable[[str, Callable[[Any], Any]], Any]
    _next_key: Callable[[Any, str], int]
    _mget: Callable[[list[bytes]], list[bytes | None]]

    def _table_from_json(self, table_key: int, raw: bytes) -> RecordTable:
        d = json.loads(raw)
        return RecordTable(
            table_key=table_key, table_id=d["table_id"], path=d["path"], sheet=d["sheet"],
            content_mac=d["content_mac"], size=d["size"], label=d["label"], owner=d["owner"],
            added_at=d["added_at"], version=d["version"], n_rows=d["n_rows"], columns=tuple(d["columns"]),
            key_columns=tuple(d["key_columns"]), n_cells=d["n_cells"], n_anchors=d["n_anchors"],
            text_lengths=tuple(d["text_lengths"]), signature=unb64(d["signature"]),
        )

    @staticmethod
    def _table_json(t: RecordTable) -> bytes:
        return json.dumps({
            "table_id": t.table_id, "path": t.path, "sheet": t.sheet, "content_mac": t.content_mac,
            "size": t.size, "label": t.label, "owner": t.owner, "added_at": t.added_at, "version": t.version,
            "n_rows": t.n_rows, "columns": list(t.columns), "key_columns": list(t.key_columns),
            "n_cells": t.n_cells, "n_anchors": t.n_anchors, "text_lengths": list(t.text_lengths),
            "signature": b64(t.signature),
        }).encode("ascii")

    def _tables(self, keys: list[int]) -> dict[int, RecordTable]:
        if not keys:
            return {}
        raw = self._r.hmget(self._k("tables"), keys)
        return {k: self._table_from_json(k, v) for k, v in zip(keys, raw, strict=True) if v is not None}

    @reading
    def find_table(self, table_id_or_path: str) -> RecordTable | None:
        by_id, by_path = self._r.pipeline(transaction=False).hget(self._k("table_ids"), table_id_or_path).hget(
            self._k("table_paths"), path_key(table_id_or_path)).execute()
        keys = [int(k) for k in (by_id, by_path) if k is not None]
        return self._tables([min(keys)]).get(min(keys)) if keys else None

    @reading
    def list_tables(self) -> list[RecordTable]:
        raw = self._r.hgetall(self._k("tables"))
        return [self._table_from_json(k, raw[b]) for k, b in sorted((int(b), b) for b in raw)]

    def _table_names(self, table_key: int) -> tuple[bytes, bytes]:
        return self._k(f"t:{table_key}:rows"), self._k(f"t:{table_key}:anchors")

    def _queue_drop_table(self, pipe: Any, table_key: int, anchors_blob: bytes | None) -> None:
        anchors = np.frombuffer(anchors_blob or b"", dtype=_ANCHOR)
        keys = packed_keys(self._k("c:"), np.unique(anchors["hash"]))
        owner = np.int64(table_key).astype("<i8").tobytes()
        for lo in range(0, len(keys), _BATCH):
            self._drop_owner(keys=keys[lo:lo + _BATCH], args=[owner, _CELL.itemsize], client=pipe)
        pipe.delete(*self._table_names(table_key))
        pipe.hdel(self._k("tables"), table_key)

    def _replace_table(self, record: RecordTable, cells: np.ndarray, distinctive: np.ndarray,
                       anchor_rows: np.ndarray, anchor_cols: np.ndarray, what: str) -> RecordTable:
        hashes = cells[anchor_rows, anchor_cols]
        anchors = np.empty(len(hashes), dtype=_ANCHOR)
        anchors["hash"], anchors["row"], anchors["col"] = hashes, anchor_rows, anchor_cols
        blobs = np.ascontiguousarray(cells, dtype="<u8")
        masks = np.packbits(np.asarray(distinctive, dtype=bool), axis=1)
        row_values = {i: blobs[i].tobytes() + masks[i].tobytes() for i in range(cells.shape[0])}

        def body(pipe: Any) -> RecordTable:
            old_key = pipe.hget(self._k("table_ids"), record.table_id)
            old = None
            if old_key is not None:
                old = (int(old_key), pipe.get(self._table_names(int(old_key))[1]))
            table_key = self._next_key(pipe, "next_table_key")
            placed = dataclasses.replace(record, table_key=table_key)
            rows_name, anchors_name = self._table_names(table_key)
            pipe.multi()
            if old is not None:
                self._queue_drop_table(pipe, *old)
            pipe.hset(self._k("meta"), "next_table_key", table_key)
            pipe.hset(self._k("tables"), table_key, self._table_json(placed))
            pipe.hset(self._k("table_ids"), placed.table_id, table_key)
            pipe.hset(self._k("table_paths"), path_key(placed.path), table_key)
            pipe.set(anchors_name, anchors.tobytes())
            items = list(row_values.items())
            for lo in range(0, len(items), _BATCH):
                pipe.hset(rows_name, mapping=dict(items[lo:lo + _BATCH]))
            recs = np.empty(len(hashes), dtype=_CELL)
            recs["table"], recs["row"], recs["col"] = table_key, anchor_rows, anchor_cols
            raw = recs.tobytes()
            size = _CELL.itemsize
            for i, name in enumerate(packed_keys(self._k("c:"), hashes)):
                pipe.append(name, raw[i * size:(i + 1) * size])
            return placed

        return self._run_change(f"{what}; the store is as it was before it", body)

    def add_table(self, table: NewTable) -> tuple[RecordTable, AddAction]:
        table_id = self.key.table_id(table.path)
        old = self.find_table(table_id)
        if old is not None and old.registers(table):
            return old, "unchanged"
        rows, cols = np.nonzero(table.anchors)
        record = RecordTable(
            table_key=0, table_id=table_id, path=table.path, sheet=table.sheet, content_mac=table.content_mac,
            size=table.size, label=table.label, owner=table.owner,
            added_at=datetime.now(UTC).isoformat(timespec="seconds"), version=old.version + 1 if old else 1,
            n_rows=table.n_rows, columns=tuple(table.columns), key_columns=tuple(table.key_columns),
            n_cells=int(np.count_nonzero(table.cells)), n_anchors=int(rows.size),
            text_lengths=tuple(table.text_lengths), signature=np.asarray(table.signature, dtype=np.uint32),
        )
        what = f"table {printable(table.path)} was not {'replaced' if old else 'added'}"
        placed = self._replace_table(record, np.asarray(table.cells, dtype=np.uint64), table.distinctive,
                                     rows.astype(np.int64), cols.astype(np.int64), what)
        return placed, ("replaced" if old else "added")

    def remove_table(self, table_id: str) -> bool:
        def body(pipe: Any) -> bool:
            old_key = pipe.hget(self._k("table_ids"), table_id)
            if old_key is None:
                return False
            table_key = int(old_key)
            raw = pipe.hget(self._k("tables"), table_key)
            anchors = pipe.get(self._table_names(table_key)[1])
            pipe.multi()
            self._queue_drop_table(pipe, table_key, anchors)
            pipe.hdel(self._k("table_ids"), table_id)
            if raw is not None:
                pipe.hdel(self._k("table_paths"), path_key(json.loads(raw)["path"]))
            return True

        return self._run_change(f"{table_id} was not removed; the store is unchanged", body)

    @reading
    def lookup_cells(self, hashes: np.ndarray) -> CellHits:
        unique = np.unique(np.asarray(hashes, dtype=np.uint64))
        recs, counts = records(self._mget(packed_keys(self._k("c:"), unique)), _CELL)
        return CellHits(np.repeat(unique, counts), recs["table"].astype(np.int64), recs["row"].astype(np.int64),
                        recs["col"].astype(np.int64))

    @reading
    def table_rows(self, table_key: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        table = self._tables([table_key]).get(table_key)
        wanted = np.asarray(rows, dtype=np.int64)
        n_cols = len(table.columns) if table else 0
        values = np.zeros((wanted.size, n_cols), dtype=np.uint64)
        distinctive = np.zeros((wanted.size, n_cols), dtype=bool)
        if wanted.size == 0 or table is None:
            return values, distinctive
        raw = self._r.hmget(self._table_names(table_key)[0], wanted.tolist())
        for i, blob in enumerate(raw):
            if blob is not None:
                values[i] = np.frombuffer(blob[:8 * n_cols], dtype="<u8")
                distinctive[i] = np.unpackbits(np.frombuffer(blob[8 * n_cols:], dtype=np.uint8),
                                               count=n_cols).astype(bool)
        return values, distinctive

    def export_table(self, table_key: int) -> StoredTable:
        record = self._tables([table_key]).get(table_key)
        if record is None:
            raise StoreError(f"no table with key {table_key} in {self.location}")
        values, distinctive = self.table_rows(table_key, np.arange(record.n_rows))
        anchors = np.frombuffer(self._r.get(self._table_names(table_key)[1]) or b"", dtype=_ANCHOR)
        return StoredTable(record, values, distinctive, anchors["row"].astype(np.int64),
                           anchors["col"].astype(np.int64))

    def import_table(self, stored: StoredTable) -> RecordTable:
        return self._replace_table(stored.record, np.asarray(stored.cells, dtype=np.uint64), stored.distinctive,
                                   stored.anchor_rows, stored.anchor_columns,
                                   f"table {printable(stored.record.path)} was not copied")
