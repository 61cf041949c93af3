"""The one scanner: what a process (or a thread) needs to scan files.

A manual scan, a nightly batch (its pool workers, or Dask's), and each of the daemon's
scan lanes open one of these: the extraction door (an isolated worker), the store, the
reference library beside it and the detectors, opened in that order so the worker
starts while the rest opens. A long-lived scanner (``live``) notices when the index
changes (documents added by another process, a reference registered) and rebuilds its
detectors before the next file; a batch run keeps the index it started with, which its
scan cache is keyed on.
"""

from __future__ import annotations

import hashlib
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from leakwatch.config import Config
from leakwatch.detect import Detector
from leakwatch.detect.registry import default_detectors
from leakwatch.pipeline import Extraction, extraction, scan_file
from leakwatch.results import FileScan
from leakwatch.store import FingerprintStore, is_url, open_store

# The reference databases beside an embedded store (they may appear while a scanner is open).
REFERENCE_FILES = ("references.sqlite", "references-code.sqlite")


class Scanner:
    """Open with :meth:`open`; a context manager."""

    def __init__(self, config: Config, verify_sources: bool, live: bool, stack: ExitStack, extract: Extraction,
                 store: FingerprintStore) -> None:
        self.config, self.verify_sources, self.live = config, verify_sources, live
        self.stack, self.extract, self.store = stack, extract, store
        self.library: Any = None
        self.detectors: list[Detector] = []
        self._identity = ""
        self._refresh(force=True)

    @classmethod
    def open(cls, config: Config, verify_sources: bool = True, live: bool = False) -> Scanner:
        """Raises:
            StoreError: the store or the reference library cannot be opened."""
        stack = ExitStack()
        try:
            # The extraction worker first: it starts in the background while the store,
            # the reference library and the detectors are opened.
            extract = stack.enter_context(extraction(config))
            store = stack.enter_context(open_store(config))
            scanner = cls(config, verify_sources, live, stack, extract, store)
            stack.callback(scanner._close_library)
        except BaseException:
            stack.close()
            raise
        return scanner

    def index_identity(self) -> str:
        """A digest of the state of everything in the index that findings depend on: the
        store and the references, each by its location and its generation (which every
        change bumps: a document, table or reference added, replaced or removed, a note,
        the allow-list), and whether reference databases exist yet. One read per store,
        also for a shared Redis store of millions of passages."""
        digest = hashlib.sha256()
        parts = [self.store] + ([self.library.text, self.library.code] if self.library is not None else [])
        for part in parts:
            digest.update(f"[{part.location}] {part.generation()}\n".encode())
        if self.library is None and not is_url(self.config.store):
            present = [name for name in REFERENCE_FILES if (Path(self.config.store) / name).exists()]
            digest.update(f"references: {present}\n".encode())
        return digest.hexdigest()

    def _refresh(self, force: bool = False) -> None:
        from leakwatch.references import ReferenceLibrary

        identity = self.index_identity()
        if identity == self._identity and not force:
            return
        self._close_library()
        self.library = ReferenceLibrary.open(self.config, self.store)
        self.detectors = default_detectors(self.store, self.config, verify_sources=self.verify_sources,
                                           library=self.library, read_again=self.extract.read_again)
        self._identity = self.index_identity()

    def _close_library(self) -> None:
        if self.library is not None:
            self.library.close()
            self.library = None

    def scan(self, path: Path) -> FileScan:
        if self.live:
            self._refresh()
        return scan_file(path, self.config, self.store, self.detectors, self.extract)

    def close(self) -> None:
        self.stack.close()

    def __enter__(self) -> Scanner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
