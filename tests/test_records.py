"""Registered tables (issue 10): canonical values, registration, confidential-records
findings and spreadsheet near-duplicates, end to end through the CLI."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from leakwatch.cli import cli
from leakwatch.config import ExtractLimits, FingerprintParams, RecordsParams
from leakwatch.keys import StoreKey
from leakwatch.model import ExtractionError
from leakwatch.records.cells import Weight, candidate_values, canonical_cells
from leakwatch.records.tables import TableError, TableFile, anchor_limit, build_table, read_table, select_columns
from leakwatch.store.sqlite import SQLiteStore
from leakwatch.text import tokenize
from tests.tabledata import CLIENT_HEADER, PRICE_HEADER, client_rows, price_rows, write_csv, write_xlsx

KEY = StoreKey(b"k" * 32)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def scan(store: Path, *paths: Path, extra: tuple[str, ...] = ()) -> tuple[int, dict]:
    code, out, _ = run("scan", *map(str, paths), "--store", str(store), "--format", "json", "--no-cache", *extra)
    return code, json.loads(out)


def same(a: str, b: str) -> bool:
    x, y = canonical_cells([a, b], 12)
    return x is not None and y is not None and x.hash == y.hash


# --- canonical values ---------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b"), [
    ("Acme Holdings Ltd.", "ACME  holdings ltd"),
    ("Müller GmbH", "MÜLLER gmbh"),
    ("$1,234.50", "1234.5"),
    ("(1,234.50)", "1234.5"),
    ("€ 1,234.5", "1234.50"),
    ("0.30000000000000004", "0.3"),
    ("007", "7"),
    ("12.5%", "0.125"),
    ("2024-03-05", "5 March 2024"),
    ("March 5, 2024", "2024/3/5"),
    ("03/05/2024", "2024-03-05"),
    ("5-Mar-24", "2024-03-05"),
    ("2024-03-05 00:00:00", "2024-03-05"),
    ("jane.doe@acme.example", "Jane.Doe@ACME.example"),
])
def test_one_value_written_two_ways_is_one_canonical_value(a: str, b: str) -> None:
    assert same(a, b)


@pytest.mark.parametrize(("a", "b"), [
    ("1234.5", "1234.6"), ("Acme", "Acme Holdings"), ("2024-03-05", "2024-03-06"), ("12", "1.2"),
])
def test_different_values_stay_different(a: str, b: str) -> None:
    assert not same(a, b)


def test_day_first_reads_ambiguous_registered_dates_as_day_month() -> None:
    us, eu = canonical_cells(["03/05/2024"], 12)[0], canonical_cells(["03/05/2024"], 12, day_first=True)[0]
    assert us is not None and eu is not None
    assert us.hash == canonical_cells(["2024-03-05"], 12)[0].hash  # type: ignore[union-attr]
    assert eu.hash == canonical_cells(["2024-05-03"], 12)[0].hash  # type: ignore[union-attr]


@pytest.mark.parametrize(("value", "weight"), [
    ("Y", Weight.IGNORED), ("the", Weight.IGNORED), ("1", Weight.IGNORED), ("12", Weight.CORROBORATES),
    ("1200", Weight.CORROBORATES), ("UK", Weight.CORROBORATES), ("2024-03-05", Weight.CORROBORATES),
    ("1234.5", Weight.ANCHORS), ("Okafor", Weight.ANCHORS), ("ACC-100077", Weight.ANCHORS),
])
def test_weights(value: str, weight: Weight) -> None:
    cell = canonical_cells([value], 12)[0]
    assert cell is not None and cell.weight == weight


def test_prose_longer_than_max_words_is_not_a_value() -> None:
    assert canonical_cells(["one two three four five"], 4) == [None]
    assert canonical_cells(["", "  "], 4) == [None, None]


def test_candidates_find_each_value_with_its_exact_span() -> None:
    text = "Client ACME Holdings Ltd. (jane.doe@acme.example) paid $1,234.50 on 5 March 2024, 12.5% more."
    values = ["Acme Holdings Ltd", "jane.doe@acme.example", "1234.5", "2024-03-05", "0.125"]
    wanted = {c.hash: v for c, v in zip(canonical_cells(values, 12), values, strict=True) if c}
    cands = candidate_values(text, tokenize(text), (1, 2, 3, 4))
    found = {wanted[h]: text[s:e] for h, s, e in zip(cands.hashes.tolist(), cands.starts.tolist(),
                                                     cands.ends.tolist(), strict=True) if h in wanted}
    assert found == {"Acme Holdings Ltd": "ACME Holdings Ltd", "jane.doe@acme.example": "jane.doe@acme.example",
                     "1234.5": "$1,234.50", "2024-03-05": "5 March 2024", "0.125": "12.5%"}


def test_an_ambiguous_date_in_a_deliverable_is_tried_both_ways() -> None:
    text = "due 04/07/2025"
    cands = set(candidate_values(text, tokenize(text), (1,)).hashes.tolist())
    for iso in ("2025-04-07", "2025-07-04"):
        assert canonical_cells([iso], 12)[0].hash in cands  # type: ignore[union-attr]


def test_numbers_inside_versions_and_identifiers_are_not_candidates() -> None:
    text = "version 3.5.1 of A1234 and B-77"
    cands = set(candidate_values(text, tokenize(text), ()).hashes.tolist())
    for value in ("3.5", "5.1", "1234"):
        assert canonical_cells([value], 12)[0].hash not in cands  # type: ignore[union-attr]


# --- reading and registering tables -----------------------------------------------------------

def test_read_csv_sniffs_the_delimiter_and_pads_ragged_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("Name;Amount;Note\nAcme Ltd;1.234;\n\nBeta;99\n", encoding="utf-8")
    table = read_table(path, ExtractLimits())
    assert table.header == ["Name", "Amount", "Note"]
    assert table.rows == [["Acme Ltd", "1.234", ""], ["Beta", "99", ""]]


def test_read_xlsx_by_sheet_name_or_number(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Intro"
    book.active.append(["nothing here"])
    prices = book.create_sheet("Prices")
    prices.append(["SKU", "Price"])
    prices.append(["ATL-1", 1234.5])
    prices["D2"] = "far right"  # a value keeps its column across gaps
    path = tmp_path / "book.xlsx"
    book.save(path)
    for wanted in ("Prices", "2"):
        table = read_table(path, ExtractLimits(), sheet=wanted)
        assert table.sheet == "Prices"
        assert table.header == ["SKU", "Price", "column 3", "column 4"]
        assert table.rows == [["ATL-1", "1234.5", "", "far right"]]
    with pytest.raises(ExtractionError, match="no worksheet 'Nope'"):
        read_table(path, ExtractLimits(), sheet="Nope")


def test_read_table_refuses_what_is_not_a_table(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(ExtractionError, match="no rows"):
        read_table(empty, ExtractLimits())
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(ExtractionError):
        read_table(binary, ExtractLimits())


def test_select_columns_by_name_number_and_list() -> None:
    header = ["Name", "Email", "Country"]
    assert select_columns(header, ()) == [0, 1, 2]
    assert select_columns(header, ("email,1",)) == [1, 0]
    assert select_columns(header, ("COUNTRY", "Country")) == [2]
    with pytest.raises(TableError, match="no column 'phone'"):
        select_columns(header, ("phone",))


def _table(rows: list[list[str]], header: list[str]) -> TableFile:
    return TableFile(Path("/nowhere/t.csv"), b"x", None, header, rows)


def test_values_many_rows_share_never_anchor_and_key_columns_limit_anchors() -> None:
    rows = [[f"Client {i:03d} Ltd", "Germany" if i % 2 else "France", f"ACC-{500000 + i}"] for i in range(200)]
    table = _table(rows, ["Name", "Country", "Account"])
    built = build_table(table, [0, 1, 2], [0, 1, 2], KEY, "l", None, RecordsParams(), FingerprintParams())
    assert built.anchors[:, 0].all() and built.anchors[:, 2].all()
    assert not built.anchors[:, 1].any() and not built.distinctive[:, 1].any()
    assert built.common_values == 2
    only_names = build_table(table, [0, 1, 2], [0], KEY, "l", None, RecordsParams(), FingerprintParams())
    assert only_names.anchors[:, 0].all() and not only_names.anchors[:, 2].any()
    assert only_names.distinctive[:, 2].all()  # still counts toward a match, beside a name


def test_anchor_limit_scales_with_small_tables() -> None:
    params = RecordsParams()
    assert anchor_limit(5, params) == 1
    assert anchor_limit(20, params) == 2
    assert anchor_limit(1_000_000, params) == params.max_anchor_rows


# --- the store ----------------------------------------------------------------------------

def test_store_keeps_keyed_values_only_and_replaces_and_removes_tables(tmp_path: Path) -> None:
    rows = client_rows(300)
    path = write_csv(tmp_path / "clients.csv", CLIENT_HEADER, rows)
    folder = tmp_path / "store"
    with SQLiteStore(folder, create=True) as store:
        table = read_table(path, ExtractLimits())
        built = build_table(table, list(range(7)), [0, 1, 2, 3], store.key, "clients", "sales", RecordsParams(),
                            store.params)
        record, action = store.add_table(built)
        assert action == "added" and record.n_rows == 300 and record.columns == tuple(CLIENT_HEADER)
        assert store.add_table(built)[1] == "unchanged"
        assert store.find_table(str(path.resolve())).table_id == record.table_id  # type: ignore[union-attr]
        values, distinctive = store.table_rows(record.table_key, np.array([5, 0]))
        assert np.array_equal(values, built.cells[[5, 0]])
        assert np.array_equal(distinctive, built.distinctive[[5, 0]])
    raw = b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith("leakwatch.sqlite"))
    for value in (rows[5][0], rows[5][2], rows[5][3], "Okafor", "ACC-1000"):
        assert value.encode() not in raw
    with SQLiteStore(folder) as store:
        path.write_text(path.read_text(encoding="utf-8") + "Extra Person,X Y Labs,x@y.example,ACC-9,Spain,1.00,"
                        "2020-01-01\n", encoding="utf-8")
        rebuilt = build_table(read_table(path, ExtractLimits()), list(range(7)), [0], store.key, "clients", "sales",
                              RecordsParams(), store.params)
        again, action = store.add_table(rebuilt)
        assert action == "replaced" and again.version == 2 and again.n_rows == 301
        assert store.remove_table(again.table_id)
        assert store.list_tables() == [] and len(store.lookup_cells(rebuilt.cells[rebuilt.anchors])) == 0
        assert not store.remove_table(again.table_id)


def test_a_store_made_before_tables_existed_gets_them_on_open(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    SQLiteStore(folder, create=True).close()
    db = sqlite3.connect(folder / "leakwatch.sqlite")
    for name in ("record_cells", "record_rows", "record_tables"):
        db.execute(f"DROP TABLE {name}")
    db.commit()
    db.close()
    with SQLiteStore(folder) as store:
        assert store.list_tables() == []


# --- detection, end to end --------------------------------------------------------------------

@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A store with a 10,000-row client list and a 120-row price list (XLSX)."""
    root = tmp_path_factory.mktemp("records")
    store = root / "store"
    clients = client_rows(10_000)
    prices = price_rows()
    clients_csv = write_csv(root / "clients.csv", CLIENT_HEADER, clients)
    prices_xlsx = write_xlsx(root / "pricing.xlsx", PRICE_HEADER, prices, title="Prices 2026")
    code, out, err = run("index", "add-table", str(clients_csv), "--store", str(store), "--label", "client-list",
                         "--key-columns", "Name,Company,Email,Account")
    assert code == 0, out + err
    assert "10,000 rows, 7 columns" in out
    code, out, err = run("index", "add-table", str(prices_xlsx), "--store", str(store), "--label", "pricing")
    assert code == 0, out + err
    assert "sheet 'Prices 2026'" in out
    return {"root": root, "store": store, "clients": clients, "prices": prices, "clients_csv": clients_csv,
            "prices_xlsx": prices_xlsx}


