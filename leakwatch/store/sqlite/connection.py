"""Transactions of the embedded store: whole changes, grouped commits, clear failures.

Every change is one transaction, committed with ``synchronous=FULL`` (a committed
document survives a crash or a power loss; a killed run leaves whole documents
only). A bulk load (:meth:`Transactions.bulk`, ``index add``) groups its changes into
transactions of up to a few seconds, each change under its own savepoint: a failed
change is still undone alone, and a killed run still leaves whole documents only (it
loses the uncommitted tail, which was not yet reported). Every SQLite failure leaves
as a :class:`StoreError` that says what could not be done, and a failed change is
rolled back first.

Subclasses keep work outside SQLite in step through hooks: ``_change_mark`` and
``_undo_change`` (a savepoint's share of it), ``_before_commit`` (write it, inside the
transaction), ``_after_commit`` and ``_after_rollback``.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from leakwatch.store.base import StoreError

BUSY_TIMEOUT_S = 30.0

# A bulk load commits when its transaction is this old or holds this many changes
# (whichever comes first), and reads with this page cache (KiB, SQLite's negative
# cache_size).
BULK_SECONDS = 2.0
BULK_CHANGES = 2_000
BULK_CACHE_KIB = 64 * 1024

_P = ParamSpec("_P")
_R = TypeVar("_R")
_S = TypeVar("_S", bound="Transactions")

# What a user can do about an SQLite failure, by primary result code.
_HINTS = {
    "SQLITE_IOERR": "the disk may be full or failing",
    "SQLITE_FULL": "the disk is full",
    "SQLITE_BUSY": f"another process kept the store locked for {BUSY_TIMEOUT_S:.0f} s",
    "SQLITE_LOCKED": "another process kept the store locked",
    "SQLITE_READONLY": "the store files cannot be written here",
    "SQLITE_CANTOPEN": "a store file cannot be opened or created",
    "SQLITE_PERM": "permission denied",
    "SQLITE_CORRUPT": "the database is damaged",
    "SQLITE_NOTADB": "the database is damaged",
    "SQLITE_NOMEM": "out of memory",
}


class SegmentWriteError(sqlite3.OperationalError):
    """Writing a segment file failed (a full disk, say): handled as a failed statement."""

    sqlite_errorname = "SQLITE_IOERR"


def reason(exc: sqlite3.Error | OSError) -> str:
    """SQLite's (or the OS's) message, with what it usually means."""
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc} (the disk may be full or failing)"
    message = str(exc) or type(exc).__name__
    name = getattr(exc, "sqlite_errorname", None) or ""
    hint = _HINTS.get("_".join(name.split("_")[:2]))
    return f"{message} ({hint})" if hint and hint not in message else message


def create_private_file(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)


def empty_database(db_path: Path) -> bool:
    """A database file of 0 bytes with no write-ahead log holding its content."""
    try:
        if db_path.stat().st_size:
            return False
        wal = db_path.with_name(db_path.name + "-wal")
        return not (wal.exists() and wal.stat().st_size)
    except OSError:
        return False


def discard_database(db_path: Path) -> None:
    """Remove a database (and its WAL files) that was being created and failed."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        with suppress(OSError):
            Path(f"{db_path}{suffix}").unlink()


