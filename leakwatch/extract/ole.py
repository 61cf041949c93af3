"""Legacy (97-2003) Office files: which one an OLE compound file is, and whether it is encrypted.

Word, Excel and PowerPoint 97-2003 files are OLE compound files (CFB) told apart by their
main stream: ``WordDocument``, ``Workbook`` (``Book`` for Excel 5/95), ``PowerPoint
Document``. Each format marks encryption its own way, read here with olefile (the
maintained OLE reader oletools is built on) before any converter sees the file: a
password-protected file is ``encrypted``, never handed to a tool that would read it as
empty.
"""

from __future__ import annotations

import io
import struct

from leakwatch.model import ExtractionError, Status

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MAIN_STREAMS = (("WordDocument", "doc"), ("Workbook", "xls"), ("Book", "xls"), ("PowerPoint Document", "ppt"))
# [MS-DOC] 2.5.2 FibBase: wIdent, then (at byte 10) flags whose bit 8 is fEncrypted.
_WORD_IDENT = 0xA5EC
_WORD_ENCRYPTED = 0x0100
# [MS-DOC] 2.5.5 FibRgLw97.ccpText: characters in the main document, at byte 76 of the FIB.
_WORD_TEXT_LENGTH = 76
# [MS-PPT] 2.3.2 CurrentUserAtom: headerToken after the record header and size.
_PPT_ENCRYPTED_TOKEN = 0xF3D1C4DF
# [MS-XLS] 2.4.117 FilePass: the record that says the rest of the workbook is encrypted.
_XLS_FILEPASS = 0x002F
_XLS_EOF = 0x000A


def _open(data: bytes) -> object | None:
    import olefile

    try:
        return olefile.OleFileIO(io.BytesIO(data))
    except Exception:
        return None


def sniff_ole_format(data: bytes) -> str | None:
    """``doc``, ``xls`` or ``ppt`` for a legacy Office file, else None. Never raises."""
    if not data.startswith(OLE_MAGIC):
        return None
    ole = _open(data)
    if ole is None:
        return None
    try:
        for stream, kind in _MAIN_STREAMS:
            if ole.exists(stream):  # type: ignore[attr-defined]
                return kind
        return None
    except Exception:
        return None
    finally:
        ole.close()  # type: ignore[attr-defined]


def _stream(ole: object, name: str, size: int) -> bytes:
    with ole.openstream(name) as stream:  # type: ignore[attr-defined]
        return bytes(stream.read(size))


def _xls_encrypted(book: bytes) -> bool:
    """A FilePass record before the end of the workbook's global substream."""
    position = 0
    while position + 4 <= len(book):
        kind, length = struct.unpack_from("<HH", book, position)
        if kind == _XLS_FILEPASS:
            return True
        if kind == _XLS_EOF:
            return False
        position += 4 + length
    return False


def word_text_length(data: bytes) -> int | None:
    """How many characters a Word file's FIB says its main text has, or None when unreadable."""
    ole = _open(data)
    if ole is None:
        return None
    try:
        fib = _stream(ole, "WordDocument", _WORD_TEXT_LENGTH + 4)
        return struct.unpack_from("<I", fib, _WORD_TEXT_LENGTH)[0] if len(fib) >= _WORD_TEXT_LENGTH + 4 else None
    except Exception:
        return None
    finally:
        ole.close()  # type: ignore[attr-defined]


def check_not_encrypted(data: bytes, kind: str) -> None:
    """Raise for a password-protected legacy Office file.

    Raises:
        ExtractionError: ``encrypted``; ``parse-error`` when the OLE structure cannot be read.
    """
    ole = _open(data)
    if ole is None:
        raise ExtractionError(Status.PARSE_ERROR, "not a readable OLE compound file (damaged or truncated)")
    try:
        encrypted = False
        if kind == "doc":
            fib = _stream(ole, "WordDocument", 12)
            encrypted = (len(fib) >= 12 and struct.unpack_from("<H", fib)[0] == _WORD_IDENT
                         and bool(struct.unpack_from("<H", fib, 10)[0] & _WORD_ENCRYPTED))
        elif kind == "ppt":
            encrypted = ole.exists("EncryptedSummary")  # type: ignore[attr-defined]
            if ole.exists("Current User"):  # type: ignore[attr-defined]
                user = _stream(ole, "Current User", 16)
                encrypted |= len(user) >= 16 and struct.unpack_from("<I", user, 12)[0] == _PPT_ENCRYPTED_TOKEN
        elif kind == "xls":
            name = "Workbook" if ole.exists("Workbook") else "Book"  # type: ignore[attr-defined]
            encrypted = _xls_encrypted(_stream(ole, name, 1 << 20))
    except ExtractionError:
        raise
    except Exception as exc:
        raise ExtractionError(Status.PARSE_ERROR, f"damaged OLE compound file ({type(exc).__name__}: {exc})") from exc
    finally:
        ole.close()  # type: ignore[attr-defined]
    if encrypted:
        raise ExtractionError(Status.ENCRYPTED, f"password-protected legacy Office file (.{kind})")
