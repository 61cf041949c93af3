"""The ``leakwatch`` command. Thin: parses options, builds the config, calls the pipeline."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

import leakwatch
from leakwatch.baseline import (
    BaselineError,
    apply_suppressions,
    dumps_baseline,
    entries_from_findings,
    load_baseline,
    load_ignore,
    merge,
    read_report_findings,
)
from leakwatch.config import STORE_ENV, Config, ConfigError, load_config
from leakwatch.licences import ReferenceFormatError, is_spdx_expression
from leakwatch.model import Severity
from leakwatch.pipeline import (
    ALLOW_NOTE_PREFIX,
    EXIT_INCOMPLETE,
    EXIT_USAGE,
    allow_paths,
    check_extraction,
    display_path,
    extraction,
    index_paths,
)
from leakwatch.report import REPORTERS
from leakwatch.store import StoreError, open_store

F = TypeVar("F", bound=Callable[..., Any])


def common_options(func: F) -> F:
    """--store and --config, accepted by every command (after the command name too)."""
    func = click.option(
        "--config", "config_path", type=click.Path(dir_okay=False), default=None,
        help="TOML configuration file (see configs/leakwatch.toml).",
    )(func)
    func = click.option(
        "--store", "store", default=None, metavar="DIR|URL",
        help=f"Fingerprint store: a folder, or redis://host:port/db[?prefix=NAME] shared by several hosts (needs "
        f"key_file in the config) [default: ${STORE_ENV} or ./fingerprints].",
    )(func)
    return func


def _config(ctx: click.Context, store: str | None, config_path: str | None) -> Config:
    parent = ctx.find_root().obj or {}
    try:
        config = load_config(config_path or parent.get("config_path"))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    return config.with_store(store or parent.get("store"))


def _fail(message: str) -> None:
    click.echo(f"leakwatch: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Exit codes: 0 nothing found, 1 findings, 2 usage or configuration error, "
    "3 scan incomplete (some files could not be read).",
)
@click.version_option(leakwatch.__version__, prog_name="leakwatch")
@common_options
@click.pass_context
def cli(ctx: click.Context, store: str | None, config_path: str | None) -> None:
    """Find confidential material and third-party content in vendor deliverables.

    \b
    Register confidential documents once, then scan what vendors deliver:
      leakwatch index add contracts/ pricing/ --label confidential --owner legal
      leakwatch scan /srv/vendors/acme/deliveries
    """
    ctx.obj = {"store": store, "config_path": config_path}


@cli.group()
def index() -> None:
    """Register, remove and list confidential documents and tables."""


@index.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--label", default="confidential", show_default=True,
              help="IP label recorded with each document and shown in findings.")
@click.option("--owner", default=None, help="Owner of the documents (team or person).")
@common_options
@click.pass_context
def index_add(ctx: click.Context, paths: tuple[Path, ...], label: str, owner: str | None,
              store: str | None, config_path: str | None) -> None:
    """Fingerprint files (folders recursively) into the store.

    A file already registered at the same path is skipped when unchanged and
    replaced (new version) when its content changed. The store keeps keyed
    fingerprints only: no text.

    \b
    Examples:
      leakwatch index add strategy.docx
      leakwatch index add shared-with-vendors/ --label trade-secret --owner finance
    """
    config = _config(ctx, store, config_path)
    try:
        with extraction(config) as extract, open_store(config, create=True) as st:
            result = index_paths(list(paths), st, config, label, owner, extract)
    except StoreError as exc:
        _fail(str(exc))
        return
    for action, docs in (("added", result.added), ("replaced", result.replaced),
                         ("unchanged", result.unchanged)):
        for doc in docs:
            click.echo(f"{action:9} {doc.doc_id}  {display_path(doc.path)}  ({doc.n_words} words, "
                       f"{doc.format}, v{doc.version})")
    for err in result.errors:
        click.echo(f"{'error':9} {err.status}: {display_path(err.path)}: {err.message}", err=True)
    click.echo(
        f"{len(result.added)} added, {len(result.replaced)} replaced, {len(result.unchanged)} unchanged, "
        f"{len(result.errors)} not indexed (store {config.store})"
    )
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
    from leakwatch.tables import TableError, build_table, read_table, select_columns

    config = _config(ctx, store, config_path)
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
    try:
        with open_store(config, create=True) as st:
            new = build_table(table, chosen, keys, st.key, label, owner, config.records, st.params, day_first)
            record, action = st.add_table(new)
    except StoreError as exc:
        _fail(str(exc))
        return
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

    \b
    Examples:
      leakwatch index remove doc-3f2a9c0d1e7b4a55
      leakwatch index remove tbl-9c41d0e2a7f35b18
      leakwatch index remove ./pricing/old-model.xlsx
    """
    config = _config(ctx, store, config_path)
    missing = 0
    try:
        with open_store(config) as st:
            for ref in documents:
                doc = st.find_document(ref) or st.find_document(str(Path(ref).resolve()))
                table = None if doc is not None else st.find_table(ref) or st.find_table(str(Path(ref).resolve()))
                if doc is not None and st.remove_document(doc.doc_id):
                    click.echo(f"removed   {doc.doc_id}  {display_path(doc.path)}")
                elif table is not None and st.remove_table(table.table_id):
                    click.echo(f"removed   {table.table_id}  {display_path(table.path)}")
                else:
                    missing += 1
                    click.echo(f"leakwatch: no indexed document {ref!r}", err=True)
    except StoreError as exc:
        _fail(str(exc))
    sys.exit(EXIT_USAGE if missing else 0)