def reading(method: Callable[Concatenate[_S, _P], _R]) -> Callable[Concatenate[_S, _P], _R]:
    """A look-up whose SQLite failure becomes a StoreError ("cannot read the store ...")."""

    @functools.wraps(method)
    def wrapper(self: _S, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise self._failure("read", exc) from exc

    return wrapper


@dataclass
class _Bulk:
    max_seconds: float
    max_changes: int
    started: float = 0.0
    pending: int = 0


class Transactions:
    """Transaction handling over ``self._db`` (an autocommit-mode connection)."""

    _db: sqlite3.Connection
    location: str
    # Set when a failed change could not be rolled back and the connection was closed
    # to discard it: every later call says so.
    _broken: str | None = None
    # Set while a bulk load groups changes into larger transactions.
    _bulk: _Bulk | None = None

    # --- hooks ------------------------------------------------------------------------------

    def _change_mark(self) -> object:
        return None

    def _undo_change(self, mark: object) -> None:
        """Forget what the change since ``mark`` left outside SQLite (its savepoint was undone)."""

    def _before_commit(self) -> None:
        """Write what the transaction keeps outside SQLite (inside it, before COMMIT)."""

    def _after_commit(self) -> None:
        """Work after a committed transaction (never undoes it)."""

    def _after_rollback(self) -> None:
        """Forget what the rolled-back transaction left outside SQLite."""

    # --- failures ---------------------------------------------------------------------------

    def _failure(self, doing: str, exc: sqlite3.Error, outcome: str = "") -> StoreError:
        """The StoreError for an SQLite failure: "cannot <doing> the store <where>: <why>; <outcome>"."""
        if self._broken is not None:
            return StoreError(
                f"the store {self.location} was closed after a change that could not be rolled back "
                f"(rollback failed: {self._broken}); it is left as it was before that change. Run the command again."
            )
        return StoreError(self._message(doing, exc, outcome))

    def _message(self, doing: str, exc: sqlite3.Error, outcome: str) -> str:
        message = f"cannot {doing} the store {self.location}: {reason(exc)}"
        return f"{message}; {outcome}" if outcome else message

    # --- one change -------------------------------------------------------------------------

    @contextmanager
    def _transaction(self, outcome: str, doing: str = "write to") -> Iterator[None]:
        """One change, committed whole or rolled back whole.

        Any exception in the body or at COMMIT rolls the change back (also a
        KeyboardInterrupt); an SQLite failure leaves as a StoreError that ends with
        ``outcome`` (what the failure means for the caller, e.g. "x was not added").
        Inside :meth:`bulk`, the change is a savepoint of the bulk transaction.
        """
        if self._bulk is not None:
            with self._bulk_change(self._bulk, outcome, doing):
                yield
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._failure(doing, exc, outcome) from exc
        try:
            yield
            self._bump_generation()
            self._before_commit()
            self._db.execute("COMMIT")
        except BaseException as exc:
            already_broken = self._broken is not None
            self._rollback()
            if not isinstance(exc, sqlite3.Error):
                raise
            if self._broken is None or already_broken:
                raise self._failure(doing, exc, outcome) from exc
            raise StoreError(f"{self._message(doing, exc, outcome)} (the rollback failed too, {self._broken}; "
                             "the connection was closed, which discards the change)") from exc
        self._after_commit()

    def _bump_generation(self) -> None:
        """Every change bumps the generation (see generation()), in its own transaction."""
        self._db.execute("INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) "
                         "DO UPDATE SET value = CAST(value AS INTEGER) + 1")

    # --- grouped commits --------------------------------------------------------------------

    @contextmanager
    def bulk(self, max_seconds: float = BULK_SECONDS, max_changes: int = BULK_CHANGES) -> Iterator[None]:
        """Group the changes made inside into transactions of up to ``max_seconds`` or
        ``max_changes`` changes: one commit (and one sync) per group instead of per
        document, and one segment file per commit.

        Each change is still whole or absent: a failed one is rolled back to its own
        savepoint and what came before it is committed, as if it had been committed
        change by change. A run killed with SIGKILL leaves the last commit (whole
        documents only) and loses at most ``max_seconds`` of changes. On leaving,
        normally or by an exception (Ctrl-C), the changes so far are committed.
        """
        if self._bulk is not None:
            yield
            return
        bulk = _Bulk(max_seconds, max_changes)
        try:
            cache = int(self._db.execute("PRAGMA cache_size").fetchone()[0])
            self._db.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
        except sqlite3.Error as exc:
            raise self._failure("write to", exc) from exc
        self._bulk = bulk
        try:
            yield
        finally:
            self._bulk = None
            try:
                if bulk.pending and self._broken is None:
                    self._commit_bulk(bulk, "write to")
            finally:
                if self._broken is None:
                    with suppress(sqlite3.Error):
                        self._db.execute(f"PRAGMA cache_size = {cache}")

    @contextmanager
    def _bulk_change(self, bulk: _Bulk, outcome: str, doing: str) -> Iterator[None]:
        try:
            if not self._db.in_transaction:
                self._db.execute("BEGIN IMMEDIATE")
                bulk.started, bulk.pending = time.monotonic(), 0
            self._db.execute("SAVEPOINT change")
        except sqlite3.Error as exc:
            raise self._failure(doing, exc, outcome) from exc
        mark = self._change_mark()
        try:
            yield
            self._bump_generation()
            self._db.execute("RELEASE change")
        except BaseException as exc:
            self._undo_change(mark)
            self._fail_bulk_change(bulk, exc, outcome, doing)
            raise  # not reached: _fail_bulk_change raises
        bulk.pending += 1
        if bulk.pending >= bulk.max_changes or time.monotonic() - bulk.started >= bulk.max_seconds:
            self._commit_bulk(bulk, doing)

    def _fail_bulk_change(self, bulk: _Bulk, exc: BaseException, outcome: str, doing: str) -> None:
        # Undo this change alone, and keep what came before it (committed now, as
        # change-by-change commits would have left it).
        try:
            self._db.execute("ROLLBACK TO change")
            self._db.execute("RELEASE change")
            undone = True
        except sqlite3.Error:
            undone = False
        lost = bulk.pending
        kept = False
        if undone:
            try:
                if self._db.in_transaction:
                    self._before_commit()
                    self._db.execute("COMMIT")
                kept = True
            except sqlite3.Error:
                pass
        if kept:
            self._after_commit()
        else:
            already_broken = self._broken is not None
            self._rollback()
            if self._broken is not None and not already_broken:
                lost_too = f" (nor were the {lost} changes before it since the last commit)" if lost else ""
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(
                        f"{self._message(doing, exc, outcome.split(';')[0] + lost_too)}; the rollback failed "
                        f"too, {self._broken}; the connection was closed, which discards the changes") from exc
                raise exc
        bulk.pending = 0
        if not isinstance(exc, sqlite3.Error):
            raise exc
        if not kept and lost:
            outcome = (f"{outcome.split(';')[0]}, nor were the {lost} changes made before it since the last "
                       "commit; the store is as it was before them")
        raise self._failure(doing, exc, outcome) from exc

    def _commit_bulk(self, bulk: _Bulk, doing: str) -> None:
        n, bulk.pending = bulk.pending, 0
        try:
            self._before_commit()
            self._db.execute("COMMIT")
        except BaseException as exc:
            self._rollback()
            if not isinstance(exc, sqlite3.Error):
                raise
            raise self._failure(doing, exc, f"the last {n} changes were not committed; "
                                "the store is as it was before them") from exc
        self._after_commit()

    def _rollback(self) -> None:
        """Roll back the open transaction; never raises.

        SQLite rolls a transaction back by itself after some failures (a full disk,
        an I/O error), and then ROLLBACK fails harmlessly. If a transaction is still
        open after a failed ROLLBACK, the connection is closed, which discards it:
        the store on disk keeps its last committed state, and this object refuses
        further work rather than build on a change it could not undo.
        """
        self._after_rollback()
        try:
            self._db.execute("ROLLBACK")
            return
        except sqlite3.Error as exc:
            failure = reason(exc)
        try:
            if not self._db.in_transaction:
                return
        except sqlite3.Error:
            pass
        self._broken = failure
        with suppress(sqlite3.Error):
            self._db.close()
