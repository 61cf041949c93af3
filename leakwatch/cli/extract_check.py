"""``leakwatch extract-check``: read files as scans do, count the statuses."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

import leakwatch
from leakwatch.cli.app import cli, common_options, config_of
from leakwatch.pipeline import check_extraction
from leakwatch.results import EXIT_INCOMPLETE, display_path


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
    config = config_of(ctx, store, config_path)
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
