"""Archives against the same files unpacked, and memory on a large archive (issue 19).

    python benchmarks/containers.py [--files 400] [--per-archive 20]

1. Throughput: the same N documents (text and DOCX, ~800 words each, a few with an
   excerpt of a registered document) scanned as loose files and packed into zips of
   ``--per-archive`` members, in the same run (scan_tree, isolated worker, one process, no
   cache; best of 3, alternating): files/s for each and their ratio. Findings must be the
   same on both sides (the same members, named inside their zip).
2. Memory: the isolated worker's peak RSS reading a tar.gz of 2 MB text members, at 25
   and 100 members (50 and 200 MB uncompressed): members stream one at a time, so the
   peak stays flat while the archive grows.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from leakwatch.batch import TreeScanOptions, scan_tree  # noqa: E402
from leakwatch.config import Config, ExtractLimits  # noqa: E402
from leakwatch.pipeline import check_extraction, index_paths  # noqa: E402
from leakwatch.store import open_store  # noqa: E402
from tests.conftest import make_text, make_vocabulary  # noqa: E402
from tests.containerdata import docx_bytes, tar_bytes, zip_bytes  # noqa: E402


def documents(n: int, secret: str) -> dict[str, bytes]:
    vocabulary = make_vocabulary(77)
    words = secret.split()
    out: dict[str, bytes] = {}
    for i in range(n):
        text = make_text(10_000 + i, 800, vocabulary)
        if i % 25 == 0:  # one in 25 carries an excerpt of the registered document
            start = (i * 31) % (len(words) - 90)
            text += "\n\n" + " ".join(words[start:start + 90])
        out[f"doc-{i:04d}.docx" if i % 2 else f"doc-{i:04d}.txt"] = (
            docx_bytes(*text.split("\n\n")) if i % 2 else text.encode())
    return out


def best_scan(folder: Path, config: Config) -> tuple[float, list[tuple[str, str]]]:
    t0 = time.perf_counter()
    report = scan_tree([folder], config, TreeScanOptions(progress=False))
    seconds = time.perf_counter() - t0
    assert not report.errors, report.errors[:3]
    return seconds, sorted((f.deliverable_path.rsplit("/", 1)[-1], f.source.doc_id if f.source else "")
                           for f in report.findings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--per-archive", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="leakwatch-bench-containers-"))
    try:
        secret = make_text(5, 3000, make_vocabulary(5))
        (work / "secret.txt").write_text(secret)
        config = Config(store=str(work / "store"))
        with open_store(config, create=True) as store:
            index_paths([work / "secret.txt"], store, config, "confidential", None)
        docs = documents(args.files, secret)
        loose, packed = work / "loose", work / "packed"
        loose.mkdir()
        packed.mkdir()
        for name, data in docs.items():
            (loose / name).write_bytes(data)
        names = sorted(docs)
        for k in range(0, len(names), args.per_archive):
            chunk = names[k:k + args.per_archive]
            (packed / f"batch-{k // args.per_archive:03d}.zip").write_bytes(zip_bytes({n: docs[n] for n in chunk}))
        times: dict[str, list[float]] = {"loose": [], "zipped": []}
        found: dict[str, list[tuple[str, str]]] = {}
        for _ in range(3):
            for label, folder in (("loose", loose), ("zipped", packed)):
                seconds, found[label] = best_scan(folder, config)
                times[label].append(seconds)
        assert found["loose"] == found["zipped"], "the same findings either way"
        loose_s, zipped_s = min(times["loose"]), min(times["zipped"])
        print(f"throughput: {args.files} documents, {len(found['loose'])} findings either way")
        print(f"  loose files      {args.files / loose_s:7.1f} files/s ({loose_s:.2f} s)")
        print(f"  in {len(names) // args.per_archive:3d} zips      {args.files / zipped_s:7.1f} files/s "
              f"({zipped_s:.2f} s)")
        print(f"  ratio zipped/loose: {loose_s / zipped_s:.2f}x the files/s")

        print("memory: isolated worker peak RSS reading a tar.gz of 2 MB text members")
        vocabulary = make_vocabulary(9)
        member = (make_text(1, 400_000, vocabulary).encode() * 2)[: 2 * 1024 * 1024]
        for count in (25, 100):
            path = work / f"big-{count}.tar.gz"
            path.write_bytes(tar_bytes({f"m{i:03d}.txt": member[i:] + member[:i] for i in range(count)}))
            limits = ExtractLimits(max_total_uncompressed=1024 * 1024 * 1024)
            run = check_extraction([path], Config(store=str(work / "store"), extract=limits))
            print(f"  {count:3d} members ({count * 2} MB uncompressed, {path.stat().st_size / 1e6:.1f} MB file): "
                  f"peak {run.peak_rss_kb / 1024:.0f} MB, {run.members} members read, {len(run.errors)} errors, "
                  f"{run.seconds:.1f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
