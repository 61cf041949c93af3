"""Containers: archives and e-mails, whose members are deliverables of their own.

Design
------
A container reader (:class:`ContainerReader`, one module per format: ``zip``,
``tar``, ``compressed``, ``sevenzip``, ``email``, ``mbox``, ``msg``) lists the
members of one container's bytes as :class:`RawMember` values, lazily and in a fixed
order. :func:`iter_members` walks a file: a member that is itself a container is opened
in turn (an e-mail in an mbox in a zip ...), every other member goes to the ordinary
extractor registry (``leakwatch.extract.EXTRACTORS``) like a file of its own, so a
format added there is read inside archives too. What the walk gives, in order, is a
stream of :data:`leakwatch.model.FileItem`: a ``ContainerEntry`` per container opened,
then a ``Member`` (bytes and text) or a ``MemberError`` (a status) per member. The
isolated worker sends that stream to the scanner one item at a time.

Names. A member is named by its chain (``delivery.zip!/inner.tar.gz!/x.txt``, see
:func:`leakwatch.model.member_path`). Member names come from the vendor and are made
safe for display only (:func:`safe_member_name`: "/" separators, no "..", ".", empty
or absolute parts, controls escaped); nothing is ever written to disk, so a hostile
name (``../../etc/passwd``) names a member and goes nowhere.

Limits (``ExtractLimits``), counted over the whole file, members of nested containers
included: ``max_members`` members, ``max_total_uncompressed`` bytes decompressed,
``max_member_bytes`` per member (declared sizes are checked before decompressing, then
the bytes actually produced), ``max_compression_ratio`` per member over 1 MiB (bombs),
and containers nested at most ``max_container_depth`` deep. A member over a limit gets
``too-large`` and the walk goes on; when the file's total runs out, the walk stops with
one ``too-large`` error for the container where it did (what was read stays scanned).
A container that holds its own bytes (a quine) is ``parse-error``. A container that
fails partway (truncated, corrupt) gives an error for itself after the members it gave.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, ClassVar

from leakwatch.config import ExtractLimits
from leakwatch.model import (
    MEMBER_SEPARATOR,
    ContainerEntry,
    ExtractedText,
    ExtractionError,
    FileItem,
    Member,
    MemberError,
    Status,
    as_extraction_error,
)

# Small members legitimately compress very well; the ratio check is for big ones.
RATIO_CHECK_MIN_BYTES = 1024 * 1024
_CHUNK = 256 * 1024
_MAX_NAME_CHARS = 1024


class BudgetExhausted(ExtractionError):
    """The file's total member count or decompressed size ran out: the walk stops."""

    def __init__(self, message: str) -> None:
        super().__init__(Status.TOO_LARGE, message)
        self.chain: tuple[str, ...] | None = None


class Budget:
    """What is left of one file's archive limits (shared by all its nested containers)."""

    def __init__(self, limits: ExtractLimits) -> None:
        self.limits = limits
        self.members_left = limits.max_members
        self.bytes_left = limits.max_total_uncompressed

    def count_member(self) -> None:
        if self.members_left <= 0:
            raise BudgetExhausted(f"more than {self.limits.max_members:,} members in all: the rest was not read")
        self.members_left -= 1

    def check_declared(self, name: str, declared: int | None) -> None:
        """Refuse a member by its declared size, before anything is decompressed."""
        if declared is None:
            return
        if declared > self.limits.max_member_bytes:
            raise ExtractionError(Status.TOO_LARGE, f"declares {declared:,} bytes uncompressed, over the "
                                  f"per-member limit of {self.limits.max_member_bytes:,}")
        if declared > self.bytes_left:
            raise BudgetExhausted(f"member {name} would take the members over {self.limits.max_total_uncompressed:,}"
                                  " bytes uncompressed in all: the rest was not read")

    def charge(self, size: int, compressed: int | None = None) -> None:
        """Count ``size`` bytes produced by decompression (call as they come)."""
        if size > self.limits.max_member_bytes:
            raise ExtractionError(Status.TOO_LARGE, f"decompresses to over the per-member limit of "
                                  f"{self.limits.max_member_bytes:,} bytes")
        if compressed is not None and size > RATIO_CHECK_MIN_BYTES:
            ratio = size / max(compressed, 1)
            if ratio > self.limits.max_compression_ratio:
                raise ExtractionError(Status.TOO_LARGE, f"compression ratio over {ratio:,.0f}:1 (limit "
                                      f"{self.limits.max_compression_ratio:,.0f}:1; a bomb?)")
        if size > self.bytes_left:
            raise BudgetExhausted(f"members decompress to over {self.limits.max_total_uncompressed:,} bytes in all:"
                                  " the rest was not read")

    def spend(self, size: int) -> None:
        self.bytes_left -= size


