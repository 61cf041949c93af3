"""E-mail (RFC 5322 ``.eml``, stdlib :mod:`email` with ``policy.default``): the body and
every attachment as members.

- The body is the part a mail client shows (``get_body``, HTML preferred over plain
  text: in a ``multipart/alternative`` the two say the same, and reading both would
  report every copied passage twice); it is the member ``body.html`` or ``body.txt``,
  whose bytes are its text, decoded from its transfer encoding and charset, in UTF-8.
- Every other leaf part is a member: an attachment under its file name, an inline part
  (an image of a ``multipart/related`` body, a second text part) as ``part-N.<ext>``;
  its bytes are the part's, transfer encoding undone. An attached message
  (``message/rfc822``) is an e-mail member of its own (``fwd.eml!/body.txt``). Each is
  read like a file: an attached zip holding a DOCX is opened, the DOCX read.
- The headers (from, to, cc, subject, date, message-id) are metadata of every member's
  findings (``"email": {...}``), never text that is matched.
"""

from __future__ import annotations

import email
import email.policy
import mimetypes
from collections.abc import Iterator
from email.message import EmailMessage, Message
from typing import Any

from leakwatch.config import ExtractLimits
from leakwatch.extract.container import Budget, ContainerReader, RawMember
from leakwatch.model import ExtractionError, Status

HEADERS = (("from", "from"), ("to", "to"), ("cc", "cc"), ("subject", "subject"), ("date", "date"),
           ("message_id", "message-id"))
_MAX_HEADER_CHARS = 1000


def parse_message(data: bytes) -> EmailMessage:
    try:
        message = email.message_from_bytes(data, policy=email.policy.default)
    except Exception as exc:  # the parser is lenient; this is for what it still cannot take
        raise ExtractionError(Status.PARSE_ERROR, f"not a readable e-mail ({type(exc).__name__}: {exc})") from exc
    assert isinstance(message, EmailMessage)
    return message


def _header(message: Message, name: str) -> str | None:
    try:
        value = message.get(name)
    except Exception:  # a malformed header the policy cannot parse: its raw form
        value = next((v for k, v in message.raw_items() if k.lower() == name), None)
    return None if value is None else " ".join(str(value).split())[:_MAX_HEADER_CHARS]


def email_meta(message: Message) -> dict[str, Any]:
    """``{"email": {"from": ..., "to": ..., ...}}``: the headers a finding shows (those present)."""
    found = {key: value for key, name in HEADERS if (value := _header(message, name)) is not None}
    return {"email": found}


def _leaves(part: EmailMessage, parents: dict[int, EmailMessage]) -> Iterator[EmailMessage]:
    """Leaf parts in order, an attached message counting as one leaf."""
    if part.get_content_type() == "message/rfc822" or not part.is_multipart():
        yield part
        return
    for sub in part.iter_parts():
        assert isinstance(sub, EmailMessage)
        parents[id(sub)] = part
        yield from _leaves(sub, parents)


def _alternatives_of(body: EmailMessage, parents: dict[int, EmailMessage]) -> set[int]:
    """The other renderings of the body (the leaves of the ``multipart/alternative`` it is
    one branch of): they say what the body says."""
    node = body
    while id(node) in parents:
        parent = parents[id(node)]
        if parent.get_content_type() == "multipart/alternative":
            out: set[int] = set()
            for leaf in _leaves(parent, {}):
                if leaf.get_content_maintype() == "text" and leaf.get_content_subtype() in ("plain", "html"):
                    out.add(id(leaf))
            return out
        node = parent
    return {id(body)}


def _text_of(part: EmailMessage) -> bytes:
    try:
        text = part.get_content()
    except (LookupError, UnicodeError, ValueError):  # an unknown or lying charset
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
    return str(text).encode("utf-8", "surrogatepass")


def _payload_of(part: EmailMessage) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _attached_message(part: EmailMessage) -> bytes:
    inner = part.get_payload()
    message = inner[0] if isinstance(inner, list) and inner else inner
    if isinstance(message, Message):
        return message.as_bytes(policy=email.policy.default.clone(linesep="\n"))
    # Sent base64-encoded (which RFC 2046 forbids, and mailers still do): the bytes.
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes) and payload:
        return payload
    raise ExtractionError(Status.PARSE_ERROR, "attached message without a body")


def _part_name(part: EmailMessage, number: int) -> str:
    try:
        filename = part.get_filename()
    except Exception:
        filename = None
    ctype = part.get_content_type()
    if ctype == "message/rfc822":
        base = filename or f"attached-{number}"
        return base if base.lower().endswith(".eml") else base + ".eml"
    if filename:
        return filename
    extension = {"text/plain": ".txt", "text/html": ".html"}.get(ctype) or mimetypes.guess_extension(ctype) or ".bin"
    return f"part-{number}{extension}"


def message_members(message: EmailMessage, budget: Budget) -> Iterator[RawMember]:
    """The body and the other parts of one message, with its headers as metadata."""
    meta = email_meta(message)
    parents: dict[int, EmailMessage] = {}
    leaves = list(_leaves(message, parents))
    try:
        body = message.get_body(preferencelist=("html", "plain"))
    except Exception:
        body = None
    if body is not None and body.get_content_type() == "message/rfc822":
        body = None
    skipped: set[int] = set()
    if isinstance(body, EmailMessage):
        name = "body.html" if body.get_content_subtype() == "html" else "body.txt"
        yield RawMember(name, read=lambda: _text_of(body), meta=meta)
        skipped = _alternatives_of(body, parents)
    for number, part in enumerate(leaves, start=1):
        if id(part) in skipped:
            continue
        name = _part_name(part, number)
        if part.get_content_type() == "message/rfc822":
            yield RawMember(name, read=lambda part=part: _attached_message(part), meta=meta)  # type: ignore[misc]
        else:
            yield RawMember(name, read=lambda part=part: _payload_of(part), meta=meta)  # type: ignore[misc]


class EmailReader(ContainerReader):
    name = "eml"

    def members(self, name: str, data: bytes, limits: ExtractLimits, budget: Budget) -> Iterator[RawMember]:
        yield from message_members(parse_message(data), budget)


# --- detection ------------------------------------------------------------------------------

_MAIL_HEADERS = (b"from:", b"to:", b"subject:", b"date:", b"message-id:", b"received:", b"return-path:",
                 b"mime-version:", b"delivered-to:", b"reply-to:", b"cc:", b"content-type:", b"x-")


def looks_like_email(head: bytes) -> bool:
    """A header block of mail headers at the very start: at least four lines, all headers
    (or their folded continuations) up to the first blank line, ``From:`` among them and
    one of ``Message-ID``, ``Received``, ``MIME-Version`` or ``Date``."""
    block = head.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    if len(block) == len(head):
        return False
    lines = block.replace(b"\r\n", b"\n").split(b"\n")
    names: set[bytes] = set()
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            continue
        name, colon, _ = line.partition(b":")
        if not colon or not name or b" " in name or not name.isascii():
            return False
        names.add(name.lower() + b":")
    known = {n for n in names if n.startswith(_MAIL_HEADERS)}
    return (len(lines) >= 4 and b"from:" in names and len(known) >= 3
            and bool(names & {b"message-id:", b"received:", b"mime-version:", b"date:"}))