@index.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@common_options
@click.pass_context
def index_list(ctx: click.Context, fmt: str, store: str | None, config_path: str | None) -> None:
    """List the registered documents."""
    config = _config(ctx, store, config_path)
    try:
        with open_store(config) as st:
            docs = st.list_documents()
            tables = st.list_tables()
    except StoreError as exc:
        _fail(str(exc))
        return
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


@cli.group()
def reference() -> None:
    """Register third-party material that must not reach the client unattributed."""


@reference.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--name", required=True, help="Name of the reference, shown in findings.")
@click.option("--licence", "licence", default=None, help="SPDX id of the reference's licence.")
@common_options
@click.pass_context
def reference_add(ctx: click.Context, paths: tuple[Path, ...], name: str, licence: str | None,
                  store: str | None, config_path: str | None) -> None:
    """Fingerprint a public report, a stock-text library or an open-source code tree
    as reference NAME. Matches are reported as third-party-text or copied-code.

    \b
    Examples:
      leakwatch reference add competitor-report-2025.pdf --name "Acme market report 2025"
      leakwatch reference add vendor/libfoo/ --name libfoo --licence GPL-3.0-only
    """
    from leakwatch.references import ReferenceLibrary

    config = _config(ctx, store, config_path)
    if "://" in config.store:  # the library lives in databases beside an embedded store
        _fail(f"references are kept beside an embedded store (a folder) and cannot be registered with the "
              f"Redis store {config.store} in this version; scans of a Redis index report confidential "
              "material, tables, licences and notices, not registered references")
    try:
        with extraction(config) as extract, open_store(config, create=True) as st:
            library = ReferenceLibrary.open(config, st, create=True)
            assert library is not None
            with library:
                files, code_files = library.add(list(paths), name, licence, config, extract)
                errors = library.errors
    except StoreError as exc:
        _fail(str(exc))
        return
    if licence is not None and not is_spdx_expression(licence):
        click.echo(f"leakwatch: warning: {licence!r} is not an SPDX licence id or expression "
                   "(recorded as written)", err=True)
    for err in errors:
        click.echo(f"{'error':9} {err.status}: {display_path(err.path)}: {err.message}", err=True)
    click.echo(f"reference {name!r}: {files} file(s) registered ({code_files} as code), "
               f"{len(errors)} not registered (store {config.store})")
    sys.exit(EXIT_INCOMPLETE if errors else 0)


@reference.command("list")
@common_options
@click.pass_context
def reference_list(ctx: click.Context, store: str | None, config_path: str | None) -> None:
    """List the registered references."""
    from leakwatch.references import ReferenceLibrary

    config = _config(ctx, store, config_path)
    try:
        with open_store(config) as st:
            library = ReferenceLibrary.open(config, st)
            refs = [] if library is None else library.references()
            if library is not None:
                library.close()
    except StoreError as exc:
        _fail(str(exc))
        return
    for r in refs:
        click.echo(f"{r.name:30} {r.licence or '-':18} {r.files:>6} file(s), {r.code_files:>6} code  {r.added_at}")
    click.echo(f"{len(refs)} reference(s) in {config.store}")


@reference.command("remove")
@click.argument("names", nargs=-1, required=True)
@common_options
@click.pass_context
def reference_remove(ctx: click.Context, names: tuple[str, ...], store: str | None,
                     config_path: str | None) -> None:
    """Unregister references by name."""
    from leakwatch.references import ReferenceLibrary

    config = _config(ctx, store, config_path)
    missing = 0
    try:
        with open_store(config) as st:
            library = ReferenceLibrary.open(config, st)
            for name in names:
                if library is None or library.reference(name) is None:
                    missing += 1
                    click.echo(f"leakwatch: no reference {name!r}", err=True)
                    continue
                click.echo(f"removed   {name} ({library.remove(name)} file(s))")
            if library is not None:
                library.close()
    except StoreError as exc:
        _fail(str(exc))
    sys.exit(EXIT_USAGE if missing else 0)


@cli.group()
def allow() -> None:
    """The allow-list: text that never raises an alarm (disclaimers, templates)."""


