"""mbox mailboxes: each message a member (``inbox.mbox!/message-3.eml``), read as an e-mail.

Messages are split as the stdlib :class:`mailbox.mbox` splits them (a line starting
``From `` begins a message; that line itself is not part of it), on the bytes in
memory: ``mailbox`` reads only files on disk, and the worker writes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from leakwatch.config import ExtractLimits
from leakwatch.extract.container import Budget, ContainerReader, RawMember

_FROM_LINE = re.compile(rb"^From ", re.MULTILINE)
# The first line of an mbox: "From sender@example.com Mon Jan  1 00:00:00 2024" (a time of
# day, then the year, maybe a zone), not prose that happens to start with "From ".
_FIRST_LINE = re.compile(rb"From \S+ [^\r\n]*\d{1,2}:\d{2}(:\d{2})?[^\r\n]*\d{4}[^\r\n]*\r?\n")


def looks_like_mbox(head: bytes) -> bool:
    """An mbox "From " line, then a mail header line."""
    first = _FIRST_LINE.match(head)
    return first is not None and re.match(rb"[\x21-\x39\x3b-\x7e]+:", head[first.end():]) is not None


def split_mbox(data: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of each message's bytes, its "From " line left out."""
    starts = [m.start() for m in _FROM_LINE.finditer(data)]
    for i, start in enumerate(starts):
        body = data.find(b"\n", start) + 1 or len(data)
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        # The blank line before the next "From " line separates; it is not the message's.
        for separator in (b"\r\n\r\n", b"\n\n"):
            if data.endswith(separator, body, end):
                end -= len(separator) // 2
                break
        yield body, end


class MboxReader(ContainerReader):
    name = "mbox"

    def members(self, name: str, data: bytes, limits: ExtractLimits, budget: Budget) -> Iterator[RawMember]:
        for number, (start, end) in enumerate(split_mbox(data), start=1):
            yield RawMember(f"message-{number}.eml", read=lambda s=start, e=end: data[s:e])  # type: ignore[misc]