def quoting_prose(clients: list[list[str]]) -> tuple[str, list[tuple[int, int, str]]]:
    """A memo quoting three client rows in running prose; returns it with each quoted
    value's span and column."""
    parts: list[str] = []
    spans: list[tuple[int, int, str]] = []

    def say(text: str, column: str | None = None) -> None:
        start = sum(map(len, parts))
        parts.append(text)
        if column is not None:
            spans.append((start, start + len(text), column))

    a, b, c = clients[11], clients[2222], clients[7777]
    say("Quarterly market memo\n\nThe regional outlook remains stable and margins are improving. ")
    say("Among the accounts reviewed, ")
    say(a[0].upper(), "Name")
    say(" of ")
    say(a[1], "Company")
    say(" (")
    say(a[2], "Email")
    say(") asked for a renewal. We also met ")
    say(b[0], "Name")
    say(", whose account ")
    say(b[3], "Account")
    say(" reported revenue of ")
    say("$" + b[5], "Annual revenue")  # the currency sign is part of the value as written
    say(".\nFinally, ")
    say(c[2], "Email")
    say(" wrote on behalf of ")
    say(c[1], "Company")
    say(" about delivery terms.\n" + "The rest of this memo discusses general conditions in retail. " * 12)
    return "".join(parts), spans


