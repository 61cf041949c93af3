"""Listing files: sorted, recursive, links not followed, special files never opened."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from leakwatch.model import Status
from leakwatch.walk import Listing, iter_files


def listed(roots: list[Path], **kwargs: object) -> list[Listing]:
    """Run the walk in a thread with a time limit, so that a hang fails instead of blocking."""
    result: list[Listing] = []
    done = threading.Event()

    def run() -> None:
        result.extend(iter_files(roots, **kwargs))  # type: ignore[arg-type]
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(10), "iter_files did not finish"
    return result


def ok_paths(items: list[Listing]) -> list[Path]:
    return [x.path for x in items if x.error is None]


def errors(items: list[Listing]) -> dict[Path, Status]:
    return {x.path: x.error.status for x in items if x.error is not None}


def touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    for rel in ["b.txt", "a.txt", "C.txt", "sub/z.txt", "sub/deeper/y.txt", "sub/a.txt", "aa/x.md"]:
        touch(root / rel)
    return root


def test_files_are_sorted_and_recursive(tree: Path) -> None:
    items = listed([tree])
    assert errors(items) == {}
    assert [p.relative_to(tree).as_posix() for p in ok_paths(items)] == [
        "C.txt", "a.txt", "aa/x.md", "b.txt", "sub/a.txt", "sub/deeper/y.txt", "sub/z.txt",
    ]


def test_roots_keep_their_order_and_files_are_roots_too(tree: Path) -> None:
    items = listed([tree / "sub", tree / "b.txt"])
    assert [p.relative_to(tree).as_posix() for p in ok_paths(items)] == [
        "sub/a.txt", "sub/deeper/y.txt", "sub/z.txt", "b.txt",
    ]


def test_a_folder_named_twice_is_walked_once(tree: Path) -> None:
    assert len(ok_paths(listed([tree, tree / "sub"]))) == 7


def test_missing_root_is_reported(tmp_path: Path) -> None:
    items = listed([tmp_path / "absent"])
    assert errors(items) == {tmp_path / "absent": Status.VANISHED}
    assert items[0].error is not None
    assert items[0].error.path == str(tmp_path / "absent")


def test_symlink_inside_a_folder_is_not_followed(tree: Path, tmp_path: Path) -> None:
    outside = touch(tmp_path / "outside" / "secret.txt")
    (tree / "link.txt").symlink_to(outside)
    (tree / "linkdir").symlink_to(outside.parent, target_is_directory=True)
    items = listed([tree])
    assert errors(items) == {tree / "link.txt": Status.UNSUPPORTED, tree / "linkdir": Status.UNSUPPORTED}
    assert "symbolic link" in next(x for x in items if x.path == tree / "link.txt").error.message
    assert outside not in ok_paths(items)
    assert all("outside" not in p.parts for p in ok_paths(items))


def test_symlinks_followed_when_asked(tree: Path, tmp_path: Path) -> None:
    outside = touch(tmp_path / "outside" / "secret.txt")
    (tree / "link.txt").symlink_to(outside)
    (tree / "linkdir").symlink_to(outside.parent, target_is_directory=True)
    items = listed([tree], follow_symlinks=True)
    assert errors(items) == {}
    paths = ok_paths(items)
    assert tree / "link.txt" in paths
    assert tree / "linkdir" / "secret.txt" in paths


def test_symlink_named_as_root_is_followed(tmp_path: Path) -> None:
    target = touch(tmp_path / "real.txt")
    link = tmp_path / "named.txt"
    link.symlink_to(target)
    assert ok_paths(listed([link])) == [link]


@pytest.mark.parametrize("follow", [False, True])
def test_symlink_loops_do_not_hang(tree: Path, follow: bool) -> None:
    (tree / "sub" / "up").symlink_to(tree, target_is_directory=True)
    (tree / "sub" / "self").symlink_to(tree / "sub")
    (tree / "self-loop").symlink_to(tree / "self-loop")
    items = listed([tree], follow_symlinks=follow)
    paths = ok_paths(items)
    assert len(paths) == len(set(paths))
    assert len(paths) == 7
    errs = errors(items)
    if follow:
        assert errs == {tree / "self-loop": Status.UNREADABLE}
    else:
        assert set(errs.values()) == {Status.UNSUPPORTED}
        assert len(errs) == 3


def test_broken_symlink(tree: Path) -> None:
    (tree / "dangling").symlink_to(tree / "nothing-here")
    assert errors(listed([tree]))[tree / "dangling"] == Status.UNSUPPORTED
    assert errors(listed([tree], follow_symlinks=True))[tree / "dangling"] == Status.UNREADABLE


def test_fifo_is_reported_and_never_opened(tree: Path) -> None:
    fifo = tree / "pipe.txt"
    os.mkfifo(fifo)
    # Opening a FIFO with no writer blocks: the time limit in `listed` turns that into a failure.
    items = listed([tree])
    assert errors(items) == {fifo: Status.UNSUPPORTED}
    assert "FIFO" in next(x for x in items if x.path == fifo).error.message
    assert errors(listed([fifo])) == {fifo: Status.UNSUPPORTED}


def test_excluded_folder_is_skipped(tree: Path) -> None:
    store = tree / "sub"
    items = listed([tree], exclude=(store,))
    assert [p.relative_to(tree).as_posix() for p in ok_paths(items)] == ["C.txt", "a.txt", "aa/x.md", "b.txt"]
    # Exclusion compares resolved paths.
    items = listed([tree], exclude=(tree / "aa" / ".." / "sub",))
    assert all("sub" not in p.parts for p in ok_paths(items))
    assert listed([store], exclude=(store,)) == []


def test_undecodable_file_name_is_listed(tmp_path: Path) -> None:
    folder = tmp_path / "names"
    folder.mkdir()
    raw = os.path.join(os.fsencode(folder), b"bad\xff.txt")
    fd = os.open(raw, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"content")
    os.close(fd)
    items = listed([folder])
    assert errors(items) == {}
    paths = ok_paths(items)
    assert len(paths) == 1
    assert os.fsencode(paths[0]) == raw
    assert paths[0].read_bytes() == b"content"


@pytest.mark.skipif(os.geteuid() == 0, reason="root bypasses permission checks")
def test_permission_denied_folder_is_reported(tree: Path) -> None:
    locked = tree / "sub"
    locked.chmod(0)
    try:
        items = listed([tree])
    finally:
        locked.chmod(0o755)
    assert errors(items) == {locked: Status.UNREADABLE}
    assert "cannot list folder" in next(x for x in items if x.path == locked).error.message
    assert len(ok_paths(items)) == 4


def test_unlistable_folder_is_reported_simulated(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same as above where root cannot be denied: listing the folder raises EACCES."""
    locked = tree / "sub"
    real_listdir = os.listdir

    def listdir(path: os.PathLike[str] | str) -> list[str]:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_listdir(path)

    monkeypatch.setattr("leakwatch.walk.os.listdir", listdir)
    items = listed([tree])
    assert errors(items) == {locked: Status.UNREADABLE}
    message = next(x for x in items if x.path == locked).error.message
    assert message == "cannot list folder: Permission denied"
    assert [p.relative_to(tree).as_posix() for p in ok_paths(items)] == ["C.txt", "a.txt", "aa/x.md", "b.txt"]


def test_unstatable_entry_is_reported(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tree / "b.txt"
    real_lstat = os.lstat

    def lstat(path: os.PathLike[str] | str) -> os.stat_result:
        if Path(path) == bad:
            raise PermissionError(13, "Permission denied", str(path))
        return real_lstat(path)

    monkeypatch.setattr("leakwatch.walk.os.lstat", lstat)
    items = listed([tree])
    assert errors(items) == {bad: Status.UNREADABLE}
    assert len(ok_paths(items)) == 6
