"""The benchmark suite of issue 7: one command, its own data, ratios against baselines
measured in the same run.

    python benchmarks/run.py [--quick] [--passages 10000,100000] [--json FILE] [--keep DIR]

Benchmarks (each timing is the best of 3 runs: the machine is shared and noisy):

1. fingerprinting throughput, text -> stored fingerprints (tokenize, keyed shingles,
   winnowing, passage/document/bag MinHash, LSH band keys), MB/s on one core, against
   datasketch ``MinHash(num_perm=128).update_batch`` over the same word 5-grams (bytes,
   default SHA-1) and against the tokenizer floor ``re.findall(r"\\w+", text)``, on both
   paths: the compiled kernels of the ``fast`` extra (numba; what a process fingerprinting
   this much uses, once loaded: their one-time load is reported on its own row) and the
   numpy path (``LEAKWATCH_JIT=never``, and every process's start); all timings of one
   repeat are taken in turn, so that noise from other work spreads over all of them. Plus
   a check that leakwatch's passage signatures (of both paths) equal datasketch's and go
   into MinHashLSH;
2. PDF extraction, pages/s: leakwatch's extractor (in-process, no isolation worker; the
   engine it chooses per file is reported) against pdfminer.six ``extract_text`` with
   default settings (and pypdfium2 alone as a reference), each in a fresh process that
   imports nothing else, with the overlap of the word multisets and the number of files
   whose word sequence is identical to pdfminer's;
3. the index at N passages, ``index add`` of real text against datasketch, and scans
   against kept stores (``--only index``, ``realtext``, ``scans``: benchmarks/index_bench.py);
4. folder scan throughput (leakwatch.batch.scan_tree, no cache) on 1 and 2 workers.

Data: English-like text drawn from a fixed word list with a Zipf distribution (seeded),
PDFs written with reportlab (the test extra).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REAL_TEXT = HERE.parent.parent / "shared" / "corpora" / "pan13-text-alignment-train" / "src"
REPEATS = 3
WORD_RE = re.compile(r"\w+")

# --- data -------------------------------------------------------------------------------

# The head of the distribution: real English function and common words, most frequent first.
COMMON = (  # noqa: SIM905 (a readable word list)
    "the of and to a in is that for it as was with be by on not he this are or his from at which but "
    "have an they you were their one all we can her has there been if more when will would who so no "
    "she other its may these about than into could our only some time them two then new first also "
    "any my like over such our market price customer product year report plan team risk cost sales "
    "growth quarter account strategy revenue margin contract service support data system value share "
    "business program project review budget forecast client partner region offer deal supply target"
).split()
SYLLABLES = ["ka", "lo", "mer", "ti", "san", "vo", "quel", "dra", "ni", "por", "es", "tu", "lim", "ba",
             "rek", "on", "al", "ver", "in", "ter", "st", "ro", "men", "de", "cal", "pa"]


def word_list(size: int = 30_000, seed: int = 7) -> list[str]:
    """A fixed vocabulary: common English words, then syllable-built words (deterministic)."""
    rng = np.random.default_rng(seed)
    words = list(dict.fromkeys(COMMON))
    seen = set(words)
    while len(words) < size:
        w = "".join(SYLLABLES[i] for i in rng.integers(0, len(SYLLABLES), int(rng.integers(1, 5))))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


class TextMaker:
    """English-like prose: Zipf-distributed words (s = 1.07), sentences of 6-24 words."""

    def __init__(self, seed: int = 1) -> None:
        self.words = np.array(word_list())
        ranks = np.arange(1, len(self.words) + 1, dtype=np.float64)
        p = ranks ** -1.07
        self.cdf = np.cumsum(p / p.sum())
        self.rng = np.random.default_rng(seed)

    def words_(self, n: int) -> list[str]:
        idx = np.searchsorted(self.cdf, self.rng.random(n))
        return self.words[np.minimum(idx, len(self.words) - 1)].tolist()

    def prose(self, n_words: int) -> str:
        words = self.words_(n_words)
        out: list[str] = []
        i = 0
        while i < n_words:
            n = int(self.rng.integers(6, 25))
            sentence = words[i:i + n]
            i += n
            if len(sentence) > 8 and self.rng.random() < 0.4:
                sentence[len(sentence) // 2] += ","
            out.append(sentence[0].capitalize() + (" " if len(sentence) > 1 else "") + " ".join(sentence[1:]) + ".")
        return " ".join(out)


def write_pdf(path: Path, text: str, pages: int) -> None:
    """A PDF of exactly ``pages`` pages (the text split evenly, wrapped to the page)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    words = text.split()
    per_page = -(-len(words) // pages)
    c = canvas.Canvas(str(path), pagesize=A4, pageCompression=1)
    height = A4[1]
    for p in range(pages):
        chunk = words[p * per_page:(p + 1) * per_page]
        t = c.beginText(50, height - 50)
        t.setFont("Helvetica", 9)
        line: list[str] = []
        for w in chunk:
            line.append(w)
            if len(line) >= 14:
                t.textLine(" ".join(line))
                line = []
        if line:
            t.textLine(" ".join(line))
        c.drawText(t)
        c.showPage()
    c.save()


# --- measuring ----------------------------------------------------------------------------

def best_of(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


@dataclass
class Row:
    benchmark: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline: float | None = None
    ratio: float | None = None
    target: str = ""
    met: str = ""
    note: str = ""


def ratio_row(name: str, value: float, unit: str, baseline_name: str, baseline: float,
              target_ratio: float | None = None, target: str = "", note: str = "") -> Row:
    r = value / baseline if baseline else math.nan
    met = "" if target_ratio is None else ("yes" if r >= target_ratio else "no")
    return Row(name, value, unit, baseline_name, baseline, r, target, met, note)


# Peak RSS is read by a small wrapper process: Linux keeps a process's ru_maxrss across
# fork and exec, so a child forked straight from this (large) process would report at
# least this process's size. The wrapper is small, and reports its own child's peak.
_RSS_WRAPPER = (
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def run_measured(cmd: list[str], cwd: Path | None = None) -> tuple[float, int, int, str]:
    """Run a command in a fresh process; (wall s, exit code, its peak RSS in bytes, output tail).

    The wall time includes the small wrapper's start (about 20 ms)."""
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile() as out:
        rss_file = Path(tmp) / "rss"
        t0 = time.perf_counter()
        code = subprocess.run([sys.executable, "-S", "-c", _RSS_WRAPPER, str(rss_file), *cmd],
                              stdout=out, stderr=subprocess.STDOUT, cwd=cwd).returncode
        wall = time.perf_counter() - t0
        out.seek(0)
        text = out.read().decode(errors="replace")
        rss = int(rss_file.read_text()) * 1024 if rss_file.exists() else 0
    return wall, code, rss, text[-3000:]


# --- 1. fingerprinting ----------------------------------------------------------------------

def _kernel_load_seconds() -> float | None:
    """Seconds a fresh process takes to load the compiled kernels (numba import and its
    on-disk cache), beyond its start and leakwatch's imports; None without numba."""
    code = ("import time\nimport leakwatch.text, leakwatch.fingerprint\nfrom leakwatch import _jit\n"
            "t = time.perf_counter()\nok = _jit.load() is not None\nprint(ok, time.perf_counter() - t)")
    times = []
    for _ in range(REPEATS):
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        ok, seconds = proc.stdout.split() if proc.returncode == 0 else ("False", "0")
        if ok != "True":
            return None
        times.append(float(seconds))
    return min(times)


def bench_fingerprint(maker: TextMaker, total_mb: float, log: Callable[[str], None]) -> tuple[list[Row], dict]:
    from datasketch import LeanMinHash, MinHash, MinHashLSH

    from leakwatch import _jit
    from leakwatch.config import FingerprintParams
    from leakwatch.fingerprint import band_keys, fingerprint_tokens, lsh_shape, to_datasketch
    from leakwatch.keys import StoreKey
    from leakwatch.text import tokenize

    docs: list[str] = []
    size = 0
    while size < total_mb * 1e6:
        docs.append(maker.prose(2000))
        size += len(docs[-1].encode())
    mb = size / 1e6
    params = FingerprintParams()
    key = StoreKey(bytes(range(32)))
    bands, rows = lsh_shape(params)
    bag_bands, bag_rows = lsh_shape(params, bag=True)
    log(f"fingerprinting: {len(docs)} documents of 2,000 words, {mb:.1f} MB")
    compiled = _jit.available()  # loads the kernels now, outside every timing
    if not compiled:
        log("  numba not installed (the fast extra): the compiled path is skipped")

    def leakwatch_run() -> None:
        for d in docs:
            fp = fingerprint_tokens(tokenize(d), params, key)
            band_keys(fp.passages.signatures, bands, rows)
            band_keys(fp.bag_signatures, bag_bands, bag_rows)

    def on_path(mode: str) -> Callable[[], None]:
        def run() -> None:
            previous = _jit.set_mode(mode)
            try:
                leakwatch_run()
            finally:
                _jit.set_mode(previous)
        return run

    def datasketch_run() -> None:
        for d in docs:
            w = WORD_RE.findall(d.lower())
            m = MinHash(num_perm=128)
            m.update_batch([" ".join(w[i:i + 5]).encode() for i in range(len(w) - 4)])

    def floor_run() -> None:
        for d in docs:
            WORD_RE.findall(d)

    runs = {"numpy": on_path("never"), "datasketch": datasketch_run, "floor": floor_run}
    if compiled:
        runs["compiled"] = on_path("always")
    for run in runs.values():  # warm-up: the word table, caches
        if run is not datasketch_run:
            run()
    best = dict.fromkeys(runs, math.inf)
    for _ in range(REPEATS):
        for name, run in runs.items():
            t0 = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - t0)
    speed = {name: mb / t for name, t in best.items()}
    ds, fl = speed["datasketch"], speed["floor"]
    lw = speed.get("compiled", speed["numpy"])
    log(f"  leakwatch compiled {speed.get('compiled', math.nan):.2f} MB/s, numpy {speed['numpy']:.2f} MB/s, "
        f"datasketch {ds:.2f} MB/s, floor {fl:.2f} MB/s")
    load = _kernel_load_seconds() if compiled else None
    if load is not None:
        log(f"  compiled kernels: {load:.2f} s to load in a fresh process")

    # Compatibility: passage signatures are datasketch's, bit for bit, and MinHashLSH takes them.
    identical = total = 0
    lsh = MinHashLSH(threshold=params.lsh_threshold, num_perm=params.num_perm)
    found = 0
    for mode in ("never", "always") if compiled else ("never",):
        previous = _jit.set_mode(mode)
        try:
            for n, d in enumerate(docs[:20]):
                fp = fingerprint_tokens(tokenize(d), params, key)
                for i in range(len(fp.passages)):
                    s, e = int(fp.passages.shingle_starts[i]), int(fp.passages.shingle_ends[i])
                    m = MinHash(num_perm=params.num_perm, seed=params.seed, hashfunc=int)
                    m.update_batch((fp.keyed[s:e] & np.uint64(0xFFFF_FFFF)).astype(np.uint32).tolist())
                    total += 1
                    identical += bool(np.array_equal(m.hashvalues, fp.passages.signatures[i]))
                    lean = LeanMinHash(seed=params.seed, hashvalues=fp.passages.signatures[i], scheme="affine32")
                    name = f"{mode}-d{n}p{i}"
                    lsh.insert(name, lean)
                    # datasketch's own MinHash of the same keyed shingles finds the leakwatch signature.
                    found += name in lsh.query(m)
                lsh.query(to_datasketch(fp.signature, params))
        finally:
            _jit.set_mode(previous)
    compat = {"passages_checked": total, "bit_identical": identical, "found_by_lsh_query": found}
    log(f"  datasketch compatibility: {identical}/{total} passage signatures bit-identical, "
        f"{found}/{total} found by MinHashLSH.query")
    path = "compiled kernels (fast extra)" if compiled else "numpy path (numba not installed)"
    rows_ = [
        ratio_row("fingerprint MB/s/core vs datasketch", lw, "MB/s", "datasketch update_batch (SHA-1)", ds,
                  4.0, ">= 4x", path),
        ratio_row("fingerprint MB/s/core vs tokenizer floor", lw, "MB/s", r"re.findall(\w+)", fl, 0.60,
                  ">= 0.60x", path),
    ]
    if compiled:
        rows_ += [
            ratio_row("fingerprint MB/s/core vs datasketch, numpy path", speed["numpy"], "MB/s",
                      "datasketch update_batch (SHA-1)", ds, 4.0, ">= 4x",
                      "LEAKWATCH_JIT=never; the path of small jobs"),
            ratio_row("fingerprint MB/s/core vs tokenizer floor, numpy path", speed["numpy"], "MB/s",
                      r"re.findall(\w+)", fl, 0.60, ">= 0.60x", "LEAKWATCH_JIT=never"),
        ]
    if load is not None:
        rows_.append(Row("compiled kernels: one-time load", load, "s",
                         note=f"numba import + cached kernels, in a fresh process; by default loaded after "
                              f"~{_jit.AUTO_AFTER / 6.5e6:.1f}M words of work, never at start-up"))
    rows_.append(Row("passage signatures accepted by MinHashLSH", identical, f"of {total}",
                     "bit-identical to datasketch", total, identical / total if total else math.nan, "all",
                     "yes" if identical == total == found else "no",
                     f"{found}/{total} found by query" + ("; both paths" if compiled else "")))
    return rows_, {"mb": mb, "documents": len(docs), "leakwatch_mb_s": lw, "datasketch_mb_s": ds,
                   "floor_mb_s": fl, "numpy_mb_s": speed["numpy"], "compiled_mb_s": speed.get("compiled"),
                   "kernel_load_s": load, "compat": compat}


# --- 2. PDF extraction ---------------------------------------------------------------------

def _pdf_worker(engine: str, listing: Path, out: Path) -> None:
    """Runs in a fresh process, so pdfminer's baseline is not touched by leakwatch's imports."""
    files = [Path(p) for p in listing.read_text().split("\n") if p]
    texts: list[str] = []
    engines: Counter[str] = Counter()  # which engine leakwatch chose, per file
    if engine == "leakwatch":
        from leakwatch.config import ExtractLimits
        from leakwatch.extract import extract_file

        limits = ExtractLimits(isolate=False)

        def one(p: Path) -> str:
            extracted = extract_file(p, limits)[1]
            engines[extracted.extractor_version] += 1
            return extracted.text
    elif engine == "pdfminer":
        from pdfminer.high_level import extract_text

        def one(p: Path) -> str:
            return extract_text(str(p))
    else:
        import pypdfium2 as pdfium

        def one(p: Path) -> str:
            pdf = pdfium.PdfDocument(str(p))
            try:
                parts = []
                for page in pdf:
                    tp = page.get_textpage()
                    parts.append(tp.get_text_range())
                    tp.close()
                    page.close()
                return "\n".join(parts)
            finally:
                pdf.close()

    def run() -> None:
        texts.clear()
        engines.clear()
        texts.extend(one(p) for p in files)

    seconds = best_of(run)
    words = Counter(w for t in texts for w in WORD_RE.findall(t.lower()))
    # Each file's word sequence, as a digest: equal sequences are equal digests.
    sequences = [hashlib.sha256(" ".join(WORD_RE.findall(t.lower())).encode()).hexdigest() for t in texts]
    out.write_text(json.dumps({"seconds": seconds, "words": words, "sequences": sequences,
                               "engines": engines}))


def bench_pdf(maker: TextMaker, root: Path, n_files: int, pages: int,
              log: Callable[[str], None]) -> tuple[list[Row], dict]:
    """leakwatch's PDF path (the engine it chooses, in process) against pdfminer.six's
    default ``extract_text``, with pypdfium2 alone as a reference: pages/s, and whether
    the same words come out (multiset overlap, and files whose word sequence is identical)."""
    folder = root / "pdfs"
    folder.mkdir()
    truth: Counter[str] = Counter()
    files = []
    for i in range(n_files):
        text = maker.prose(450 * pages)
        path = folder / f"doc-{i:03d}.pdf"
        write_pdf(path, text, pages)
        truth.update(WORD_RE.findall(text.lower()))
        files.append(path)
    listing = root / "pdfs.txt"
    listing.write_text("\n".join(map(str, files)))
    n_pages = n_files * pages
    log(f"pdf: {n_files} PDFs x {pages} pages")
    engines = ["leakwatch", "pdfminer"]
    try:
        import pypdfium2  # noqa: F401
        engines.append("pypdfium2")
    except ImportError:
        log("  pypdfium2 not importable: its row is skipped")
    result: dict[str, dict] = {}
    for engine in engines:
        out = root / f"pdf-{engine}.json"
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--_pdf-worker", engine,
                               str(listing), str(out)], capture_output=True, text=True)
        if proc.returncode != 0:
            log(f"  {engine} failed: {proc.stderr[-800:]}")
            continue
        data = json.loads(out.read_text())
        words = Counter(data["words"])
        result[engine] = {"pages_s": n_pages / data["seconds"], "words": words, "sequences": data["sequences"],
                          "engines": data.get("engines", {})}
        log(f"  {engine}: {n_pages / data['seconds']:.1f} pages/s")

    def overlap(a: Counter[str], b: Counter[str]) -> float:
        return sum((a & b).values()) / max(sum(a.values()), sum(b.values()), 1)

    rows_: list[Row] = []
    summary: dict = {"files": n_files, "pages": n_pages}
    base = result.get("pdfminer")
    for engine in ("leakwatch", "pypdfium2"):
        if engine not in result or base is None:
            continue
        ov = overlap(result[engine]["words"], base["words"])
        ov_truth = overlap(result[engine]["words"], truth)
        same = sum(a == b for a, b in zip(result[engine]["sequences"], base["sequences"], strict=True))
        used = ", ".join(f"{v} x {k}" for k, v in sorted(result[engine]["engines"].items()))
        name = "PDF pages/s" + ("" if engine == "leakwatch" else " (pypdfium2 alone, reference)")
        rows_.append(ratio_row(name, result[engine]["pages_s"], "pages/s", "pdfminer.six extract_text",
                               base["pages_s"], 20.0 if engine == "leakwatch" else None,
                               ">= 20x" if engine == "leakwatch" else "",
                               f"same words: {ov:.4f} of pdfminer's, {ov_truth:.4f} of the source text; "
                               f"same word sequence in {same}/{n_files} files" + (f"; engine {used}" if used else "")))
        summary[engine] = {"pages_s": result[engine]["pages_s"], "word_overlap_pdfminer": ov,
                           "word_overlap_source": ov_truth, "same_sequence_files": same,
                           "engines": result[engine]["engines"]}
    if base is not None:
        summary["pdfminer"] = {"pages_s": base["pages_s"], "word_overlap_source": overlap(base["words"], truth)}
    return rows_, summary