def clean_memo() -> str:
    return ("Market memo. Logistics demand in Germany and France is recovering; revenue grew 12.5% year on year. "
            "Companies such as Oak Summit Foods and Pine Harbor Labs may benefit, as may Emma Smith's team in Spain. "
            "Smith, Johnson and Garcia are common names; 2024-03-05 was a Tuesday.\n")


def test_done_when_prose_rows_a_resorted_price_subset_and_a_clean_file(registered: dict) -> None:
    root, store = registered["root"], registered["store"]
    memo, quoted = quoting_prose(registered["clients"])
    prose = root / "memo.txt"
    prose.write_text(memo, encoding="utf-8")
    rng = random.Random(5)
    subset = rng.sample(registered["prices"], 25)
    subset.sort(key=lambda r: -float(r[3]))
    sheet = write_xlsx(root / "analysis.xlsx", ["Price", "Item", "Code", "Area"],
                       [[r[3], r[1], r[0], r[2]] for r in subset], title="Analysis")
    clean = root / "clean.txt"
    clean.write_text(clean_memo(), encoding="utf-8")

    code, report = scan(store, prose, sheet, clean)
    assert code == 1
    by_file = {Path(f["deliverable"]["path"]).name: f for f in report["findings"]}
    assert sorted(by_file) == ["analysis.xlsx", "memo.txt"] and len(report["findings"]) == 2
    assert report["errors"] == []

    f = by_file["memo.txt"]
    assert f["kind"] == "confidential-records" and f["severity"] == "high"
    rec = f["records"]
    assert rec["rows_matched"] == 3 and rec["rows_registered"] == 10_000
    assert rec["columns"] == ["Name", "Company", "Email", "Account", "Annual revenue"]
    assert [(s["start"], s["end"], s["columns"]) for s in rec["spans"]] == [(s, e, [c]) for s, e, c in quoted]
    assert (f["deliverable"]["start"], f["deliverable"]["end"]) == (quoted[0][0], quoted[-1][1])
    assert f["source"]["label"] == "client-list" and f["source"]["path"] == str(registered["clients_csv"].resolve())
    for s in rec["spans"]:
        assert memo[s["start"]:s["end"]].strip() == memo[s["start"]:s["end"]]

    g = by_file["analysis.xlsx"]
    assert g["kind"] == "confidential-records"
    assert g["records"]["rows_matched"] == 25 and g["records"]["sheet"] == "Prices 2026"
    assert g["records"]["columns"] == ["SKU", "Product", "Region", "List price"]
    assert g["deliverable"]["page"] == 1


