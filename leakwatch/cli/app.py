"""The ``leakwatch`` command group, the options every command takes, and how errors,
warnings and interruptions reach a user."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, cast

import click

import leakwatch
from leakwatch.config import CONFIG_ENV, LOCAL_CONFIG, STORE_ENV, Config, ConfigError, find_config, load_config
from leakwatch.errors import UserError
from leakwatch.results import EXIT_INCOMPLETE, EXIT_USAGE

F = TypeVar("F", bound=Callable[..., Any])


def _count_verbosity(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """-q and -v, wherever they are given (before or after the command name), add up on
    the root context."""
    if value:
        meta = ctx.find_root().meta
        key = f"leakwatch.{param.name}"
        meta[key] = meta.get(key, 0) + (value if isinstance(value, int) else 1)
        if param.name == "verbose" and meta[key] >= 2:
            os.environ["LEAKWATCH_DEBUG"] = "1"  # -vv: an internal error shows its traceback


def quiet() -> bool:
    """-q: no progress and no informational lines; reports, listings, warnings and errors stay."""
    return bool(click.get_current_context().find_root().meta.get("leakwatch.quiet"))


def verbose() -> int:
    """-v: one line per file as it finishes; -vv: also tracebacks of internal errors."""
    return int(click.get_current_context().find_root().meta.get("leakwatch.verbose", 0))


def say(message: str) -> None:
    """An informational line on stderr (what was written where, totals), unless -q."""
    if not quiet():
        click.echo(message, err=True)


def handles_errors(func: F) -> F:
    """The one error handler of every command: an error the user can act on (a store that
    cannot be opened, a bad baseline, a record that cannot be written: any
    :class:`~leakwatch.errors.UserError`) is one line and exit 2, whichever command met it."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            fail(str(exc))
            return None

    return cast(F, run)


def common_options(func: F) -> F:
    """--store, --config, -q and -v, accepted by every command (after the command name
    too), and the one error handler."""
    func = handles_errors(func)
    func = click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_count_verbosity,
                        help="No progress bar and no informational messages (reports, warnings and errors stay).")(func)
    func = click.option("-v", "--verbose", count=True, expose_value=False, callback=_count_verbosity,
                        help="A line per file as it is done; -vv also shows internal errors' tracebacks "
                        "(as LEAKWATCH_DEBUG=1).")(func)
    func = click.option(
        "--config", "config_path", type=click.Path(dir_okay=False), default=None,
        help=f"TOML configuration file (see configs/leakwatch.toml) [default: ${CONFIG_ENV}, else ./{LOCAL_CONFIG} "
        "if there is one].",
    )(func)
    func = click.option(
        "--store", "store", default=None, metavar="DIR|URL",
        help=f"Fingerprint store: a folder, or redis://host:port/db[?prefix=NAME] shared by several hosts (needs "
        f"key_file in the config) [default: ${STORE_ENV} or ./fingerprints].",
    )(func)
    return func


def config_of(ctx: click.Context, store: str | None, config_path: str | None) -> Config:
    parent = ctx.find_root().obj or {}
    try:
        config = load_config(find_config(config_path or parent.get("config_path")))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    return config.with_store(store or parent.get("store"))


def fail(message: str) -> None:
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


def main() -> None:
    """Console entry point: no traceback reaches a user, and an interruption is never
    mistaken for an outcome (130 for SIGINT, 143 for SIGTERM)."""
    from leakwatch.interrupt import install, signum_of

    install()
    warnings.showwarning = _show_warning
    try:
        code = cli.main(prog_name="leakwatch", standalone_mode=False)
    except click.ClickException as exc:
        _show_error(exc)
        code = exc.exit_code
    except click.Abort as exc:
        # click turns a KeyboardInterrupt (ours included) into Abort; its cause says which signal.
        cause = exc.__cause__ or exc.__context__
        code = _interrupted(signum_of(cause) if isinstance(cause, KeyboardInterrupt) else None)
    except KeyboardInterrupt as exc:  # Interrupted too: raised outside click's own handling
        code = _interrupted(signum_of(exc))
    except Exception as exc:
        if os.environ.get("LEAKWATCH_DEBUG"):
            raise
        click.echo(f"leakwatch: internal error: {type(exc).__name__}: {exc} "
                   "(set LEAKWATCH_DEBUG=1 for details)", err=True)
        code = EXIT_INCOMPLETE
    sys.exit(code if isinstance(code, int) else 0)


def _show_error(exc: click.ClickException) -> None:
    """Every error with one prefix, ``leakwatch: error:``; a usage error first shows the
    command's usage line and where to find its help, as click does."""
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        click.echo(ctx.get_usage(), err=True)
        click.echo(f"Try '{ctx.command_path} -h' for help.", err=True)
    click.echo(f"leakwatch: error: {exc.format_message()}", err=True)


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """leakwatch's own warnings as one line on stderr, like its errors; a library's
    warnings only with LEAKWATCH_DEBUG (a user cannot act on them)."""
    from leakwatch.model import LeakwatchWarning

    if issubclass(category, LeakwatchWarning):
        click.echo(f"leakwatch: warning: {message}", err=True)
    elif os.environ.get("LEAKWATCH_DEBUG"):
        click.echo(f"{filename}:{lineno}: {category.__name__}: {message}", err=True)


def _interrupted(signum: int | None) -> int:
    import signal

    from leakwatch.interrupt import Interrupted

    # A second Ctrl-C while saying so must not print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(Exception):
        click.echo("leakwatch: interrupted", err=True)
    return Interrupted(signum if signum is not None else signal.SIGINT).exit_code
