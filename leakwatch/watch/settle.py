"""When a file is complete: the rule that turns a stream of events into one scan.

Pure bookkeeping with the clock passed in, so it is tested without threads or sleeps.

A file is ready
- ``debounce_s`` after its writer closed it (inotify's close-write) with no event since:
  repeated events for one file become one scan of its final content;
- otherwise (polling, a writer that keeps the file open, a reconciliation sweep that
  found a file younger than the settle time) once no event arrived for ``settle_s``
  and its size and mtime did not change over that time either.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Stat = tuple[int, int]  # (size, mtime_ns)
StatFn = Callable[[Path], Stat | None]


def stat_of(path: Path) -> Stat | None:
    """(size, mtime_ns) of a path, or None when it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


@dataclass
class _Pending:
    last_event: float
    closed: bool
    seen: Stat | None = None


class Settler:
    """Paths waiting to be complete."""

    def __init__(self, debounce_s: float, settle_s: float, stat: StatFn = stat_of) -> None:
        self.debounce_s = debounce_s
        self.settle_s = settle_s
        self._stat = stat
        self._pending: dict[Path, _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, path: Path) -> bool:
        return path in self._pending

    def written(self, path: Path, now: float) -> None:
        """The file was created or written to: it may not be complete yet."""
        # Its size and mtime now: unchanged a settle time later means nothing wrote to it
        # (not even through a channel that sends no events, such as a network share).
        seen = self._stat(path)
        entry = self._pending.get(path)
        if entry is None:
            self._pending[path] = _Pending(now, closed=False, seen=seen)
        else:
            entry.last_event, entry.closed, entry.seen = now, False, seen

    def closed(self, path: Path, now: float) -> None:
        """Its writer closed it, or it was renamed into place: complete unless written again."""
        entry = self._pending.get(path)
        if entry is None:
            self._pending[path] = _Pending(now, closed=True)
        else:
            entry.last_event, entry.closed = now, True

    def forget(self, path: Path) -> None:
        """The file was deleted or moved away before it settled."""
        self._pending.pop(path, None)

    def forget_under(self, folder: Path) -> None:
        for path in [p for p in self._pending if p == folder or folder in p.parents]:
            del self._pending[path]

    def due(self, now: float) -> list[Path]:
        """Paths that are complete now (removed from the waiting set)."""
        ready: list[Path] = []
        for path, entry in list(self._pending.items()):
            quiet = now - entry.last_event
            if entry.closed:
                if quiet >= self.debounce_s:
                    ready.append(path)
                continue
            if quiet < self.settle_s:
                continue
            current = self._stat(path)
            if current is None or current == entry.seen:
                # Gone (the scan records it as vanished) or unchanged for a settle time.
                ready.append(path)
            else:
                entry.seen, entry.last_event = current, now
        for path in ready:
            del self._pending[path]
        return sorted(ready)

    def next_due(self, now: float) -> float | None:
        """Seconds until the earliest path could be ready (None when nothing waits)."""
        if not self._pending:
            return None
        waits = [(self.debounce_s if e.closed else self.settle_s) - (now - e.last_event)
                 for e in self._pending.values()]
        return max(0.0, min(waits))
