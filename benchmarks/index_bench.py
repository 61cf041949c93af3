"""The index benchmarks of benchmarks/run.py (issue 21): building the index at N
passages (``leakwatch index add`` as a whole process: rate, size on disk, peak RSS),
cold and warm scans against it, and ``index add`` of real text against datasketch."""

from __future__ import annotations

import itertools
import math
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from run import REPEATS, Row, TextMaker, ratio_row, run_measured, write_pdf

# --- 3. the index ----------------------------------------------------------------------------

def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def count_passages(store: Path) -> int:
    from leakwatch.store import SQLiteStore

    opened = SQLiteStore(store)
    try:
        return opened.count_passages()
    finally:
        opened.close()


def warm_scan_seconds(store: Path, deliverable: Path, warm_up: Path) -> tuple[float, int]:
    """The daemon's warm scan: store, detectors and extraction worker already up (as
    ``leakwatch watch`` keeps them), one more file scanned; (best of 3 s, findings)."""
    from leakwatch.config import Config
    from leakwatch.scanner import Scanner

    with Scanner.open(Config(store=str(store)), live=True) as scanner:
        scanner.scan(warm_up)
        best, found = math.inf, 0
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            result = scanner.scan(deliverable)
            best = min(best, time.perf_counter() - t0)
            found = len(result.findings)
    return best, found


def size_label(n: int) -> str:
    return f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"


