"""IP audits and return checks: ``leakwatch audit``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from leakwatch.cli.app import cli, common_options, config_of, fail, quiet


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
    from leakwatch.audit import audit_exit_code, run_audits, run_return_check, vendors_of
    from leakwatch.batch import TreeScanOptions, default_cache_path

    config = config_of(ctx, store, config_path)
    vendors = vendors_of(config)
    if not vendors:
        fail("no vendor configured: add [[watch.folders]] tables (path, vendor) to the config")
    wanted = [return_vendor] if return_vendor else (list(only) or sorted(vendors))
    unknown = [v for v in wanted if v not in vendors]
    if unknown:
        fail(f"unknown vendor(s): {', '.join(unknown)} (configured: {', '.join(sorted(vendors))})")
    options = TreeScanOptions(workers=workers, cache=None if no_cache else default_cache_path(config),
                              progress=not quiet())
    if return_vendor:
        check, path, code = run_return_check(return_vendor, vendors[return_vendor], config, options, output_dir)
        _say_return_check(return_vendor, check, path)
        sys.exit(code)
    audits = run_audits(wanted, vendors, config, options, output_dir, not no_html, _say_audit)
    if audits and audits[-1].report.interrupted is not None:
        left = wanted[len(audits):]
        click.echo(f"leakwatch: interrupted: vendor {audits[-1].vendor} is incomplete"
                   + (f"; not audited: {', '.join(left)}" if left else ""), err=True)
    sys.exit(audit_exit_code(audits))


def _say_audit(result: Any, path: Path) -> None:
    if quiet():
        return
    summary = result.record()["summary"]
    click.echo(f"{result.vendor}: {summary['files']} file(s), {summary['findings']} finding(s) in "
               f"{summary['files_with_findings']} file(s), {summary['files_not_scanned']} not scanned; "
               f"record: {path}" + (" (INTERRUPTED: incomplete)" if result.report.interrupted is not None else ""))


def _say_return_check(name: str, check: dict[str, Any], path: Path) -> None:
    present = check["still_present"]
    docs_left = sum(e["material"] == "document" for e in present)
    documents = docs_left + sum(e["material"] == "document" for e in check["not_found"])
    tables = len(present) - docs_left + sum(e["material"] == "table" for e in check["not_found"])
    click.echo(f"{name}: {check['return_check']['verdict']}; {docs_left} of {documents} document(s) and "
               f"{len(present) - docs_left} of {tables} table(s) still present, {len(check['not_scanned'])} "
               f"file(s) not scanned; record: {path}")
    for item in present:
        what = (f"{item['rows_still_present']:,} of {item['rows']:,} rows" if item["material"] == "table"
                else f"{item['share_of_document']:6.1%}")
        click.echo(f"  {item['still_present']:5} {what}  {item['path']} "
                   f"[{item['label']}] in {len({w['path'] for w in item['where']})} file(s)")
    if check["return_check"].get("interrupted"):
        click.echo("leakwatch: interrupted: the return check is incomplete and certifies nothing", err=True)
