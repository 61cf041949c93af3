"""Single-file compression (gzip, bzip2, xz) and tar archives, plain or compressed.

A ``.gz``, ``.bz2`` or ``.xz`` file holds one member: the file it compressed, named by
the gzip header's original name, else by the file's own name less the suffix
(``report.txt.gz!/report.txt``). A tar (``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2``,
``.tar.xz``) is one container, whatever compresses it (``delivery.tar.gz!/docs/a.docx``).

Decompression is streamed and counted: the whole stream may give at most
``max_total_uncompressed`` bytes, at most ``max_compression_ratio`` times its compressed
size once past 1 MiB. Tar is read in stream mode (no seeking), member by member, in
memory; links are never followed (see :func:`link_member`), devices and FIFOs are
reported, nothing is written to disk.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath
from typing import IO, Any

from leakwatch.config import ExtractLimits
from leakwatch.extract.container import (
    RATIO_CHECK_MIN_BYTES,
    Budget,
    BudgetExhausted,
    ContainerReader,
    RawMember,
    link_member,
    read_capped,
)
from leakwatch.model import ExtractionError, Status

GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
_TAR_MAGIC_AT = 257
_SUFFIXES = {".gz": "", ".gzip": "", ".bz2": "", ".xz": "", ".tgz": ".tar", ".tbz2": ".tar", ".txz": ".tar"}


def compression_of(head: bytes) -> str | None:
    """``gzip``, ``bzip2`` or ``xz`` from the magic bytes, else None."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(BZIP2_MAGIC) and head[3:4].isdigit():
        return "bzip2"
    if head.startswith(XZ_MAGIC):
        return "xz"
    return None


def is_tar(head: bytes) -> bool:
    """A POSIX (ustar) or GNU tar header at the start."""
    return head[_TAR_MAGIC_AT : _TAR_MAGIC_AT + 5] == b"ustar"


def decompressed_head(head: bytes, size: int = 1024) -> bytes:
    """The first ``size`` bytes the compressed ``head`` decompresses to (as many as it
    gives; empty when it is not what its magic says). Never raises."""
    kind = compression_of(head)
    try:
        if kind == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, size)
        if kind == "bzip2":
            return bz2.BZ2Decompressor().decompress(head, size)
        if kind == "xz":
            return lzma.LZMADecompressor().decompress(head, size)
    except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError):
        return b""
    return b""


class _Bounded(io.RawIOBase):
    """A decompressing stream that stops at the file's total and ratio limits."""

    def __init__(self, inner: IO[bytes], compressed: int, limits: ExtractLimits) -> None:
        self.inner, self.compressed, self.limits, self.given = inner, compressed, limits, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            chunk = self.inner.read(len(buffer))
        except (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError) as exc:
            raise ExtractionError(Status.PARSE_ERROR, f"corrupt or truncated compressed data ({exc})") from exc
        self.given += len(chunk)
        if self.given > self.limits.max_total_uncompressed:
            raise BudgetExhausted(f"decompresses to over {self.limits.max_total_uncompressed:,} bytes: "
                                  "the rest was not read")
        ratio = self.given / max(self.compressed, 1)
        if self.given > RATIO_CHECK_MIN_BYTES and ratio > self.limits.max_compression_ratio:
            raise ExtractionError(Status.TOO_LARGE, f"compression ratio over {ratio:,.0f}:1 (limit "
                                  f"{self.limits.max_compression_ratio:,.0f}:1; a bomb?)")
        buffer[: len(chunk)] = chunk
        return len(chunk)


# Streams over bytes in memory: nothing to close but the memory, which the caller holds.
_OPENERS: dict[str, Callable[[IO[bytes]], Any]] = {
    "gzip": lambda f: gzip.GzipFile(fileobj=f),
    "bzip2": lambda f: bz2.BZ2File(f),
    "xz": lambda f: lzma.LZMAFile(f),  # noqa: SIM115
}


def decompressing(data: bytes, limits: ExtractLimits) -> IO[bytes]:
    """``data`` as a stream, decompressed as read (within the limits) if compressed."""
    kind = compression_of(data)
    if kind is None:
        return io.BytesIO(data)
    return io.BufferedReader(_Bounded(_OPENERS[kind](io.BytesIO(data)), len(data), limits))


def _gzip_original_name(data: bytes) -> str | None:
    """The FNAME field of a gzip header (RFC 1952), if any."""
    flags = data[3] if len(data) > 3 else 0
    if not flags & 0x08:
        return None
    at = 10
    if flags & 0x04:  # FEXTRA
        if len(data) < 12:
            return None
        at = 12 + int.from_bytes(data[10:12], "little")
    end = data.find(b"\0", at, at + 1024)
    return data[at:end].decode("latin-1") or None if end > at else None


def _member_name(container: str, data: bytes) -> str:
    original = _gzip_original_name(data) if data.startswith(GZIP_MAGIC) else None
    if original:
        return PurePosixPath(original.replace("\\", "/")).name or original
    path = PurePosixPath(container)
    suffix = path.suffix.lower()
    if suffix in _SUFFIXES:
        return path.stem + _SUFFIXES[suffix]
    return path.name  # no suffix to take off: the member has the file's name


class CompressedReader(ContainerReader):
    """gzip, bzip2 or xz around one file."""

    name = "compressed"

    def members(self, name: str, data: bytes, limits: ExtractLimits, budget: Budget) -> Iterator[RawMember]:
        yield RawMember(_member_name(name, data), read=lambda: read_capped(decompressing(data, limits), budget))


class TarReader(ContainerReader):
    name = "tar"

    def members(self, name: str, data: bytes, limits: ExtractLimits, budget: Budget) -> Iterator[RawMember]:
        try:
            with tarfile.open(fileobj=decompressing(data, limits), mode="r|") as archive:
                yield from _tar_members(archive, budget)
        except tarfile.TarError as exc:
            raise ExtractionError(Status.PARSE_ERROR, f"corrupt or truncated tar archive ({exc})") from exc


def _tar_members(archive: tarfile.TarFile, budget: Budget) -> Iterator[RawMember]:
    for info in archive:
        if info.isdir():
            continue
        if info.issym() or info.islnk():
            # A hard link names its target from the archive's root, a symbolic one from its folder.
            link = link_member(info.name, info.linkname, from_root=info.islnk())
            if link is not None:
                yield link
        elif not info.isreg():
            yield RawMember(info.name, error=ExtractionError(
                Status.UNSUPPORTED, "a device, FIFO or other special file: not a document"))
        else:
            yield RawMember(info.name, read=lambda info=info: _read_tar(archive, info, budget))  # type: ignore[misc]


def _read_tar(archive: tarfile.TarFile, info: tarfile.TarInfo, budget: Budget) -> bytes:
    budget.check_declared(info.name, info.size)
    stream = archive.extractfile(info)
    if stream is None:
        return b""
    try:
        return read_capped(stream, budget, declared=info.size)
    except tarfile.TarError as exc:
        raise ExtractionError(Status.PARSE_ERROR, f"corrupt or truncated tar member ({exc})") from exc