@allow.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@common_options
@click.pass_context
def allow_add(ctx: click.Context, paths: tuple[Path, ...], store: str | None, config_path: str | None) -> None:
    """Subtract the text of these files from every match (confidential, reference and
    licence): a shared disclaimer or template stops firing, an excerpt beside it does not.

    \b
    Example:
      leakwatch allow add templates/standard-disclaimer.docx
    """
    config = _config(ctx, store, config_path)
    try:
        with extraction(config) as extract, open_store(config, create=True) as st:
            result = allow_paths(list(paths), st, config, extract)
            total = st.count_allowed()
    except StoreError as exc:
        _fail(str(exc))
        return
    for err in result.errors:
        click.echo(f"{'error':9} {err.status}: {display_path(err.path)}: {err.message}", err=True)
    click.echo(f"{result.files} file(s) added to the allow-list ({result.new_shingles} new shingles, "
               f"{total} in all); {len(result.errors)} not added")
    sys.exit(EXIT_INCOMPLETE if result.errors else 0)


@allow.command("list")
@common_options
@click.pass_context
def allow_list(ctx: click.Context, store: str | None, config_path: str | None) -> None:
    """Show the files added to the allow-list."""
    config = _config(ctx, store, config_path)
    try:
        with open_store(config) as st:
            notes, total = st.read_notes(ALLOW_NOTE_PREFIX), st.count_allowed()
    except StoreError as exc:
        _fail(str(exc))
        return
    for key, value in notes.items():
        info = json.loads(value)
        click.echo(f"{info['added_at']}  {info['shingles']:>8} shingles  {display_path(key[len(ALLOW_NOTE_PREFIX):])}")
    click.echo(f"{total} shingle(s) on the allow-list of {config.store}")


@allow.command("clear")
@common_options
@click.pass_context
def allow_clear(ctx: click.Context, store: str | None, config_path: str | None) -> None:
    """Empty the allow-list."""
    config = _config(ctx, store, config_path)
    try:
        with open_store(config) as st:
            removed = st.clear_allowed()
            for key in st.read_notes(ALLOW_NOTE_PREFIX):
                st.write_note(key, None)
    except StoreError as exc:
        _fail(str(exc))
        return
    click.echo(f"allow-list cleared ({removed} shingle(s))")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(sorted(REPORTERS)), default="text", show_default=True,
              help="Report format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report to FILE instead of standard output.")
@click.option("--fail-on", type=click.Choice(["low", "medium", "high"]), default="low", show_default=True,
              help="Lowest severity that makes the exit code 1.")
@click.option("--no-verify", is_flag=True,
              help="Do not re-read registered sources to refine spans; use stored fingerprints only.")
@click.option("--baseline", "baseline_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Baseline of accepted findings (leakwatch baseline create): not raised again.")
@click.option("--ignore", "ignore_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Ignore file: path patterns, finding ids and kinds whose findings are not raised.")
@click.option("--workers", "-j", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes scanning in parallel (results are identical to one); with --executor dask and"
              " no --scheduler, the size of the local Dask cluster.")
@click.option("--executor", type=click.Choice(["local", "dask"]), default=None,
              help="Scan on this host's processes, or on a Dask cluster (results are identical)"
              " [default: [batch] executor in the config, else local].")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Dask scheduler to send the files to (tcp://host:8786) [default: [batch] scheduler in the"
              " config, else a local cluster of -j processes]. Workers read the files and the store at the"
              " same paths.")
@click.option("--changed-only", is_flag=True,
              help="Report only files new or changed since the last scan (by the scan cache).")
@click.option("--no-cache", is_flag=True,
              help="Extract every file again: do not read or write the scan cache (in the store folder).")
