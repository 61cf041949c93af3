"""Interruptions (Ctrl-C, ``kill -INT``, ``kill -TERM``) as one exception that unwinds cleanly.

SIGINT and SIGTERM both raise :class:`Interrupted`, a ``KeyboardInterrupt`` that remembers
its signal: code that must not be cut short mid-write already guards against
``KeyboardInterrupt`` (the store commits whole documents, the scan cache commits what it
has), and a long run catches it to write an honest, incomplete report. The process then
exits with the shell's convention, 128 + the signal number (130, 143), never with a code
that reads as "findings" or "clean".
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def signum_of(exc: BaseException) -> int:
    """The signal behind an interruption: a plain ``KeyboardInterrupt`` is SIGINT."""
    return exc.signum if isinstance(exc, Interrupted) else signal.SIGINT


class _Deferral:
    depth = 0  # how many deferred() blocks the main thread is in
    pending: int | None = None  # a signal that arrived inside one


def _raise(signum: int, frame: FrameType | None) -> None:
    if _Deferral.depth:
        _Deferral.pending = signum
        return
    raise Interrupted(signum)


@contextmanager
def deferred() -> Iterator[None]:
    """A few steps that must happen together or not at all (a file counted as done and
    added to the report): a signal that arrives inside is raised when the block ends.
    Only with :func:`install`'s handlers, which every command runs under."""
    _Deferral.depth += 1
    try:
        yield
    finally:
        _Deferral.depth -= 1
        if _Deferral.depth == 0 and _Deferral.pending is not None:
            signum, _Deferral.pending = _Deferral.pending, None
            raise Interrupted(signum)


def install() -> None:
    """SIGINT and SIGTERM raise :class:`Interrupted` in the main thread (a process that
    is killed by SIGTERM without a handler leaves no report and no exit code to read)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _raise)


def ignore_in_worker() -> None:
    """Worker processes leave interruption to their parent, which sees the whole run: a
    Ctrl-C reaches the whole process group, and a worker dying of it mid-file would only
    turn the interruption into a crash report."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
