"""7-Zip archives, through py7zr (pure Python; LZMA, LZMA2, PPMd, BCJ, Deflate, Zstandard
...), in memory.

py7zr decompresses a whole solid block in one pass and hands each member to a writer as
it completes; a thread runs that pass and gives the members over one at a time (a
queue of one), so memory holds one member, not the archive. Declared sizes are checked
before anything is decompressed (py7zr never writes past a member's declared size) and
the whole pass stops at the file's remaining total. Encrypted headers make the archive
``encrypted``; encrypted members (names visible) are each ``encrypted``. A member name
py7zr itself refuses (absolute, or climbing out with ``..``) is reported, not read.
"""

from __future__ import annotations

import contextlib
import io
import queue
import threading
from collections.abc import Iterator
from typing import Any

from leakwatch.config import ExtractLimits
from leakwatch.extract.container import (
    RATIO_CHECK_MIN_BYTES,
    Budget,
    BudgetExhausted,
    ContainerReader,
    RawMember,
    link_member,
)
from leakwatch.model import ExtractionError, Status

SEVENZIP_MAGIC = b"7z\xbc\xaf\x27\x1c"
_DONE = object()


class _Stop(Exception):
    """The reader no longer wants members: the decompression thread winds down."""


class _Handover:
    """py7zr's writer factory: each finished member is put on a queue of one."""

    def __init__(self) -> None:
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=1)
        self.stop = threading.Event()

    def put(self, item: Any) -> None:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Stop

    def create(self, filename: str) -> _Writer:
        return _Writer(self, filename)


class _Writer:
    """One member's bytes, handed over when py7zr closes it (the Py7zIO interface)."""

    def __init__(self, handover: _Handover, filename: str) -> None:
        self.handover, self.filename, self.buffer = handover, filename, io.BytesIO()

    def write(self, s: bytes | bytearray) -> int:
        if self.handover.stop.is_set():
            raise _Stop
        return self.buffer.write(s)

    def read(self, size: int | None = None) -> bytes:
        return self.buffer.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.buffer.seek(offset, whence)

    def flush(self) -> None:
        pass

    def size(self) -> int:
        return self.buffer.getbuffer().nbytes

    def close(self) -> None:
        self.handover.put((self.filename, self.buffer.getvalue()))
        self.buffer = io.BytesIO()


def _error_of(exc: BaseException) -> ExtractionError:
    import py7zr.exceptions as e

    if isinstance(exc, ExtractionError):
        return exc
    if isinstance(exc, e.PasswordRequired):
        return ExtractionError(Status.ENCRYPTED, "password-protected 7z archive")
    if isinstance(exc, e.DecompressionBombError):
        return BudgetExhausted(f"decompresses to over the total limit: the rest was not read ({exc})")
    if isinstance(exc, e.UnsupportedCompressionMethodError):
        return ExtractionError(Status.UNSUPPORTED, f"7z compression method not supported ({exc})")
    if isinstance(exc, MemoryError):
        return ExtractionError(Status.MEMORY, "out of memory while decompressing the 7z archive")
    return ExtractionError(Status.PARSE_ERROR, f"corrupt or truncated 7z archive ({type(exc).__name__}: {exc})")


def _open(data: bytes) -> Any:
    import py7zr

    try:
        return py7zr.SevenZipFile(io.BytesIO(data), mode="r")
    except Exception as exc:
        raise _error_of(exc) from exc


class SevenZipReader(ContainerReader):
    name = "7z"

    def members(self, name: str, data: bytes, limits: ExtractLimits, budget: Budget) -> Iterator[RawMember]:
        from py7zr.helpers import get_sanitized_output_path

        archive = _open(data)
        try:
            encrypted = archive.needs_password()
            targets: list[str] = []
            declared = 0
            for info in archive.list():
                if info.is_directory:
                    continue
                try:
                    get_sanitized_output_path(info.filename, None)
                except Exception:
                    yield RawMember(info.filename, error=ExtractionError(
                        Status.UNSUPPORTED, "member name climbs out of the archive or is absolute: not read"))
                    continue
                if encrypted:
                    yield RawMember(info.filename, error=ExtractionError(
                        Status.ENCRYPTED, "encrypted 7z member (password-protected): not read"))
                elif info.uncompressed > limits.max_member_bytes:
                    yield RawMember(info.filename, error=ExtractionError(
                        Status.TOO_LARGE, f"declares {info.uncompressed:,} bytes uncompressed, over the per-member "
                        f"limit of {limits.max_member_bytes:,}"))
                else:
                    targets.append(info.filename)
                    declared += info.uncompressed
            links = {i.filename for i in archive.list() if i.is_symlink}
            if declared > RATIO_CHECK_MIN_BYTES and declared / max(len(data), 1) > limits.max_compression_ratio:
                raise ExtractionError(Status.TOO_LARGE, f"declares a compression ratio of "
                                      f"{declared / max(len(data), 1):,.0f}:1 (limit "
                                      f"{limits.max_compression_ratio:,.0f}:1; a bomb?)")
            if targets:
                yield from _extracted(archive, targets, links, budget)
        finally:
            archive.close()


def _extracted(archive: Any, targets: list[str], links: set[str], budget: Budget) -> Iterator[RawMember]:
    """The members in ``targets`` as py7zr decompresses them (in the archive's order)."""
    handover = _Handover()
    archive.max_extract_size = budget.bytes_left

    def run() -> None:
        try:
            archive.extract(targets=targets, factory=handover)
            handover.put(_DONE)
        except _Stop:
            pass
        except BaseException as exc:  # handed to the reader, which turns it into a status
            with contextlib.suppress(_Stop):
                handover.put(exc)

    thread = threading.Thread(target=run, name="leakwatch-7z", daemon=True)
    thread.start()
    try:
        while True:
            item = handover.queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise _error_of(item)
            filename, content = item
            if filename in links:
                link = link_member(filename, content[:4096].decode("utf-8", "surrogateescape"))
                if link is not None:
                    yield link
                continue
            yield RawMember(filename, read=lambda content=content: _spend(budget, content))  # type: ignore[misc]
    finally:
        handover.stop.set()
        thread.join(timeout=30)


def _spend(budget: Budget, content: bytes) -> bytes:
    budget.charge(len(content))
    budget.spend(len(content))
    return content
