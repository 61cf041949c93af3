"""Running the console: settings checked (no listening beyond loopback without a token),
the session secret kept beside the database, and the app served by waitress (a
production WSGI server in pure Python) rather than Flask's development server."""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from leakwatch.console.db import ConsoleError

if TYPE_CHECKING:
    from leakwatch.config import Config

TOKEN_ENV = "LEAKWATCH_CONSOLE_TOKEN"
MIN_TOKEN_CHARS = 16


def is_loopback(host: str) -> bool:
    """Whether ``host`` only ever listens on this machine (``localhost`` or a loopback
    address); a name is resolved, and every address it gives must be loopback."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(str(i[4][0]).split("%")[0]).is_loopback for i in infos)


def read_token(token_file: Path | None) -> str | None:
    """The access token: the first line of ``token_file``, else ``$LEAKWATCH_CONSOLE_TOKEN``.

    Raises:
        ConsoleError: the file cannot be read, is readable by others, or the token is short.
    """
    token: str | None
    if token_file is not None:
        try:
            mode = token_file.stat().st_mode
            lines = token_file.read_text(encoding="utf-8").strip().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConsoleError(f"cannot read the token file {token_file}: {exc}") from exc
        if mode & 0o077:
            raise ConsoleError(f"the token file {token_file} is readable by others: chmod 600 it")
        token = lines[0].strip() if lines else ""
    else:
        token = os.environ.get(TOKEN_ENV) or None
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise ConsoleError(f"the access token is too short: use {MIN_TOKEN_CHARS} characters or more "
                           "(e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(24))')")
    return token


def check_bind(host: str, token: str | None, by_account: bool = False) -> None:
    """Refuse to listen beyond this machine without a login (a token, or accounts).

    Raises:
        ConsoleError: ``host`` is not loopback and neither is configured.
    """
    if not token and not by_account and not is_loopback(host):
        raise ConsoleError(f"refusing to listen on {host} without an access token: anyone who reaches it would "
                           f"read deliverables and source passages. Give --token-file FILE (or ${TOKEN_ENV}), "
                           "create reviewers' accounts (leakwatch serve users add NAME), "
                           "or keep the default 127.0.0.1 behind a reverse proxy")


def session_secret(db: Path) -> bytes:
    """The key that signs session cookies and CSRF tokens, kept 0600 beside the database
    (sessions survive a restart; a new database logs everyone out)."""
    path = db.parent / "session.key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        data = path.read_bytes()
        if len(data) >= 32:
            return data
        raise ConsoleError(f"{path} is damaged (shorter than 32 bytes): remove it to make a new one") from None
    with open(fd, "wb") as fh:
        data = secrets.token_bytes(32)
        fh.write(data)
    return data


def run(db: Path, host: str, port: int, *, token: str | None, config: Config | None, baseline: Path | None,
        secure_cookie: bool = False, trusted_proxy: str | None = None, max_upload: int = 64 << 20,
        signing_key: Path | None = None) -> None:
    """Serve the console until interrupted (SIGINT, SIGTERM).

    Raises:
        ConsoleError: the database cannot be used, or :func:`check_bind` refuses ``host``.
    """
    import sys

    import waitress

    from leakwatch.console.accounts import has_accounts
    from leakwatch.console.app import ConsoleSettings, create_app
    from leakwatch.console.db import connect
    from leakwatch.console.passages import TextReader

    conn = connect(db)
    by_account = has_accounts(conn)
    conn.close()
    check_bind(host, token, by_account)
    reader = TextReader(config)
    settings = ConsoleSettings(db=db, baseline=baseline, token=token, config=config,
                               max_upload=max_upload, secure_cookie=secure_cookie, secret_key=session_secret(db),
                               signing_key=signing_key)
    app = create_app(settings, reader)
    server = waitress.create_server(app, host=host, port=port, threads=4, ident="leakwatch",
                                    max_request_body_size=max_upload + (1 << 20),
                                    **({"trusted_proxy": trusted_proxy, "trusted_proxy_headers": {"x-forwarded-for"}}
                                       if trusted_proxy else {}))
    bound = server.effective_port
    shown = f"[{host}]" if ":" in host else host
    print(f"leakwatch console on http://{shown}:{bound}/ (database {db}"
          + (", login by account" if by_account else ", login required" if token else ", no login: loopback only")
          + ")", file=sys.stderr, flush=True)
    try:
        server.run()
    finally:
        server.close()
        reader.close()