def test_a_whole_resorted_reordered_lightly_edited_copy_is_one_near_duplicate(registered: dict) -> None:
    rows = [list(r) for r in registered["prices"]]
    random.Random(9).shuffle(rows)
    for row in rows[:4]:
        row[3] = round(float(row[3]) * 1.1, 2)  # type: ignore[arg-type]
    copy = write_xlsx(registered["root"] / "copy.xlsx", PRICE_HEADER[::-1], [r[::-1] for r in rows])
    csv_copy = write_csv(registered["root"] / "copy.csv", ["Region", "SKU", "Product", "List price", "Discount",
                                                           "Currency"],
                         [[r[2], r[0], r[1], f"{float(r[3]):,.2f}", f"{float(r[4]):.0%}", r[5]]  # type: ignore[arg-type]
                          for r in rows])
    code, report = scan(registered["store"], copy, csv_copy)
    assert code == 1
    kinds = sorted((Path(f["deliverable"]["path"]).name, f["kind"]) for f in report["findings"])
    assert kinds == [("copy.csv", "confidential-near-duplicate"), ("copy.xlsx", "confidential-near-duplicate")]
    for f in report["findings"]:
        assert f["severity"] == "high" and f["scores"]["resemblance"] >= 0.85
        assert f["source"]["label"] == "pricing"


def test_values_far_apart_or_only_shared_ones_do_not_fire(registered: dict) -> None:
    a = registered["clients"][42]
    filler = "General remarks about markets and logistics follow here. " * 20
    far = registered["root"] / "far.txt"
    far.write_text(f"{a[0]} attended.\n{filler}\n{a[2]} was mentioned.", encoding="utf-8")
    shared_only = registered["root"] / "shared.txt"
    shared_only.write_text(f"{a[1]} operates in {a[4]} since {a[6]}.", encoding="utf-8")
    code, report = scan(registered["store"], far, shared_only)
    assert code == 0 and report["findings"] == []


def test_min_cells_is_configurable(registered: dict, tmp_path: Path) -> None:
    a = registered["clients"][100]
    two = tmp_path / "two.txt"
    two.write_text(f"Please call {a[0]} ({a[2]}) about the renewal.", encoding="utf-8")
    code, report = scan(registered["store"], two)
    assert code == 1 and report["findings"][0]["records"]["rows_matched"] == 1
    assert report["findings"][0]["severity"] == "low"
    config = tmp_path / "lw.toml"
    config.write_text("[records]\nmin_cells = 3\n", encoding="utf-8")
    code, report = scan(registered["store"], two, extra=("--config", str(config)))
    assert code == 0 and report["findings"] == []


