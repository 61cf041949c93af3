"""Property tests on untrusted containers: any bytes, or a mutated valid archive or e-mail
of each format, give members and statuses (ContainerEntry, Member, MemberError) or one
ExtractionError for the file, never another exception and never a hang; member names are
always safe; member texts obey the extractor's contract.

Longer runs: ``LEAKWATCH_FUZZ_EXAMPLES=5000 python -m pytest tests/test_fuzz_containers.py``.
"""

from __future__ import annotations

import functools
import tarfile
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from leakwatch.config import ExtractLimits
from leakwatch.extract import CONTAINERS, EXTRACTORS, FORMATS
from leakwatch.extract.container import iter_members
from leakwatch.model import ContainerEntry, ExtractionError, Member, MemberError, Status
from tests.containerdata import (
    docx_bytes,
    eml_bytes,
    gzip_bytes,
    mbox_bytes,
    msg_bytes,
    sevenzip_bytes,
    tar_bytes,
    zip_bytes,
)
from tests.test_fuzz_extract import FUZZ, hang_guard

# Small limits: a mutation that turns into a bomb is refused quickly.
LIMITS = ExtractLimits(max_member_bytes=4 * 1024 * 1024, max_total_uncompressed=16 * 1024 * 1024,
                       max_members=500)
FAILURES = frozenset(Status) - {Status.OK}


@functools.cache
def seeds() -> dict[str, bytes]:
    text = b"A member with some words in it, enough to compress. " * 20
    return {
        "d.zip": zip_bytes({"a.txt": text, "docs/b.docx": docx_bytes("Docx member."), "c.md": b"# md"}),
        "d.tar.gz": tar_bytes({"a.txt": text, "b.txt": b"tar"}, links={"l": (tarfile.SYMTYPE, "a.txt")}),
        "d.tar": tar_bytes({"a.txt": text}, "w"),
        "d.txt.gz": gzip_bytes(text),
        "d.7z": sevenzip_bytes({"a.txt": text, "b/c.txt": b"seven"}),
        "m.eml": eml_bytes(html_body="<p>html body</p>", text_body="plain body",
                           attachments={"z.zip": ("application/zip", zip_bytes({"x.txt": text}))}),
        "box.mbox": mbox_bytes([eml_bytes(text_body="one"), eml_bytes(text_body="two")]),
        "o.msg": msg_bytes("msg body", attachments={"a.txt": text}),
    }


def check(name: str, data: bytes) -> None:
    try:
        with hang_guard():
            items = list(iter_members(name, data, LIMITS, FORMATS))
    except ExtractionError as error:
        assert error.status in FAILURES and error.message
        return
    for item in items:
        assert isinstance(item, ContainerEntry | Member | MemberError)
        for part in item.chain:
            assert part and ".." not in part.split("/") and not part.startswith("/") and "\x00" not in part
        if isinstance(item, Member):
            assert item.extracted.format in EXTRACTORS and len(item.extracted.text) <= LIMITS.max_text_chars
        elif isinstance(item, MemberError):
            assert item.status in FAILURES and item.message
        else:
            assert item.format in CONTAINERS


@FUZZ
@given(name=st.sampled_from(sorted(seeds())), data=st.binary(max_size=4096))
def test_random_bytes_under_a_container_name(name: str, data: bytes) -> None:
    check(name, data)


def _mutate(data: bytes, edits: list[tuple[float, int]], cut: float) -> bytes:
    out = bytearray(data[: max(1, int(len(data) * cut))])
    for where, value in edits:
        out[int(where * (len(out) - 1))] = value
    return bytes(out)


mutations: Callable[..., object] = given(
    name=st.sampled_from(sorted(seeds())),
    edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=12),
    cut=st.sampled_from([1.0, 1.0, 0.97, 0.8, 0.5]),
)


@FUZZ
@mutations
def test_mutated_valid_containers(name: str, edits: list[tuple[float, int]], cut: float) -> None:
    check(name, _mutate(seeds()[name], edits, cut))


@FUZZ
@given(inner=st.sampled_from(sorted(seeds())), outer=st.sampled_from(["z.zip", "t.tar.gz", "s.7z", "m.eml"]),
       edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=6))
def test_mutated_containers_inside_containers(inner: str, outer: str, edits: list[tuple[float, int]]) -> None:
    member = _mutate(seeds()[inner], edits, 1.0)
    wrap = {"z.zip": lambda d: zip_bytes({inner: d}), "t.tar.gz": lambda d: tar_bytes({inner: d}),
            "s.7z": lambda d: sevenzip_bytes({inner: d}),
            "m.eml": lambda d: eml_bytes(text_body="x", attachments={inner: ("application/octet-stream", d)})}
    check(outer, wrap[outer](member))