def read_capped(stream: IO[bytes], budget: Budget, compressed: int | None = None,
                declared: int | None = None) -> bytes:
    """Read a decompressing stream to its end within the budget, checking as bytes come
    (headers can lie), and spend what it gave.

    Raises:
        ExtractionError: ``too-large`` over a per-member cap (or past ``declared``);
            :class:`BudgetExhausted` past the file's total.
    """
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(_CHUNK):
        size += len(chunk)
        if declared is not None and size > declared:
            raise ExtractionError(Status.TOO_LARGE, f"decompresses to more than its declared {declared:,} bytes")
        budget.charge(size, compressed)
        chunks.append(chunk)
    budget.spend(size)
    return b"".join(chunks)


@dataclass
class RawMember:
    """One member as a container lists it. ``read`` gives its bytes (called at most once,
    before the container moves on); ``children`` instead, for a container that has no
    bytes of its own (a message embedded in an Outlook .msg); ``error`` for a member that
    cannot be read (encrypted ...). ``meta`` is what the container says about it."""

    name: str
    read: Callable[[], bytes] | None = None
    error: ExtractionError | None = None
    children: Iterator[RawMember] | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


class ContainerReader:
    """Lists the members of one container format. Subclasses set ``name`` and implement
    :meth:`members`, raising :class:`ExtractionError` for a container that cannot be read
    (before or after some members)."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"

    def members(self, name: str, data: bytes, limits: ExtractLimits, budget: Budget) -> Iterator[RawMember]:
        """The members of the container ``data`` (a file called ``name``), in a fixed order."""
        raise NotImplementedError


# --- names --------------------------------------------------------------------------------

_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


def safe_member_name(raw: str) -> str:
    """A member name as reports show it: "/" separators, relative, no ``.``/``..``/empty
    parts (``../../etc/passwd`` becomes ``etc/passwd``, ``C:\\x\\y`` becomes ``C:/x/y``),
    control characters and undecodable bytes escaped; ``unnamed`` when nothing is left."""
    text = raw.replace("\\", "/").encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    text = _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    parts = [p for p in text.split("/") if p not in ("", ".", "..")]
    return "/".join(parts)[:_MAX_NAME_CHARS] or "unnamed"


class _Names:
    """Unique names within one container: a repeated name gets `` (2)``, `` (3)`` ..."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def unique(self, name: str) -> str:
        count = self._seen.get(name, 0) + 1
        self._seen[name] = count
        return name if count == 1 else f"{name} ({count})"


def member_key(chain: tuple[str, ...]) -> str:
    """The chain as one string (``inner.tar.gz!/x.txt``): what a registered member's path
    holds after its file's path."""
    return MEMBER_SEPARATOR.join(chain)


# --- the walk -----------------------------------------------------------------------------

# (chain, sequence number) of a member whose text is about to be extracted.
OnStart = Callable[[tuple[str, ...], int], None]


@dataclass(frozen=True)
class Formats:
    """How the walk reads what it finds: the format of some bytes, and the registries of
    extractors and container readers. Given by :mod:`leakwatch.extract`, which registers
    the formats (this module does not import the package that imports it)."""

    detect: Callable[[Path, bytes], str]
    extractors: Mapping[str, Any]
    containers: Mapping[str, ContainerReader]


