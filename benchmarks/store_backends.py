"""The Redis store against the embedded SQLite store (issue 9), measured in one run.

The same documents are indexed into both stores (one key, fingerprinted once), growing
to each size in ``--sizes`` (passages). At each size:

* index memory in Redis per passage: the server's ``INFO memory`` used_memory, minus
  what it used before the store was made, over the passages;
* the SQLite store's bytes on disk per passage (the folder, WAL checkpointed);
* indexing time per passage into each store (``add_document``, the embedded store in
  its bulk mode as ``index add`` uses it; fingerprinting excluded);
* the look-ups of one scan of a 50-page deliverable (10 quoted passages in new prose):
  ``lookup_fingerprints`` + ``lookup_passages`` (the bag bands: the shingle bands are
  not indexed) + ``allowed_mask``, as the confidential detector makes them, best of ``--repeats``
  (warm), in both stores; and how many round trips the Redis store made.

A redis-server (Debian's) is started on a free loopback port for the run, in a temporary
folder without persistence, unless ``--url`` names one (whose database is then used
under a fresh prefix; nothing else in it is touched).

    python benchmarks/store_backends.py [--sizes 2000,10000] [--pages 50] [--repeats 5] [--json FILE]

Needs the redis extra (pip install 'leakwatch[redis]') and redis-server.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from index_bench import dir_size
from run import Row, TextMaker, machine, table

from leakwatch.config import FingerprintParams
from leakwatch.fingerprint import DocumentFingerprints, band_keys, fingerprint_tokens
from leakwatch.keys import load_or_create_key
from leakwatch.store import FingerprintStore, NewDocument, SQLiteStore
from leakwatch.text import tokenize
from tests.redisserver import RedisServerError
from tests.redisserver import start_redis as start_test_redis

WORDS_PER_DOC = 2000  # about 49 passages
WORDS_PER_PAGE = 450


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    try:
        proc, port = start_test_redis(folder)
    except RedisServerError as exc:
        raise SystemExit(f"{exc}, or pass --url") from None
    return proc, f"redis://127.0.0.1:{port}/0"


def new_document(store: FingerprintStore, path: str, text: str, fp: DocumentFingerprints) -> NewDocument:
    data = text.encode()
    return NewDocument(path=path, content_mac=store.key.content_mac(data), size=len(data), label="confidential",
                       owner=None, format="text", extractor_version="1", n_chars=len(text), page_starts=(),
                       fingerprints=fp)


class Counting:
    """Counts the commands a Redis client sends as round trips (a pipeline is one)."""

    def __init__(self, client: Any) -> None:
        self.trips = 0
        self._client = client
        real_execute = client.execute_command
        real_pipeline = client.pipeline

        def execute_command(*args: Any, **kwargs: Any) -> Any:
            self.trips += 1
            return real_execute(*args, **kwargs)

        def pipeline(*args: Any, **kwargs: Any) -> Any:
            pipe = real_pipeline(*args, **kwargs)
            real_pipe_execute = pipe.execute

            def pipe_execute(*a: Any, **k: Any) -> Any:
                self.trips += 1
                return real_pipe_execute(*a, **k)

            pipe.execute = pipe_execute
            return pipe

        client.execute_command = execute_command
        client.pipeline = pipeline


def scan_lookups(store: FingerprintStore, fp: DocumentFingerprints) -> dict[str, float]:
    """One scan's look-ups, timed each (seconds); the sizes of their answers."""
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    hits = store.lookup_fingerprints(fp.keyed)
    t1 = time.perf_counter()
    passages = store.lookup_passages(band_keys(fp.passages.signatures, store.lsh_bands, store.lsh_rows))
    t2 = time.perf_counter()
    bags = store.lookup_passages(band_keys(fp.bag_signatures, store.bag_lsh_bands, store.bag_lsh_rows), bag=True)
    t3 = time.perf_counter()
    allowed = store.allowed_mask(fp.keyed)
    t4 = time.perf_counter()
    out.update(fingerprints=t1 - t0, passages=t2 - t1, bags=t3 - t2, allowed=t4 - t3, total=t4 - t0,
               n_fp=len(hits), n_pa=len(passages.doc_keys), n_bag=len(bags.doc_keys), n_allowed=int(allowed.sum()))
    return out


