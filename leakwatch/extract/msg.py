"""Outlook messages (``.msg``, [MS-OXMSG]): the body and every attachment as members.

A .msg is an OLE compound file of MAPI properties, read with olefile (BSD). The
maintained .msg parser, extract-msg, is GPL-3.0 (and pulls in oletools, a GUI toolkit
and an RTF-to-HTML stack): not a dependency an Apache-2.0 product can take, and the
few properties needed here are plain streams. Properties are streams named
``__substg1.0_<tag><type>`` (type ``001F``: UTF-16LE text, ``001E``: 8-bit text,
``0102``: binary).

- The body: the HTML body (``PidTagHtml``, 0x1013) if there is one, else the plain
  text body (0x1000) as ``body.txt`` in UTF-8, else the compressed RTF body
  (0x1009, decompressed with compressed-rtf) as ``body.rtf`` for the RTF reader.
- Attachments (``__attach_version1.0_#N``): the bytes of 0x3701 under their long file
  name (0x3707, else 0x3704, else the display name 0x3001); an attached Outlook message
  (0x3701 as a storage) is a container of its own with no bytes: ``mail.msg!/Fwd.msg!/body.txt``.
- Headers for the findings (from, to, cc, subject, date, message-id): from the
  transport headers (0x007D) when the message went through a server, else from the
  sender (0x0C1A, 0x0C1F), display-to/cc (0x0E04, 0x0E03), subject (0x0037), the
  submit time (0x0039, in the property stream) and the message id (0x1035).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from leakwatch.config import ExtractLimits
from leakwatch.extract.container import Budget, ContainerReader, RawMember
from leakwatch.extract.email import email_meta, parse_message
from leakwatch.model import ExtractionError, Status

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MSG_MARK = "__substg1.0_".encode("utf-16-le")
_ATTACH = "__attach_version1.0_#"
_PROPERTIES = "__properties_version1.0"
_MAX_HEADER_CHARS = 1000


def looks_like_msg(data: bytes) -> bool:
    """An OLE compound file whose directory names MAPI property streams."""
    return data.startswith(OLE_MAGIC) and _MSG_MARK in data


class _Message:
    """One message (the file's, or one attached to it) in the compound file."""

    def __init__(self, ole: Any, root: list[str], budget: Budget) -> None:
        self.ole, self.root, self.budget = ole, root, budget

    def _stream(self, *path: str) -> bytes | None:
        full = [*self.root, *path]
        if not self.ole.exists("/".join(full)) or self.ole.get_type("/".join(full)) != 2:  # 2: a stream
            return None
        self.budget.check_declared("/".join(path), self.ole.get_size("/".join(full)))
        data: bytes = self.ole.openstream(full).read()
        return data

    def binary(self, tag: str, where: tuple[str, ...] = ()) -> bytes | None:
        return self._stream(*where, f"__substg1.0_{tag}0102")

    def text(self, tag: str, where: tuple[str, ...] = ()) -> str | None:
        wide = self._stream(*where, f"__substg1.0_{tag}001F")
        if wide is not None:
            return wide.decode("utf-16-le", "replace").rstrip("\0")
        narrow = self._stream(*where, f"__substg1.0_{tag}001E")
        return None if narrow is None else narrow.decode("cp1252", "replace").rstrip("\0")

    def submit_time(self) -> str | None:
        """PidTagClientSubmitTime from the property stream (a FILETIME), as ISO 8601."""
        stream = self._stream(_PROPERTIES)
        if stream is None:
            return None
        header = 32 if not self.root else 24  # the top-level message's header is longer
        for at in range(header, len(stream) - 15, 16):
            tag, _flags, value = struct.unpack_from("<IIQ", stream, at)
            if tag == 0x00390040 and value:
                try:
                    when = datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=value // 10)
                except OverflowError:
                    return None
                return when.isoformat(timespec="seconds")
        return None

    def meta(self) -> dict[str, Any]:
        headers = self.text("007D")
        found: dict[str, Any] = {}
        if headers:
            found = email_meta(parse_message(headers.encode("utf-8", "replace") + b"\n\n"))["email"]
        sender_name, sender = self.text("0C1A"), self.text("0C1F") or self.text("5D01")
        fallback = {
            "from": f"{sender_name} <{sender}>" if sender_name and sender else sender_name or sender,
            "to": self.text("0E04"), "cc": self.text("0E03"), "subject": self.text("0037"),
            "date": self.submit_time(), "message_id": self.text("1035"),
        }
        for key, value in fallback.items():
            if key not in found and value:
                found[key] = " ".join(value.split())[:_MAX_HEADER_CHARS]
        return {"email": found}

    def body(self) -> RawMember | None:
        html = self.binary("1013")
        if html is None:
            html_text = self.text("1013")
            html = None if html_text is None else html_text.encode("utf-8")
        if html:
            return RawMember("body.html", read=lambda: html)
        plain = self.text("1000")
        if plain:
            return RawMember("body.txt", read=lambda: plain.encode("utf-8", "surrogatepass"))
        rtf = self.binary("1009")
        if rtf:
            return RawMember("body.rtf", read=lambda: _decompressed_rtf(rtf, self.budget))
        return None

    def attachments(self) -> Iterator[RawMember]:
        storages = sorted({entry[len(self.root)] for entry in self.ole.listdir(streams=True, storages=True)
                           if len(entry) > len(self.root) and entry[:len(self.root)] == self.root
                           and entry[len(self.root)].startswith(_ATTACH)})
        for number, storage in enumerate(storages, start=1):
            where = (storage,)
            name = self.text("3707", where) or self.text("3704", where) or self.text("3001", where) \
                or f"attachment-{number}"
            embedded = [*self.root, storage, "__substg1.0_3701000D"]
            if self.ole.exists("/".join(embedded)):
                inner = _Message(self.ole, embedded, self.budget)
                yield RawMember(name if name.lower().endswith(".msg") else name + ".msg", children=inner.members())
                continue
            data = self.binary("3701", where)
            if data is None:
                yield RawMember(name, error=ExtractionError(
                    Status.UNSUPPORTED, "attachment without data (a link or an OLE object): not read"))
            else:
                yield RawMember(name, read=lambda data=data: data)  # type: ignore[misc]

    def members(self) -> Iterator[RawMember]:
        try:
            meta = self.meta()
            body = self.body()
            parts = [*([body] if body is not None else []), *self.attachments()]
        except ExtractionError:
            raise
        except Exception as exc:  # olefile on a damaged compound file
            raise ExtractionError(Status.PARSE_ERROR, f"damaged Outlook message ({type(exc).__name__}: {exc})") \
                from exc
        for part in parts:
            part.meta = {**meta, **part.meta}
            yield part


def _decompressed_rtf(data: bytes, budget: Budget) -> bytes:
    import compressed_rtf

    if len(data) < 16:
        raise ExtractionError(Status.PARSE_ERROR, "compressed RTF body shorter than its header")
    raw_size = struct.unpack_from("<I", data, 4)[0]
    budget.check_declared("body.rtf", raw_size)
    try:
        out: bytes = compressed_rtf.decompress(data)
    except Exception as exc:
        raise ExtractionError(Status.PARSE_ERROR, f"corrupt compressed RTF body ({exc})") from exc
    budget.charge(len(out))
    budget.spend(len(out))
    return out


class MsgReader(ContainerReader):
    name = "msg"

    def members(self, name: str, data: bytes, limits: ExtractLimits, budget: Budget) -> Iterator[RawMember]:
        import olefile

        try:
            ole = olefile.OleFileIO(data)
        except Exception as exc:
            raise ExtractionError(Status.PARSE_ERROR, f"not a readable Outlook message ({exc})") from exc
        try:
            yield from _Message(ole, [], budget).members()
        finally:
            ole.close()
