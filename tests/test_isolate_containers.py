"""Containers in the isolated worker: members stream back one by one, equal to reading
in-process; a member that runs over its time limit (or kills the worker) is that member's
status and the rest of the archive is still read; the parent never parses archive bytes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from leakwatch.config import ExtractLimits
from leakwatch.extract import extract_members
from leakwatch.isolate import IsolatedExtractor
from leakwatch.model import ContainerEntry, ExtractionError, Member, MemberError, Status
from tests.containerdata import eml_bytes, tar_bytes, zip_bytes

PDFMINER = "pdfminer"


def slow_pdf_bytes() -> bytes:
    """A real PDF that takes pdfminer over a second: 60 full pages of text."""
    import io

    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    rng = random.Random(1)
    c = canvas.Canvas(buffer)
    for _ in range(60):
        for i in range(60):
            c.drawString(40, 800 - i * 12, " ".join(rng.choice(["alpha", "beta", "gamma"]) for _ in range(12)))
        c.showPage()
    c.save()
    return buffer.getvalue()


def test_members_from_the_worker_equal_members_read_in_process(tmp_path: Path) -> None:
    path = tmp_path / "d.zip"
    path.write_bytes(zip_bytes({"a.txt": b"first text", "in.tar.gz": tar_bytes({"b.md": b"# second"}),
                                "m.eml": eml_bytes(text_body="third")}))
    with IsolatedExtractor(ExtractLimits()) as iso:
        assert list(iso.members(path)) == list(extract_members(path, ExtractLimits()))
        # The worker is reused for the next file: the stream of the last one was read to its end.
        small = tmp_path / "s.txt"
        small.write_text("small")
        assert iso.extract(small)[1].text == "small"
        assert iso.restarts == 0
        with pytest.raises(ExtractionError) as err:
            iso.extract(path)
        assert err.value.status == Status.UNSUPPORTED


def test_a_member_over_the_time_limit_is_named_and_the_rest_is_read(tmp_path: Path) -> None:
    path = tmp_path / "d.zip"
    path.write_bytes(zip_bytes({"a.txt": b"before", "slow.pdf": slow_pdf_bytes(), "z.txt": b"after"}))
    with IsolatedExtractor(ExtractLimits(timeout_s=0.5, pdf_engine=PDFMINER)) as iso:
        items = list(iso.members(path))
        assert iso.restarts == 1
    members = {"!/".join(i.chain): i.extracted.text for i in items if isinstance(i, Member)}
    failed = {"!/".join(i.chain): i.status for i in items if isinstance(i, MemberError)}
    assert members == {"a.txt": "before", "z.txt": "after"}
    assert failed == {"slow.pdf": Status.TIMEOUT}
    assert sum(isinstance(i, ContainerEntry) for i in items) == 1  # not repeated on resuming


def test_the_whole_container_has_a_time_limit_too(tmp_path: Path) -> None:
    path = tmp_path / "d.zip"
    slow = slow_pdf_bytes()
    path.write_bytes(zip_bytes({"1.pdf": slow, "2.pdf": slow, "3.pdf": slow, "4.txt": b"never reached"}))
    limits = ExtractLimits(timeout_s=0.5, container_timeout_s=1.0, pdf_engine=PDFMINER)
    with IsolatedExtractor(limits) as iso:
        items = list(iso.members(path))
    failed = [("!/".join(i.chain), i.status) for i in items if isinstance(i, MemberError)]
    assert failed[-1] == ("", Status.TIMEOUT) and ("1.pdf", Status.TIMEOUT) in failed
    assert not any(isinstance(i, Member) and i.chain == ("4.txt",) for i in items)


def test_a_scan_of_a_container_with_a_lost_member_is_incomplete_not_clean(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from leakwatch.cli import cli

    (tmp_path / "doc.txt").write_text(" ".join(f"w{i}" for i in range(300)))
    runner = CliRunner()
    added = runner.invoke(cli, ["index", "add", str(tmp_path / "doc.txt"), "--store", str(tmp_path / "s")])
    assert added.exit_code == 0
    vendor = tmp_path / "v"
    vendor.mkdir()
    (vendor / "d.zip").write_bytes(zip_bytes({"slow.pdf": slow_pdf_bytes(), "ok.txt": b"nothing here"}))
    (tmp_path / "c.toml").write_text(f'[extract]\ntimeout_s = 0.5\npdf_engine = "{PDFMINER}"\n')
    result = runner.invoke(cli, ["scan", str(vendor), "--store", str(tmp_path / "s"), "--config",
                                 str(tmp_path / "c.toml"), "--format", "json", "--no-cache"])
    report = json.loads(result.stdout)
    assert result.exit_code == 3
    assert [(e["path"], e["status"]) for e in report["errors"]] == [(f"{vendor}/d.zip!/slow.pdf", "timeout")]
    assert report["summary"]["members_scanned"] == 1


def test_read_again_checks_bytes_in_the_parent_and_parses_them_in_the_worker(tmp_path: Path) -> None:
    """A source to verify or a deliverable to quote is read again in the worker: the bytes
    of each candidate are shown to the caller's check first (a keyed digest the worker
    cannot compute), and only accepted bytes are parsed."""
    import hashlib

    inner = b"Quarterly figures for the northern region, as agreed."
    archive = tmp_path / "delivery.zip"
    archive.write_bytes(zip_bytes({"docs/a.txt": inner, "docs/b.txt": b"Something else entirely."}))
    plain = tmp_path / "plain.txt"
    plain.write_bytes(inner)
    seen: list[bytes] = []

    def is_inner(data: bytes) -> bool:
        seen.append(data)
        return hashlib.sha256(data).digest() == hashlib.sha256(inner).digest()

    with IsolatedExtractor(ExtractLimits()) as isolated:
        found = isolated.read_again(f"{archive}!/docs/a.txt", is_inner)
        assert found is not None and found[0] == inner and found[1].text == inner.decode()
        assert seen == [inner]  # the member's own bytes, once, before parsing
        assert isolated.read_again(f"{archive}!/docs/b.txt", is_inner) is None  # rejected: not parsed
        assert isolated.read_again(str(plain), is_inner) is not None
        assert isolated.read_again(f"{archive}!/docs/gone.txt", is_inner) is None
        with pytest.raises(ExtractionError) as exc:
            isolated.read_again(str(tmp_path / "missing.txt"), is_inner)
        assert exc.value.status == Status.VANISHED
        # The worker is still in step: a scan after these reads gets its own replies.
        items = list(isolated.members(archive))
        assert sorted(i.chain for i in items if isinstance(i, Member)) == [("docs/a.txt",), ("docs/b.txt",)]


def test_a_read_again_during_a_walk_does_not_cross_the_walks_replies(tmp_path: Path) -> None:
    """Detection runs between the members of a file (a source is verified while the worker
    still owes the walk its replies): the re-read goes to a second worker, and both come
    back whole."""
    archive = tmp_path / "delivery.zip"
    archive.write_bytes(zip_bytes({f"m{i}.txt": f"Member number {i} of the delivery.".encode() for i in range(4)}))
    source = tmp_path / "source.txt"
    source.write_bytes(b"The registered source, read again for verification.")
    with IsolatedExtractor(ExtractLimits()) as isolated:
        texts = []
        for item in isolated.members(archive):
            if not isinstance(item, Member):
                continue  # the container's own entry
            again = isolated.read_again(str(source), lambda data: True)
            assert again is not None and again[1].text.startswith("The registered source")
            texts.append(item.extracted.text)
        assert texts == [f"Member number {i} of the delivery." for i in range(4)]
        assert isolated.read_again(str(source), lambda data: True) is not None  # and after it, the first worker