def best(runs: list[dict[str, float]], name: str) -> float:
    return min(r[name] for r in runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000,10000", help="index sizes in passages, comma-separated")
    parser.add_argument("--pages", type=int, default=50, help="pages of the scanned deliverable")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--url", default=None, help="an existing Redis (redis://host:port/db) instead of a new one")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    from leakwatch.store.redis import RedisStore

    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    root = Path(tempfile.mkdtemp(prefix="lw-store-bench-"))
    server = None
    try:
        if args.url is None:
            server, base_url = start_redis(root / "redis")
        else:
            base_url = args.url.split("?", 1)[0]
        url = f"{base_url}?prefix=bench{uuid.uuid4().hex[:8]}"
        key_file = root / "leakwatch.key"
        key = load_or_create_key(key_file, create=True)
        params = FingerprintParams()
        import redis

        info_client = redis.Redis.from_url(base_url)
        used_before = int(info_client.info("memory")["used_memory"])
        sq = SQLiteStore(root / "sqlite", params=params, key_file=key_file, create=True)
        rd = RedisStore(url, params=params, key_file=key_file, create=True)
        counter = Counting(rd._r)
        maker = TextMaker(seed=11)
        quoted: list[str] = []
        # The allow-list: a boilerplate document's shingles, so that allowed_mask does its work.
        boiler = maker.prose(3000)
        boiler_fp = fingerprint_tokens(tokenize(boiler), params, key)
        for store in (sq, rd):
            store.add_allowed(boiler_fp.keyed)
        body = maker.prose(WORDS_PER_PAGE * args.pages).split()
        passages = 0
        made = 0
        add_s = {"sqlite": 0.0, "redis": 0.0}
        rows: list[Row] = []
        summary: dict[str, Any] = {"machine": machine(), "redis_url": base_url, "sizes": {}}
        deliverable_fp: DocumentFingerprints | None = None
        for target in sizes:
            bulk = sq.bulk()  # as `index add` loads the embedded store: grouped commits
            bulk.__enter__()
            while passages < target:
                text = maker.prose(WORDS_PER_DOC)
                if len(quoted) < 10:
                    quoted.append(text)
                fp = fingerprint_tokens(tokenize(text), params, key)
                for name, store in (("sqlite", sq), ("redis", rd)):
                    t0 = time.perf_counter()
                    store.add_document(new_document(store, f"/bench/doc-{made:07d}.txt", text, fp))
                    add_s[name] += time.perf_counter() - t0
                passages += len(fp.passages)
                made += 1
            t0 = time.perf_counter()
            bulk.__exit__(None, None, None)
            add_s["sqlite"] += time.perf_counter() - t0
            if deliverable_fp is None:
                for k, q in enumerate(quoted):
                    w = q.split()
                    cut = (k + 1) * len(body) // (len(quoted) + 1)
                    body[cut:cut] = w[300:420]
                deliverable_fp = fingerprint_tokens(tokenize(" ".join(body)), params, key)
            sq._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            disk = dir_size(root / "sqlite")
            used = int(info_client.info("memory")["used_memory"]) - used_before
            n_keys = sum(1 for _ in rd.memory_keys())
            runs: dict[str, list[dict[str, float]]] = {"sqlite": [], "redis": []}
            trips = 0
            for _ in range(args.repeats):
                for name, store in (("sqlite", sq), ("redis", rd)):
                    before = counter.trips
                    runs[name].append(scan_lookups(store, deliverable_fp))
                    if name == "redis":
                        trips = counter.trips - before
            for field in ("n_fp", "n_pa", "n_bag", "n_allowed"):
                assert runs["sqlite"][0][field] == runs["redis"][0][field], (field, runs["sqlite"][0], runs["redis"][0])
            label = f"{target // 1000}k" if target >= 1000 else str(target)
            log(f"{label}: {passages:,} passages, {made} documents; Redis {used / passages:,.0f} B/passage "
                f"({n_keys:,} keys), SQLite {disk / passages:,.0f} B/passage on disk; look-ups Redis "
                f"{best(runs['redis'], 'total') * 1e3:.1f} ms, SQLite {best(runs['sqlite'], 'total') * 1e3:.1f} ms")
            rows.append(Row(f"{label}: index size per passage", used / passages, "B (Redis used_memory)",
                            "SQLite on disk", disk / passages, used / disk,
                            note=f"{passages:,} passages; {n_keys / passages:.0f} Redis keys/passage"))
            rows.append(Row(f"{label}: indexing per passage", add_s["redis"] / passages * 1e3, "ms (Redis)",
                            "SQLite", add_s["sqlite"] / passages * 1e3, add_s["redis"] / add_s["sqlite"],
                            note="add_document only, cumulative; fingerprinting excluded"))
            for part, what in (("fingerprints", "lookup_fingerprints"), ("bags", "lookup_passages (bag)"),
                               ("allowed", "allowed_mask"),
                               ("total", f"scan look-ups, {args.pages}-page deliverable")):
                r, s = best(runs["redis"], part), best(runs["sqlite"], part)
                note = ""
                if part == "total":
                    note = (f"{len(deliverable_fp.keyed):,} shingles, {len(deliverable_fp.passages)} passages; "
                            f"{trips} Redis round trips; {runs['redis'][0]['n_fp']:,} fingerprint hits; "
                            f"median Redis {statistics.median(x['total'] for x in runs['redis']) * 1e3:.1f} ms")
                rows.append(Row(f"{label}: {what}", r * 1e3, "ms (Redis)", "SQLite", s * 1e3, r / s, note=note))
            summary["sizes"][str(target)] = {
                "passages": passages, "documents": made, "redis_used_memory_bytes": used, "redis_keys": n_keys,
                "redis_bytes_per_passage": used / passages, "sqlite_disk_bytes": disk,
                "sqlite_bytes_per_passage": disk / passages,
                "add_ms_per_passage": {k: v / passages * 1e3 for k, v in add_s.items()},
                "lookups_ms": {name: {p: best(runs[name], p) * 1e3 for p in
                                      ("fingerprints", "passages", "bags", "allowed", "total")} for name in runs},
                "redis_round_trips": trips,
            }
        sq.close()
        rd.close()
        info_client.close()
        print(table(rows))
        print(f"\nratio = Redis / SQLite (same data, same run, best of {args.repeats}); Redis on loopback "
              f"({base_url}), {summary['machine']['cores']} cores, {summary['machine']['cpu']}")
        if args.json:
            args.json.write_text(json.dumps(summary, indent=2))
    finally:
        if server is not None:
            server.kill()
            server.wait(30)
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