# --- 3. the index (benchmarks/index_bench.py) and 4. folder scan -------------------------------

def _index_bench() -> object:
    sys.path.insert(0, str(HERE))
    import index_bench

    return index_bench


# --- 4. folder scan --------------------------------------------------------------------------

def bench_tree(root: Path, n_files: int, log: Callable[[str], None]) -> tuple[list[Row], dict]:
    sys.path.insert(0, str(HERE))
    import batch_tree  # the tree builder of benchmarks/batch_tree.py (txt, md, pdf, docx)

    from leakwatch.batch import TreeScanOptions, scan_tree
    from leakwatch.config import Config

    store, tree, _planted = batch_tree.build(root / "tree-bench", n_files)
    files = [p for p in tree.rglob("*") if p.is_file()]
    mb = sum(p.stat().st_size for p in files) / 1e6
    config = Config(store=str(store))
    log(f"folder scan: {len(files)} files, {mb:.1f} MB")
    t: dict[int, float] = {}
    for workers in (1, 2):
        options = TreeScanOptions(workers=workers, cache=None, progress=False)
        t[workers] = best_of(lambda options=options: scan_tree([tree], config, options))
        log(f"  {workers} worker(s): {t[workers]:.1f} s ({len(files) / t[workers]:.1f} files/s)")
    rows_ = [
        Row("folder scan, 1 worker", len(files) / t[1], "files/s", note=f"{mb / t[1]:.2f} MB/s"),
        Row("folder scan, 2 workers", len(files) / t[2], "files/s", note=f"{mb / t[2]:.2f} MB/s"),
        ratio_row("folder scan speed-up, 2 workers", len(files) / t[2], "files/s", "1 worker", len(files) / t[1],
                  note="2 cores"),
    ]
    return rows_, {"files": len(files), "mb": mb, "seconds_1": t[1], "seconds_2": t[2],
                   "files_s_1": len(files) / t[1], "files_s_2": len(files) / t[2],
                   "mb_s_1": mb / t[1], "mb_s_2": mb / t[2], "speedup": t[1] / t[2]}


