"""Bounded decoding for pdfminer.six: its stream decoders and the numeric ranges its font
and character-map code loops over are replaced, on import, by counted ones (see the
comment below). :mod:`leakwatch.extract.pdf` sets the budget of each document.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from types import SimpleNamespace

from pdfminer import cmapdb, pdffont, pdftypes
from pdfminer.ascii85 import ascii85decode, asciihexdecode
from pdfminer.ccitt import ccittfaxdecode
from pdfminer.lzw import LZWDecoder
from pdfminer.runlength import rldecode

from leakwatch.config import ExtractLimits
from leakwatch.model import ExtractionError, Status

# --- bounded decoding -------------------------------------------------------------------
# pdfminer inflates a stream in one call (zlib.decompress) and keeps the result, so a
# FlateDecode stream of a few MB of zeros became gigabytes in memory (a stream bomb;
# chained filters multiply the ratios); and its fallback for a damaged stream,
# decompress_corrupted, rebuilt its output byte by byte (quadratic: minutes for a 50 KB
# stream). The decoders pdfminer.pdftypes calls are replaced below by ones that count
# what they produce: one stream may decode to at most max_member_bytes, one document to
# max_total_uncompressed in all (the caps of Office zip members); past that the file is
# too-large.
#
# pdfminer's font and character-map code also loops over numeric ranges read from the
# file: `/W [0 4294967295 500]` in a font, or one `beginbfrange <00000000> <FFFFFFFF>`
# in a ToUnicode map, filled a dict with 4 billion entries (an 863-byte PDF ran out of
# memory), and a few hundred full 16-bit ranges took minutes. Every range() those two
# modules build is counted: one may span MAX_RANGE codes (16-bit codes need 65,536),
# a document MAX_RANGE_TOTAL in all.

_INFLATE_CHUNK = 64 * 1024
MAX_RANGE = 1 << 20
MAX_RANGE_TOTAL = 1 << 22


@dataclass
class _DecodeBudget:
    stream_cap: int
    remaining: int
    range_items: int = 0

    def room(self) -> int:
        return min(self.stream_cap, self.remaining)

    def charge(self, size: int) -> None:
        if size > self.stream_cap:
            raise ExtractionError(
                Status.TOO_LARGE, f"a PDF stream decodes to more than {self.stream_cap:,} bytes (stream bomb?)"
            )
        if size > self.remaining:
            raise ExtractionError(Status.TOO_LARGE, "PDF streams decode to more bytes in all than the limit")
        self.remaining -= size

    def count(self, items: int) -> None:
        self.range_items += items
        if items > MAX_RANGE:
            raise ExtractionError(Status.TOO_LARGE, f"a PDF font or character map spans {items:,} codes")
        if self.range_items > MAX_RANGE_TOTAL:
            raise ExtractionError(
                Status.TOO_LARGE, f"PDF fonts and character maps span more than {MAX_RANGE_TOTAL:,} codes in all"
            )


def new_budget(limits: ExtractLimits) -> _DecodeBudget:
    return _DecodeBudget(limits.max_member_bytes, limits.max_total_uncompressed)


BUDGET: ContextVar[_DecodeBudget | None] = ContextVar("leakwatch_pdf_decode_budget", default=None)


def _budget() -> _DecodeBudget:
    # Outside PdfExtractor.extract (pdfminer used directly): the default caps, per stream.
    return BUDGET.get() or new_budget(ExtractLimits())


def _feed(inflater: zlib._Decompress, piece: bytes, out: bytearray, limit: int) -> None:
    """Inflate ``piece`` onto ``out`` in slices, stopping once ``out`` reaches ``limit``."""
    produced = inflater.decompress(piece, _INFLATE_CHUNK)
    out += produced
    while len(produced) == _INFLATE_CHUNK and len(out) < limit:
        produced = inflater.decompress(inflater.unconsumed_tail, _INFLATE_CHUNK)
        out += produced


def _inflate(data: bytes, salvage: bool = False) -> bytes:
    """``zlib.decompress`` (or, with ``salvage``, pdfminer's ``decompress_corrupted``:
    keep the output of a stream damaged only in its last 3 bytes, its checksum),
    bounded by the decode budget and linear in its output.
    """
    budget = _budget()
    limit = budget.room() + 1  # one byte over the room is enough to know
    inflater = zlib.decompressobj()
    out = bytearray()
    pieces = [data[i : i + _INFLATE_CHUNK] for i in range(0, len(data), _INFLATE_CHUNK)] if salvage else [data]
    fed = 0
    for piece in pieces:
        saved = inflater.copy() if salvage else None
        size = len(out)
        try:
            _feed(inflater, piece, out, limit)
        except zlib.error:
            if saved is None:
                raise
            # Again a byte at a time from the piece's start, to keep what precedes the damage.
            inflater = saved
            del out[size:]
            for index in range(len(piece)):
                try:
                    _feed(inflater, piece[index : index + 1], out, limit)
                except zlib.error:
                    if fed + index < len(data) - 3:
                        raise
                    break
                if len(out) >= limit:
                    break
            budget.charge(len(out))
            return bytes(out)
        if len(out) >= limit:
            budget.charge(len(out))  # raises
        fed += len(piece)
    if not salvage and not inflater.eof:
        raise zlib.error("incomplete or truncated stream")
    budget.charge(len(out))
    return bytes(out)


def _lzw(data: bytes) -> bytes:
    budget = _budget()
    room = budget.room()
    out = bytearray()
    for piece in LZWDecoder(io.BytesIO(data)).run():
        out += piece
        if len(out) > room:
            budget.charge(len(out))  # raises
    budget.charge(len(out))
    return bytes(out)


def _runlength(data: bytes) -> bytes:
    # Up to 64 bytes out per byte in: the size is added up from the run headers first.
    size = index = 0
    while index < len(data) and data[index] != 128:
        length = data[index]
        size += length + 1 if length < 128 else 257 - length
        index += length + 2 if length < 128 else 2
    _budget().charge(size)
    return rldecode(data)


def _charged(decode: Callable[..., bytes]) -> Callable[..., bytes]:
    """A decoder whose output is bounded by its input (4:1 at most); charged afterwards."""

    def charged(*args: object) -> bytes:
        out = decode(*args)
        _budget().charge(len(out))
        return out

    return charged


def _counted_range(*args: int) -> range:
    span = range(*args)
    _budget().count(len(span))
    return span


cmapdb.__dict__["range"] = pdffont.__dict__["range"] = _counted_range
pdftypes.__dict__.update(
    zlib=SimpleNamespace(decompress=_inflate, decompressobj=zlib.decompressobj, error=zlib.error),
    decompress_corrupted=lambda data: _inflate(data, salvage=True),
    lzwdecode=_lzw,
    rldecode=_runlength,
    ascii85decode=_charged(ascii85decode),
    asciihexdecode=_charged(asciihexdecode),
    ccittfaxdecode=_charged(ccittfaxdecode),
)
