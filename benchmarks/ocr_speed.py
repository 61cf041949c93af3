"""OCR speed: pages per second of a scanned PDF, against the same pages as a PDF with a text layer.

Typesets public-domain prose (a speech from ../shared/corpora, or the shipped memo) on A4
pages at 10 pt, writes them once as a text PDF (reportlab) and once as a 300 dpi scan
(page images only, lightly degraded), and times the PDF extractor on both in this
process, best of --repeat runs. Prints pages/s for each and their ratio.

    python benchmarks/ocr_speed.py [--pages 6] [--repeat 2]
"""

from __future__ import annotations

import argparse
import io
import sys
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from leakwatch.config import ExtractLimits
from leakwatch.extract import extract_bytes
from tests import scans

ROOT = Path(__file__).resolve().parents[1]
WORDS_PER_PAGE = 450


def text_pdf(pages: list[str]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    for page in pages:
        text = pdf.beginText(50, A4[1] - 60)
        text.setFont("Times-Roman", 10)
        for line in textwrap.wrap(page, 105):
            text.textLine(line)
        pdf.drawText(text)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    speeches = sorted((ROOT.parent / "shared" / "corpora" / "longform-public-domain" / "state_union").glob("*.txt"))
    source = speeches[-1].read_text("latin-1") if speeches else (ROOT / "examples/confidential/"
                                                                 "halcyon-pricing-strategy.md").read_text()
    words = source.split()
    while len(words) < args.pages * WORDS_PER_PAGE:
        words += words
    pages = [" ".join(words[i * WORDS_PER_PAGE:(i + 1) * WORDS_PER_PAGE]) for i in range(args.pages)]
    images = [scans.degrade(scans.render(p, size=42, width=2480, margin=150), scans.CLEAN_SCAN, seed=i)
              for i, p in enumerate(pages)]
    files = {"text layer": text_pdf(pages), "300 dpi scan (OCR)": scans.scanned_pdf(images, dpi=300)}
    limits = ExtractLimits(isolate=False)
    rates = {}
    for name, data in files.items():
        best = float("inf")
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = extract_bytes(Path("bench.pdf"), data, limits)
            best = min(best, time.perf_counter() - started)
        rates[name] = args.pages / best
        print(f"{name:22} {args.pages} pages in {best:7.2f} s: {rates[name]:8.2f} pages/s, "
              f"{len(result.text.split()):,} words, {len(result.regions)} OCR regions")
    text_rate, ocr_rate = rates["text layer"], rates["300 dpi scan (OCR)"]
    print(f"OCR pages take {text_rate / ocr_rate:,.0f}x as long as text-layer pages "
          f"({1 / ocr_rate:.2f} s a page)")


if __name__ == "__main__":
    main()