@common_options
@click.pass_context
def scan(ctx: click.Context, paths: tuple[Path, ...], fmt: str, output: Path | None, fail_on: str,
         no_verify: bool, baseline_path: Path | None, ignore_path: Path | None, workers: int,
         executor: str | None, scheduler: str | None, changed_only: bool,
         no_cache: bool, store: str | None, config_path: str | None) -> None:
    """Scan deliverables (files, folders recursively) for confidential material and
    third-party content (licence texts, copyright notices, registered references).

    One finding per copied passage, with its span in the deliverable and in the
    source document. Files that cannot be read are listed as errors and make
    the exit code 3 (never reported clean).

    \b
    Examples:
      leakwatch scan delivery/report.pdf
      leakwatch scan /srv/vendors/acme --format json --output acme.json --fail-on medium
      leakwatch scan /srv/vendors/acme --format sarif --baseline acme-baseline.json --ignore lw.ignore
      leakwatch scan /srv/vendors --executor dask --scheduler tcp://scheduler:8786

    Findings accepted in the --baseline file or matched by the --ignore file are
    left out of the findings and the exit code, and counted as suppressed.
    """
    from leakwatch.batch import TreeScanOptions, default_cache_path, scan_tree
    from leakwatch.executors import ExecutorError

    config = _config(ctx, store, config_path)
    if changed_only and no_cache:
        raise click.UsageError("--changed-only needs the scan cache (drop --no-cache)")
    executor = executor or config.batch.executor
    scheduler = scheduler or config.batch.scheduler or None
    if scheduler is not None and executor != "dask":
        raise click.UsageError("--scheduler needs --executor dask")
    try:
        baseline = load_baseline(baseline_path) if baseline_path is not None else None
        ignore = load_ignore(ignore_path) if ignore_path is not None else None
    except BaselineError as exc:
        _fail(str(exc))
        return
    options = TreeScanOptions(workers=workers, verify_sources=not no_verify, changed_only=changed_only,
                              cache=None if no_cache else default_cache_path(config), executor=executor,
                              scheduler=scheduler)
    try:
        report = scan_tree(list(paths), config, options)
    except ExecutorError as exc:
        raise click.UsageError(str(exc)) from exc
    except (StoreError, ReferenceFormatError) as exc:
        _fail(str(exc))
        return
    if baseline is not None or ignore is not None:
        report.findings, report.suppressed = apply_suppressions(report.findings, baseline, ignore)
    reporter = REPORTERS[fmt]
    if fmt == "html":  # re-reads deliverables with the scan's limits; the scanned paths name the vendors
        from leakwatch.report.html import HtmlReporter

        reporter = HtmlReporter(limits=config.extract, roots=sorted(
            {display_path(q) for p in paths for q in (p.resolve(), Path(os.path.abspath(p)))}))
    if output is None:
        reporter.write(report, sys.stdout)
    else:
        try:
            with open(output, "w", encoding="utf-8") as fh:
                reporter.write(report, fh)
        except OSError as exc:
            _fail(f"cannot write {output}: {exc.strerror or exc}")
        click.echo(f"report written to {output}: {len(report.findings)} finding(s), "
                   f"{len(report.errors)} file(s) not scanned", err=True)
    sys.exit(report.exit_code(Severity.parse(fail_on)))


@cli.group()
def baseline() -> None:
    """Baselines: findings reviewed and accepted, not raised again by scan --baseline."""


@baseline.command("create")
@click.argument("reports", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Baseline file to write.")
@click.option("--reason", required=True, help="Why these findings are accepted (kept with each entry).")
@click.option("--by", "accepted_by", default=None, help="Who accepts them [default: the login name].")
@click.option("--id", "only_ids", multiple=True, metavar="FINDING_ID",
              help="Accept only this finding (repeatable) [default: every finding of the reports].")
@click.option("--update", is_flag=True,
              help="Add to an existing baseline (entries already there keep their who, when and why).")
@common_options
@click.pass_context
def baseline_create(ctx: click.Context, reports: tuple[Path, ...], output: Path, reason: str,
                    accepted_by: str | None, only_ids: tuple[str, ...], update: bool, store: str | None,
                    config_path: str | None) -> None:
    """Accept the findings of scan reports (--format json or jsonl) into a baseline file.

    \b
    Examples:
      leakwatch scan /srv/vendors/acme --format json -o acme.json
      leakwatch baseline create acme.json -o acme-baseline.json --reason "licensed to acme, contract 2024-17"
      leakwatch baseline create acme.json -o acme-baseline.json --update --id lw-0123456789abcdef0123 \\
          --reason "quoted with permission" --by j.doe
    """
    import getpass
    from datetime import UTC, datetime

    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if accepted_by is None:
        try:
            accepted_by = getpass.getuser()
        except (KeyError, OSError):
            accepted_by = "unknown"
    try:
        old = None
        if output.exists():
            if not update:
                _fail(f"{output} exists: use --update to add to it")
            old = load_baseline(output)
        findings = [f for path in reports for f in read_report_findings(path)]
        entries = entries_from_findings(findings, accepted_by, reason, now, only_ids)
    except BaselineError as exc:
        _fail(str(exc))
        return
    result = merge(old, entries, now, leakwatch.__version__)
    added = len(result.entries) - (len(old.entries) if old is not None else 0)
    try:
        tmp = output.with_name(output.name + ".tmp")
        tmp.write_text(dumps_baseline(result), encoding="utf-8")
        tmp.replace(output)
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror or exc}")
    click.echo(f"{added} finding(s) accepted, {len(result.entries)} in {output}")


def _watch_config(ctx: click.Context, store: str | None, config_path: str | None, folders: tuple[Path, ...],
                  vendor: str | None, polling: bool) -> Config:
    """The configuration with the folders named on the command line (they replace the file's)."""
    import dataclasses

    from leakwatch.config import WatchFolder

    config = _config(ctx, store, config_path)
    if folders:
        named = tuple(WatchFolder(path=str(f.resolve()), vendor=vendor or f.resolve().name, polling=polling)
                      for f in folders)
        config = dataclasses.replace(config, watch=dataclasses.replace(config.watch, folders=named))
    elif polling:
        config = dataclasses.replace(config, watch=dataclasses.replace(config.watch, folders=tuple(
            dataclasses.replace(f, polling=True) for f in config.watch.folders)))
    try:
        return config.validate()
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


