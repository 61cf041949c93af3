"""The nightly batch job on a synthetic delivery tree with planted leaks.

Builds a store of confidential documents and a tree of N files (text, Markdown, PDF and
DOCX across vendors and folders), some of which quote a confidential document (the
planted leaks, recorded in a manifest). Then runs the tree scan

1. on 1 worker without the scan cache,
2. on 2 workers, filling the scan cache (findings must equal run 1's),
3. again on 2 workers with the cache warm (nothing changed),

and prints the run times, the speed-up of 2 workers over 1, the rerun's share of the
first run, and whether every planted leak was found (and nothing else).

With ``--executor dask`` (needs the dask extra) it also scans the tree on a Dask cluster
without the cache: a LocalCluster of 2 worker processes started for the run (or the
cluster at ``--scheduler``), and an empty tree the same way (the fixed cost of a
distributed run: starting the cluster, opening the store on each worker), and says
whether the distributed scan's findings and errors are the local scan's.

    python benchmarks/batch_tree.py [--files 5000] [--keep DIR] [--executor dask [--scheduler ADDR]]

Needs the test extra (reportlab, python-docx) to write the PDF and DOCX files.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from leakwatch.batch import TreeScanOptions, default_cache_path, scan_tree
from leakwatch.config import Config

N_SECRETS = 5
LEAK_EVERY = 20  # one file in 20 quotes a confidential document


def vocabulary(rng: random.Random, tag: str, size: int = 4000) -> list[str]:
    syllables = ["ka", "lo", "mer", "ti", "san", "vo", "quel", "dra", "ni", "por", "es", "tu", "lim", "ba", "rek"]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) + tag)
    return sorted(words)


def prose(rng: random.Random, n: int, vocab: list[str]) -> str:
    out, sentence = [], []
    for _ in range(n):
        sentence.append(rng.choice(vocab))
        if len(sentence) >= rng.randint(8, 18):
            out.append(" ".join(sentence).capitalize() + ".")
            sentence = []
    if sentence:
        out.append(" ".join(sentence).capitalize() + ".")
    return " ".join(out)


def paragraphs(text: str, words_per: int = 60) -> list[str]:
    words = text.split()
    return [" ".join(words[i:i + words_per]) for i in range(0, len(words), words_per)]


def write_pdf(path: Path, text: str) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    style = getSampleStyleSheet()["BodyText"]
    SimpleDocTemplate(str(path), pagesize=A4).build([Paragraph(p, style) for p in paragraphs(text)])


def write_docx(path: Path, text: str) -> None:
    import docx

    document = docx.Document()
    for p in paragraphs(text):
        document.add_paragraph(p)
    buf = io.BytesIO()
    document.save(buf)
    path.write_bytes(buf.getvalue())


def build(root: Path, n_files: int, seed: int = 11) -> tuple[Path, Path, dict[str, str]]:
    """The store, the tree, and the planted leaks {deliverable path: confidential path}."""
    rng = random.Random(seed)
    filler, secret_vocab = vocabulary(rng, "a"), vocabulary(rng, "e")
    conf = root / "confidential"
    conf.mkdir(parents=True)
    secrets = []
    for i in range(N_SECRETS):
        text = prose(rng, 2500, secret_vocab)
        path = conf / f"secret-{i}.txt"
        path.write_text(text)
        secrets.append((path, text.split()))
    store = root / "store"
    subprocess.run([sys.executable, "-m", "leakwatch", "index", "add", str(conf), "--store", str(store)],
                   check=True, capture_output=True)
    tree = root / "tree"
    planted: dict[str, str] = {}
    kinds = ["txt"] * 11 + ["md"] * 5 + ["pdf"] * 2 + ["docx"] * 2
    for i in range(n_files):
        folder = tree / f"vendor-{i % 4}" / f"2026-{1 + i % 12:02d}" / f"batch-{i % 25:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        kind = kinds[i % len(kinds)]
        text = prose(rng, rng.randint(150, 600), filler)
        path = folder / f"deliverable-{i:05d}.{kind}"
        if i % LEAK_EVERY == 7:
            source, words = secrets[i % N_SECRETS]
            start = rng.randrange(len(words) - 120)
            cut = rng.randrange(len(text.split()))
            body = text.split()
            text = " ".join(body[:cut] + words[start:start + rng.randint(60, 120)] + body[cut:])
            planted[str(path)] = str(source)
        if kind == "pdf":
            write_pdf(path, text)
        elif kind == "docx":
            write_docx(path, text)
        else:
            path.write_text(text)
    return store, tree, planted


def timed(tree: Path, config: Config, options: TreeScanOptions) -> tuple[float, object]:
    t0 = time.perf_counter()
    report = scan_tree([tree], config, options)
    return time.perf_counter() - t0, report


def dask_run(tree: Path, root: Path, config: Config, args: argparse.Namespace, serial: object, t1: float,
             t2: float) -> None:
    """The tree on a Dask cluster (no cache) against the local runs."""
    def everything(report: object) -> str:
        return json.dumps({"findings": [f.to_dict() for f in report.findings],  # type: ignore[attr-defined]
                           "errors": [e.to_dict() for e in report.errors]}, sort_keys=True)  # type: ignore[attr-defined]

    options = TreeScanOptions(workers=2, cache=None, progress=False, executor="dask", scheduler=args.scheduler,
                              batch_size=args.batch_size)
    empty = root / "empty"
    empty.mkdir(exist_ok=True)
    t0, _ = timed(empty, config, options)
    t4, distributed = timed(tree, config, options)
    where = args.scheduler or "LocalCluster, 2 worker processes"
    batch = f"{args.batch_size} files" if args.batch_size else "4-64 files"
    print(f"dask ({where}), {batch} a task, no cache: {t4:7.1f} s  {args.files / t4:6.1f} files/s  "
          f"({t1 / t4:.2f}x 1 local worker, {t2 / t4:.2f}x 2 local workers); of which fixed cost "
          f"(an empty tree): {t0:.1f} s")
    print("distributed scan gives the local scan's findings and errors:", everything(distributed) == everything(serial),
          f"({len(distributed.findings)} findings, {len(distributed.errors)} errors)")  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--keep", type=Path, default=None,
                        help="build the tree here and keep it (an existing one is used again)")
    parser.add_argument("--executor", choices=["local", "dask"], default="local",
                        help="dask: also scan on a Dask cluster and compare the findings")
    parser.add_argument("--scheduler", default=None, help="a running Dask scheduler [default: a LocalCluster]")
    parser.add_argument("--batch-size", type=int, default=0, help="files per Dask task [default: growing from 4 to 64]")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="leakwatch-batch-"))
    try:
        t0 = time.perf_counter()
        if args.keep is not None and (root / "planted.json").exists():
            store, tree = root / "store", root / "tree"
            planted = json.loads((root / "planted.json").read_text())
        else:
            store, tree, planted = build(root, args.files)
            (root / "planted.json").write_text(json.dumps(planted))
        args.files = sum(1 for p in tree.rglob("*") if p.is_file())
        size = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
        print(f"built {args.files} files ({size / 1e6:.1f} MB, {len(planted)} planted leaks) "
              f"in {time.perf_counter() - t0:.0f} s on {os.cpu_count()} cores")
        config = Config(store=str(store))
        cache = default_cache_path(config)
        cache.unlink(missing_ok=True)
        t1, serial = timed(tree, config, TreeScanOptions(workers=1, cache=None, progress=False))
        t2, parallel = timed(tree, config, TreeScanOptions(workers=2, cache=cache, progress=False))
        t3, rerun = timed(tree, config, TreeScanOptions(workers=2, cache=cache, progress=False))

        def findings(report: object) -> str:
            return json.dumps([f.to_dict() for f in report.findings], sort_keys=True)  # type: ignore[attr-defined]

        flagged: dict[str, set[str]] = {}
        for f in serial.findings:  # type: ignore[attr-defined]
            if f.source is not None:
                flagged.setdefault(f.deliverable_path, set()).add(f.source.path)
        found = sum(1 for d, s in planted.items() if s in flagged.get(str(Path(d).resolve()), set()))
        extra = sorted(set(flagged) - {str(Path(d).resolve()) for d in planted})
        print(f"1 worker, no cache:      {t1:7.1f} s  {args.files / t1:6.1f} files/s  {size / t1 / 1e6:5.2f} MB/s")
        print(f"2 workers, cache filled: {t2:7.1f} s  {args.files / t2:6.1f} files/s  ({t1 / t2:.2f}x 1 worker)")
        print(f"2 workers, unchanged:    {t3:7.1f} s  ({t3 / t1:.3f} of the first run)")
        print(f"planted leaks found: {found}/{len(planted)}; files flagged without a planted leak: {len(extra)}; "
              f"not scanned: {len(serial.errors)}")  # type: ignore[attr-defined]
        print("findings identical across the three runs:",
              findings(serial) == findings(parallel) == findings(rerun))
        if args.executor == "dask":
            dask_run(tree, root, config, args, serial, t1, t2)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
