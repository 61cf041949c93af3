"""Archives and e-mails read member by member (leakwatch/extract/container.py and the
readers beside it): what each format gives, the notation of member names, and every
hostile case (bombs, traversal names, links, truncation, encryption, lying sizes,
recursion), each a status for a member or for the archive, never a traceback."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakwatch.config import ExtractLimits
from leakwatch.extract import CONTAINERS, FORMATS, detect_format_full, extract_members, read_again, split_member_path
from leakwatch.extract.container import RawMember, iter_members, safe_member_name
from leakwatch.model import ContainerEntry, ExtractionError, FileItem, Member, MemberError, Status, member_path
from tests.containerdata import (
    docx_bytes,
    eml_bytes,
    encrypted_zip,
    gzip_bytes,
    mbox_bytes,
    msg_bytes,
    nested_bomb,
    overlapping_bomb,
    sevenzip_bytes,
    tar_bytes,
    zip_bomb,
    zip_bytes,
)

LIMITS = ExtractLimits()


def walk(name: str, data: bytes, limits: ExtractLimits = LIMITS) -> list[FileItem]:
    return list(iter_members(name, data, limits, FORMATS))


def texts(items: list[FileItem]) -> dict[str, str]:
    return {"!/".join(i.chain): i.extracted.text for i in items if isinstance(i, Member)}


def errors(items: list[FileItem]) -> dict[str, Status]:
    return {"!/".join(i.chain): i.status for i in items if isinstance(i, MemberError)}


# --- what each format gives -------------------------------------------------------------------

def test_zip_members_are_read_with_the_ordinary_extractors() -> None:
    data = zip_bytes({"docs/a.docx": docx_bytes("Paragraph in a docx."), "notes.md": b"# Notes\n\nplain",
                      "empty/": b""})
    items = walk("delivery.zip", data)
    assert isinstance(items[0], ContainerEntry) and items[0].format == "zip" and items[0].chain == ()
    assert texts(items) == {"docs/a.docx": "Paragraph in a docx.", "notes.md": "# Notes\n\nplain"}
    formats = {i.chain[-1]: i.extracted.format for i in items if isinstance(i, Member)}
    assert formats == {"docs/a.docx": "docx", "notes.md": "markdown"}
    assert detect_format_full(Path("delivery.zip"), data) == "zip"
    assert detect_format_full(Path("x.docx"), docx_bytes("x")) == "docx"  # Office zips stay documents


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_tar_in_every_compression_is_one_container(mode: str) -> None:
    items = walk("bundle.tar", tar_bytes({"a/x.txt": b"tar text", "b.txt": b"more"}, mode))
    assert [i.format for i in items if isinstance(i, ContainerEntry)] == ["tar"]
    assert texts(items) == {"a/x.txt": "tar text", "b.txt": "more"}


@pytest.mark.parametrize(("name", "data", "member"), [
    ("report.txt.gz", gzip_bytes(b"gzipped text"), "report.txt"),
    ("whatever.gz", gzip_bytes(b"gzipped text", "original.txt"), "original.txt"),
    ("report.txt.bz2", __import__("bz2").compress(b"gzipped text"), "report.txt"),
    ("report.txt.xz", __import__("lzma").compress(b"gzipped text"), "report.txt"),
])
def test_single_file_compression_names_the_file_inside(name: str, data: bytes, member: str) -> None:
    assert texts(walk(name, data)) == {member: "gzipped text"}


def test_7z_archive_is_read_in_memory() -> None:
    items = walk("a.7z", sevenzip_bytes({"s/one.txt": b"first member", "two.txt": b"second member"}))
    assert texts(items) == {"s/one.txt": "first member", "two.txt": "second member"}


def test_archives_inside_archives_are_opened_and_named_by_their_chain() -> None:
    inner = tar_bytes({"x.txt": b"deep text"})
    outer = zip_bytes({"inner.tar.gz": inner, "top.txt": b"top"})
    items = walk("delivery.zip", sevenzip_bytes({"delivery.zip": outer}))
    assert texts(items) == {"delivery.zip!/inner.tar.gz!/x.txt": "deep text", "delivery.zip!/top.txt": "top"}
    assert member_path("/d/a.7z", ("delivery.zip", "inner.tar.gz", "x.txt")) == \
        "/d/a.7z!/delivery.zip!/inner.tar.gz!/x.txt"


def test_eml_gives_its_html_body_once_and_attachments_recursively() -> None:
    data = eml_bytes(html_body="<html><body><p>The <b>HTML</b> body.</p></body></html>",
                     text_body="The plain body.",
                     attachments={"a.zip": ("application/zip", zip_bytes({"d.docx": docx_bytes("Docx in zip.")}))})
    items = walk("mail.eml", data)
    got = texts(items)
    assert set(got) == {"body.html", "a.zip!/d.docx"}  # the plain alternative is not read twice
    assert "The HTML body." in " ".join(got["body.html"].split())
    assert got["a.zip!/d.docx"] == "Docx in zip."
    meta = next(i.meta for i in items if isinstance(i, Member) and i.chain == ("a.zip", "d.docx"))
    assert meta["email"]["subject"] == "Q3 deliverables"
    assert meta["email"]["from"] == "Vendor Analyst <analyst@vendor.example>"
    assert meta["email"]["message_id"] == "<20240102093000.1234@vendor.example>"
    assert "Q3 deliverables" not in "".join(got.values())  # headers are metadata, not text


@pytest.mark.parametrize("charset", ["utf-8", "iso-8859-1", "koi8-r"])
def test_eml_bodies_in_any_charset_and_transfer_encoding(charset: str) -> None:
    body = "Привет мир." if charset == "koi8-r" else "Café déjà vu, naïve façade."
    items = walk("m.eml", eml_bytes(text_body=body, charset=charset))
    assert texts(items) == {"body.txt": body + "\n"}


def test_attached_message_and_mbox_messages_are_e_mails_of_their_own() -> None:
    forwarded = eml_bytes(text_body="Forwarded body.", subject="Original")
    outer = eml_bytes(text_body="See below.", attachments={"fwd.eml": ("message/rfc822", forwarded)})
    items = walk("outer.eml", outer)
    assert texts(items)["fwd.eml!/body.txt"] == "Forwarded body.\n"
    inner_meta = next(i.meta for i in items if isinstance(i, Member) and i.chain[-1] == "body.txt"
                      and len(i.chain) == 2)
    assert inner_meta["email"]["subject"] == "Original"
    box = walk("inbox.mbox", mbox_bytes([eml_bytes(text_body="One."), eml_bytes(text_body="Two.")]))
    assert texts(box) == {"message-1.eml!/body.txt": "One.\n", "message-2.eml!/body.txt": "Two.\n"}


def test_outlook_msg_body_attachments_and_headers() -> None:
    data = msg_bytes("The plain body of the message.", attachments={"report.docx": docx_bytes("Attached.")})
    items = walk("mail.msg", data)
    assert texts(items) == {"body.txt": "The plain body of the message.", "report.docx": "Attached."}
    meta = next(i.meta for i in items if isinstance(i, Member))
    assert meta["email"] == {"from": "Vendor Analyst <analyst@vendor.example>", "to": "Client Security",
                             "subject": "Q3 figures", "date": "2024-01-02T09:30:00+00:00",
                             "message_id": "<msg-1@vendor.example>"}
    html = walk("h.msg", msg_bytes("plain", html=b"<html><body>Rich body</body></html>"))
    assert set(texts(html)) == {"body.html"}


# --- names ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "shown"), [
    ("../../etc/passwd", "etc/passwd"), ("/etc/shadow", "etc/shadow"), ("a\\b\\c.txt", "a/b/c.txt"),
    ("C:\\Windows\\x.txt", "C:/Windows/x.txt"), ("./a/./b/../c.txt", "a/b/c.txt"),
    ("nul\x00byte.txt", "nul\\x00byte.txt"),
    ("", "unnamed"), ("..", "unnamed"), ("bad\udcffbyte", "bad\\xffbyte"),
])
def test_member_names_are_made_safe_for_display(raw: str, shown: str) -> None:
    assert safe_member_name(raw) == shown


def test_traversal_names_are_never_written_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    hostile = {"../../escape.txt": b"one", "/abs/escape.txt": b"two", "..\\..\\win.txt": b"three",
               "a/../../../up.txt": b"four"}
    for name, data in [("z.zip", zip_bytes(hostile)), ("t.tar", tar_bytes(hostile, "w")),
                       ("s.7z", sevenzip_bytes({"ok.txt": b"ok"}))]:
        items = walk(name, data)
        assert all(".." not in i.chain[-1] and not i.chain[-1].startswith("/") for i in items if i.chain)
    assert list(tmp_path.iterdir()) == [] and not (tmp_path.parent / "escape.txt").exists()
    assert texts(walk("z.zip", zip_bytes(hostile))) == {"escape.txt": "one", "abs/escape.txt": "two",
                                                         "win.txt": "three", "a/up.txt": "four"}


def test_repeated_names_are_told_apart() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for data in (b"first", b"second"):
            info = tarfile.TarInfo("a.txt")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    assert texts(walk("t.tar", buffer.getvalue())) == {"a.txt": "first", "a.txt (2)": "second"}


# --- hostile archives -------------------------------------------------------------------------

def test_links_in_tar_are_never_followed() -> None:
    data = tar_bytes({"a.txt": b"real"}, "w", links={
        "out": (tarfile.SYMTYPE, "/etc/passwd"), "up": (tarfile.SYMTYPE, "../../etc/passwd"),
        "in": (tarfile.SYMTYPE, "a.txt"), "hard": (tarfile.LNKTYPE, "a.txt"), "hard-out": (tarfile.LNKTYPE, "../x")})
    items = walk("t.tar", data)
    assert texts(items) == {"a.txt": "real"}
    assert errors(items) == {"out": Status.UNSUPPORTED, "up": Status.UNSUPPORTED, "hard-out": Status.UNSUPPORTED}


def test_zip_bomb_member_is_too_large_and_the_rest_is_read() -> None:
    bomb = zip_bomb(60 * 1024 * 1024)
    data = zip_bytes({"bomb.zip": bomb, "fine.txt": b"still read"})
    items = walk("d.zip", data)
    assert errors(items) == {"bomb.zip!/zeros.txt": Status.TOO_LARGE}
    assert texts(items) == {"fine.txt": "still read"}


def test_nested_42_style_bomb_stops_at_the_limits() -> None:
    items = walk("42.zip", nested_bomb(levels=3, fanout=8))
    assert not any(isinstance(i, Member) for i in items)
    assert errors(items) and set(errors(items).values()) == {Status.TOO_LARGE}
    deep = walk("42.zip", nested_bomb(levels=3, fanout=2), ExtractLimits(max_container_depth=2))
    assert any("nested over 2 deep" in i.message for i in deep if isinstance(i, MemberError))


def test_overlapping_entry_bomb_is_refused() -> None:
    items = walk("overlap.zip", overlapping_bomb())
    assert not any(isinstance(i, Member) for i in items)
    assert set(errors(items).values()) <= {Status.TOO_LARGE, Status.PARSE_ERROR}
    assert errors(items)


def test_total_uncompressed_limit_stops_the_walk_with_one_archive_error() -> None:
    data = zip_bytes({f"m{i}.txt": b"x" * 400_000 for i in range(10)})
    items = walk("d.zip", data, ExtractLimits(max_total_uncompressed=1_000_000))
    assert len(texts(items)) == 2
    assert list(errors(items).items()) == [("", Status.TOO_LARGE)]


def test_member_count_limit() -> None:
    data = zip_bytes({f"m{i}.txt": b"x" for i in range(30)})
    zipped = walk("d.zip", data, ExtractLimits(max_members=10))  # refused before zipfile builds its directory
    assert texts(zipped) == {} and errors(zipped) == {"": Status.TOO_LARGE}
    tarred = walk("d.tar", tar_bytes({f"m{i}.txt": b"x" for i in range(30)}, "w"), ExtractLimits(max_members=10))
    assert len(texts(tarred)) == 10 and list(errors(tarred).values()) == [Status.TOO_LARGE]


def test_huge_declared_size_is_refused_before_decompressing() -> None:
    data = bytearray(zip_bytes({"big.txt": b"small really"}, zipfile.ZIP_STORED))
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + size_at:at + size_at + 4] = (4_000_000_000).to_bytes(4, "little")
    assert errors(walk("d.zip", bytes(data))) == {"big.txt": Status.TOO_LARGE}


def test_encrypted_members_and_archives() -> None:
    items = walk("e.zip", encrypted_zip({"open.txt": b"readable", "locked.txt": b"secret"}, {"locked.txt"}))
    assert texts(items) == {"open.txt": "readable"} and errors(items) == {"locked.txt": Status.ENCRYPTED}
    assert errors(walk("e.7z", sevenzip_bytes({"a.txt": b"x"}, password="pw"))) == {"a.txt": Status.ENCRYPTED}
    assert errors(walk("h.7z", sevenzip_bytes({"a.txt": b"x"}, password="pw", encrypt_headers=True))) == \
        {"": Status.ENCRYPTED}


@pytest.mark.parametrize(("name", "data"), [
    ("d.zip", zip_bytes({"a.txt": b"a" * 5000, "b.txt": b"b" * 5000})),
    ("d.tar.gz", tar_bytes({"a.txt": b"a" * 5000, "b.txt": os.urandom(20000)})),
    ("d.7z", sevenzip_bytes({"a.txt": b"a" * 5000, "b.txt": b"b" * 5000})),
    ("d.txt.gz", gzip_bytes(os.urandom(20000))),
    ("d.msg", msg_bytes("body", attachments={"x.txt": b"x" * 6000})),
])
@pytest.mark.parametrize("cut", [0.3, 0.7, 0.95])
def test_truncated_archives_give_statuses_not_tracebacks(name: str, data: bytes, cut: float) -> None:
    truncated = data[: int(len(data) * cut)]
    try:
        items = walk(name, truncated)
    except ExtractionError as exc:  # the file itself is unreadable
        assert exc.status in set(Status) - {Status.OK}
        return
    assert all(isinstance(i, ContainerEntry | Member | MemberError) for i in items)


def test_a_container_that_holds_itself_is_not_opened_again(monkeypatch: pytest.MonkeyPatch) -> None:
    class Mirror:
        """A container format whose only member is its own bytes (a quine)."""

        name = "mirror"

        def members(self, name: str, data: bytes, limits: ExtractLimits, budget: object) -> Iterator[RawMember]:
            yield RawMember("self.mirror", read=lambda: data)

    monkeypatch.setitem(CONTAINERS, "mirror", Mirror())  # type: ignore[arg-type]
    monkeypatch.setattr("leakwatch.extract.sniff_container",
                        lambda sample: "mirror" if sample.head.startswith(b"MIRROR") else None)
    items = walk("q.mirror", b"MIRROR quine")
    assert errors(items) == {"self.mirror": Status.PARSE_ERROR}
    assert "holds itself" in next(i.message for i in items if isinstance(i, MemberError))


def test_a_member_of_any_registered_format_is_read_by_its_extractor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Formats added to the registry later (OpenDocument, RTF ...) are read inside archives too."""
    from leakwatch.extract import EXTRACTORS
    from leakwatch.extract.base import Extractor

    class Shouting(Extractor):
        name = "shouting"

        def extract(self, path: Path, data: bytes, limits: ExtractLimits) -> object:  # type: ignore[override]
            return self.result(data.decode().upper(), limits)

    monkeypatch.setitem(EXTRACTORS, "shouting", Shouting())
    original = detect_format_full
    monkeypatch.setattr("leakwatch.extract.detect_format_full",
                        lambda path, data: "shouting" if path.suffix == ".shout" else original(path, data))
    assert texts(walk("d.zip", zip_bytes({"a.shout": b"quiet words"}))) == {"a.shout": "QUIET WORDS"}


