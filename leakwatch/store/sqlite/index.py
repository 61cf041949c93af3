"""The look-up index of the embedded store: segment files listed in its catalogue.

A transaction's new entries are buffered here and written as one segment just before
it commits; the catalogue row naming the file is part of the same transaction, so a
crash before COMMIT leaves an unlisted file (ignored by readers, deleted by the next
merge) and a crash after it leaves the segment in place. Merges run after a commit,
in a transaction of their own: the merged file replaces its inputs in the catalogue,
and the inputs are unlinked once that is committed (a reader that mapped them keeps
its mapping; one that finds a file gone reads the catalogue again).
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from leakwatch.store import segments as seg
from leakwatch.store.base import FingerprintHits, PassageHits
from leakwatch.store.sqlite.connection import SegmentWriteError

# Forward fingerprints of a document (its ``fingerprints`` BLOB), in position order.
FORWARD_FP = np.dtype([("hash", "<u8"), ("pos", "<u4"), ("start", "<u4"), ("end", "<u4")])


def segment_folder(db_path: Path) -> Path:
    """Where a database's segment files live: ``leakwatch.segments`` beside ``leakwatch.sqlite``."""
    return db_path.with_name(db_path.stem + ".segments")


def doc_postings(doc_key: int, first_pid: int, n_passages: int, forward: np.ndarray, folded: np.ndarray,
                 passages: np.ndarray) -> seg.Postings:
    """One document's look-up entries: its fingerprints (``forward``, FORWARD_FP records)
    and its LSH postings (folded band keys, passage of each)."""
    n_fp = len(forward)
    return seg.Postings({
        "fp_hash": forward["hash"].astype("<u8"), "fp_doc": np.full(n_fp, doc_key, dtype="<u4"),
        "fp_pos": forward["pos"], "fp_start": forward["start"], "fp_end": forward["end"],
        "band_key": np.asarray(folded, dtype="<u8"),
        "band_pid": seg.as_u32(first_pid + np.asarray(passages, dtype=np.int64), "a passage id"),
        "doc_key": np.array([doc_key], dtype="<u4"), "doc_first_pid": np.array([first_pid], dtype="<u4"),
        "doc_passages": np.array([n_passages], dtype="<u4"),
    })


def mkdir_private(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)


@dataclass
class _Snapshot:
    names: tuple[str, ...] = ()
    removed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def _empty_hits() -> FingerprintHits:
    e = np.zeros(0, dtype=np.int64)
    return FingerprintHits(np.zeros(0, dtype=np.uint64), e, e.copy(), e.copy(), e.copy())