def test_records_are_found_in_pdf_and_docx_deliverables_with_pages(registered: dict) -> None:
    import docx
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    rows = registered["clients"][300:304]
    pdf = registered["root"] / "deck.pdf"
    c = canvas.Canvas(str(pdf), pagesize=A4)
    c.drawString(72, 800, "Introduction and market overview.")
    c.showPage()
    for i, row in enumerate(rows):
        c.drawString(72, 780 - 20 * i, f"{row[0]}, {row[1]}, {row[3]}")
    c.save()
    document = docx.Document()
    document.add_paragraph("Account notes.")
    for row in rows:
        document.add_paragraph(f"{row[2]} - revenue {row[5]}")
    word = registered["root"] / "notes.docx"
    document.save(str(word))
    code, report = scan(registered["store"], pdf, word)
    assert code == 1
    by_file = {Path(f["deliverable"]["path"]).name: f for f in report["findings"]}
    assert by_file["deck.pdf"]["records"]["rows_matched"] == 4
    assert {s["page"] for s in by_file["deck.pdf"]["records"]["spans"]} == {2}
    assert by_file["notes.docx"]["records"]["rows_matched"] == 4
    assert by_file["notes.docx"]["records"]["columns"] == ["Email", "Annual revenue"]


def test_every_report_format_renders_records_findings(registered: dict, tmp_path: Path) -> None:
    memo, _ = quoting_prose(registered["clients"])
    prose = tmp_path / "memo.txt"
    prose.write_text(memo, encoding="utf-8")
    for fmt in ("text", "jsonl", "csv", "sarif", "html"):
        code, out, err = run("scan", str(prose), "--store", str(registered["store"]), "--format", fmt, "--no-cache")
        assert code == 1, (fmt, err)
        assert "confidential-records" in out


def test_index_list_and_remove_tables_through_the_cli(tmp_path: Path) -> None:
    store = tmp_path / "store"
    path = write_csv(tmp_path / "c.csv", CLIENT_HEADER, client_rows(50))
    code, out, _ = run("index", "add-table", str(path), "--store", str(store))
    assert code == 0
    table_id = out.split()[1]
    code, out, _ = run("index", "list", "--store", str(store), "--format", "json")
    listed = json.loads(out)["tables"]
    assert [t["table_id"] for t in listed] == [table_id] and listed[0]["rows"] == 50
    code, out, _ = run("index", "add-table", str(path), "--store", str(store))
    assert out.startswith("unchanged")
    code, out, _ = run("index", "remove", table_id, "--store", str(store))
    assert code == 0 and f"removed   {table_id}" in out
    code, out, _ = run("index", "list", "--store", str(store))
    assert "0 document(s)" in out


def test_bad_table_input_gets_a_clear_error_and_no_traceback(tmp_path: Path) -> None:
    store = tmp_path / "store"
    path = write_csv(tmp_path / "c.csv", CLIENT_HEADER, client_rows(5))
    code, _, err = run("index", "add-table", str(path), "--store", str(store), "--columns", "Phone")
    assert code == 2 and "no column 'Phone'" in err
    code, _, err = run("index", "add-table", str(path), "--store", str(store), "--columns", "Name",
                       "--key-columns", "Email")
    assert code == 2 and "--key-columns must be among" in err
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    code, _, err = run("index", "add-table", str(broken), "--store", str(store))
    assert code == 3 and "broken.xlsx" in err
    code, _, err = run("index", "add-table", str(path), "--store", str(store), "--sheet", "Prices")
    assert code == 3 and "XLSX workbooks only" in err


def test_the_scan_cache_is_invalidated_by_a_new_table(tmp_path: Path) -> None:
    store = tmp_path / "store"
    rows = client_rows(100)
    first = write_csv(tmp_path / "a.csv", CLIENT_HEADER, rows[:50])
    run("index", "add-table", str(first), "--store", str(store))
    deliverable = tmp_path / "d.txt"
    deliverable.write_text(f"Call {rows[70][0]} at {rows[70][2]}.", encoding="utf-8")
    code, out, _ = run("scan", str(deliverable), "--store", str(store), "--format", "json")
    assert code == 0
    second = write_csv(tmp_path / "b.csv", CLIENT_HEADER, rows[50:])
    run("index", "add-table", str(second), "--store", str(store))
    code, out, _ = run("scan", str(deliverable), "--store", str(store), "--format", "json")
    assert code == 1 and json.loads(out)["findings"][0]["kind"] == "confidential-records"
