"""Builders of container files for the tests: archives (zip, tar, tar.gz, 7z, gz), e-mails
(.eml, .mbox) and Outlook messages (.msg), well-formed and hostile. Deterministic: the
same call gives the same bytes (fixed times).

An Outlook .msg is an OLE compound file ([MS-CFB]) of MAPI property streams
([MS-OXMSG]); no Python package writes one (extract-msg and olefile only read), so
:func:`compound_file` writes the compound file itself: version 3, 512-byte sectors,
streams under 4096 bytes in the mini stream, one FAT, no DIFAT sectors. Its output was
checked against olefile and against extract-msg 0.57 (read back subject, sender, body
and attachment).
"""

from __future__ import annotations

import email.policy
import gzip
import io
import struct
import tarfile
import zipfile
from email.message import EmailMessage

import docx

SECTOR = 512
MINI_SECTOR = 64
MINI_CUTOFF = 4096
FREE, END, FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF


# --- documents -------------------------------------------------------------------------------

def docx_bytes(*paragraphs: str) -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# --- archives --------------------------------------------------------------------------------

def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = compression
            archive.writestr(info, data)
    return buffer.getvalue()


def tar_bytes(members: dict[str, bytes], mode: str = "w:gz",
              links: dict[str, tuple[bytes, str]] | None = None) -> bytes:
    """A tar (``mode`` "w", "w:gz", "w:bz2", "w:xz"); ``links`` maps a name to (type, target)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
        for name, (kind, target) in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mtime = kind, target, 1_700_000_000
            archive.addfile(info)
    return buffer.getvalue()


def sevenzip_bytes(members: dict[str, bytes], password: str | None = None, encrypt_headers: bool = False) -> bytes:
    import py7zr

    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w", password=password, header_encryption=encrypt_headers) as archive:
        for name, data in members.items():
            archive.writestr(data, name)
    return buffer.getvalue()


def gzip_bytes(data: bytes, original_name: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename=original_name or "", mode="wb", fileobj=buffer, mtime=0) as out:
        out.write(data)
    return buffer.getvalue()


# --- e-mail ----------------------------------------------------------------------------------

def eml_bytes(html_body: str | None = None, text_body: str | None = None,
              attachments: dict[str, tuple[str, bytes]] | None = None, subject: str = "Q3 deliverables",
              sender: str = "Vendor Analyst <analyst@vendor.example>", charset: str = "utf-8") -> bytes:
    """A message with a plain and/or HTML body (multipart/alternative when both) and
    attachments (name -> (MIME type, bytes)), base64 or quoted-printable as the library
    chooses."""
    message = EmailMessage(policy=email.policy.default)
    message["From"] = sender
    message["To"] = "Client Security <security@client.example>"
    message["Subject"] = subject
    message["Date"] = "Tue, 02 Jan 2024 09:30:00 +0000"
    message["Message-ID"] = "<20240102093000.1234@vendor.example>"
    if text_body is not None:
        message.set_content(text_body, charset=charset)
        if html_body is not None:
            message.add_alternative(html_body, subtype="html", charset=charset)
    elif html_body is not None:
        message.set_content(html_body, subtype="html", charset=charset)
    for name, (mime, data) in (attachments or {}).items():
        maintype, subtype = mime.split("/")
        if mime == "message/rfc822":  # inline, as mailers attach a message
            inner = email.message_from_bytes(data, policy=email.policy.default)
            message.add_attachment(inner, filename=name)
        else:
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def mbox_bytes(messages: list[bytes]) -> bytes:
    out = b""
    for message in messages:
        out += b"From analyst@vendor.example Tue Jan  2 09:30:00 2024\n" + message.replace(b"\r\n", b"\n")
        out += b"" if message.endswith(b"\n") else b"\n"
        out += b"\n"
    return out


# --- Outlook .msg ----------------------------------------------------------------------------

def _tree_order(name: str) -> tuple[int, str]:
    """[MS-CFB] 2.6.4: siblings are ordered by name length, then by upper-cased name."""
    return len(name), name.upper()


class _Entry:
    def __init__(self, name: str, kind: int, data: bytes = b"") -> None:
        self.name, self.kind, self.data = name, kind, data
        self.children: list[_Entry] = []
        self.left = self.right = self.child = NOSTREAM
        self.start, self.size, self.sid = END, 0, 0


def _link_siblings(entries: list[_Entry]) -> int:
    """A binary search tree of siblings (all black: readers walk it, none rebalances)."""
    if not entries:
        return NOSTREAM
    middle = len(entries) // 2
    root = entries[middle]
    root.left = _link_siblings(entries[:middle])
    root.right = _link_siblings(entries[middle + 1:])
    return root.sid


def compound_file(streams: dict[str, bytes]) -> bytes:
    """An OLE compound file holding ``streams`` ("storage/sub/stream" -> bytes)."""
    root = _Entry("Root Entry", 5)
    storages: dict[str, _Entry] = {"": root}
    for path in sorted(streams):
        parent = root
        parts = path.split("/")
        for depth in range(len(parts) - 1):
            key = "/".join(parts[: depth + 1])
            if key not in storages:
                storages[key] = _Entry(parts[depth], 1)
                parent.children.append(storages[key])
            parent = storages[key]
        parent.children.append(_Entry(parts[-1], 2, streams[path]))
    order: list[_Entry] = []

    def number(entry: _Entry) -> None:
        entry.sid = len(order)
        order.append(entry)
        for child in entry.children:
            number(child)

    number(root)
    for entry in order:
        entry.children.sort(key=lambda e: _tree_order(e.name))
        entry.child = _link_siblings(entry.children)

    mini, mini_fat, big = bytearray(), [], []
    for entry in order:
        if entry.kind != 2:
            continue
        entry.size = len(entry.data)
        if entry.size == 0:
            entry.start = END
        elif entry.size < MINI_CUTOFF:
            entry.start = len(mini) // MINI_SECTOR
            count = -(-entry.size // MINI_SECTOR)
            mini_fat += [entry.start + i + 1 for i in range(count - 1)] + [END]
            mini += entry.data + bytes(count * MINI_SECTOR - entry.size)
        else:
            big.append(entry)

    def sectors(n_bytes: int) -> int:
        return -(-n_bytes // SECTOR)

    directory = sectors(len(order) * 128)
    mini_fat_sectors = sectors(len(mini_fat) * 4)
    mini_sectors = sectors(len(mini))
    data = directory + mini_fat_sectors + mini_sectors + sum(sectors(e.size) for e in big)
    fat_sectors = 1
    while fat_sectors * 128 < fat_sectors + data:
        fat_sectors += 1
    assert fat_sectors <= 109
    fat = [FATSECT] * fat_sectors
    blobs: list[bytes] = []

    def place(blob: bytes) -> int:
        if not blob:
            return END
        start = len(fat)
        count = sectors(len(blob))
        fat.extend([start + i + 1 for i in range(count - 1)] + [END])
        blobs.append(blob + bytes(count * SECTOR - len(blob)))
        return start

    directory_start = len(fat)
    fat.extend([directory_start + i + 1 for i in range(directory - 1)] + [END])
    blobs.append(b"")  # the directory, written once every start is known
    mini_fat_start = place(b"".join(struct.pack("<I", v) for v in mini_fat))
    root.start, root.size = place(bytes(mini)), len(mini)
    for entry in big:
        entry.start = place(entry.data)

    def dir_entry(e: _Entry) -> bytes:
        name = e.name.encode("utf-16-le") + b"\0\0"
        return struct.pack("<64sHBBIII16sIQQIQ", name, len(name), e.kind, 1, e.left, e.right, e.child,
                           bytes(16), 0, 0, 0, e.start, e.size)

    table = b"".join(dir_entry(e) for e in order)
    blobs[0] = table + b"".join(struct.pack("<64sHBBIII16sIQQIQ", bytes(64), 0, 0, 0, NOSTREAM, NOSTREAM,
                                            NOSTREAM, bytes(16), 0, 0, 0, 0, 0)
                                for _ in range(directory * 4 - len(order)))
    fat += [FREE] * (fat_sectors * 128 - len(fat))
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", bytes(16), 0x3E, 3, 0xFFFE,
                         9, 6, bytes(6), 0, fat_sectors, directory_start, 0, MINI_CUTOFF,
                         mini_fat_start, mini_fat_sectors, END, 0)
    header += b"".join(struct.pack("<I", i) for i in range(fat_sectors)) + b"\xff\xff\xff\xff" * (109 - fat_sectors)
    fat_bytes = b"".join(struct.pack("<I", v) for v in fat)
    return header + fat_bytes + b"".join(blobs)


def _props(header: bytes, entries: list[tuple[int, int]]) -> bytes:
    """A property stream: its header, then fixed-size properties (tag, value)."""
    return header + b"".join(struct.pack("<IIQ", tag, 6, value) for tag, value in entries)


def _text(tag: str, value: str) -> tuple[str, bytes]:
    return f"__substg1.0_{tag}001F", value.encode("utf-16-le")


def msg_bytes(body: str, subject: str = "Q3 figures", attachments: dict[str, bytes] | None = None,
              html: bytes | None = None) -> bytes:
    """An Outlook message: subject, sender, recipient, plain (and HTML) body, attachments."""
    streams: dict[str, bytes] = dict([
        _text("001A", "IPM.Note"), _text("0037", subject), _text("0C1A", "Vendor Analyst"),
        _text("0C1F", "analyst@vendor.example"), _text("0E04", "Client Security"), _text("1000", body),
        _text("1035", "<msg-1@vendor.example>"),
    ])
    if html is not None:
        streams["__substg1.0_10130102"] = html
    attachments = attachments or {}
    # 2024-01-02 09:30:00 UTC as a FILETIME (100 ns since 1601).
    submitted = (1704187800 + 11644473600) * 10_000_000
    streams["__properties_version1.0"] = _props(struct.pack("<8sIIII8s", bytes(8), 1, len(attachments), 1,
                                                             len(attachments), bytes(8)),
                                                [(0x00390040, submitted), (0x0E060040, submitted)])
    streams["__nameid_version1.0/__substg1.0_00020102"] = b""
    streams["__nameid_version1.0/__substg1.0_00030102"] = b""
    streams["__nameid_version1.0/__substg1.0_00040102"] = b""
    recip = "__recip_version1.0_#00000000/"
    streams.update({recip + k: v for k, v in [_text("3001", "Client Security"),
                                              _text("39FE", "security@client.example")]})
    streams[recip + "__properties_version1.0"] = _props(bytes(8), [(0x0C150003, 1)])
    for number, (name, data) in enumerate(attachments.items()):
        where = f"__attach_version1.0_#{number:08X}/"
        streams.update({where + k: v for k, v in [_text("3707", name), _text("3704", name[:12])]})
        streams[where + "__substg1.0_37010102"] = data
        streams[where + "__properties_version1.0"] = _props(bytes(8), [(0x37050003, 1), (0x0E200003, len(data))])
    return compound_file(streams)


# --- hostile ---------------------------------------------------------------------------------

def zip_bomb(size: int = 300 * 1024 * 1024) -> bytes:
    """One member of ``size`` zeros (deflate: about 1000:1)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("zeros.txt", "w") as out:
        block = bytes(1024 * 1024)
        for _ in range(size // len(block)):
            out.write(block)
    return buffer.getvalue()


def nested_bomb(levels: int = 4, fanout: int = 8) -> bytes:
    """42.zip-style: each level a zip of ``fanout`` copies of the level below, the bottom
    a 20 MB member of zeros."""
    data = zip_bytes({"zeros.txt": bytes(20 * 1024 * 1024)})
    for level in range(levels):
        data = zip_bytes({f"l{level}-{i}.zip": data for i in range(fanout)})
    return data


def overlapping_bomb(entries: int = 200, kernel: int = 10 * 1024 * 1024) -> bytes:
    """Fifield's overlapping-entry bomb, simplified: every central directory entry points
    at the same local file (one deflated kernel), so a small file declares
    ``entries`` times the kernel."""
    import zlib

    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    compressed = raw.compress(bytes(kernel)) + raw.flush()
    crc = zlib.crc32(bytes(kernel))
    name = b"k.txt"
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(compressed), kernel,
                        len(name), 0) + name + compressed
    central = b""
    for i in range(entries):
        entry_name = f"m{i}.txt".encode()
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(compressed),
                               kernel, len(entry_name), 0, 0, 0, 0, 0, 0) + entry_name
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, entries, entries, len(central), len(local), 0)
    return local + central + end


def encrypted_zip(members: dict[str, bytes], encrypted: set[str]) -> bytes:
    """A zip whose ``encrypted`` members have the encryption flag (ZipCrypto) and
    scrambled bytes; zipfile cannot write encrypted members, so the flag is set by hand."""
    data = bytearray(zip_bytes(members, zipfile.ZIP_STORED))
    for name in encrypted:
        encoded = name.encode()
        for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            at = data.find(signature)
            while at >= 0:
                name_at = at + (30 if signature == b"PK\x03\x04" else 46)
                if data[name_at:name_at + len(encoded)] == encoded:
                    data[at + flag_at] |= 0x01
                at = data.find(signature, at + 4)
    return bytes(data)
