"""Do OCR errors lose leaks? Planted excerpts, rendered as scans and screenshots, OCR'd and scanned.

Registers public-domain speeches (../shared/corpora/longform-public-domain/state_union) as
confidential documents, then for each trial plants a 70-110-word verbatim excerpt of one
of them between paragraphs of an unregistered book (Passamaquoddy folk-lore), renders the
page as an image under a degradation (a clean and a poor 300 dpi scan, a 150 dpi scan, a
screenshot at screen size, the same as a JPEG), reads it with the image extractor (OCR),
and scans the text. A trial is found when a finding names the right source with a span
that overlaps the planted one; negatives are the same pages without an excerpt.

Reports per degradation: the OCR word error rate (planted words not read exactly),
excerpts found by the exact stage alone and by the full scan, and false findings. Seeds
0-5 are the tuning half, 6-11 the held-out half (--seeds).

    python benchmarks/ocr_noise.py [--seeds 6-11] [--per 6]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from leakwatch.config import Config, ExtractLimits
from leakwatch.detect.registry import default_detectors
from leakwatch.extract.image import ImageExtractor
from leakwatch.pipeline import index_paths, scan_paths
from leakwatch.store import open_store
from leakwatch.text import _WORD, normalize_word
from tests import scans

CORPUS = Path(os.environ.get("LEAKWATCH_CORPORA", Path(__file__).resolve().parents[2] / "shared" / "corpora")) \
    / "longform-public-domain"
CONDITIONS = {
    "clean scan 300 dpi": (dict(kind="serif", size=42, width=2480), scans.CLEAN_SCAN),
    "poor scan 200 dpi": (dict(kind="serif", size=42, width=2480), scans.POOR_SCAN),
    "scan 150 dpi": (dict(kind="serif", size=42, width=2480), scans.LOW_RES_SCAN),
    "screenshot 13 px": (dict(kind="sans", size=13, width=900, margin=12), scans.Degradation()),
    "screenshot 13 px JPEG": (dict(kind="sans", size=13, width=900, margin=12), scans.SCREENSHOT_JPEG),
    "screenshot 10 px": (dict(kind="sans", size=10, width=700, margin=10), scans.Degradation()),
    "fax 200 dpi, 1-bit": (dict(kind="serif", size=42, width=2480), scans.FAX),
    "photo of a page": (dict(kind="serif", size=42, width=2480), scans.PHOTO),
}


def words(text: str) -> list[str]:
    return [normalize_word(m.group()) for m in _WORD.finditer(text)]


def word_errors(truth: str, read: str) -> float:
    """Share of the planted words not found, in order, in the OCR text (an alignment by
    longest common subsequence over words)."""
    a, b = words(truth), words(read)
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return 1 - previous[-1] / max(1, len(a))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="6-11", help="trial seeds, e.g. 0-5 (tuning) or 6-11 (held out)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-upscale", action="store_true", help="read small images at their own size")
    parser.add_argument("--only", default="", help="conditions whose name contains this")
    args = parser.parse_args()
    if args.no_upscale:
        from leakwatch.extract import ocr

        ocr.UPSCALE_BELOW = 0
    low, high = (int(v) for v in args.seeds.split("-"))
    if not CORPUS.is_dir():
        sys.exit(f"{CORPUS} is absent")
    speeches = sorted((CORPUS / "state_union").glob("*.txt"))[:30]
    filler = (CORPUS / "gutenberg" / "17997-contribution-to-passamaquoddy-folk-lore.txt").read_text("latin-1").split()
    limits = ExtractLimits(isolate=False)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        config = Config(store=str(tmp / "store"), extract=limits)
        store = open_store(config, create=True)
        index_paths(speeches, store, config, "confidential", None)
        for condition, (layout, how) in CONDITIONS.items():
            if args.only not in condition:
                continue
            errors, exact, found, false, ocr_s, planted = [], 0, 0, 0, 0.0, 0
            for seed in range(low, high + 1):
                rng = random.Random(seed)
                source = rng.choice(speeches)
                source_words = source.read_text("latin-1").split()
                n = rng.randint(70, 110)
                at = rng.randrange(len(source_words) - n)
                excerpt = " ".join(source_words[at:at + n])
                cut = rng.randrange(len(filler) - 400)
                before, after = " ".join(filler[cut:cut + 120]), " ".join(filler[cut + 120:cut + 240])
                for planted_here in (True, False):
                    body = f"{before}\n{excerpt}\n{after}" if planted_here else f"{before}\n{after}"
                    image = scans.degrade(scans.render(body, **layout), how, seed)  # type: ignore[arg-type]
                    path = tmp / f"{condition.replace(' ', '-')}-{seed}-{planted_here}.png"
                    path.write_bytes(scans.encoded(image))
                    started = time.perf_counter()
                    text = ImageExtractor().extract(path, path.read_bytes(), limits).text
                    ocr_s += time.perf_counter() - started
                    deliverable = path.with_suffix(".txt")
                    deliverable.write_text(text, encoding="utf-8")
                    report = scan_paths([deliverable], store, config, default_detectors(store, config))
                    hits = [f for f in report.findings if f.source is not None]
                    if planted_here:
                        planted += 1
                        errors.append(word_errors(excerpt, text))
                        right = [f for f in hits if Path(f.source.path).name == source.name]  # type: ignore[union-attr]
                        found += bool(right)
                        exact += any(f.extra.get("method") == "exact" for f in right)
                        false += len(hits) - len(right)
                    else:
                        false += len(hits)
            results[condition] = {"trials": planted, "word_error_rate": round(sum(errors) / len(errors), 4),
                                  "found": found, "found_exact_stage": exact, "false_findings": false,
                                  "ocr_seconds_per_image": round(ocr_s / (2 * planted), 2)}
        store.close()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'condition':24} {'WER':>6} {'found':>7} {'exact':>7} {'false':>6} {'s/img':>6}")
    for condition, r in results.items():
        print(f"{condition:24} {r['word_error_rate']:6.1%} {r['found']:>3}/{r['trials']:<3} "
              f"{r['found_exact_stage']:>3}/{r['trials']:<3} {r['false_findings']:>6} "
              f"{r['ocr_seconds_per_image']:6.2f}")


if __name__ == "__main__":
    main()
