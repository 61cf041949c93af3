"""Third-party references: ``leakwatch reference add|list|remove``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

import leakwatch
from leakwatch.cli.app import cli, common_options, config_of, fail
from leakwatch.detect.licence.texts import is_spdx_expression
from leakwatch.pipeline import extraction
from leakwatch.results import EXIT_INCOMPLETE, EXIT_USAGE, display_path
from leakwatch.store import is_url, open_store


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

    config = config_of(ctx, store, config_path)
    if is_url(config.store):  # the library lives in databases beside an embedded store
        fail(f"references are kept beside an embedded store (a folder) and cannot be registered with the "
              f"Redis store {config.store} in this version; scans of a Redis index report confidential "
              "material, tables, licences and notices, not registered references")
    with extraction(config) as extract, open_store(config, create=True) as st:
        library = ReferenceLibrary.open(config, st, create=True)
        assert library is not None
        with library:
            files, code_files = library.add(list(paths), name, licence, config, extract)
            errors = library.errors
    if licence is not None and not is_spdx_expression(licence):
        click.echo(f"leakwatch: warning: {licence!r} is not an SPDX licence id or expression "
                   "(recorded as written)", err=True)
    for err in errors:
        click.echo(f"{'error':9} {err.status}: {display_path(err.path)}: {err.message}", err=True)
    click.echo(f"reference {name!r}: {files} file(s) registered ({code_files} as code), "
               f"{len(errors)} not registered (store {config.store})")
    sys.exit(EXIT_INCOMPLETE if errors else 0)


@reference.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@common_options
@click.pass_context
def reference_list(ctx: click.Context, fmt: str, store: str | None, config_path: str | None) -> None:
    """List the registered references."""
    from leakwatch.references import ReferenceLibrary

    config = config_of(ctx, store, config_path)
    with open_store(config) as st:
        library = ReferenceLibrary.open(config, st)
        refs = [] if library is None else library.references()
        if library is not None:
            library.close()
    if fmt == "json":
        click.echo(json.dumps({"leakwatch": leakwatch.__version__, "store": config.store, "references": [
            {"name": r.name, "licence": r.licence, "files": r.files, "code_files": r.code_files,
             "added_at": r.added_at} for r in refs]}, indent=2))
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

    config = config_of(ctx, store, config_path)
    missing = 0
    with open_store(config) as st:
        library = ReferenceLibrary.open(config, st)
        for name in names:
            if library is None or library.reference(name) is None:
                missing += 1
                click.echo(f"leakwatch: error: no reference {name!r}", err=True)
                continue
            click.echo(f"removed   {name} ({library.remove(name)} file(s))")
        if library is not None:
            library.close()
    sys.exit(EXIT_USAGE if missing else 0)
