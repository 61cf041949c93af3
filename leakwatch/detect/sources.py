"""Registered sources read again for verification, kept in memory by words.

A scan aligns a deliverable against the source's own words when the source file
is still at its registered path with the content its keyed digest names; the
store keeps no text, so this is the only way to exact spans. Reading goes
through the isolated extractor's door (``ReadAgain``) like every read of a file.
"""

from __future__ import annotations

import functools
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from leakwatch.config import Config
from leakwatch.detect.paraphrase import TermWeights, stemmed
from leakwatch.extract import read_again as read_again_here
from leakwatch.fingerprint import keyed_shingles
from leakwatch.model import ExtractedText, ReadAgain
from leakwatch.store.base import FingerprintStore, SourceDocument
from leakwatch.text import Tokens, tokenize


@dataclass(frozen=True)
class VerifiedSource:
    """A source re-read from its registered path, checked against its keyed digest."""

    text: str
    tokens: Tokens
    keyed: np.ndarray

    @functools.cached_property
    def stems(self) -> Tokens:
        """The words with content words stemmed, for the paraphrase stage (computed once)."""
        return stemmed(self.text, self.tokens)

    @functools.cached_property
    def weights(self) -> TermWeights:
        """How specific each stem is to where it appears in the source (computed once)."""
        return TermWeights.of(self.text, self.stems)


def word_tokens(extracted: ExtractedText, path: Path) -> Tokens | None:
    return tokenize(extracted.text)


class SourceReader:
    """Reads registered sources for verification, keeping recent ones in memory (up to
    ``detect.source_cache_words`` words, the least recently used dropped first).

    A source read and verified is kept by its document and keyed digest: that text is the
    registered version whatever happens to the file later. One that could not be read
    (moved, changed, its share offline) is tried again after ``RETRY_UNREADABLE_S``.
    ``tokens_of`` turns a source's text into the units its store fingerprints (words by
    default; normalized code tokens for the code references).
    """

    RETRY_UNREADABLE_S = 60.0
    MAX_ENTRIES = 4096

    def __init__(self, store: FingerprintStore, config: Config,
                 tokens_of: Callable[[ExtractedText, Path], Tokens | None] = word_tokens,
                 read_again: ReadAgain | None = None) -> None:
        self._store = store
        self._config = config
        # The isolated worker's door (a scan's); in-process reading only where isolation
        # is off or no scan is running (evaluations build detectors directly).
        self._read_again: ReadAgain = read_again or (
            lambda path, accept: read_again_here(path, config.extract, accept))
        self._max_words = config.detect.source_cache_words
        self._tokens_of = tokens_of
        # (doc_key, content_mac) -> (the source or None, when it was read)
        self._cache: OrderedDict[tuple[int, str], tuple[VerifiedSource | None, float]] = OrderedDict()
        self._words = 0

    def get(self, doc: SourceDocument) -> VerifiedSource | None:
        """The source's words and keyed shingles, or None if it moved or changed."""
        key = (doc.doc_key, doc.content_mac)
        if key in self._cache:
            source, at = self._cache[key]
            if source is not None or time.monotonic() - at < self.RETRY_UNREADABLE_S:
                self._cache.move_to_end(key)
                return source
            del self._cache[key]
        source = self._read(doc)
        self._cache[key] = (source, time.monotonic())
        self._words += len(source.tokens) if source is not None else 0
        while len(self._cache) > 1 and (self._words > self._max_words or len(self._cache) > self.MAX_ENTRIES):
            old, _ = self._cache.popitem(last=False)[1]
            self._words -= len(old.tokens) if old is not None else 0
        return source

    def _read(self, doc: SourceDocument) -> VerifiedSource | None:
        # A member of a registered archive or e-mail (``file!/member``) is found in its
        # file again by the same extraction code, and checked by its own digest.
        path = Path(doc.path)
        try:
            found = self._read_again(doc.path, lambda data: self._store.key.content_mac(data) == doc.content_mac)
        except Exception:  # unreadable, changed or unparsable: fall back to the stored fingerprints,
            return None  # never blame the source's failure on the deliverable
        if found is None:
            return None
        extracted = found[1]

        tokens = self._tokens_of(extracted, path)
        if tokens is None or len(tokens) != doc.n_words:
            return None
        return VerifiedSource(extracted.text, tokens, keyed_shingles(tokens, self._store.params, self._store.key))
