"""Moving an index between backends: ``leakwatch store copy``."""

from __future__ import annotations

from pathlib import Path

import click

from leakwatch.cli.app import cli, common_options, config_of, fail
from leakwatch.store import is_url, open_store


@cli.group("store")
def store_group() -> None:
    """Copy a fingerprint store between backends (a folder, a Redis server), or compact one."""


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

    from leakwatch.keys import KEY_NAME
    from leakwatch.store.transfer import copy_store

    config = config_of(ctx, store, config_path)
    if src.rstrip("/") == dst.rstrip("/"):
        raise click.UsageError("SRC and DST are the same store")
    key_file = config.key_file
    if key_file is None:
        folder = next((s for s in (src, dst) if not is_url(s) and Path(s, KEY_NAME).exists()), None)
        key_file = str(Path(folder, KEY_NAME)) if folder is not None else None
    with open_store(dataclasses.replace(config, store=src, key_file=key_file, fingerprint=None)) as source, \
            open_store(dataclasses.replace(config, store=dst, key_file=key_file, fingerprint=source.params),
                       create=True) as target:
        result = copy_store(source, target)
        where, total = target.location, target.count_documents()
    click.echo(f"{result.documents} document(s) and {result.tables} table(s) copied, {result.skipped} already "
               f"there; {result.notes} note(s), {result.allowed} allow-listed hash(es)")
    click.echo(f"verified: {total} document(s) ({result.fingerprints} fingerprints, {result.passages} passages) "
               f"in {where}")


@store_group.command("compact")
@common_options
@click.pass_context
def store_compact(ctx: click.Context, store: str | None, config_path: str | None) -> None:
    """Merge the embedded store's index segments into one and drop what removed or
    replaced documents left in them (look-ups already leave those out). Indexing merges
    as it goes; run this after removing many documents, or before a backup.

    \b
    Example:
      leakwatch store compact --store ./fingerprints
    """
    from leakwatch.store.sqlite import SQLiteStore

    config = config_of(ctx, store, config_path)
    with open_store(config) as opened:
        if not isinstance(opened, SQLiteStore):
            fail(f"{opened.location} needs no compaction: a Redis store drops entries as documents go")
            return
        merged = opened.compact()
    click.echo(f"{merged} segment(s) merged into one" if merged else "nothing to merge: the index is one segment")