def bench_index(maker: TextMaker, root: Path, sizes: list[int], deliverable_pages: int,
                build_repeats: int, log: Callable[[str], None]) -> tuple[list[Row], dict]:
    leakwatch_cmd = [sys.executable, "-m", "leakwatch"]
    docs_dir = root / "index-docs"
    docs_dir.mkdir()
    words_per_doc = 2000  # about 49 passages (80 shingles, every 40)
    made = 0
    sample_texts: list[str] = []
    summary: dict = {}
    rows_: list[Row] = []
    # The deliverable: 50 pages of new prose with 10 passages quoted from indexed documents.
    scans: dict[int, float] = {}
    for target in sorted(sizes):
        n_docs = -(-target // 49)
        while made < n_docs:
            text = maker.prose(words_per_doc)
            if len(sample_texts) < 10:
                sample_texts.append(text)
            sub = docs_dir / f"{made // 1000:03d}"
            sub.mkdir(exist_ok=True)
            (sub / f"doc-{made:07d}.txt").write_text(text)
            made += 1
        deliverable = root / "deliverable-50p.pdf"
        if not deliverable.exists():
            body = maker.prose(450 * deliverable_pages).split()
            for k, quoted in enumerate(sample_texts):
                w = quoted.split()
                cut = (k + 1) * len(body) // (len(sample_texts) + 1)
                body[cut:cut] = w[300:420]
            write_pdf(deliverable, " ".join(body), deliverable_pages)
            small = maker.prose(450 * 10).split()
            for k, quoted in enumerate(sample_texts[:3]):
                cut = (k + 1) * len(small) // 4
                small[cut:cut] = quoted.split()[300:420]
            write_pdf(root / "deliverable-10p.pdf", " ".join(small), 10)
            write_pdf(root / "warm-up-10p.pdf", maker.prose(450 * 10), 10)
        # Build (from scratch each repeat): what users run, `leakwatch index add FOLDER`.
        best = (math.inf, 0, "")
        repeats = build_repeats if target <= 10_000 else 1
        for r in range(repeats):
            store = root / f"store-{target}"
            if store.exists():
                shutil.rmtree(store)
            wall, code, rss, out = run_measured([*leakwatch_cmd, "index", "add", str(docs_dir), "--store", str(store)])
            if code != 0:
                raise RuntimeError(f"index add failed ({code}): {out}")
            if wall < best[0]:
                best = (wall, rss, out.strip().splitlines()[-1])
            log(f"  index {target:,}: build {r + 1}/{repeats} {wall:.1f} s, peak RSS {rss / 2**20:.0f} MiB")
        wall, rss, _ = best
        passages = count_passages(store)
        disk = dir_size(store)
        # Cold scan: a fresh process, no scan cache, the store opened from disk.
        scan_cmd = [*leakwatch_cmd, "scan", str(deliverable), "--store", str(store), "--no-cache"]
        times, found, scan_rss = [], "", 0
        for _ in range(REPEATS):
            t, code, scan_rss, out = run_measured(scan_cmd)
            if code not in (0, 1):
                raise RuntimeError(f"scan failed ({code}): {out}")
            times.append(t)
            found = f"{out.count('confidential-')} findings"
        scans[target] = min(times)
        warm, warm_found = warm_scan_seconds(store, root / "deliverable-10p.pdf", root / "warm-up-10p.pdf")
        log(f"  index {target:,}: {passages:,} passages in {wall:.1f} s ({passages / wall:,.0f}/s), "
            f"{disk / 2**20:.1f} MiB on disk, peak RSS {rss / 2**20:.0f} MiB, cold scan {min(times):.2f} s ({found}), "
            f"warm scan of 10 pages {warm * 1000:.0f} ms ({warm_found} findings)")
        label = size_label(target)
        rows_.append(Row(f"index {label}: build rate", passages / wall, "passages/s",
                         note=f"{passages:,} passages, {n_docs:,} docs, {wall:.1f} s (best of {repeats})"))
        rows_.append(Row(f"index {label}: on disk", disk / passages, "B/passage", target="<= 1,024",
                         met="yes" if disk / passages <= 1024 else "no", note=f"{disk / 2**20:.1f} MiB"))
        rows_.append(Row(f"index {label}: peak RSS of index add", rss / 2**20, "MiB",
                         note=f"{rss / passages:,.0f} B/passage (incl. interpreter)"))
        met = ("yes" if scans[target] < 2.0 else "no") if target >= 1_000_000 else \
            ("no (already over)" if scans[target] >= 2.0 else "n/a (1M not run)")
        rows_.append(Row(f"index {label}: cold scan of {deliverable_pages}-page PDF", scans[target], "s",
                         target="< 2 s at 1M", met=met,
                         note=f"process start included; {found}; scan peak RSS {scan_rss / 2**20:.0f} MiB"))
        rows_.append(Row(f"index {label}: daemon's warm scan of a 10-page PDF", warm * 1000, "ms",
                         target="< 200 ms at 1M", met=("yes" if warm < 0.2 else "no") if target >= 1_000_000 else "",
                         note=f"store, detectors and extraction worker up; {warm_found} findings"))
        summary[str(target)] = {"passages": passages, "documents": n_docs, "build_s": wall, "warm_scan_s": warm,
                                "build_passages_s": passages / wall, "disk_bytes": disk,
                                "disk_bytes_per_passage": disk / passages, "peak_rss_bytes": rss,
                                "cold_scan_s": scans[target], "cold_scan_runs_s": times,
                                "cold_scan_peak_rss_bytes": scan_rss}
    # Baseline for the growth: the process start alone (import leakwatch and its CLI).
    start = min(run_measured([*leakwatch_cmd, "--help"])[0] for _ in range(REPEATS))
    summary["process_start_s"] = start
    rows_.append(Row("leakwatch process start (--help)", start, "s", note="the floor of any cold scan"))
    ordered = sorted(scans)
    for a, b in itertools.pairwise(ordered):
        rows_.append(Row(f"cold scan growth {size_label(a)} -> {size_label(b)} passages", scans[b] / scans[a], "x",
                         f"scan at {size_label(a)}", scans[a], scans[b] / scans[a], target="<= 1.25x 10k -> 1M",
                         note=f"index {b / a:.0f}x larger"))
    if len(ordered) > 1:
        first = ordered[0]
        for b in ordered[1:]:
            rate_a = summary[str(first)]["build_passages_s"]
            rate_b = summary[str(b)]["build_passages_s"]
            rows_.append(ratio_row(f"build rate at {size_label(b)} against {size_label(first)}", rate_b,
                                   "passages/s", f"rate at {size_label(first)}", rate_a, 0.8, ">= 0.8x at 1M",
                                   note="whole processes (start included)"))
            growth = scans[b] / scans[first]
            rows_.append(Row(f"cold scan at {size_label(b)} against {size_label(first)}", growth, "x",
                             f"scan at {size_label(first)}", scans[first], growth, "<= 1.25x at 1M",
                             ("yes" if growth <= 1.25 else "no") if b >= 1_000_000 else "",
                             note=f"{scans[b]:.2f} s against {scans[first]:.2f} s"))
    return rows_, summary


# --- 3c. scans against stores already built --------------------------------------------------

def bench_scans(root: Path, sizes: list[int], log: Callable[[str], None]) -> tuple[list[Row], dict]:
    """Cold and warm scans against the stores an earlier ``--only index --keep DIR`` run
    left in ``root``, the sizes alternated within each repeat (their ratio is then measured
    under the same load); best of 3 each."""
    cold: dict[int, float] = dict.fromkeys(sizes, math.inf)
    warm: dict[int, float] = {}
    deliverable = root / "deliverable-50p.pdf"
    for _ in range(REPEATS):
        for target in sizes:
            store = root / f"store-{target}"
            cmd = [sys.executable, "-m", "leakwatch", "scan", str(deliverable), "--store", str(store), "--no-cache"]
            t, code, _rss, out = run_measured(cmd)
            if code not in (0, 1):
                raise RuntimeError(f"scan failed ({code}): {out}")
            cold[target] = min(cold[target], t)
    for target in sizes:
        warm[target] = warm_scan_seconds(root / f"store-{target}", root / "deliverable-10p.pdf",
                                         root / "warm-up-10p.pdf")[0]
        log(f"  {size_label(target)}: cold scan {cold[target]:.2f} s, warm scan {warm[target] * 1000:.0f} ms")
    first = min(sizes)
    rows_ = []
    for target in sizes:
        growth = cold[target] / cold[first]
        rows_.append(Row(f"cold scan of a 50-page PDF at {size_label(target)} (stores reused)", cold[target], "s",
                         f"at {size_label(first)}", cold[first], growth, "<= 1.25x and < 2 s at 1M",
                         ("yes" if growth <= 1.25 and cold[target] < 2 else "no") if target >= 1_000_000 else ""))
        rows_.append(Row(f"daemon's warm scan of a 10-page PDF at {size_label(target)}", warm[target] * 1000, "ms",
                         target="< 200 ms at 1M",
                         met=("yes" if warm[target] < 0.2 else "no") if target >= 1_000_000 else ""))
    return rows_, {"cold_scan_s": cold, "warm_scan_s": warm}


# --- 3b. index add of real text, against datasketch ---------------------------------------

_DATASKETCH_INDEX = (
    "import re, sys\n"
    "from pathlib import Path\n"
    "from datasketch import MinHash\n"
    "word = re.compile(r'\\w+')\n"
    "for path in sorted(Path(sys.argv[1]).rglob('*.txt')):\n"
    "    words = word.findall(path.read_text(encoding='utf-8', errors='replace').lower())\n"
    "    m = MinHash(num_perm=128)\n"
    "    m.update_batch([' '.join(words[i:i + 5]).encode() for i in range(len(words) - 4)])\n"
)


def bench_real_index(corpus: Path, root: Path, log: Callable[[str], None],
                     before: Path | None = None) -> tuple[list[Row], dict]:
    """``leakwatch index add`` of a folder of real text as a whole process (start, reading,
    extraction, fingerprinting, the store), against a process that MinHashes the same
    files with datasketch's defaults (``update_batch`` of word 5-grams, SHA-1): on the
    numpy path (``LEAKWATCH_JIT=never``, the default install) and with the kernels of the
    ``fast`` extra (``LEAKWATCH_JIT=always``), with one process and with 2 workers
    (``-j 2``); and, with ``before``, the leakwatch source tree at that folder (an older
    release, numpy path) in the same turns. Timings are taken in turn, best of 3."""
    files = sorted(corpus.rglob("*.txt"))
    mb = sum(p.stat().st_size for p in files) / 1e6
    log(f"index add of real text: {len(files)} files, {mb:.1f} MB ({corpus})")
    store = root / "real-text-store"
    add = [sys.executable, "-m", "leakwatch", "index", "add", str(corpus), "--store", str(store), "-q"]
    runs: dict[str, list[str]] = {"datasketch": [sys.executable, "-c", _DATASKETCH_INDEX, str(corpus)]}
    if before is not None:
        runs["before"] = add
    runs.update({"numpy": add, "numpy -j 2": [*add, "-j", "2"], "compiled": add, "compiled -j 2": [*add, "-j", "2"]})
    modes = {"numpy": "never", "numpy -j 2": "never", "compiled": "always", "compiled -j 2": "always",
             "before": "never"}
    best = dict.fromkeys(runs, math.inf)
    rss = dict.fromkeys(runs, 0)
    for _ in range(REPEATS):
        for name, cmd in runs.items():
            if store.exists():
                shutil.rmtree(store)
            saved = {k: os.environ.get(k) for k in ("LEAKWATCH_JIT", "PYTHONPATH")}
            if name in modes:
                os.environ["LEAKWATCH_JIT"] = modes[name]
            if name == "before":
                os.environ["PYTHONPATH"] = str(before)  # and run from there: `-m` puts the cwd first
            try:
                wall, _code, peak, _out = run_measured(cmd, cwd=before if name == "before" else None)
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
            best[name], rss[name] = min(best[name], wall), max(rss[name], peak)
    passages = count_passages(store)
    log("  " + ", ".join(f"{k} {v:.2f} s" for k, v in best.items()))
    labels = {"numpy": "numpy path", "numpy -j 2": "numpy path, -j 2", "compiled": "fast extra",
              "compiled -j 2": "fast extra, -j 2", "before": f"before (the code at {before}), numpy path"}
    rows_ = [ratio_row(f"index add of real text ({mb:.0f} MB), {labels[name]}", best["datasketch"] / best[name], "x",
                       "datasketch update_batch, whole process", 1.0, 3.0, ">= 3x",
                       note=f"{best[name]:.2f} s against {best['datasketch']:.2f} s; "
                            f"peak RSS {rss[name] / 2**20:.0f} MiB")
             for name in runs if name != "datasketch"]
    return rows_, {"files": len(files), "mb": mb, "seconds": best, "peak_rss_bytes": rss, "passages": passages}