class SegmentIndex:
    """Segments of one store database (``folder``: where its segment files live)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._pending: list[seg.Postings] = []
        self._written: list[Path] = []
        self._open: dict[str, seg.Segment] = {}
        self._snapshot = _Snapshot()
        # The last merge that failed (a full disk, say): the index stays valid unmerged.
        self.merge_error: str | None = None

    # --- writing --------------------------------------------------------------------------

    def add(self, postings: seg.Postings) -> None:
        """Entries of one document, to be written with the transaction."""
        self._pending.append(postings)

    def mark(self) -> int:
        return len(self._pending)

    def undo(self, mark: int) -> None:
        del self._pending[mark:]

    def flush(self, db: sqlite3.Connection) -> None:
        """Inside the transaction: write the buffered entries as one segment and list it."""
        if not self._pending:
            return
        postings = seg.build(self._pending)
        self._pending.clear()
        path = self._write(postings)
        self._written.append(path)
        db.execute("INSERT INTO segments (name, fingerprints, postings, documents, bytes) VALUES (?, ?, ?, ?, ?)",
                   (path.name, postings.n_fingerprints, postings.n_postings, postings.n_documents,
                    path.stat().st_size))

    def _write(self, postings: seg.Postings) -> Path:
        path = self.folder / f"{secrets.token_hex(8)}{seg.SUFFIX}"
        try:
            seg.write(path, postings)
            seg.sync_folder(self.folder)
        except OSError as exc:
            with suppress(OSError):  # what a full disk let through
                path.unlink()
            raise SegmentWriteError(f"cannot write the segment file {path.name}: {exc.strerror or exc}") from exc
        return path

    def committed(self) -> None:
        self._pending.clear()
        self._written.clear()

    def rolled_back(self) -> None:
        self._pending.clear()
        for path in self._written:
            with suppress(OSError):
                path.unlink()
        self._written.clear()

    # --- merging --------------------------------------------------------------------------

    def merge(self, db: sqlite3.Connection, everything: bool = False) -> int:
        """Merge segments (one size class's ``FANOUT``, or with ``everything`` all of them)
        in a transaction of its own, dropping removed documents' entries; returns how many
        segments were merged. Also deletes segment files no committed catalogue lists (left
        by a crash). Raises sqlite3.Error or SegmentWriteError (the index is then unchanged)."""
        merged = 0
        while True:
            db.execute("BEGIN IMMEDIATE")
            new: Path | None = None
            try:
                rows = db.execute("SELECT name, postings + fingerprints FROM segments ORDER BY rowid").fetchall()
                self._delete_orphans({r[0] for r in rows})
                if everything:
                    chosen = list(range(len(rows))) if len(rows) > 1 or self._has_removed(db) else None
                else:
                    chosen = seg.merge_classes([int(r[1]) for r in rows])
                if not chosen:
                    db.execute("COMMIT")
                    return merged
                names = [rows[i][0] for i in chosen]
                removed = np.asarray([r[0] for r in db.execute("SELECT doc_key FROM removed")], dtype=np.int64)
                inputs = [seg.Segment.open(self.folder / n) for n in names]
                new = self.folder / f"{secrets.token_hex(8)}{seg.SUFFIX}"
                try:
                    counts = seg.merge(inputs, removed, new)
                    seg.sync_folder(self.folder)
                except OSError as exc:
                    raise SegmentWriteError(f"cannot write the segment file {new.name}: "
                                            f"{exc.strerror or exc}") from exc
                finally:
                    for s in inputs:
                        s.close()
                db.executemany("DELETE FROM segments WHERE name = ?", [(n,) for n in names])
                db.execute("INSERT INTO segments (name, fingerprints, postings, documents, bytes) "
                           "VALUES (?, ?, ?, ?, ?)", (new.name, counts["fingerprints"], counts["postings"],
                                                      counts["documents"], counts["bytes"]))
                if len(chosen) == len(rows):  # no entry of a removed document is left anywhere
                    db.execute("DELETE FROM removed")
                db.execute("COMMIT")
            except BaseException:
                with suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                if new is not None:
                    with suppress(OSError):
                        new.unlink()
                raise
            for n in names:
                with suppress(OSError):
                    (self.folder / n).unlink()
            merged += len(names)
            if everything:
                return merged

    @staticmethod
    def _has_removed(db: sqlite3.Connection) -> bool:
        return db.execute("SELECT 1 FROM removed LIMIT 1").fetchone() is not None

    def _delete_orphans(self, listed: set[str]) -> None:
        """Segment files no committed catalogue lists (a crashed writer's): called with the
        write lock held, when no other writer can be between writing one and listing it."""
        with suppress(OSError):
            for path in self.folder.iterdir():
                if path.suffix == seg.SUFFIX and path.name not in listed and path not in self._written:
                    with suppress(OSError):
                        path.unlink()

    # --- reading --------------------------------------------------------------------------

    def _segments(self, db: sqlite3.Connection) -> tuple[list[seg.Segment], np.ndarray]:
        """The committed segments and removed documents, consistently (re-read when a merge
        removed a file between reading the catalogue and opening it)."""
        missing: tuple[str, ...] | None = None
        for _ in range(5):
            own = db.in_transaction
            if not own:
                db.execute("BEGIN")
            try:
                names = tuple(r[0] for r in db.execute("SELECT name FROM segments ORDER BY rowid"))
                removed = np.asarray([r[0] for r in db.execute("SELECT doc_key FROM removed")], dtype=np.int64)
            finally:
                if not own:
                    db.execute("COMMIT")
            try:
                opened = [self._segment(n) for n in names]
            except FileNotFoundError as exc:
                if names == missing:  # the same catalogue twice: the file is gone, not merged away
                    raise sqlite3.DatabaseError(f"the segment file {Path(str(exc.filename)).name} is missing "
                                                "(the store is damaged: restore it from a backup)") from exc
                missing = names
                continue
            for gone in set(self._open) - set(names):
                self._open.pop(gone).close()
            self._snapshot = _Snapshot(names, removed)
            return opened, removed
        raise sqlite3.OperationalError("the segment files kept changing while being opened")

    def _segment(self, name: str) -> seg.Segment:
        found = self._open.get(name)
        if found is None:
            try:
                found = seg.Segment.open(self.folder / name)
            except seg.SegmentError as exc:
                raise sqlite3.DatabaseError(str(exc)) from exc
            self._open[name] = found
        return found

    def lookup_fingerprints(self, db: sqlite3.Connection, hashes: np.ndarray) -> FingerprintHits:
        queries = seg.Queries.of(np.unique(np.asarray(hashes, dtype=np.uint64)))
        segments, removed = self._segments(db)
        parts = []
        for s in segments:
            p = s.postings
            _, at = seg.ranges(p["fp_hash"], queries)
            if at.size:
                parts.append((p["fp_hash"][at], p["fp_doc"][at], p["fp_pos"][at], p["fp_start"][at],
                              p["fp_end"][at]))
        if not parts:
            return _empty_hits()
        cols = [np.concatenate([part[i] for part in parts]) for i in range(5)]
        hits = FingerprintHits(cols[0].astype(np.uint64), *(c.astype(np.int64) for c in cols[1:]))
        return hits.select(~np.isin(hits.doc_keys, removed)) if removed.size else hits

    def lookup_postings(self, db: sqlite3.Connection, band_keys: np.ndarray) -> PassageHits:
        n_query, n_bands = band_keys.shape
        empty = np.zeros(0, dtype=np.int64)
        if n_query == 0 or n_bands == 0:
            return PassageHits(empty, empty.copy(), empty.copy())
        folded = seg.Queries.of(seg.fold_bands(np.asarray(band_keys, dtype=np.int64)))
        segments, removed = self._segments(db)
        found = []
        for s in segments:
            p = s.postings
            qi, at = seg.ranges(p["band_key"], folded)
            if not at.size:
                continue
            # One row per (query passage, stored passage): a passage id lives in one
            # segment, so the pairs are made distinct here, packed in one integer.
            pairs = np.sort(((qi // n_bands) << 32) | p["band_pid"][at].astype(np.int64))
            pairs = pairs[np.append(True, pairs[1:] != pairs[:-1])]
            pids = pairs & 0xFFFF_FFFF
            owner = seg.owners(p["doc_first_pid"], pids)
            found.append(np.stack([pairs >> 32, p["doc_key"][owner].astype(np.int64),
                                   pids - p["doc_first_pid"][owner].astype(np.int64)], axis=1))
        if not found:
            return PassageHits(empty, empty.copy(), empty.copy())
        arr = np.concatenate(found)
        if removed.size:
            arr = arr[~np.isin(arr[:, 1], removed)]
        if len(found) > 1:  # in (query passage, document, passage) order, as one segment gives them
            arr = arr[np.lexsort((arr[:, 2], arr[:, 1], arr[:, 0]))]
        return PassageHits(arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy())

    def band_postings(self, db: sqlite3.Connection, docs: list[tuple[int, int, int]]
                      ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Every LSH posting of some documents, read back from the segments (to copy them
        to another store): ``docs`` is (doc_key, first_pid, n_passages) of each; returns,
        per doc_key, (folded band keys u64, passage index of each). One pass over each
        segment's passage ids for the whole batch: copy in batches, not one by one."""
        out = {d: (np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)) for d, _, _ in docs}
        live = sorted((first, first + n, d) for d, first, n in docs if n > 0)
        if not live:
            return out
        firsts = np.asarray([f for f, _, _ in live], dtype=np.int64)
        ends = np.asarray([e for _, e, _ in live], dtype=np.int64)
        keys_of: dict[int, list[np.ndarray]] = {}
        idx_of: dict[int, list[np.ndarray]] = {}
        segments, _ = self._segments(db)
        for s in segments:
            p = s.postings
            pids = p["band_pid"]
            at = np.nonzero((pids >= firsts[0]) & (pids < ends[-1]))[0]
            if not at.size:
                continue
            pid = pids[at].astype(np.int64)
            which = np.searchsorted(firsts, pid, side="right") - 1
            inside = pid < ends[which]
            at, pid, which = at[inside], pid[inside], which[inside]
            order = np.argsort(which, kind="stable")
            at, pid, which = at[order], pid[order], which[order]
            bounds = np.searchsorted(which, np.arange(len(live) + 1))
            for i in np.nonzero(np.diff(bounds))[0].tolist():
                lo, hi = int(bounds[i]), int(bounds[i + 1])
                doc_key = live[i][2]
                keys_of.setdefault(doc_key, []).append(p["band_key"][at[lo:hi]].astype(np.uint64))
                idx_of.setdefault(doc_key, []).append(pid[lo:hi] - live[i][0])
        for doc_key, parts in keys_of.items():
            out[doc_key] = (np.concatenate(parts), np.concatenate(idx_of[doc_key]))
        return out

    def close(self) -> None:
        for s in self._open.values():
            s.close()
        self._open.clear()
