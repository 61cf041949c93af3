"""The allow-list: ``leakwatch allow add|list|clear``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

import leakwatch
from leakwatch.cli.app import cli, common_options, config_of
from leakwatch.pipeline import ALLOW_NOTE_PREFIX, allow_paths, extraction
from leakwatch.results import EXIT_INCOMPLETE, display_path
from leakwatch.store import open_store


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
    config = config_of(ctx, store, config_path)
    with extraction(config) as extract, open_store(config, create=True) as st:
        result = allow_paths(list(paths), st, config, extract)
        total = st.count_allowed()
    for err in result.errors:
        click.echo(f"{'error':9} {err.status}: {display_path(err.path)}: {err.message}", err=True)
    click.echo(f"{result.files} file(s) added to the allow-list ({result.new_shingles} new shingles, "
               f"{total} in all); {len(result.errors)} not added")
    sys.exit(EXIT_INCOMPLETE if result.errors else 0)


@allow.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@common_options
@click.pass_context
def allow_list(ctx: click.Context, fmt: str, store: str | None, config_path: str | None) -> None:
    """Show the files added to the allow-list."""
    config = config_of(ctx, store, config_path)
    with open_store(config) as st:
        notes, total = st.read_notes(ALLOW_NOTE_PREFIX), st.count_allowed()
    files = [{"path": key[len(ALLOW_NOTE_PREFIX):], **json.loads(value)} for key, value in notes.items()]
    if fmt == "json":
        click.echo(json.dumps({"leakwatch": leakwatch.__version__, "store": config.store, "shingles": total,
                               "files": files}, indent=2))
        return
    for info in files:
        click.echo(f"{info['added_at']}  {info['shingles']:>8} shingles  {display_path(info['path'])}")
    click.echo(f"{total} shingle(s) on the allow-list of {config.store}")


@allow.command("clear")
@common_options
@click.pass_context
def allow_clear(ctx: click.Context, store: str | None, config_path: str | None) -> None:
    """Empty the allow-list."""
    config = config_of(ctx, store, config_path)
    with open_store(config) as st:
        removed = st.clear_allowed()
        for key in st.read_notes(ALLOW_NOTE_PREFIX):
            st.write_note(key, None)
    click.echo(f"allow-list cleared ({removed} shingle(s))")
