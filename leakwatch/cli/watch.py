"""The daemon: ``leakwatch watch``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from leakwatch.cli.app import cli, common_options, config_of, quiet, verbose
from leakwatch.config import Config, ConfigError, find_config, load_config


def _watch_config(ctx: click.Context, store: str | None, config_path: str | None, folders: tuple[Path, ...],
                  vendor: str | None, polling: bool) -> Config:
    """The configuration with the folders named on the command line (they replace the file's)."""
    import dataclasses

    from leakwatch.config import WatchFolder

    config = config_of(ctx, store, config_path)
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


def _with_metrics(config: Config, port: int | None, address: str | None, console_db: Path | None = None) -> Config:
    """The metrics endpoint and console database named on the command line (they win over
    the config file's)."""
    import dataclasses

    if port is None and address is None and console_db is None:
        return config
    watch = dataclasses.replace(config.watch, metrics_port=config.watch.metrics_port if port is None else port,
                                metrics_address=address or config.watch.metrics_address,
                                console_db=str(console_db) if console_db is not None else config.watch.console_db)
    try:
        return dataclasses.replace(config, watch=watch).validate()
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


@cli.command()
@click.argument("folders", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--vendor", default=None, help="Vendor (engagement) of the folders named here [default: folder name].")
@click.option("--polling", is_flag=True, help="Poll instead of inotify (network shares send no events).")
@click.option("--once", is_flag=True, help="Run one reconciliation sweep, scan what changed, and exit (cron).")
@click.option("--status", "show_status", is_flag=True,
              help="Print the recorded state of every watched file (JSON lines).")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None, metavar="PORT",
              help="Serve Prometheus metrics on this port (needs pip install 'leakwatch[metrics]'; 0: none) "
              "[default: watch.metrics_port].")
@click.option("--metrics-address", default=None, metavar="ADDRESS",
              help="Address the metrics endpoint listens on (it has no login) [default: 127.0.0.1].")
@click.option("--console-db", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="PATH",
              help="Also record every alert into this review console database (leakwatch serve --db PATH) "
              "[default: watch.console_db].")
@common_options
@click.pass_context
def watch(ctx: click.Context, folders: tuple[Path, ...], vendor: str | None, polling: bool, once: bool,
          show_status: bool, metrics_port: int | None, metrics_address: str | None, console_db: Path | None,
          store: str | None, config_path: str | None) -> None:
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
    from leakwatch.watch import Daemon
    from leakwatch.watch.logs import setup_logging
    from leakwatch.watch.state import iter_state

    config = _with_metrics(_watch_config(ctx, store, config_path, folders, vendor, polling), metrics_port,
                           metrics_address, console_db)
    if show_status:
        for row in iter_state(config):
            click.echo(json.dumps(row, sort_keys=True))
        return
    import logging

    setup_logging(logging.WARNING if quiet() else logging.DEBUG if verbose() else logging.INFO)
    root_config = (ctx.find_root().obj or {}).get("config_path")

    def reload() -> Config:
        # Re-read the same file; folders named on the command line still win.
        fresh = load_config(find_config(config_path or root_config))
        return _watch_config(ctx, store, config_path, folders, vendor, polling) if folders else \
            fresh.with_store(store or (ctx.find_root().obj or {}).get("store")).validate()

    sys.exit(Daemon(config, reload=reload).run(once=once))