# --- the table -----------------------------------------------------------------------------

def fmt(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def table(rows: list[Row]) -> str:
    head = ["benchmark", "measured", "baseline", "ratio", "target", "met", "note"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        base = f"{fmt(r.baseline)} ({r.baseline_name})" if r.baseline is not None else ""
        lines.append("| " + " | ".join([
            r.benchmark, f"{fmt(r.value)} {r.unit}", base, f"{fmt(r.ratio)}x" if r.ratio is not None else "",
            r.target, r.met, r.note]) + " |")
    return "\n".join(lines)


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": cpu or platform.processor(), "python": platform.python_version(),
            "platform": platform.platform()}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--_pdf-worker":
        _pdf_worker(argv[1], Path(argv[2]), Path(argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test (under 3 minutes)")
    parser.add_argument("--passages", default=None,
                        help="index sizes, comma-separated (default 10000,100000; --quick 2000,10000)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--keep", type=Path, default=None, help="build the data here and keep it")
    parser.add_argument("--only", default="fingerprint,pdf,index,realtext,tree",
                        help="comma-separated subset of fingerprint,pdf,index,realtext,tree, or scans (cold "
                             "and warm scans against the stores of an earlier --only index --keep DIR run)")
    parser.add_argument("--before", type=Path, default=None,
                        help="a leakwatch source tree (an older release) timed beside this one in the real-text run")
    parser.add_argument("--real-text", type=Path, default=REAL_TEXT,
                        help="a folder of real .txt files for the index-add comparison (default: PAN train sources)")
    args = parser.parse_args(argv)
    quick = args.quick
    sizes = [int(s) for s in (args.passages or ("2000,10000" if quick else "10000,100000")).split(",") if s]
    only = set(args.only.split(","))

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    root = args.keep or Path(tempfile.mkdtemp(prefix="leakwatch-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows: list[Row] = []
    results: dict = {"machine": machine(), "command": " ".join(["python", "benchmarks/run.py", *argv]),
                     "repeats": REPEATS}
    maker = TextMaker(seed=1)
    try:
        if "fingerprint" in only:
            r, s = bench_fingerprint(maker, 0.6 if quick else 4.0, log)
            rows += r
            results["fingerprint"] = s
        if "pdf" in only:
            r, s = bench_pdf(maker, root, *((3, 5) if quick else (20, 25)), log)
            rows += r
            results["pdf"] = s
        if "index" in only:
            r, s = _index_bench().bench_index(maker, root, sizes, 10 if quick else 50,  # type: ignore[attr-defined]
                                              1 if quick else REPEATS, log)
            rows += r
            results["index"] = s
        if "scans" in only:
            r, s = _index_bench().bench_scans(root, sizes, log)  # type: ignore[attr-defined]
            rows += r
            results["scans"] = s
        if "realtext" in only:
            if args.real_text.is_dir():
                r, s = _index_bench().bench_real_index(args.real_text, root, log,  # type: ignore[attr-defined]
                                                       args.before)
                rows += r
                results["realtext"] = s
            else:
                log(f"index add of real text: {args.real_text} is not there; skipped")
        if "tree" in only:
            r, s = bench_tree(root, 40 if quick else 400, log)
            rows += r
            results["tree"] = s
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    results["seconds"] = time.perf_counter() - started
    results["rows"] = [asdict(r) for r in rows]
    m = results["machine"]
    print(f"\nleakwatch benchmarks ({m['cores']} cores, {m['cpu']}, Python {m['python']}; "
          f"best of {REPEATS}; {results['seconds']:.0f} s in all)\n")
    print(table(rows))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