@cli.command()
@click.argument("folders", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--vendor", default=None, help="Vendor (engagement) of the folders named here [default: folder name].")
@click.option("--polling", is_flag=True, help="Poll instead of inotify (network shares send no events).")
@click.option("--once", is_flag=True, help="Run one reconciliation sweep, scan what changed, and exit (cron).")
@click.option("--status", "show_status", is_flag=True,
              help="Print the recorded state of every watched file (JSON lines).")
@common_options
@click.pass_context
def watch(ctx: click.Context, folders: tuple[Path, ...], vendor: str | None, polling: bool, once: bool,
          show_status: bool, store: str | None, config_path: str | None) -> None:
    """Watch vendor delivery folders and scan every file once it is complete.

    Folders come from the command line or from [[watch.folders]] in the config.
    Alerts (findings, and files that could not be scanned) go to an append-only
    JSON-lines log, an optional webhook and an optional quarantine. A state database
    records every file; a reconciliation sweep at start, periodically and whenever
    events were lost scans whatever is new or changed, so nothing is missed while
    the daemon is down. SIGTERM/SIGINT drain the queue and exit 0; SIGHUP reloads
    the config. Logs are JSON lines on stderr.

    \b
    Examples:
      leakwatch watch /srv/vendors/acme --vendor acme
      leakwatch watch --config /etc/leakwatch/leakwatch.toml
      leakwatch watch --once --config /etc/leakwatch/leakwatch.toml   # from cron
    """
    from leakwatch.watch import Daemon, DaemonError
    from leakwatch.watch.daemon import iter_state
    from leakwatch.watch.logs import setup_logging
    from leakwatch.watch.state import StateError

    config = _watch_config(ctx, store, config_path, folders, vendor, polling)
    if show_status:
        try:
            for row in iter_state(config):
                click.echo(json.dumps(row, sort_keys=True))
        except StateError as exc:
            _fail(str(exc))
        return
    setup_logging()
    root_config = (ctx.find_root().obj or {}).get("config_path")

    def reload() -> Config:
        # Re-read the same file; folders named on the command line still win.
        fresh = load_config(config_path or root_config)
        return _watch_config(ctx, store, config_path, folders, vendor, polling) if folders else \
            fresh.with_store(store or (ctx.find_root().obj or {}).get("store")).validate()

    try:
        code = Daemon(config, reload=reload).run(once=once)
    except DaemonError as exc:
        _fail(str(exc))
        return
    sys.exit(code)


@cli.command("extract-check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@common_options
@click.pass_context
def extract_check(ctx: click.Context, paths: tuple[Path, ...], fmt: str, store: str | None,
                  config_path: str | None) -> None:
    """Read every file the way a scan does (isolated, under the configured limits) and
    report the count per status, the slowest file and the peak memory. Needs no store.

    \b
    Example:
      leakwatch extract-check ../shared/corpora/pdf-samples
    """
    config = _config(ctx, store, config_path)
    run = check_extraction(list(paths), config)
    data = {"leakwatch": leakwatch.__version__, **run.to_dict()}
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        for err in run.errors:
            click.echo(f"{err.status:12} {display_path(err.path)}: {err.message}")
        click.echo(f"{data['files']} file(s) in {data['seconds']:.1f}s: "
                   + ", ".join(f"{n} {s}" for s, n in data["by_status"].items()))
        if data["slowest"]:
            click.echo(f"slowest: {data['slowest']['path']} ({data['slowest']['seconds']:.2f}s); "
                       f"peak worker memory {data['peak_memory_mb']:.0f} MB")
    sys.exit(EXIT_INCOMPLETE if run.errors else 0)


@cli.group()
def evaluate() -> None:
    """Measure detection quality on annotated corpora."""


def _pan_table(ev: dict[str, Any]) -> list[str]:
    lines = [f"{ev['mode']}: {'class':30} {'prec':>6} {'rec':>6} {'gran':>6} {'plagdet':>8} {'cases':>6} {'dets':>5}"]
    rows = [*ev["classes"].items(), ("overall", ev["overall"])]
    for name, s in rows:
        lines.append(f"{'':{len(ev['mode']) + 2}}{name:30} {s['precision']:6.3f} {s['recall']:6.3f} "
                     f"{s['granularity']:6.3f} {s['plagdet']:8.3f} {s['cases']:6} {s['detections']:5}")
    doc = ev["document_level"]
    lines.append(f"{'':{len(ev['mode']) + 2}}document level: precision {doc['precision']:.3f}, "
                 f"recall {doc['recall']:.3f} over {doc['pairs']} pairs")
    if ev.get("unlisted_detections"):
        lines.append(f"{'':{len(ev['mode']) + 2}}{ev['unlisted_detections']} detection(s) on pairs the corpus "
                     "does not list (not annotated: each counts against precision)")
    return lines


def _key_spread_table(keys: dict[str, Any]) -> list[str]:
    title = f"plagdet over {len(keys['runs'])} keys:"
    lines = [f"{title:50} {'mean':>6} {'min':>6} {'max':>6}"]
    for name, s in keys["spread"].items():
        label = "overall (whole index)" if name == "whole_index_overall" else name
        lines.append(f"{'':8}{label:42} {s['mean']:6.3f} {s['min']:6.3f} {s['max']:6.3f}")
    return lines


def _evaluation(ctx: click.Context, store: str | None, config_path: str | None, fmt: str,
                run: Callable[[Config], Any]) -> dict[str, Any] | None:
    """Run one evaluation; print it as JSON (and return None) for ``--format json``,
    else return its data for the command's table. A bad corpus ends the command (exit 2)."""
    from leakwatch.evaluate import CorpusError

    config = _config(ctx, store, config_path)
    try:
        result = run(config)
    except CorpusError as exc:
        _fail(str(exc))
        return None
    data: dict[str, Any] = {"leakwatch": leakwatch.__version__, **result.to_dict()}
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return None
    return data


@evaluate.command("pan")
@click.argument("corpus_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--keys", "keys", type=click.IntRange(1, 50), default=1, show_default=True,
              help="Repeat the evaluation with this many public store keys and report the spread "
                   "(LSH candidates depend on the key).")
@click.option("--folds", "folds", type=click.IntRange(0, 20), default=0, show_default=True,
              help="Cross-validate: train a reworded-passage scorer per fold (grouped by connected "
                   "component of the pair graph) and scan each fold's documents with its own (0: the shipped "
                   "scorer for all).")
@click.option("--upstream", "upstream", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of upstream annotations (one XML per pair, in class folders) that mark every reused "
                   "passage of the suspicious documents [default: CORPUS_DIR/upstream-annotations].")
@common_options
@click.pass_context
def evaluate_pan_cmd(ctx: click.Context, corpus_dir: Path, fmt: str, keys: int, folds: int, upstream: Path | None,
                     store: str | None, config_path: str | None) -> None:
    """PAN character-level precision, recall, granularity and plagdet per obfuscation class.

    Indexes CORPUS_DIR/src into a temporary store and scans CORPUS_DIR/susp; scores
    listed pairs only (PAN's setting) and the whole index (every finding counts).
    The tables are those of the fixed evaluation key; with --keys N, the plagdet of N
    keys' runs follows (mean, min, max).

    With upstream-annotations/ in the corpus, the unbacked findings (on text annotated as no
    reuse, sharing little wording with their source) and the calibration of confidence follow.

    \b
    Example:
      leakwatch evaluate pan ../shared/corpora/pan13-text-alignment-sample
      leakwatch evaluate pan ../shared/corpora/pan13-text-alignment-sample --keys 5
      leakwatch evaluate pan ../shared/corpora/pan13-text-alignment-train --folds 5
      leakwatch evaluate pan ../shared/corpora/pan13-text-alignment-sample \\
          --upstream ../shared/corpora/pan13-text-alignment-train/upstream-annotations
    """
    from leakwatch.evaluate import evaluate_pan
    from leakwatch.evaluate.calibration import reliability_lines
    from leakwatch.evaluate.crossval import evaluate_pan_cv
    from leakwatch.evaluate.unbacked import unbacked_lines

    data = _evaluation(ctx, store, config_path, fmt,
                       lambda config: evaluate_pan_cv(corpus_dir, config, folds, keys, upstream) if folds
                       else evaluate_pan(corpus_dir, config, keys, upstream))
    if data is None:
        return
    for mode in ("listed_pairs", "whole_index"):
        click.echo("\n".join(_pan_table(data[mode])))
    if "unbacked" in data:
        click.echo("\n".join(unbacked_lines(data["unbacked"]) + reliability_lines(data["calibration"])))
    if "keys" in data:
        click.echo("\n".join(_key_spread_table(data["keys"])))
    click.echo(f"indexing {data['seconds']['index']:.1f}s, scanning {data['seconds']['scan']:.1f}s, "
               f"{data['scan_errors']} file(s) not scanned")


@evaluate.command("labels")
@click.argument("corpus_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@common_options
@click.pass_context
def evaluate_labels_cmd(ctx: click.Context, corpus_dir: Path, fmt: str, store: str | None,
                        config_path: str | None) -> None:
    """ROC AUC and precision/recall of the leak score on a corpus labelled per document.

    \b
    Example:
      leakwatch evaluate labels ../shared/corpora/clough-stevenson-short-answers-sample
    """
    from leakwatch.evaluate import evaluate_labels

    data = _evaluation(ctx, store, config_path, fmt, lambda config: evaluate_labels(corpus_dir, config))
    if data is None:
        return
    click.echo(f"ROC AUC {data['roc_auc']:.3f}; at the default threshold precision {data['precision']:.3f}, "
               f"recall {data['recall']:.3f} over {data['files']} files")
    click.echo("flagged per category: " + ", ".join(f"{c} {v}" for c, v in data["flagged_by_category"].items()))


@evaluate.command("licences")
@click.argument("corpus_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@common_options
@click.pass_context
def evaluate_licences_cmd(ctx: click.Context, corpus_dir: Path, fmt: str, store: str | None,
                          config_path: str | None) -> None:
    """Agreement of the top-1 SPDX id with the declared licence, on licence files that
    carry one licence (CORPUS_DIR/labels.csv); every miss and exclusion is listed.

    \b
    Example:
      leakwatch evaluate licences ../shared/corpora/licenses-in-the-wild-sample
    """
    from leakwatch.evaluate.licences import evaluate_licences

    data = _evaluation(ctx, store, config_path, fmt, lambda config: evaluate_licences(corpus_dir, config))
    if data is None:
        return
    for r in data["scored"]:
        mark = "ok  " if r["agrees"] else "MISS"
        cov = f"{r['coverage']:.2f}" if r["coverage"] is not None else "-"
        click.echo(f"{mark} {r['path']}: declared {r['declared']}; top-1 {r['top1']} ({r['top1_part']}, "
                   f"coverage {cov})")
    for r in data["excluded"]:
        click.echo(f"excl {r['path']}: {r['reason']}")
    for r in data["errors"]:
        click.echo(f"ERR  {r['path']}: {r['status']}: {r['message']}")
    click.echo(f"top-1 agreement {data['agreement']:.3f} over {data['files_scored']} single-licence files "
               f"(same SPDX id exactly: {data['exact_id_agreement']:.3f}); {len(data['excluded'])} excluded")


@evaluate.command("code")
@click.argument("corpus_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@common_options
@click.pass_context
def evaluate_code_cmd(ctx: click.Context, corpus_dir: Path, fmt: str, store: str | None,
                      config_path: str | None) -> None:
    """Copied-code recall per disguise level and precision on a code plagiarism corpus
    (CORPUS_DIR/labels.csv: each case's original is registered as a reference).

    \b
    Example:
      leakwatch evaluate code ../shared/corpora/ir-plag-java-sample
    """
    from leakwatch.evaluate.code import evaluate_code

    data = _evaluation(ctx, store, config_path, fmt, lambda config: evaluate_code(corpus_dir, config))
    if data is None:
        return
    for level, r in data["recall_by_level"].items():
        click.echo(f"{level}: {r['found']}/{r['files']} copies found")
    click.echo(f"precision {data['precision']:.3f} ({data['true_positives']} copies, {data['false_positives']} of "
               f"{data['negatives']} independent files flagged: false-positive rate "
               f"{data['false_positive_rate']:.3f}); recall {data['recall']:.3f}; "
               f"{data['cross_case_findings']} finding(s) from another task's original")
    for path in data["false_positive_files"]:
        click.echo(f"  flagged independent file: {path}")


@cli.command()
@click.option("--output-dir", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("audits"),
              show_default=True, help="Folder for the audit records (one JSON file per vendor).")
@click.option("--vendor", "only", multiple=True, help="Audit only this vendor (repeatable) [default: all].")
@click.option("--return-check", "return_vendor", default=None, metavar="VENDOR",
              help="End of engagement: report every confidential document still in VENDOR's folders.")
@click.option("--workers", "-j", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes scanning in parallel.")
@click.option("--no-cache", is_flag=True, help="Extract every file again (no scan cache).")
@click.option("--no-html", is_flag=True, help="Write only the JSON records, not the HTML report per vendor.")
@common_options
@click.pass_context
def audit(ctx: click.Context, output_dir: Path, only: tuple[str, ...], return_vendor: str | None, workers: int,
          no_cache: bool, no_html: bool, store: str | None, config_path: str | None) -> None:
    """IP audit of the configured vendors ([[watch.folders]] in the config, grouped by
    vendor): one record per vendor with every file looked at (path, sha256, status),
    findings by kind and by IP label, and the files that could not be scanned (JSON),
    and the same findings as an HTML report for reading.

    With --return-check VENDOR, list every registered confidential document (whole or
    the share of it) still present in that vendor's folders; exit 1 if any is, 3 if
    some file could not be read (nothing is certified then), 0 if none is.

    \b
    Examples:
      leakwatch audit --config /etc/leakwatch/leakwatch.toml -o /var/lib/leakwatch/audits
      leakwatch audit --config /etc/leakwatch/leakwatch.toml --return-check acme
    """
    from leakwatch.audit import (
        audit_exit_code,
        audit_vendor,
        return_check,
        return_check_exit_code,
        safe_name,
        vendors_of,
        write_record,
    )
    from leakwatch.batch import TreeScanOptions, default_cache_path

    config = _config(ctx, store, config_path)
    vendors = vendors_of(config)
    if not vendors:
        _fail("no vendor configured: add [[watch.folders]] tables (path, vendor) to the config")
    wanted = [return_vendor] if return_vendor else (list(only) or sorted(vendors))
    unknown = [v for v in wanted if v not in vendors]
    if unknown:
        _fail(f"unknown vendor(s): {', '.join(unknown)} (configured: {', '.join(sorted(vendors))})")
    options = TreeScanOptions(workers=workers, cache=None if no_cache else default_cache_path(config))
    stamp = datetime_stamp()
    audits = []
    try:
        for name in wanted:
            result = audit_vendor(name, vendors[name], config, options)
            audits.append(result)
            if return_vendor:
                with open_store(config) as st:
                    documents = st.list_documents()
                check = return_check(result, documents)
                path = write_record(check, output_dir, f"{safe_name(name)}-return-check-{stamp}.json")
                click.echo(f"{name}: {check['return_check']['verdict']}; "
                           f"{len(check['still_present'])} of {len(documents)} document(s) still present, "
                           f"{len(check['not_scanned'])} file(s) not scanned; record: {path}")
                for doc in check["still_present"]:
                    click.echo(f"  {doc['still_present']:5} {doc['share_of_document']:6.1%}  {doc['path']} "
                               f"[{doc['label']}] in {len({w['path'] for w in doc['where']})} file(s)")
                sys.exit(return_check_exit_code(check))
            record = result.record()
            path = write_record(record, output_dir, f"{safe_name(name)}-audit-{stamp}.json")
            if not no_html:
                from leakwatch.report.html import HtmlReporter

                html_path = output_dir / f"{safe_name(name)}-audit-{stamp}.html"
                fd = os.open(html_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    HtmlReporter(limits=config.extract, roots=result.folders).write(result.report, fh)
            summary = record["summary"]
            click.echo(f"{name}: {summary['files']} file(s), {summary['findings']} finding(s) in "
                       f"{summary['files_with_findings']} file(s), {summary['files_not_scanned']} not scanned; "
                       f"record: {path}")
    except (StoreError, ReferenceFormatError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write the audit record: {exc.strerror or exc}")
    sys.exit(audit_exit_code(audits))


@cli.group("store")
def store_group() -> None:
    """Copy a fingerprint store between backends (a folder, a Redis server)."""


@store_group.command("copy")
@click.argument("src")
@click.argument("dst")
@common_options
@click.pass_context
def store_copy(ctx: click.Context, src: str, dst: str, store: str | None, config_path: str | None) -> None:
    """Copy every document, table, note and the allow-list from SRC to DST.

    SRC and DST are store folders or redis://host:port/db[?prefix=NAME] URLs. The
    keyed values are copied as stored: nothing is extracted again. Both stores use
    one key file: key_file from the configuration, else the key file in whichever of
    SRC and DST is a folder (SRC first). A DST that exists must have that key and the
    same fingerprint parameters; documents already there unchanged are kept, so an
    interrupted copy can be run again. The copy is verified at the end.

    \b
    Examples:
      leakwatch store copy ./fingerprints redis://10.0.0.5:6379/0
      leakwatch store copy redis://10.0.0.5:6379/0 /srv/backup/fingerprints --config lw.toml
    """
    import dataclasses

    from leakwatch.store.sqlite import KEY_NAME
    from leakwatch.store.transfer import copy_store

    config = _config(ctx, store, config_path)
    if src.rstrip("/") == dst.rstrip("/"):
        raise click.UsageError("SRC and DST are the same store")
    key_file = config.key_file
    if key_file is None:
        folder = next((s for s in (src, dst) if "://" not in s and Path(s, KEY_NAME).exists()), None)
        key_file = str(Path(folder, KEY_NAME)) if folder is not None else None
    try:
        with open_store(dataclasses.replace(config, store=src, key_file=key_file, fingerprint=None)) as source, \
                open_store(dataclasses.replace(config, store=dst, key_file=key_file, fingerprint=source.params),
                           create=True) as target:
            result = copy_store(source, target)
            where, total = target.location, target.count_documents()
    except StoreError as exc:
        _fail(str(exc))
        return
    click.echo(f"{result.documents} document(s) and {result.tables} table(s) copied, {result.skipped} already "
               f"there; {result.notes} note(s), {result.allowed} allow-listed hash(es)")
    click.echo(f"verified: {total} document(s) ({result.fingerprints} fingerprints, {result.passages} passages) "
               f"in {where}")


def datetime_stamp() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def main() -> None:
    """Console entry point: no traceback reaches a user."""
    try:
        cli.main(prog_name="leakwatch", standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("leakwatch: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("LEAKWATCH_DEBUG"):
            raise
        click.echo(f"leakwatch: internal error: {type(exc).__name__}: {exc} "
                   "(set LEAKWATCH_DEBUG=1 for details)", err=True)
        sys.exit(EXIT_INCOMPLETE)


