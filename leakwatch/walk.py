"""Listing the files under the paths a user names, without surprises.

Symbolic links are not followed unless configured (a link can leave the scanned
tree or loop); FIFOs, sockets and devices are never opened. Anything that is not
read is reported, never silently dropped.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from leakwatch.model import FileError, Status


@dataclass(frozen=True)
class Listing:
    """One entry found under a scanned path: a file to read, or why it was not."""

    path: Path
    error: FileError | None = None


def _error(path: Path, status: Status, message: str) -> Listing:
    return Listing(path, FileError(str(path), status, message))


def iter_files(roots: list[Path], follow_symlinks: bool = False,
               exclude: tuple[Path, ...] = ()) -> Iterator[Listing]:
    """Yield every regular file under ``roots`` (files or folders), sorted per folder.

    Args:
        roots: files and folders named by the user.
        follow_symlinks: follow links to files and folders (loops are still cut).
        exclude: folders never entered (the store itself, when it sits inside a root).
    """
    excluded = {p.resolve() for p in exclude}
    seen_dirs: set[tuple[int, int]] = set()
    for root in roots:
        yield from _walk(root, follow_symlinks, excluded, seen_dirs, top=True)


def _walk(path: Path, follow: bool, excluded: set[Path], seen: set[tuple[int, int]],
          top: bool = False) -> Iterator[Listing]:
    try:
        lst = os.lstat(path)
    except FileNotFoundError:
        yield _error(path, Status.VANISHED, "disappeared before it could be read")
        return
    except OSError as exc:
        yield _error(path, Status.UNREADABLE, f"cannot stat: {exc.strerror or exc}")
        return
    if stat.S_ISLNK(lst.st_mode):
        # A path the user named explicitly is taken as meant, links included.
        if not (follow or top):
            yield _error(path, Status.UNSUPPORTED, "symbolic link not followed (set follow_symlinks)")
            return
        try:
            st = os.stat(path)
        except OSError:
            yield _error(path, Status.UNREADABLE, "broken or looping symbolic link")
            return
    else:
        st = lst
    if stat.S_ISDIR(st.st_mode):
        if path.resolve() in excluded:
            return
        ident = (st.st_dev, st.st_ino)
        if ident in seen:
            return
        seen.add(ident)
        try:
            entries = sorted(os.listdir(path))
        except OSError as exc:
            yield _error(path, Status.UNREADABLE, f"cannot list folder: {exc.strerror or exc}")
            return
        for name in entries:
            yield from _walk(path / name, follow, excluded, seen)
    elif stat.S_ISREG(st.st_mode):
        yield Listing(path)
    else:
        yield _error(path, Status.UNSUPPORTED, "not a regular file (FIFO, device or socket): not opened")