class _Walk:
    """One file's walk: the budget, the sequence numbers of its items (for resuming after
    a worker was lost), and what to extract (all, or the one member asked for)."""

    def __init__(self, name: str, limits: ExtractLimits, formats: Formats, on_start: OnStart | None, skip: int,
                 only: str | None, accept: Callable[[bytes], bool] | None) -> None:
        self.formats = formats
        self.name, self.limits, self.on_start, self.skip, self.only = name, limits, on_start, skip, only
        self.accept = accept
        self.budget = Budget(limits)
        self.seq = 0

    def _number(self) -> int | None:
        """The next item's number, or None when it is resumed past (already sent)."""
        n = self.seq
        self.seq += 1
        return n if n >= self.skip else None

    def _wanted(self, chain: tuple[str, ...], leaf: bool) -> bool:
        if self.only is None:
            return True
        key = member_key(chain)
        return key == self.only if leaf else (not chain or self.only.startswith(key + MEMBER_SEPARATOR))

    def item(self, name: str, data: bytes, chain: tuple[str, ...], meta: Mapping[str, Any],
             ancestors: tuple[str, ...]) -> Iterator[FileItem]:
        fmt = self.formats.detect(Path(name), data)
        if fmt in self.formats.containers:
            yield from self.container(self.formats.containers[fmt], data, chain, meta, ancestors)
            return
        n = self._number()
        if n is None or not self._wanted(chain, leaf=True) or (self.accept is not None and not self.accept(data)):
            return
        if self.on_start is not None:
            self.on_start(chain, n)
        yield Member(chain, data, extract_as(self.formats.extractors[fmt], Path(name), data, self.limits), dict(meta))

    def container(self, reader: ContainerReader, data: bytes, chain: tuple[str, ...], meta: Mapping[str, Any],
                  ancestors: tuple[str, ...]) -> Iterator[FileItem]:
        sha = hashlib.sha256(data).hexdigest()
        if sha in ancestors:
            raise ExtractionError(Status.PARSE_ERROR, "a container that holds itself (a quine): not opened again")
        n = self._number()
        if n is not None and self._wanted(chain, leaf=False):
            yield ContainerEntry(chain, reader.name, sha, len(data))
        members = reader.members(chain[-1] if chain else self.name, data, self.limits, self.budget)
        yield from self.children(members, chain, meta, (*ancestors, sha))

    def children(self, raws: Iterator[RawMember], chain: tuple[str, ...], meta: Mapping[str, Any],
                 ancestors: tuple[str, ...]) -> Iterator[FileItem]:
        if len(chain) >= self.limits.max_container_depth:
            raise ExtractionError(Status.TOO_LARGE, f"containers nested over {self.limits.max_container_depth} "
                                  "deep: not opened")
        names = _Names()
        try:
            for raw in raws:
                child = (*chain, names.unique(safe_member_name(raw.name)))
                yield from self.child(raw, child, {**meta, **raw.meta}, ancestors)
        except BudgetExhausted as exc:
            exc.chain = chain if exc.chain is None else exc.chain
            raise
        except Exception as exc:  # the container failed partway: an error for it, after what it gave
            error = as_extraction_error(exc)
            n = self._number()
            if n is not None and self._wanted(chain, leaf=False):
                yield MemberError(chain, error.status, error.message)

    def child(self, raw: RawMember, chain: tuple[str, ...], meta: Mapping[str, Any],
              ancestors: tuple[str, ...]) -> Iterator[FileItem]:
        try:
            self.budget.count_member()
            if raw.error is not None:
                raise raw.error
            if raw.children is not None:
                yield from self.children(raw.children, chain, meta, ancestors)
            elif raw.read is not None and (self._wanted(chain, leaf=False) or self._wanted(chain, leaf=True)):
                yield from self.item(chain[-1], raw.read(), chain, meta, ancestors)
        except BudgetExhausted:
            raise
        except Exception as exc:
            error = as_extraction_error(exc)
            n = self._number()
            if n is not None and self._wanted(chain, leaf=True):
                yield MemberError(chain, error.status, error.message)


def extract_as(extractor: Any, path: Path, data: bytes, limits: ExtractLimits) -> ExtractedText:
    """The text of bytes already known to be of ``extractor``'s format (not a container)."""
    extracted: ExtractedText = extractor.extract(path, data, limits)
    if len(extracted.text) > limits.max_text_chars:
        raise ExtractionError(Status.TOO_LARGE, "extracted text over the configured limit")
    return extracted


def iter_members(name: str, data: bytes, limits: ExtractLimits, formats: Formats, on_start: OnStart | None = None,
                 skip: int = 0, only: str | None = None,
                 accept: Callable[[bytes], bool] | None = None) -> Iterator[FileItem]:
    """Every deliverable in one file's bytes (``name`` is its file name, for detection):
    the file itself when it is not a container, else its members, recursively.

    Args:
        on_start: told each member's chain and sequence number before its text is
            extracted (the worker names the member a crash or a timeout hit).
        skip: items numbered below this are not given again (a resumed walk).
        only: the chain (:func:`member_key`) of the one member wanted: nothing else is
            extracted.
        accept: a member's bytes must pass it (a hash check) before its text is extracted.

    Raises:
        ExtractionError: the file itself cannot be read (nothing was given).
    """
    walk = _Walk(name, limits, formats, on_start, skip, only, accept)
    try:
        yield from walk.item(name, data, (), {}, ())
    except BudgetExhausted as exc:
        yield MemberError(exc.chain or (), exc.status, exc.message)


def link_member(name: str, target: str, from_root: bool = False) -> RawMember | None:
    """A symbolic or hard link stored in an archive. Links are never followed: one whose
    target stays inside the archive is left out (the target is a member of its own,
    scanned as such); one that points outside (absolute, or up past the archive's root)
    is reported, as a link out of a scanned folder is."""
    parts: list[str] = []
    escapes = target.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:", target))
    base = () if from_root else PurePosixPath(name.replace("\\", "/")).parent.parts
    for part in [*base, *target.replace("\\", "/").split("/")]:
        if part in ("", ".", "/"):
            continue
        if part == "..":
            if not parts:
                escapes = True
                break
            parts.pop()
        else:
            parts.append(part)
    if not escapes:
        return None
    shown = _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", target)[:200]
    return RawMember(name, error=ExtractionError(
        Status.UNSUPPORTED, f"link pointing outside the archive (to {shown}): not followed"))
