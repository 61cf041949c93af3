"""Which tool reads legacy Office files: catdoc, antiword, xls2csv, catppt, xlrd, LibreOffice.

Makes --files DOCX, XLSX and PPTX files of public-domain prose (speeches from
../shared/corpora, else generated text) with headers, tables, several sheets and text
boxes, records every text it put in, has LibreOffice convert them to .doc, .xls and .ppt,
then reads those with each candidate and counts the planted texts that come out as
contiguous runs of words (what matching needs), and the time per file.

    python benchmarks/legacy_office.py [--files 6]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import docx
import openpyxl
import pptx

from leakwatch.config import ExtractLimits
from leakwatch.extract import EXTRACTORS, extract_bytes
from leakwatch.text import _WORD, normalize_word
from tests import formats
from tests.conftest import make_text

LIMITS = ExtractLimits(isolate=False, ocr=False)
SPEECHES = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "longform-public-domain" / "state_union"


def words(text: str) -> str:
    return " ".join(normalize_word(m.group()) for m in _WORD.finditer(text))


def make(seed: int, prose: list[str]) -> tuple[dict[str, bytes], dict[str, list[str]]]:
    rng = random.Random(seed)

    def chunk(n: int) -> str:
        start = rng.randrange(len(prose) - n)
        return " ".join(prose[start:start + n])

    planted: dict[str, list[str]] = {"doc": [], "xls": [], "ppt": []}
    document = docx.Document()
    planted["doc"].append(header := chunk(25))
    document.sections[0].header.paragraphs[0].text = header
    for _ in range(10):
        planted["doc"].append(text := chunk(rng.randrange(40, 150)))
        document.add_paragraph(text)
    table = document.add_table(rows=3, cols=3)
    for row in range(3):
        for column in range(3):
            planted["doc"].append(text := chunk(30))
            table.cell(row, column).text = text
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in range(30):
        planted["xls"].append(text := chunk(12))
        sheet.append([text, row * 2.5])
    planted["xls"].append(text := chunk(80))
    book.create_sheet("Notes")["A1"] = text
    deck = pptx.Presentation()
    for _ in range(5):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = (title := chunk(8))
        slide.placeholders[1].text = (body := chunk(60))
        slide.shapes.add_textbox(0, 0, 100, 100).text_frame.text = (box := chunk(20))
        planted["ppt"] += [title, body, box]
    return {"doc": formats.saved(document), "xls": formats.saved(book), "ppt": formats.saved(deck)}, planted


def tool(args: list[str]) -> Callable[[Path], str]:
    def read(path: Path) -> str:
        return subprocess.run([*args, str(path)], capture_output=True, timeout=120).stdout.decode("utf-8", "replace")
    return read


def soffice(target: str) -> Callable[[Path], str]:
    def read(path: Path) -> str:
        converted = formats.converted({path.name: path.read_bytes()}, target)[path.name]
        return EXTRACTORS[target].extract(path, converted, LIMITS).text
    return read


def leakwatch(path: Path) -> str:
    return extract_bytes(path, path.read_bytes(), LIMITS).text


CANDIDATES: dict[str, dict[str, Callable[[Path], str]]] = {
    "doc": {"antiword": tool(["antiword", "-m", "UTF-8.txt", "-w", "0"]),
            "catdoc": tool(["catdoc", "-d", "utf-8", "-w"]), "LibreOffice": soffice("docx"), "leakwatch": leakwatch},
    "xls": {"xls2csv": tool(["xls2csv", "-d", "utf-8"]), "LibreOffice": soffice("xlsx"), "leakwatch (xlrd)": leakwatch},
    "ppt": {"catppt": tool(["catppt", "-d", "utf-8"]), "leakwatch (LibreOffice)": leakwatch},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=6)
    args = parser.parse_args()
    speeches = sorted(SPEECHES.glob("*.txt"))
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        planted: dict[str, list[list[str]]] = {"doc": [], "xls": [], "ppt": []}
        originals: dict[str, dict[str, bytes]] = {"doc": {}, "xls": {}, "ppt": {}}
        for seed in range(args.files):
            prose = (speeches[seed % len(speeches)].read_text("latin-1") if speeches else make_text(seed, 3000)).split()
            files, texts = make(seed, prose)
            for kind in files:
                originals[kind][f"f{seed}." + {"doc": "docx", "xls": "xlsx", "ppt": "pptx"}[kind]] = files[kind]
                planted[kind].append(texts[kind])
        for kind in ("doc", "xls", "ppt"):
            for name, data in formats.converted(originals[kind], kind).items():
                (root / f"{Path(name).stem}.{kind}").write_bytes(data)
            for candidate, read in CANDIDATES[kind].items():
                found = total = 0
                started = time.perf_counter()
                outputs = [words(read(root / f"f{seed}.{kind}")) for seed in range(args.files)]
                seconds = (time.perf_counter() - started) / args.files
                for output, texts in zip(outputs, planted[kind], strict=True):
                    total += len(texts)
                    found += sum(words(t) in output for t in texts)
                print(f".{kind}  {candidate:24} {found:4}/{total:<4} planted texts found whole  "
                      f"{seconds * 1000:8.1f} ms a file")


if __name__ == "__main__":
    main()
