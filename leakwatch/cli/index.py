"""Registering confidential documents and tables: ``leakwatch index add|add-table|remove|list``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

import leakwatch
from leakwatch.cli.app import cli, common_options, config_of, quiet
from leakwatch.model import MEMBER_SEPARATOR
from leakwatch.pipeline import extraction, index_paths
from leakwatch.results import EXIT_INCOMPLETE, EXIT_USAGE, display_path
from leakwatch.store import open_store


@cli.group()
def index() -> None:
    """Register, remove and list confidential documents and tables."""


@index.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--label", default="confidential", show_default=True,
              help="IP label recorded with each document and shown in findings.")
@click.option("--owner", default=None, help="Owner of the documents (team or person).")
@click.option("--workers", "-j", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes that read and fingerprint files (the store is written by one).")
@common_options
@click.pass_context
def index_add(ctx: click.Context, paths: tuple[Path, ...], label: str, owner: str | None, workers: int,
              store: str | None, config_path: str | None) -> None:
    """Fingerprint files (folders recursively) into the store.

    A file already registered at the same path is skipped when unchanged and
    replaced (new version) when its content changed. The store keeps keyed
    fingerprints only: no text.

    \b
    Examples:
      leakwatch index add strategy.docx
      leakwatch index add shared-with-vendors/ --label trade-secret --owner finance
      leakwatch index add shared-with-vendors/ -j 4
    """
    config = config_of(ctx, store, config_path)
    with extraction(config) as extract, open_store(config, create=True) as st:
        documents = None
        if workers > 1:  # read and fingerprinted by worker processes, written here
            from leakwatch.index_pool import documents_in_pool

            documents = documents_in_pool(list(paths), config, st.params, st.key, label, owner, workers)
        result = index_paths(list(paths), st, config, label, owner, extract, documents)
    for action, docs in (("added", result.added), ("replaced", result.replaced),
                         ("unchanged", result.unchanged)):
        for doc in docs if not quiet() else ():
            click.echo(f"{action:9} {doc.doc_id}  {display_path(doc.path)}  ({doc.n_words} words, "
                       f"{doc.format}, v{doc.version})")
    for err in result.errors:
        click.echo(f"{'error':9} {err.status}: {display_path(err.path)}: {err.message}", err=True)
    if not quiet():
        click.echo(
            f"{len(result.added)} added, {len(result.replaced)} replaced, {len(result.unchanged)} unchanged, "
            f"{len(result.errors)} not indexed (store {config.store})"
        )
    if result.interrupted is not None:
        click.echo("leakwatch: interrupted: the files not listed above were not indexed", err=True)
    sys.exit(result.exit_code)


@index.command("add-table")
@click.argument("table_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--label", default="confidential", show_default=True,
              help="IP label recorded with the table and shown in findings.")
@click.option("--owner", default=None, help="Owner of the table (team or person).")
@click.option("--columns", "columns", multiple=True, metavar="NAMES",
              help="Columns to register, by header name or 1-based number (comma-separated or repeated) "
                   "[default: all].")
@click.option("--key-columns", "key_columns", multiple=True, metavar="NAMES",
              help="Columns whose values may start a match (e.g. name, account, e-mail); the others only "
                   "corroborate one [default: every registered column].")
@click.option("--sheet", default=None, help="Worksheet of an XLSX workbook, by name or number [default: first].")
@click.option("--no-header", is_flag=True, help="The first row is data, not column names.")
@click.option("--day-first", is_flag=True, help="Read ambiguous dates such as 03/05/2024 as day/month.")
@common_options
@click.pass_context
def index_add_table(ctx: click.Context, table_file: Path, label: str, owner: str | None,
                    columns: tuple[str, ...], key_columns: tuple[str, ...], sheet: str | None, no_header: bool,
                    day_first: bool, store: str | None, config_path: str | None) -> None:
    """Register the rows of a table (CSV, TSV or XLSX): client lists, price lists, account records.

    Every cell is normalized (case, spacing, number formats such as 1,234.50 and 1234.5, dates) and
    stored only as a keyed hash with its row and column. A deliverable that holds values of at least
    two cells of one registered row close together is reported as confidential-records; a spreadsheet
    that is a near-copy of the table as confidential-near-duplicate.

    \b
    Examples:
      leakwatch index add-table clients.csv --label client-list --key-columns name,email,account
      leakwatch index add-table pricing.xlsx --sheet "2026 prices" --columns product,tier,price
    """
    from leakwatch.model import ExtractionError
    from leakwatch.records.tables import TableError, build_table, read_table, select_columns

    config = config_of(ctx, store, config_path)
    try:
        table = read_table(table_file, config.extract, sheet=sheet, header=not no_header)
    except ExtractionError as exc:
        click.echo(f"{'error':9} {exc.status}: {display_path(table_file)}: {exc.message}", err=True)
        sys.exit(EXIT_INCOMPLETE)
    try:
        chosen = select_columns(table.header, columns)
        keys = select_columns(table.header, key_columns) if key_columns else chosen
        if not set(keys) <= set(chosen):
            raise TableError("--key-columns must be among the registered --columns")
    except TableError as exc:
        raise click.UsageError(str(exc)) from exc
    with open_store(config, create=True) as st:
        new = build_table(table, chosen, keys, st.key, label, owner, config.records, st.params, day_first)
        record, action = st.add_table(new)
    where = f" (sheet {record.sheet!r})" if record.sheet else ""
    click.echo(f"{action:9} {record.table_id}  {display_path(record.path)}{where}")
    click.echo(f"{record.n_rows:,} rows, {len(record.columns)} columns ({', '.join(record.columns)}); "
               f"{record.n_cells:,} values registered, {record.n_anchors:,} can start a match; "
               f"{new.common_values:,} values shared by many rows only corroborate"
               + (f"; {new.skipped_long:,} cells of prose left to the passage fingerprints" if new.skipped_long
                  else ""))
    if record.n_anchors == 0:
        click.echo("leakwatch: warning: no value of this table can start a match (every key value is "
                   "short or shared by many rows); choose other --key-columns", err=True)


@index.command("remove")
@click.argument("documents", nargs=-1, required=True)
@common_options
@click.pass_context
def index_remove(ctx: click.Context, documents: tuple[str, ...], store: str | None,
                 config_path: str | None) -> None:
    """Remove documents and tables (by id, or by path as registered) and their fingerprints.
    The path of an archive or e-mail removes every member registered from it.

    \b
    Examples:
      leakwatch index remove doc-3f2a9c0d1e7b4a55
      leakwatch index remove tbl-9c41d0e2a7f35b18
      leakwatch index remove ./pricing/old-model.xlsx
    """
    config = config_of(ctx, store, config_path)
    missing = 0
    with open_store(config) as st:
        for ref in documents:
            doc = st.find_document(ref) or st.find_document(str(Path(ref).resolve()))
            table = None if doc is not None else st.find_table(ref) or st.find_table(str(Path(ref).resolve()))
            # An archive or e-mail registered as its members: its path removes them all.
            members = [] if doc is not None or table is not None else [
                d for d in st.list_documents() if d.path.startswith(str(Path(ref).resolve()) + MEMBER_SEPARATOR)]
            if doc is not None and st.remove_document(doc.doc_id):
                click.echo(f"removed   {doc.doc_id}  {display_path(doc.path)}")
            elif table is not None and st.remove_table(table.table_id):
                click.echo(f"removed   {table.table_id}  {display_path(table.path)}")
            elif members:
                for member in members:
                    st.remove_document(member.doc_id)
                    click.echo(f"removed   {member.doc_id}  {display_path(member.path)}")
            else:
                missing += 1
                click.echo(f"leakwatch: error: no indexed document or table {ref!r}", err=True)
    sys.exit(EXIT_USAGE if missing else 0)


@index.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@common_options
@click.pass_context
def index_list(ctx: click.Context, fmt: str, store: str | None, config_path: str | None) -> None:
    """List the registered documents."""
    config = config_of(ctx, store, config_path)
    with open_store(config) as st:
        docs = st.list_documents()
        tables = st.list_tables()
    if fmt == "json":
        rows = [
            {"doc_id": d.doc_id, "path": d.path, "label": d.label, "owner": d.owner, "size": d.size,
             "words": d.n_words, "format": d.format, "version": d.version, "added_at": d.added_at,
             "extractor_version": d.extractor_version}
            for d in docs
        ]
        table_rows = [
            {"table_id": t.table_id, "path": t.path, "sheet": t.sheet, "label": t.label, "owner": t.owner,
             "size": t.size, "rows": t.n_rows, "columns": list(t.columns),
             "key_columns": [t.columns[c] for c in t.key_columns], "values": t.n_cells, "anchors": t.n_anchors,
             "version": t.version, "added_at": t.added_at}
            for t in tables
        ]
        click.echo(json.dumps({"leakwatch": leakwatch.__version__, "documents": rows, "tables": table_rows},
                              indent=2))
        return
    for d in docs:
        click.echo(f"{d.doc_id}  {d.label:14} {d.owner or '-':10} v{d.version} {d.n_words:>8} words  "
                   f"{d.added_at}  {display_path(d.path)}")
    for t in tables:
        click.echo(f"{t.table_id}  {t.label:14} {t.owner or '-':10} v{t.version} {t.n_rows:>8} rows   "
                   f"{t.added_at}  {display_path(t.path)}" + (f" [{t.sheet}]" if t.sheet else ""))
    click.echo(f"{len(docs)} document(s)" + (f" and {len(tables)} table(s)" if tables else "")
               + f" in {config.store}")
