"""Store layouts for the LSH postings compared in one run (issue 21's design choice).

Each design takes the same stream of postings (a 64-bit band key -> a 32-bit passage
id, ``--bands`` per passage, random keys as keyed band keys are), committed in groups
of ``--commit`` passages (one ``index add`` commit of about 40 documents), and answers
the same look-ups (``--queries`` keys, half of them stored). At every ``--step``
passages it reports the build rate of the last step, the look-up time (best of 3) and
the bytes per passage on disk:

* ``sqlite-rows``: the format-1 layout, one row per posting in a WITHOUT ROWID B-tree
  keyed (band, key, passage);
* ``sqlite-packed``: one row per band key with its postings packed in a BLOB, each
  commit's keys presorted and appended with an upsert (fewer, wider rows);
* ``lmdb``: LMDB (py-lmdb), a sorted duplicate-key table, each commit presorted and
  written with ``putmulti`` (an embedded B+tree engine made for reads);
* ``segments``: the new store's own code: each commit writes one immutable sorted
  segment (keys and passage ids as flat arrays, memory-mapped for reading,
  binary-searched); segments are merged when 8 of one size class pile up (a
  log-structured merge, streamed in pieces).

    python benchmarks/store_designs.py [--passages 1000000] [--step 100000] [--designs ...] [--budget 600]

A design that has spent ``--budget`` seconds building stops early (its last rate says why).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from leakwatch.store import segments as seg


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class SQLiteRows:
    name = "sqlite-rows"

    def __init__(self, root: Path) -> None:
        self.db = sqlite3.connect(root / "db.sqlite", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA cache_size=-131072")
        self.db.execute("CREATE TABLE bands (band INTEGER, key INTEGER, pid INTEGER, PRIMARY KEY (band, key, pid)) "
                        "WITHOUT ROWID")

    def add(self, keys: np.ndarray, pids: np.ndarray) -> None:
        n_bands = keys.shape[1]
        bands = np.tile(np.arange(n_bands), keys.shape[0]).tolist()
        self.db.execute("BEGIN")
        self.db.executemany("INSERT INTO bands VALUES (?, ?, ?)",
                            zip(bands, keys.reshape(-1).view(np.int64).tolist(),
                                np.repeat(pids, n_bands).tolist(), strict=True))
        self.db.execute("COMMIT")

    def lookup(self, keys: np.ndarray) -> int:
        n_bands = keys.shape[1]
        rows = self.db.execute(
            f"SELECT b.pid FROM json_each(?) q JOIN bands b ON b.band = q.key % {n_bands} AND b.key = q.value",
            (json.dumps(keys.reshape(-1).view(np.int64).tolist()),)).fetchall()
        return len(rows)

    def close(self) -> None:
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.close()


class SQLitePacked(SQLiteRows):
    name = "sqlite-packed"

    def __init__(self, root: Path) -> None:
        self.db = sqlite3.connect(root / "db.sqlite", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA cache_size=-131072")
        self.db.execute("CREATE TABLE bands (key INTEGER PRIMARY KEY, postings BLOB) WITHOUT ROWID")

    def add(self, keys: np.ndarray, pids: np.ndarray) -> None:
        flat = fold_bands(keys)
        p = np.repeat(pids, keys.shape[1]).astype("<u4")
        order = np.argsort(flat, kind="stable")
        flat, p = flat[order].view(np.int64), p[order]
        self.db.execute("BEGIN")
        self.db.executemany("INSERT INTO bands VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                            "SET postings = postings || excluded.postings",
                            ((int(k), p[i:i + 1].tobytes()) for i, k in enumerate(flat.tolist())))
        self.db.execute("COMMIT")

    def lookup(self, keys: np.ndarray) -> int:
        rows = self.db.execute("SELECT b.postings FROM json_each(?) q JOIN bands b ON b.key = q.value",
                               (json.dumps(fold_bands(keys).view(np.int64).tolist()),)).fetchall()
        return sum(len(r[0]) // 4 for r in rows)


class LMDB:
    name = "lmdb"

    def __init__(self, root: Path) -> None:
        import lmdb

        self.env = lmdb.open(str(root / "lmdb"), map_size=1 << 40, max_dbs=1, sync=True, writemap=False)
        self.table = self.env.open_db(b"bands", dupsort=True, dupfixed=True)

    def add(self, keys: np.ndarray, pids: np.ndarray) -> None:
        flat = fold_bands(keys)
        p = np.repeat(pids, keys.shape[1]).astype(">u4")
        order = np.argsort(flat, kind="stable")
        kb = flat[order].astype(">u8").tobytes()
        pb = p[order].tobytes()
        with self.env.begin(write=True, db=self.table) as txn:
            txn.cursor().putmulti(((kb[i * 8:i * 8 + 8], pb[i * 4:i * 4 + 4]) for i in range(len(order))),
                                  dupdata=True, append=False)

    def lookup(self, keys: np.ndarray) -> int:
        found = 0
        kb = np.sort(fold_bands(keys)).astype(">u8").tobytes()
        with self.env.begin(db=self.table) as txn:
            cur = txn.cursor()
            for i in range(0, len(kb), 8):
                if cur.set_key(kb[i:i + 8]):
                    found += cur.count()
        return found

    def close(self) -> None:
        self.env.close()


class Segments:
    """leakwatch's own segments (:mod:`leakwatch.store.segments`): one sorted file per
    commit, merged log-structured (``FANOUT`` of one size class become one, streamed)."""

    name = "segments"

    def __init__(self, root: Path) -> None:
        self.root = root / "segments"
        self.root.mkdir()
        self.runs: list[seg.Segment] = []
        self.serial = 0

    def _path(self) -> Path:
        self.serial += 1
        return self.root / f"{self.serial:08d}{seg.SUFFIX}"

    def add(self, keys: np.ndarray, pids: np.ndarray) -> None:
        n = keys.size
        postings = seg.Postings.empty()
        postings.arrays.update({
            "band_key": fold_bands(keys).astype("<u8"), "band_pid": np.repeat(pids, keys.shape[1]).astype("<u4"),
            "doc_key": np.array([1], "<u4"), "doc_first_pid": np.array([0], "<u4"),
            "doc_passages": np.array([n], "<u4")})
        path = self._path()
        seg.write(path, seg.build([postings]))
        seg.sync_folder(self.root)
        self.runs.append(seg.Segment.open(path))
        while (chosen := seg.merge_classes([r.postings.n_postings for r in self.runs])) is not None:
            inputs = [self.runs[i] for i in chosen]
            path = self._path()
            seg.merge(inputs, np.zeros(0, dtype=np.int64), path)
            seg.sync_folder(self.root)
            for r in inputs:
                r.close()
                (self.root / r.name).unlink()
            self.runs = [r for i, r in enumerate(self.runs) if i not in chosen] + [seg.Segment.open(path)]

    def lookup(self, keys: np.ndarray) -> int:
        queries = seg.Queries.of(fold_bands(keys))
        return sum(int(seg.ranges(r.postings["band_key"], queries)[1].size) for r in self.runs)

    def close(self) -> None:
        for r in self.runs:
            r.close()


DESIGNS: dict[str, Callable[[Path], Any]] = {
    "sqlite-rows": SQLiteRows, "sqlite-packed": SQLitePacked, "lmdb": LMDB, "segments": Segments}


def fold_bands(keys: np.ndarray) -> np.ndarray:
    """One 64-bit key per (passage, band): the band folded into the key (as the new store does)."""
    n_bands = keys.shape[1]
    salt = (np.arange(n_bands, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    return (keys.astype(np.uint64) ^ salt).reshape(-1)


def run(design: str, root: Path, total: int, step: int, bands: int, commit: int, queries: int,
        budget: float) -> list[dict[str, Any]]:
    folder = root / design
    folder.mkdir()
    store = DESIGNS[design](folder)
    rng = np.random.default_rng(1)
    out: list[dict[str, Any]] = []
    stored_sample = np.zeros((0, bands), dtype=np.uint64)
    built = 0.0
    pid = 0
    while pid < total:
        t0 = time.perf_counter()
        target = pid + step
        while pid < target:
            keys = rng.integers(0, 2**63, (commit, bands), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
            if stored_sample.shape[0] < queries // bands:
                stored_sample = np.vstack([stored_sample, keys[: max(1, queries // bands // 20)]])
            store.add(keys, np.arange(pid, pid + commit, dtype=np.uint32))
            pid += commit
        seconds = time.perf_counter() - t0
        built += seconds
        half = stored_sample[: queries // bands // 2]
        q = np.vstack([half, rng.integers(0, 2**63, (half.shape[0], bands), dtype=np.uint64)])
        best = float("inf")
        hits = 0
        for _ in range(3):
            t1 = time.perf_counter()
            hits = store.lookup(q)
            best = min(best, time.perf_counter() - t1)
        size = dir_size(folder)
        row = {"design": design, "passages": pid, "rate": step / seconds, "lookup_s": best, "hits": hits,
               "bytes_per_passage": size / pid, "queries": int(q.size)}
        out.append(row)
        print(json.dumps(row), flush=True)
        if built > budget:
            print(json.dumps({"design": design, "stopped": f"build budget {budget:.0f} s spent at {pid} passages"}),
                  flush=True)
            break
    store.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--step", type=int, default=100_000)
    parser.add_argument("--bands", type=int, default=62)
    parser.add_argument("--commit", type=int, default=2_000)
    parser.add_argument("--queries", type=int, default=40_000)
    parser.add_argument("--budget", type=float, default=600.0)
    parser.add_argument("--designs", default=",".join(DESIGNS))
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="store-designs-", dir=args.root))
    results = []
    try:
        for design in args.designs.split(","):
            results += run(design, root, args.passages, args.step, args.bands, args.commit, args.queries, args.budget)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
