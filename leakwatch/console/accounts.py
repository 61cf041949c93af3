"""Reviewers' accounts: a name and a password of their own.

With a shared token, the name a reviewer types at login is only a claim, and the audit
log's "who" is as good as that claim. Once an account exists (``leakwatch serve users
add NAME``), the console asks for a name and password instead, and the log's "who" is
the account that logged in. Passwords are kept as werkzeug's salted scrypt hashes
(Werkzeug comes with Flask); an account is disabled rather than deleted, so its name
stays meaningful in the history, and changing a password or disabling an account ends
that account's sessions (a session holds a keyed tag of the current hash).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import sqlite3

from werkzeug.security import check_password_hash, generate_password_hash

from leakwatch.console.db import ConsoleError, log, now_iso, transaction

MIN_PASSWORD_CHARS = 12
MAX_NAME_CHARS = 80


@functools.cache
def _dummy_hash() -> str:
    # Checked against when the name is unknown: a login takes as long whether or not the
    # account exists, so timing does not tell which names do.
    return generate_password_hash("no such account: a password nobody has")


def has_accounts(conn: sqlite3.Connection) -> bool:
    """Whether the console logs in by account: once any account was made, even if every
    one is disabled since (falling back to the token, or to no login on loopback, would
    let a disabled reviewer's open session go on deciding under its name)."""
    return conn.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None


def check_name(name: str) -> str:
    """The account name as kept, or ConsoleError: 1-80 printable characters, no edge spaces."""
    if not name or len(name) > MAX_NAME_CHARS or name != name.strip() or not name.isprintable():
        raise ConsoleError(f"an account name is 1 to {MAX_NAME_CHARS} printable characters, "
                           "without leading or trailing spaces")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise ConsoleError(f"a password needs {MIN_PASSWORD_CHARS} characters or more")
    return password


def add_user(conn: sqlite3.Connection, name: str, password: str, by: str) -> None:
    """Create an account, or give a disabled one a new password and enable it again.

    Raises:
        ConsoleError: a bad name or short password, or an active account of that name.
    """
    check_name(name)
    hashed = generate_password_hash(check_password(password))
    with transaction(conn):
        row = conn.execute("SELECT disabled_at FROM users WHERE name = ?", (name,)).fetchone()
        if row is not None and row["disabled_at"] is None:
            raise ConsoleError(f"there is already an account {name!r} (to change its password: "
                               "leakwatch serve users password NAME)")
        if row is None:
            conn.execute("INSERT INTO users(name, password_hash, created_at, created_by) VALUES (?, ?, ?, ?)",
                         (name, hashed, now_iso(), by))
        else:
            conn.execute("UPDATE users SET password_hash = ?, disabled_at = NULL WHERE name = ?", (hashed, name))
        log(conn, by, None, "account add" if row is None else "account enable", name)


def set_password(conn: sqlite3.Connection, name: str, password: str, by: str) -> None:
    """Give an active account a new password (its sessions end)."""
    hashed = generate_password_hash(check_password(password))
    with transaction(conn):
        changed = conn.execute("UPDATE users SET password_hash = ? WHERE name = ? AND disabled_at IS NULL",
                               (hashed, name)).rowcount
        if not changed:
            raise ConsoleError(f"no active account {name!r}")
        log(conn, by, None, "account password", name)


def disable_user(conn: sqlite3.Connection, name: str, by: str) -> None:
    """Disable an account (its sessions end; its decisions keep its name)."""
    with transaction(conn):
        changed = conn.execute("UPDATE users SET disabled_at = ? WHERE name = ? AND disabled_at IS NULL",
                               (now_iso(), name)).rowcount
        if not changed:
            raise ConsoleError(f"no active account {name!r}")
        log(conn, by, None, "account disable", name)


def list_users(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT name, created_at, created_by, disabled_at FROM users ORDER BY name").fetchall()


def _tag(password_hash: str, secret: bytes) -> str:
    return hmac.new(secret, password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def _active_hash(conn: sqlite3.Connection, name: str) -> str | None:
    row = conn.execute("SELECT password_hash FROM users WHERE name = ? AND disabled_at IS NULL", (name,)).fetchone()
    return None if row is None else str(row["password_hash"])


def session_tag(conn: sqlite3.Connection, name: str, secret: bytes) -> str | None:
    """What a logged-in session of ``name`` must hold: a keyed tag of the account's current
    hash (never the hash itself); None when there is no such active account."""
    hashed = _active_hash(conn, name)
    return None if hashed is None else _tag(hashed, secret)


def login(conn: sqlite3.Connection, name: str, password: str, secret: bytes) -> str | None:
    """The session tag when ``password`` is ``name``'s, else None (in about the same time)."""
    hashed = _active_hash(conn, name)
    ok = check_password_hash(hashed if hashed is not None else _dummy_hash(), password)
    return _tag(hashed, secret) if ok and hashed is not None else None
