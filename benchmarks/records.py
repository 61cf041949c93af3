"""Registered tables at scale (issue 10): register a client list of 1M rows, scan a
100-page deliverable against it.

Builds its own data: a client list (tests/tabledata.py: names and companies shared by
many rows, unique e-mail addresses and account numbers), a store holding one small
confidential document, and a 100-page PDF of prose that quotes ten client rows (name,
e-mail, account) on ten different pages. Then measures, each in a fresh process:

* ``leakwatch index add-table`` of the list: wall time, rows/s, peak RSS;
* the store's growth on disk per registered row and per registered value (cell);
* a cold ``leakwatch scan`` of the PDF (process start included) against the store
  with the table, and against a copy of the store without it (the baseline measured
  in the same run), alternating, best of three; and whether the ten rows were found
  (and nothing else).

    python benchmarks/records.py [--rows 1000000] [--pages 100] [--json FILE] [--keep DIR]

Needs the test extra (reportlab) to write the PDF.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from run import Row, TextMaker, dir_size, machine, run_measured, table, write_pdf

from tests.tabledata import CLIENT_HEADER, client_rows, write_csv

QUOTED = 10
LEAKWATCH = [sys.executable, "-m", "leakwatch"]


def deliverable_text(maker: TextMaker, rows: list[list[str]], pages: int, words_per_page: int = 450) -> str:
    """Prose of ``pages`` pages' worth of words with one quoted row every pages/QUOTED pages."""
    chunks = []
    step, quoted = max(1, pages // QUOTED), 0
    for p in range(pages):
        chunks.append(maker.prose(words_per_page))
        if p % step == step // 2 and quoted < QUOTED:
            row = rows[(p * 7919) % len(rows)]
            chunks.append(f"We spoke with {row[0]} ({row[2]}), account {row[3]}, about renewal terms.")
            quoted += 1
    return " ".join(chunks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="copy the stores and the PDF here to look at")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="lw-records-") as tmp:
        root = Path(tmp)
        log(f"writing a client list of {args.rows:,} rows ...")
        rows = client_rows(args.rows)
        listing = write_csv(root / "clients.csv", CLIENT_HEADER, rows)
        maker = TextMaker(seed=11)
        pdf = root / "deliverable.pdf"
        text = deliverable_text(maker, rows, args.pages)
        write_pdf(pdf, text, args.pages)
        doc = root / "confidential" / "memo.txt"
        doc.parent.mkdir()
        doc.write_text(TextMaker(seed=12).prose(2000), encoding="utf-8")

        bare, tabled = root / "store-bare", root / "store-table"
        wall, code, _, out = run_measured([*LEAKWATCH, "index", "add", str(doc.parent), "--store", str(bare)])
        assert code == 0, out
        shutil.copytree(bare, tabled)
        before = dir_size(tabled)
        log("registering the table ...")
        wall, code, rss, out = run_measured([*LEAKWATCH, "index", "add-table", str(listing), "--store", str(tabled),
                                             "--label", "client-list", "--key-columns", "Name,Company,Email,Account"])
        assert code == 0, out
        log(out.strip())
        _, _, _, listed = run_measured([*LEAKWATCH, "index", "list", "--store", str(tabled), "--format", "json"])
        info = json.loads(listed)["tables"][0]
        grown = dir_size(tabled) - before
        cells = int(info["values"])

        log("scanning ...")
        times: dict[str, list[float]] = {"bare": [], "table": []}
        found: dict = {}
        scan_rss = 0
        for _ in range(args.repeats):
            for name, store in (("bare", bare), ("table", tabled)):
                report = root / f"scan-{name}.json"
                t, code, peak, out = run_measured([*LEAKWATCH, "scan", str(pdf), "--store", str(store), "--format",
                                                   "json", "--no-cache", "--output", str(report)])
                times[name].append(t)
                if name == "table":
                    found, scan_rss = json.loads(report.read_text(encoding="utf-8")), peak
        log(f"scan times: {times}")
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            for item in (bare, tabled, pdf):
                (shutil.copytree if item.is_dir() else shutil.copy2)(item, args.keep / item.name)

    records = [f for f in found.get("findings", []) if f["kind"] == "confidential-records"]
    matched = records[0]["records"]["rows_matched"] if records else 0
    others = len(found.get("findings", [])) - len(records)
    bare_t, table_t = min(times["bare"]), min(times["table"])
    result_rows = [
        Row("add-table: rows registered per second", args.rows / wall, "rows/s",
            note=f"{args.rows:,} rows x 7 columns in {wall:.1f} s; peak RSS {rss / 2**20:.0f} MiB"),
        Row("store growth per registered value (cell)", grown / cells, "B",
            note=f"{grown / 2**20:.1f} MiB for {cells:,} values; {grown / args.rows:.0f} B/row; "
                 f"{info['anchors']:,} anchor values"),
        Row(f"cold scan of a {args.pages}-page PDF, with the table", table_t, "s", "without tables", bare_t,
            table_t / bare_t if bare_t else None,
            note=f"process start included; {matched}/{QUOTED} quoted rows found, {others} other finding(s); "
                 f"scan peak RSS {scan_rss / 2**20:.0f} MiB"),
    ]
    print(f"machine: {machine()}")
    print(table(result_rows))
    if args.json is not None:
        args.json.write_text(json.dumps({
            "machine": machine(), "rows": args.rows, "pages": args.pages, "register_s": wall,
            "register_rows_per_s": args.rows / wall, "register_peak_rss_bytes": rss, "store_growth_bytes": grown,
            "values": cells, "anchors": info["anchors"], "bytes_per_value": grown / cells,
            "bytes_per_row": grown / args.rows, "scan_s": times["table"], "scan_bare_s": times["bare"],
            "rows_found": matched, "quoted_rows": QUOTED, "other_findings": others}, indent=2), encoding="utf-8")
    return 0 if matched == QUOTED and others == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
