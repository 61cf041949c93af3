"""Zip archives (not the Office ones, which are documents): each member a deliverable.

Read in memory from the archive's bytes (nothing is written to disk). The member count
is bounded before zipfile builds its directory; each member's declared size and ratio
are checked before it is decompressed, and the bytes it actually gives are counted.
Encrypted members (ZipCrypto or AES) get ``encrypted``; an unknown compression method
``unsupported``; a bad CRC, overlapping entries or a truncated stream ``parse-error``.
"""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Iterator

from leakwatch.config import ExtractLimits
from leakwatch.extract.container import (
    RATIO_CHECK_MIN_BYTES,
    Budget,
    ContainerReader,
    RawMember,
    link_member,
    read_capped,
)
from leakwatch.model import ExtractionError, Status

_CENTRAL_DIR_SIG = b"PK\x01\x02"
_ENCRYPTED_FLAG = 0x1
_MAX_LINK_BYTES = 4096


def open_zip(data: bytes, limits: ExtractLimits) -> zipfile.ZipFile:
    """The archive, its directory read; at most ``max_members`` entries.

    Raises:
        ExtractionError: ``too-large`` for too many entries, ``parse-error`` for what is
            not a readable zip.
    """
    # One ZipInfo per directory entry is built up front: count them first.
    if data.count(_CENTRAL_DIR_SIG) > limits.max_members:
        raise ExtractionError(Status.TOO_LARGE, f"zip has more than {limits.max_members:,} entries")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        archive.infolist()
    except MemoryError as exc:
        raise ExtractionError(Status.MEMORY, "out of memory while reading the zip directory") from exc
    except Exception as exc:  # BadZipFile, and struct/ValueError/OSError on mangled directories
        raise ExtractionError(Status.PARSE_ERROR, f"not a readable zip archive ({exc})") from exc
    return archive


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget) -> bytes:
    budget.check_declared(info.filename, info.file_size)
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > RATIO_CHECK_MIN_BYTES and ratio > budget.limits.max_compression_ratio:
        raise ExtractionError(Status.TOO_LARGE, f"declares a compression ratio of {ratio:,.0f}:1 (limit "
                              f"{budget.limits.max_compression_ratio:,.0f}:1; a zip bomb?)")
    try:
        with archive.open(info) as stream:
            return read_capped(stream, budget, info.compress_size, info.file_size)
    except ExtractionError:
        raise
    except NotImplementedError as exc:
        raise ExtractionError(Status.UNSUPPORTED, f"zip compression not supported ({exc})") from exc
    except MemoryError as exc:
        raise ExtractionError(Status.MEMORY, "out of memory while decompressing it") from exc
    except Exception as exc:  # BadZipFile (CRC, overlapping entries), zlib.error, EOFError
        raise ExtractionError(Status.PARSE_ERROR, f"corrupt zip member ({exc})") from exc


def _is_link(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)  # made on Unix


class ZipReader(ContainerReader):
    name = "zip"

    def members(self, name: str, data: bytes, limits: ExtractLimits, budget: Budget) -> Iterator[RawMember]:
        archive = open_zip(data, limits)
        for info in archive.infolist():
            if info.is_dir():
                continue
            if info.flag_bits & _ENCRYPTED_FLAG:
                yield RawMember(info.filename, error=ExtractionError(
                    Status.ENCRYPTED, "encrypted zip member (password-protected): not read"))
            elif _is_link(info):
                target = _read(archive, info, budget)[:_MAX_LINK_BYTES].decode("utf-8", "surrogateescape")
                link = link_member(info.filename, target)
                if link is not None:
                    yield link
            else:
                yield RawMember(info.filename, read=lambda info=info: _read(archive, info, budget))  # type: ignore[misc]
