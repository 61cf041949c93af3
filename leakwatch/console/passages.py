"""The two passages of a finding, side by side, with the words that differ marked.

Neither text is stored anywhere. The deliverable is read again from its path and shown
only if its bytes still have the sha256 the scan recorded; the registered source is read
from the path the store registered and shown only if its bytes have the keyed digest the
store holds (the key stays in the web process: the check runs here, on bytes the worker
hands over before it parses them). Both are parsed in the isolated extractor
(:mod:`leakwatch.isolate`, through :func:`leakwatch.pipeline.extraction`), never in the
web process: deliverables are hostile.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from leakwatch.config import Config
from leakwatch.model import ExtractionError
from leakwatch.report.html import DeliverableText, read_deliverable_text

CONTEXT_CHARS = 300
# Longer passages (a whole document re-delivered) are shown up to this many characters.
MAX_PASSAGE_CHARS = 20_000
# Words compared for the highlighting (difflib is quadratic in the worst case).
MAX_DIFF_WORDS = 4000


@dataclass(frozen=True)
class Segment:
    text: str
    changed: bool


@dataclass
class Side:
    """One passage as the page shows it: context before, the passage as segments, after."""

    path: str
    problem: str | None = None
    before: str = ""
    segments: list[Segment] = field(default_factory=list)
    after: str = ""
    truncated: bool = False

    @property
    def passage(self) -> str:
        return "".join(s.text for s in self.segments)


def _words(text: str) -> list[str]:
    # Each word keeps the spaces after it, so the segments put together give the text back.
    lead = re.match(r"\s*", text)
    head = [lead.group()] if lead and lead.group() else []
    return head + re.findall(r"\S+\s*", text[len(head[0]) if head else 0:])


def _key(token: str) -> str:
    return token.strip().lower()


def _segments(tokens: list[str], changed: list[bool]) -> list[Segment]:
    out: list[Segment] = []
    for token, flag in zip(tokens, changed, strict=True):
        flag = flag and bool(token.strip())
        if out and out[-1].changed == flag:
            out[-1] = Segment(out[-1].text + token, flag)
        else:
            out.append(Segment(token, flag))
    return out


def word_diff(a: str, b: str) -> tuple[list[Segment], list[Segment]]:
    """``a`` and ``b`` as segments, the words of each that the other lacks marked changed
    (compared case-insensitively, punctuation kept: ``Rate`` = ``rate``, ``rate,`` ≠ ``rate``)."""
    ta, tb = _words(a), _words(b)
    ka, kb = [_key(t) for t in ta[:MAX_DIFF_WORDS]], [_key(t) for t in tb[:MAX_DIFF_WORDS]]
    ca, cb = [True] * len(ta), [True] * len(tb)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ka, kb, autojunk=False).get_opcodes():
        if tag == "equal":
            ca[i1:i2] = [False] * (i2 - i1)
            cb[j1:j2] = [False] * (j2 - j1)
    return _segments(ta, ca), _segments(tb, cb)


def cut(text: str | None, start: int | None, end: int | None, path: str, problem: str | None) -> Side:
    """The passage ``text[start:end]`` with its context, or why it cannot be shown."""
    if text is None:
        return Side(path, problem or "text not available")
    if start is None or end is None:
        return Side(path, "the finding gives no span in this file")
    if not 0 <= start <= end <= len(text):
        return Side(path, f"the span ({start:,}–{end:,}) is outside the file's text ({len(text):,} characters)")
    left, right = max(0, start - CONTEXT_CHARS), min(len(text), end + CONTEXT_CHARS)
    passage, truncated = text[start:end], False
    if len(passage) > MAX_PASSAGE_CHARS:
        passage, truncated = passage[:MAX_PASSAGE_CHARS], True
    return Side(path, None, ("…" if left else "") + text[left:start], [Segment(passage, False)],
                text[end:right] + ("…" if right < len(text) else ""), truncated)


def compare(deliverable: Side, source: Side) -> None:
    """Mark the words that differ between the two passages (both must be shown)."""
    if deliverable.problem is None and source.problem is None:
        deliverable.segments, source.segments = word_diff(deliverable.passage, source.passage)


class TextReader:
    """Reads deliverables and registered sources again through one isolated extractor
    worker (started on first use, shared by the server's threads one at a time)."""

    def __init__(self, config: Config | None) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._stack = contextlib.ExitStack()
        self._extraction: Any = None

    def _read_again(self) -> Any:
        if self._extraction is None:
            from leakwatch.pipeline import extraction

            assert self._config is not None
            self._extraction = self._stack.enter_context(extraction(self._config))
        return self._extraction.read_again

    def close(self) -> None:
        with self._lock:
            self._stack.close()
            self._extraction = None

    def deliverable(self, path: str, sha256: str) -> DeliverableText:
        if self._config is None:
            return DeliverableText(problem="no configuration: files are not read")
        with self._lock:
            return read_deliverable_text(path, sha256, self._read_again())

    def source(self, doc_id: str | None) -> tuple[str | None, DeliverableText]:
        """(the registered path, its text) of an indexed document, if its bytes are the
        ones indexed."""
        if self._config is None or not doc_id:
            return None, DeliverableText(problem="source not available: no fingerprint store configured")
        from leakwatch.store import open_store
        from leakwatch.store.base import StoreError

        try:
            with open_store(self._config) as store:
                doc = store.find_document(doc_id)
                key = store.key
        except StoreError as exc:
            return None, DeliverableText(problem=f"source not available: the store cannot be opened ({exc})")
        if doc is None:
            return None, DeliverableText(problem="source not available: not a document of the store (a shipped "
                                                 "reference, or removed from the index since)")
        try:
            with self._lock:
                found = self._read_again()(doc.path, lambda data: key.content_mac(data) == doc.content_mac)
        except ExtractionError as exc:
            return doc.path, DeliverableText(problem=f"source not available: it cannot be read ({exc.status})")
        except Exception as exc:
            return doc.path, DeliverableText(problem=f"source not available: it cannot be extracted "
                                                     f"({type(exc).__name__})")
        if found is None:
            return doc.path, DeliverableText(problem="source not available: the file at the registered path is not "
                                                     "the one indexed (changed, replaced or gone)")
        return doc.path, DeliverableText(text=found[1].text)