# --- reading a file, and one member again -----------------------------------------------------

def test_extract_members_reads_the_file_and_read_again_finds_one_member(tmp_path: Path) -> None:
    path = tmp_path / "delivery.zip"
    path.write_bytes(zip_bytes({"inner.tar.gz": tar_bytes({"x.txt": b"deep"}), "y.txt": b"top"}))
    items = list(extract_members(path, LIMITS))
    assert texts(items) == {"inner.tar.gz!/x.txt": "deep", "y.txt": "top"}
    wanted = f"{path}!/inner.tar.gz!/x.txt"
    assert split_member_path(wanted) == (path, "inner.tar.gz!/x.txt")
    assert split_member_path(str(path)) is None
    found = read_again(wanted, LIMITS, lambda data: data == b"deep")
    assert found is not None and found[1].text == "deep"
    assert read_again(wanted, LIMITS, lambda data: False) is None  # changed: not parsed


def test_plain_files_are_one_member_with_no_chain(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("just text")
    items = list(extract_members(path, LIMITS))
    assert len(items) == 1 and isinstance(items[0], Member) and items[0].chain == ()


def test_an_email_named_txt_is_read_as_an_email_only_when_it_looks_like_one() -> None:
    assert detect_format_full(Path("saved.txt"), eml_bytes(text_body="Body.")) == "eml"
    assert detect_format_full(Path("notes.txt"), b"From: me\nSubject: not really\n\nA note.") == "text"
    assert detect_format_full(Path("inbox"), mbox_bytes([eml_bytes(text_body="x")])) == "mbox"


def test_image_members_go_to_the_image_reader() -> None:
    """A member is read by whichever extractor its content names: a PNG attachment by the
    OCR image reader (this one is a signature and junk, which that reader cannot decode)."""
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    items = walk("m.eml", eml_bytes(text_body="Body.", attachments={"logo.png": ("image/png", png)}))
    assert errors(items) == {"logo.png": Status.PARSE_ERROR}


def test_member_data_and_text_round_trip_through_the_worker_header() -> None:
    from leakwatch.model import item_from_header

    for item in walk("m.eml", eml_bytes(text_body="Body.", attachments={"a.txt": ("text/plain", b"att")})):
        data = item.data if isinstance(item, Member) else b""
        text = item.extracted.text if isinstance(item, Member) else ""
        assert item_from_header(item.header(), data, text) == item


def test_bytes_io_is_enough_no_temp_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is written to disk while unpacking: the temp dir stays empty."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    data = zip_bytes({"a.7z": sevenzip_bytes({"x.txt": b"x"}), "b.tar.xz": tar_bytes({"y.txt": b"y"}, "w:xz"),
                      "m.mbox": mbox_bytes([eml_bytes(text_body="z")]), "o.msg": msg_bytes("w")})
    assert len(texts(walk("d.zip", data))) == 4
    assert list(tmp_path.iterdir()) == []
    assert io.BytesIO  # in-memory streams only
