"""File-system events from watchdog, turned into hints for the daemon.

inotify by default; the polling observer for folders configured so (network shares send
no inotify events) and for any folder whose inotify watch cannot be added (the user's
watch or instance limit), with a warning. Lost events (inotify queue overflow, a dead
observer) are reported so that the daemon runs a reconciliation sweep.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from leakwatch.config import WatchFolder

log = logging.getLogger("leakwatch.watch")


def is_temporary(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def is_wanted(path: Path, folder: WatchFolder, temporary: Sequence[str]) -> bool:
    """Whether a file under ``folder`` is to be scanned: not a temporary name, matched by
    an include pattern and by no exclude pattern. A pattern with a ``/`` is matched against
    the path relative to the folder, one without against the file name."""
    name = path.name
    if is_temporary(name, temporary):
        return False
    try:
        rel = PurePosixPath(path.relative_to(folder.path).as_posix())
    except ValueError:
        return False

    def matches(pattern: str) -> bool:
        return fnmatch.fnmatchcase(str(rel) if "/" in pattern else name, pattern)

    return any(matches(p) for p in folder.include) and not any(matches(p) for p in folder.exclude)


class Hints:
    """What the event handlers tell the daemon; called from observer threads."""

    def __init__(self, written: Callable[[Path], None], closed: Callable[[Path], None],
                 gone: Callable[[Path], None], folder_arrived: Callable[[Path], None],
                 events_lost: Callable[[str], None]) -> None:
        self.written, self.closed, self.gone = written, closed, gone
        self.folder_arrived, self.events_lost = folder_arrived, events_lost


class _Handler(FileSystemEventHandler):
    def __init__(self, folder: WatchFolder, temporary: Sequence[str], hints: Hints) -> None:
        self.folder, self.temporary, self.hints = folder, temporary, hints

    def _path(self, raw: bytes | str) -> Path:
        return Path(os.fsdecode(raw))

    def _wanted(self, path: Path) -> bool:
        return is_wanted(path, self.folder, self.temporary)

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            self._dispatch(event)
        except Exception:  # an observer thread that raised would stop delivering events
            log.exception("event handler failed", extra={"fields": {"event": event.event_type}})
            self.hints.events_lost("event handler failed")

    def _dispatch(self, event: FileSystemEvent) -> None:
        if isinstance(event, FileMovedEvent):
            self.hints.gone(self._path(event.src_path))
            dest = self._path(event.dest_path)
            if self._wanted(dest):
                self.hints.closed(dest)  # renamed into place: complete (a *.part finished)
        elif isinstance(event, DirMovedEvent | DirCreatedEvent):
            # A folder moved in brings files that raise no events of their own.
            target = event.dest_path if isinstance(event, DirMovedEvent) else event.src_path
            self.hints.folder_arrived(self._path(target))
        elif isinstance(event, FileClosedEvent):  # close-write; reads are FileClosedNoWriteEvent
            path = self._path(event.src_path)
            if self._wanted(path):
                self.hints.closed(path)
        elif isinstance(event, FileCreatedEvent | FileModifiedEvent):
            path = self._path(event.src_path)
            if self._wanted(path):
                self.hints.written(path)
        elif isinstance(event, FileDeletedEvent):
            self.hints.gone(self._path(event.src_path))


class _OverflowWatch(logging.Handler):
    """watchdog reports an inotify queue overflow only in its log: listen there."""

    def __init__(self, events_lost: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self._events_lost = events_lost

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self._events_lost("inotify queue overflow")


class Observers:
    """The watchdog observers of all watched folders, and their health."""

    def __init__(self, folders: Sequence[WatchFolder], temporary: Sequence[str], hints: Hints,
                 poll_interval_s: float) -> None:
        self.folders, self.temporary, self.hints = list(folders), list(temporary), hints
        self.poll_interval_s = poll_interval_s
        self._inotify: BaseObserver | None = None
        self._polling: BaseObserver | None = None
        self.polled: list[str] = []
        self.missing: list[str] = []
        self._overflow = _OverflowWatch(hints.events_lost)
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            # Started before anything is scheduled: a running observer adds a folder's
            # watches when it is scheduled, so a failure is raised here, per folder.
            inotify: BaseObserver = Observer()
            polling: BaseObserver = PollingObserver(timeout=self.poll_interval_s)
            inotify.start()
            polling.start()
            self._inotify, self._polling = inotify, polling
            for name in ("watchdog.observers.inotify_c", "watchdog.observers.inotify"):
                logging.getLogger(name).addHandler(self._overflow)
            self.polled, self.missing = [], []
            for folder in self.folders:
                if not os.path.isdir(folder.path):
                    # An unmounted share, say: watched again once it is back (see healthy).
                    log.error("watched folder unavailable", extra={"fields": {"folder": folder.path}})
                    self.missing.append(folder.path)
                    continue
                handler = _Handler(folder, self.temporary, self.hints)
                if not folder.polling:
                    try:
                        inotify.schedule(handler, folder.path, recursive=True)
                        continue
                    except OSError as exc:
                        # ENOSPC / EMFILE: the user's inotify watch or instance limit.
                        log.warning("cannot watch with inotify, polling instead", extra={"fields": {
                            "folder": folder.path, "error": exc.strerror or str(exc)}})
                polling.schedule(handler, folder.path, recursive=True)
                self.polled.append(folder.path)

    def stop(self) -> None:
        with self._lock:
            for observer in (self._inotify, self._polling):
                if observer is not None:
                    observer.stop()
            for observer in (self._inotify, self._polling):
                if observer is not None and observer.is_alive():
                    observer.join(5.0)
            self._inotify = self._polling = None
            for name in ("watchdog.observers.inotify_c", "watchdog.observers.inotify"):
                logging.getLogger(name).removeHandler(self._overflow)

    def healthy(self) -> bool:
        """False when an observer or one of its emitter threads has died (a watched
        folder went away, for one), or when a folder that was missing is back."""
        if any(os.path.isdir(path) for path in self.missing):
            return False
        for observer in (self._inotify, self._polling):
            if observer is None or not observer.is_alive():
                return False
            if any(not emitter.is_alive() for emitter in observer.emitters):
                return False
        return True

    def emitters(self) -> list[threading.Thread]:
        return [e for o in (self._inotify, self._polling) if o is not None for e in o.emitters]
