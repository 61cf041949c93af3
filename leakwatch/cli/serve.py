"""The review console: ``leakwatch serve`` and ``leakwatch serve import``."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from leakwatch.cli.app import cli, common_options, config_of, fail, say


def _db_path(db: Path | None) -> Path:
    from leakwatch.console.db import DB_ENV, DEFAULT_DB

    return db or Path(os.environ.get(DB_ENV) or DEFAULT_DB)


_db_option = click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=None,
                          help="The console's database [default: $LEAKWATCH_CONSOLE_DB or "
                               "./leakwatch-console/console.sqlite3].")


@cli.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback needs --token-file or reviewers' accounts.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@_db_option
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A file (0600) whose first line is the access token; then every page needs a login "
                   "[default: $LEAKWATCH_CONSOLE_TOKEN].")
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The baseline file that 'accept' writes (the one scan --baseline reads) [default: "
                   "baseline.json beside the database].")
@click.option("--secure-cookie", is_flag=True, help="Mark the session cookie Secure (served over TLS by a proxy).")
@click.option("--trusted-proxy", default=None, metavar="ADDR",
              help="The reverse proxy's address: its X-Forwarded-For gives the client address the audit log keeps.")
@click.option("--signing-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Ed25519 private key (leakwatch evidence keygen) that signs the evidence packages exported.")
@click.option("--max-upload-mib", default=64, show_default=True, type=click.IntRange(1, 4096))
@common_options
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, db: Path | None, token_file: Path | None,
          baseline: Path | None, secure_cookie: bool, trusted_proxy: str | None, signing_key: Path | None,
          max_upload_mib: int,
          store: str | None, config_path: str | None) -> None:
    """The review console: a local web application over imported scan and audit reports and
    the daemon's alerts (inbox, finding pages, decisions, vendor history).

    \b
    Examples:
      leakwatch serve import acme.json --vendor acme
      leakwatch serve --baseline baselines/acme.json     # http://127.0.0.1:8765/
    """
    if ctx.invoked_subcommand is not None:
        return
    from leakwatch.console.db import ConsoleError
    from leakwatch.console.server import read_token, run

    config = config_of(ctx, store, config_path)
    path = _db_path(db)
    try:
        token = read_token(token_file)
        run(path, host, port, token=token, config=config, baseline=baseline or path.parent / "baseline.json",
            secure_cookie=secure_cookie, trusted_proxy=trusted_proxy, max_upload=max_upload_mib * 1024 * 1024,
            signing_key=signing_key)
    except ConsoleError as exc:
        fail(str(exc))
    except OSError as exc:  # the port is taken, the address is not ours
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


def _console_db(ctx: click.Context, db: Path | None) -> Any:
    """The console database, opened (or one line and exit 2)."""
    from leakwatch.console.db import ConsoleError, connect

    # --db given before the subcommand (leakwatch serve --db X import R) counts too.
    parent = ctx.parent
    while db is None and parent is not None:
        db = parent.params.get("db")
        parent = parent.parent
    try:
        return connect(_db_path(db))
    except ConsoleError as exc:
        fail(str(exc))


@serve.command("import")
@click.argument("reports", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_db_option
@click.option("--vendor", default=None, help="The vendor of a scan report's findings [default: the folder that holds "
                                             "each deliverable; audit records and alerts name theirs].")
@click.option("--by", "who", default=None, help="Who imports (the audit log keeps it) [default: the login name].")
@click.pass_context
def serve_import(ctx: click.Context, reports: tuple[Path, ...], db: Path | None, vendor: str | None,
                 who: str | None) -> None:
    """Import scan reports (--format json), audit records, return checks or the daemon's alert log.

    A corrupt or unknown report is refused whole with the reason; the others are imported.
    """
    from leakwatch.console.db import ConsoleError, local_user
    from leakwatch.console.imports import import_report

    conn = _console_db(ctx, db)
    who = who or local_user()
    failed = 0
    for path in reports:
        try:
            data = path.read_bytes()
            written = datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            rid, n = import_report(conn, data, path.name, who, None, vendor, written)
            say(f"imported {path}: {n} finding(s) (report {rid})")
        except (ConsoleError, OSError) as exc:
            failed += 1
            click.echo(f"leakwatch: error: {path}: {exc}", err=True)
    conn.close()
    sys.exit(2 if failed else 0)


@serve.group("users")
def serve_users() -> None:
    """Reviewers' accounts: once one exists, the console asks for a name and password, and
    the audit log's "who" is the account that logged in (not a name typed beside a token).

    \b
    Examples:
      leakwatch serve users add ana              # asks for the password twice
      printf '%s\\n' "$PW" | leakwatch serve users add ci-bot --password-stdin
      leakwatch serve users disable ana
      leakwatch serve users list
    """


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))


def _account_change(ctx: click.Context, db: Path | None, change: Callable[[Any, str], None], done: str) -> None:
    """Run ``change(connection, who)`` on the console database (who: the login name)."""
    from leakwatch.console.db import ConsoleError, local_user

    conn = _console_db(ctx, db)
    try:
        change(conn, local_user())
    except ConsoleError as exc:
        fail(str(exc))
    finally:
        conn.close()
    say(done)


_password_stdin = click.option("--password-stdin", is_flag=True,
                               help="Read the password from the first line of standard input.")


@serve_users.command("add")
@click.argument("name")
@_db_option
@_password_stdin
@click.pass_context
def users_add(ctx: click.Context, name: str, db: Path | None, password_stdin: bool) -> None:
    """Create a reviewer's account (or enable a disabled one with a new password)."""
    from leakwatch.console.accounts import add_user

    password = _password(password_stdin)
    _account_change(ctx, db, lambda conn, by: add_user(conn, name, password, by), f"account {name} ready")


@serve_users.command("password")
@click.argument("name")
@_db_option
@_password_stdin
@click.pass_context
def users_password(ctx: click.Context, name: str, db: Path | None, password_stdin: bool) -> None:
    """Give an account a new password (its open sessions end)."""
    from leakwatch.console.accounts import set_password

    password = _password(password_stdin)
    _account_change(ctx, db, lambda conn, by: set_password(conn, name, password, by), f"password of {name} changed")


@serve_users.command("disable")
@click.argument("name")
@_db_option
@click.pass_context
def users_disable(ctx: click.Context, name: str, db: Path | None) -> None:
    """Disable an account: it cannot log in, its sessions end, its decisions keep its name."""
    from leakwatch.console.accounts import disable_user

    _account_change(ctx, db, lambda conn, by: disable_user(conn, name, by), f"account {name} disabled")


@serve_users.command("list")
@_db_option
@click.pass_context
def users_list(ctx: click.Context, db: Path | None) -> None:
    """The accounts, active and disabled."""
    from leakwatch.console.accounts import list_users

    conn = _console_db(ctx, db)
    try:
        for row in list_users(conn):
            state = f"disabled {row['disabled_at']}" if row["disabled_at"] else "active"
            click.echo(f"{row['name']}\t{state}\tcreated {row['created_at']} by {row['created_by']}")
    finally:
        conn.close()
