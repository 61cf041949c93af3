"""Immutable sorted segments: the inverted half of the embedded store.

Every commit of the embedded store writes the look-up entries of the documents it
adds as one segment file: flat arrays sorted by key, memory-mapped for reading and
searched by binary search. Nothing in a segment is ever changed in place; segments
are merged (log-structured: ``FANOUT`` of one size class become one) and a document
removed from the store is a tombstone until a merge drops its entries. Writing is
therefore sequential (sort in memory, write one file), however large the index.

A segment holds, each array sorted by its first column:

* fingerprints: ``fp_hash`` (u64 keyed shingle hash), ``fp_doc``, ``fp_pos``,
  ``fp_start``, ``fp_end`` (u32: document, shingle index, character span);
* LSH postings: ``band_key`` (u64: the band folded into the band key) and
  ``band_pid`` (u32: a passage id, unique in the store);
* its documents: ``doc_key``, ``doc_first_pid``, ``doc_passages`` (u32, by first
  passage id): passage id ``p`` of a document is its passage ``p - first_pid``.

File layout: an 8-byte magic, a little-endian u32 header length, a JSON header naming
each array's dtype (from a fixed list), length and offset, then the arrays (aligned
to 64 bytes). Nothing is pickled, and a header that does not describe the file
exactly is refused.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"LWSEG\x00\x01\n"
SUFFIX = ".seg"
FANOUT = 8
_ALIGN = 64

# (array name, dtype) of every array a segment holds, in file order.
FIELDS: tuple[tuple[str, str], ...] = (
    ("fp_hash", "<u8"), ("fp_doc", "<u4"), ("fp_pos", "<u4"), ("fp_start", "<u4"), ("fp_end", "<u4"),
    ("band_key", "<u8"), ("band_pid", "<u4"),
    ("doc_key", "<u4"), ("doc_first_pid", "<u4"), ("doc_passages", "<u4"),
)
FP_FIELDS = ("fp_hash", "fp_doc", "fp_pos", "fp_start", "fp_end")
BAND_FIELDS = ("band_key", "band_pid")
DOC_FIELDS = ("doc_key", "doc_first_pid", "doc_passages")
_DTYPES = dict(FIELDS)
U32_MAX = 2**32 - 1

_BAND_SALT = np.uint64(0x9E37_79B9_7F4A_7C15)


class SegmentError(Exception):
    """A segment file is missing, damaged or not a segment."""


def fold_bands(keys: np.ndarray) -> np.ndarray:
    """One 64-bit look-up key per (passage, band): each band's keys XORed with a salt of
    its own (band keys are uniform 64-bit hashes: a collision across bands is as
    unlikely as one within a band). ``keys`` is (passages, bands); returns them flat."""
    keys = np.ascontiguousarray(keys).view(np.uint64)
    salts = np.arange(keys.shape[1], dtype=np.uint64) * _BAND_SALT
    return (keys ^ salts).reshape(-1)


def unfold_bands(folded: np.ndarray, n_bands: int) -> np.ndarray:
    """The band keys (passages, bands) int64 back from :func:`fold_bands`."""
    salts = np.arange(n_bands, dtype=np.uint64) * _BAND_SALT
    return (np.asarray(folded, dtype=np.uint64).reshape(-1, n_bands) ^ salts).view(np.int64)


@dataclass
class Postings:
    """The arrays of one segment (in memory, or views of a mapped file)."""

    arrays: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    @property
    def n_fingerprints(self) -> int:
        return int(self.arrays["fp_hash"].shape[0])

    @property
    def n_postings(self) -> int:
        return int(self.arrays["band_key"].shape[0])

    @property
    def n_documents(self) -> int:
        return int(self.arrays["doc_key"].shape[0])

    @property
    def nbytes(self) -> int:
        return sum(int(a.nbytes) for a in self.arrays.values())

    @classmethod
    def empty(cls) -> Postings:
        return cls({name: np.zeros(0, dtype=dt) for name, dt in FIELDS})


def as_u32(values: np.ndarray | Sequence[int], what: str) -> np.ndarray:
    """Values as u32, refusing any that do not fit (a document past 4 GiB of text, say)."""
    arr = np.asarray(values, dtype=np.int64)
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) > U32_MAX):
        raise ValueError(f"{what} out of range for the store (0 to {U32_MAX})")
    return arr.astype("<u4")


def build(parts: Iterable[Postings]) -> Postings:
    """One sorted segment from unsorted parts (each document's entries, or whole segments)."""
    parts = list(parts)
    if not parts:
        return Postings.empty()
    cat = {name: np.concatenate([p.arrays[name] for p in parts]).astype(dt, copy=False) for name, dt in FIELDS}
    out: dict[str, np.ndarray] = {}
    for fields, key in ((FP_FIELDS, "fp_hash"), (BAND_FIELDS, "band_key"), (DOC_FIELDS, "doc_first_pid")):
        # Stable sort: within a key, entries keep the order of the parts (older first).
        order = np.argsort(cat[key], kind="stable")
        for name in fields:
            out[name] = cat[name][order]
    return Postings(out)


def owners(first_pids: np.ndarray, pids: np.ndarray) -> np.ndarray:
    """Index (into a segment's document table, sorted by first passage id) of the
    document owning each passage id."""
    return np.searchsorted(first_pids, pids, side="right") - 1


# --- files ---------------------------------------------------------------------------------

class SegmentWriter:
    """Writes a segment file (0600) whose array lengths are known up front, a piece of
    each array at a time (a merge streams its output without holding it in memory).

    The caller renames nothing: the file counts once the catalogue that names it is
    committed. :meth:`finish` syncs it; on any failure the file is removed.
    """

    def __init__(self, path: Path, lengths: dict[str, int]) -> None:
        self.path = path
        self._offsets: dict[str, int] = {}
        offset = 0
        for name, dt in FIELDS:
            offset = -(-offset // _ALIGN) * _ALIGN
            self._offsets[name] = offset
            offset += lengths[name] * np.dtype(dt).itemsize
        items = [{"name": name, "dtype": dt, "length": lengths[name], "offset": self._offsets[name]}
                 for name, dt in FIELDS]
        header = json.dumps({"format": 1, "arrays": items}).encode("ascii")
        self._base = -(-(len(MAGIC) + 4 + len(header)) // _ALIGN) * _ALIGN
        self.size = self._base + offset
        self._written = dict.fromkeys(self._offsets, 0)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.pwrite(self._fd, MAGIC + struct.pack("<I", len(header)) + header, 0)
            os.ftruncate(self._fd, self.size)
        except BaseException:
            self.abandon()
            raise

    def append(self, name: str, values: np.ndarray) -> None:
        data = np.ascontiguousarray(values, dtype=_DTYPES[name]).tobytes()
        try:
            at = self._base + self._offsets[name] + self._written[name]
            while data:
                n = os.pwrite(self._fd, data, at)
                data, at = data[n:], at + n
                self._written[name] += n
        except BaseException:
            self.abandon()
            raise

    def finish(self) -> int:
        """Sync and close the file; returns its size."""
        try:
            os.fsync(self._fd)
            os.close(self._fd)
        except BaseException:
            self.abandon()
            raise
        return self.size

    def abandon(self) -> None:
        with suppress(OSError):
            os.close(self._fd)
        with suppress(OSError):
            self.path.unlink()


def write(path: Path, postings: Postings) -> int:
    """Write an in-memory segment as a file (see :class:`SegmentWriter`); returns its size."""
    writer = SegmentWriter(path, {name: int(postings.arrays[name].shape[0]) for name, _ in FIELDS})
    for name, _ in FIELDS:
        writer.append(name, postings.arrays[name])
    return writer.finish()


def merge(inputs: Sequence[Segment], removed: np.ndarray, path: Path, chunk: int = 2_000_000) -> dict[str, int]:
    """Merge sorted segments into one file, leaving out the entries of ``removed``
    documents, in pieces of about ``chunk`` entries (memory stays bounded however large
    the segments are): the key space is cut at keys of the largest input, and each
    piece is gathered from every input by binary search, sorted and appended.

    Returns the merged segment's counts (fingerprints, postings, documents, bytes).
    """
    removed = np.asarray(removed, dtype=np.int64)
    docs = [{name: np.asarray(p.postings[name]) for name in DOC_FIELDS} for p in inputs]
    doc_keep = [~np.isin(d["doc_key"], removed) if removed.size else np.ones(d["doc_key"].shape[0], dtype=bool)
                for d in docs]

    def keep_fp(i: int, lo: int, hi: int) -> np.ndarray | None:
        return ~np.isin(inputs[i].read("fp_doc", lo, hi), removed) if removed.size else None

    def keep_band(i: int, lo: int, hi: int) -> np.ndarray | None:
        if not removed.size or not docs[i]["doc_key"].size:
            return None
        return doc_keep[i][owners(docs[i]["doc_first_pid"], inputs[i].read("band_pid", lo, hi))]

    families = ((FP_FIELDS, "fp_hash", keep_fp), (BAND_FIELDS, "band_key", keep_band))
    lengths = {name: sum(int(d[name][k].shape[0]) for d, k in zip(docs, doc_keep, strict=True))
               for name in DOC_FIELDS}
    plans = []
    for fields, key, keep in families:
        pieces = _pieces([p.postings[key] for p in inputs], chunk)
        n = 0
        for bounds in pieces:
            for i, (lo, hi) in enumerate(bounds):
                mask = keep(i, lo, hi)
                n += (hi - lo) if mask is None else int(np.count_nonzero(mask))
        lengths.update(dict.fromkeys(fields, n))
        plans.append((fields, key, keep, pieces))
    writer = SegmentWriter(path, lengths)
    for fields, key, keep, pieces in plans:
        for bounds in pieces:
            cols: dict[str, list[np.ndarray]] = {name: [] for name in fields}
            for i, (lo, hi) in enumerate(bounds):
                mask = keep(i, lo, hi)
                for name in fields:
                    part = inputs[i].read(name, lo, hi)
                    cols[name].append(part if mask is None else part[mask])
            joined = {name: np.concatenate(parts) for name, parts in cols.items()}
            order = np.argsort(joined[key], kind="stable")
            for name in fields:
                writer.append(name, joined[name][order])
    all_docs = {name: np.concatenate([d[name][k] for d, k in zip(docs, doc_keep, strict=True)]) for name in DOC_FIELDS}
    order = np.argsort(all_docs["doc_first_pid"], kind="stable")
    for name in DOC_FIELDS:
        writer.append(name, all_docs[name][order])
    size = writer.finish()
    return {"fingerprints": lengths["fp_hash"], "postings": lengths["band_key"], "documents": lengths["doc_key"],
            "bytes": size}


def _pieces(keys: Sequence[np.ndarray], chunk: int) -> list[list[tuple[int, int]]]:
    """Cut sorted key arrays into pieces of about ``chunk`` entries in all: per piece, the
    (start, end) of each array's entries. Cuts fall at keys of the largest array, so that
    equal keys are never split."""
    total = sum(int(k.shape[0]) for k in keys)
    if total == 0:
        return []
    largest = max(keys, key=lambda k: int(k.shape[0]))
    n_pieces = max(1, -(-total // chunk))
    cuts = np.unique(np.asarray(largest[np.linspace(0, largest.shape[0], n_pieces, endpoint=False)
                                        .astype(np.int64)[1:]]))
    starts = [np.concatenate([[0], np.searchsorted(k, cuts, side="left"), [k.shape[0]]]) for k in keys]
    return [[(int(st[j]), int(st[j + 1])) for st in starts] for j in range(len(cuts) + 1)]


def sync_folder(folder: Path) -> None:
    """Make created and removed file names durable (fsync of the directory)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Segment:
    """A segment file, memory-mapped read-only (and read in pieces by :meth:`read`)."""

    name: str
    postings: Postings
    _map: mmap.mmap | None
    path: Path
    offsets: dict[str, int]
    _fd: int | None = None

    @classmethod
    def open(cls, path: Path) -> Segment:
        try:
            with open(path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size < len(MAGIC) + 4:
                    raise SegmentError(f"segment {path.name} is truncated")
                mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as exc:
            raise SegmentError(f"segment {path.name} cannot be read: {exc}") from exc
        # On a SegmentError the map is left to the garbage collector: views of it made
        # while parsing may still be alive (closing it would fail).
        postings, offsets = _parse(mapped, size, path.name)
        return cls(path.name, postings, mapped, path, offsets)

    def read(self, name: str, lo: int, hi: int) -> np.ndarray:
        """Entries ``lo:hi`` of an array, read from the file rather than through the map
        (a merge reads every page once: mapped, they would all stay in its resident set)."""
        dt = np.dtype(_DTYPES[name])
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        n = max(0, hi - lo) * dt.itemsize
        data = os.pread(self._fd, n, self.offsets[name] + lo * dt.itemsize)
        if len(data) != n:
            raise SegmentError(f"segment {self.name} is truncated ({name})")
        return np.frombuffer(data, dtype=dt)

    def close(self) -> None:
        # Views of the map may outlive this object (results handed out are copies, but a
        # caller may hold one): leave the unmapping to the garbage collector then.
        self.postings = Postings.empty()
        self._map = None
        if self._fd is not None:
            with suppress(OSError):
                os.close(self._fd)
            self._fd = None


def _parse(buf: mmap.mmap, size: int, name: str) -> tuple[Postings, dict[str, int]]:
    if buf[: len(MAGIC)] != MAGIC:
        raise SegmentError(f"{name} is not a leakwatch segment")
    (n,) = struct.unpack_from("<I", buf, len(MAGIC))
    start = len(MAGIC) + 4
    if start + n > size:
        raise SegmentError(f"segment {name} is truncated (header)")
    try:
        header = json.loads(bytes(buf[start:start + n]).decode("ascii"))
        items = header["arrays"]
        if header.get("format") != 1 or [(i["name"], i["dtype"]) for i in items] != list(FIELDS):
            raise SegmentError(f"segment {name} has an unknown layout")
    except (ValueError, KeyError, TypeError) as exc:
        raise SegmentError(f"segment {name} has a damaged header") from exc
    arrays = {}
    offsets = {}
    base = -(-(start + n) // _ALIGN) * _ALIGN  # offsets count from the first aligned byte after the header
    for item in items:
        dt = np.dtype(_DTYPES[item["name"]])
        length, offset = int(item["length"]), base + int(item["offset"])
        if length < 0 or offset < base or offset + length * dt.itemsize > size:
            raise SegmentError(f"segment {name} is truncated ({item['name']})")
        arrays[item["name"]] = np.frombuffer(buf, dtype=dt, count=length, offset=offset)
        offsets[item["name"]] = offset
    counts = {f: arrays[f].shape[0] for f in FP_FIELDS}, {f: arrays[f].shape[0] for f in BAND_FIELDS}, \
        {f: arrays[f].shape[0] for f in DOC_FIELDS}
    if any(len(set(c.values())) != 1 for c in counts):
        raise SegmentError(f"segment {name} has arrays of unequal lengths")
    return Postings(arrays), offsets


# --- look-ups --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Queries:
    """Look-up values prepared once for every segment: distinct and sorted, and the
    positions of the queries of each distinct value."""

    values: np.ndarray  # distinct query values, sorted
    by_value: np.ndarray  # query positions grouped by value
    starts: np.ndarray  # where each value's group begins in by_value (len(values) + 1)

    @classmethod
    def of(cls, queries: np.ndarray) -> Queries:
        flat = np.asarray(queries).reshape(-1)
        by_value = np.argsort(flat, kind="stable")
        ordered = flat[by_value]
        first = np.ones(ordered.shape[0], dtype=bool)
        first[1:] = ordered[1:] != ordered[:-1]
        starts = np.append(np.flatnonzero(first), ordered.shape[0])
        return cls(ordered[first], by_value, starts)


def ranges(sorted_keys: np.ndarray, queries: np.ndarray | Queries) -> tuple[np.ndarray, np.ndarray]:
    """For each query value, which entries of ``sorted_keys`` equal it: (query index of
    each match, entry index of each match). ``queries`` need not be sorted nor distinct.

    Each distinct value is searched once, and only the values found are searched a
    second time for the end of their run (most look-ups find nothing).
    """
    empty = np.zeros(0, dtype=np.int64)
    q = queries if isinstance(queries, Queries) else Queries.of(queries)
    if sorted_keys.shape[0] == 0 or q.values.shape[0] == 0:
        return empty, empty.copy()
    lo = np.searchsorted(sorted_keys, q.values, side="left")
    found = lo < sorted_keys.shape[0]
    found[found] = sorted_keys[lo[found]] == q.values[found]
    hit = np.flatnonzero(found)
    if hit.size == 0:
        return empty, empty.copy()
    first = lo[hit]
    n_entries = np.searchsorted(sorted_keys, q.values[hit], side="right") - first
    # Every query of a value found takes all its entries.
    q_first = q.starts[hit]
    n_queries = q.starts[hit + 1] - q_first
    pairs = n_queries * n_entries
    group = np.repeat(np.arange(hit.size), pairs)
    within = np.arange(int(pairs.sum())) - np.repeat(np.cumsum(pairs) - pairs, pairs)
    per = n_entries[group]
    query_index = q.by_value[q_first[group] + within // per]
    return query_index.astype(np.int64), (first[group] + within % per).astype(np.int64)


def merge_classes(sizes: Sequence[int], fanout: int = FANOUT) -> list[int] | None:
    """Which segments (indexes into ``sizes``, oldest first) to merge next: the newest
    ``fanout`` of one size class (sizes within a factor ``fanout``), or None."""
    if len(sizes) < fanout:
        return None
    levels = [int(np.log(max(s, 1)) / np.log(fanout)) for s in sizes]
    by_level: dict[int, list[int]] = {}
    for i, level in enumerate(levels):
        by_level.setdefault(level, []).append(i)
    for level in sorted(by_level):
        members = by_level[level]
        if len(members) >= fanout:
            return members[:fanout]
    return None
