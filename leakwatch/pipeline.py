"""The two jobs every front end (CLI, daemon, batch) runs: index files, scan files.

Both read each file through the same extraction, tokenization and fingerprinting,
turn every per-file failure into a :class:`FileError` value, and go on.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from leakwatch.config import Config, ExtractLimits, config_identity
from leakwatch.detect import Deliverable, Detector
from leakwatch.extract import extract_members
from leakwatch.fingerprint import DocumentFingerprints, fingerprint_tokens
from leakwatch.model import (
    ContainerEntry,
    ExtractedText,
    ExtractionError,
    FileError,
    FileItem,
    Finding,
    Member,
    ReadAgain,
    Status,
    as_extraction_error,
    member_path,
    with_ocr_regions,
)
from leakwatch.results import (  # noqa: F401  (re-exported: the names callers have imported from here)
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_INCOMPLETE,
    EXIT_USAGE,
    FileScan,
    ScanReport,
    absolute_error,
    display_path,
)
from leakwatch.store import is_url
from leakwatch.store.base import FingerprintStore, NewDocument, SourceDocument, StoreError
from leakwatch.text import tokenize
from leakwatch.walk import Listing, iter_files

if TYPE_CHECKING:
    pass

@dataclass(frozen=True)
class AnalysedFile:
    """One deliverable, extracted and fingerprinted: a file, or a member of a container
    file at ``path`` (``members`` is its chain; ``data`` and so its sha256 are the
    member's own bytes; ``meta`` what its containers said, e.g. an e-mail's headers)."""

    path: Path
    data: bytes
    extracted: ExtractedText
    fingerprints: DocumentFingerprints
    members: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    container_sha256: str | None = None

    @property
    def registered_path(self) -> str:
        """The path a store records: the file's absolute path, then the member's chain."""
        return member_path(str(self.path.resolve()), self.members)

    @property
    def shown(self) -> str:
        return display_path(self.registered_path)


# Reads one file and gives its deliverables (the file itself, or a container's members):
# :func:`leakwatch.extract.extract_members` in this process, or an isolated worker's
# (see :func:`extraction`).
FileExtract = Callable[[Path, ExtractLimits], Iterator[FileItem]]


class Extraction:
    """How one run reads files: called like :func:`leakwatch.extract.extract_members`
    (every deliverable of a file), and :meth:`read_again`. Both go through the same door:
    the isolated worker, unless the configuration turns isolation off."""

    def __init__(self, members: FileExtract, read_again: ReadAgain, worker: Any = None) -> None:
        self._members, self.read_again, self._worker = members, read_again, worker

    def __call__(self, path: Path, limits: ExtractLimits) -> Iterator[FileItem]:
        return self._members(path, limits)

    @property
    def peak_rss_kb(self) -> int | None:
        """The most memory an isolated worker has needed (None: files are read in-process)."""
        return None if self._worker is None else int(self._worker.peak_rss_kb)


@contextmanager
def extraction(config: Config) -> Iterator[Extraction]:
    """How files are extracted for one run: in a limited worker process unless the
    configuration turns isolation off (``extract.isolate = false``)."""
    if not config.extract.isolate:
        from leakwatch.extract import read_again

        yield Extraction(extract_members, lambda path, accept: read_again(path, config.extract, accept))
        return
    from leakwatch.isolate import IsolatedExtractor

    with IsolatedExtractor(config.extract) as isolated:
        yield Extraction(isolated.members, isolated.read_again, isolated)


def analyse_members(path: Path, config: Config, store: FingerprintStore,
                    extract: FileExtract = extract_members) -> Iterator[AnalysedFile | FileError]:
    """Read one file and give each deliverable in it (the file itself, or every member
    of a container file), tokenized and fingerprinted with the store's key, or the error
    that stopped it: a member's error names the member (see :class:`FileError`)."""
    shown = display_path(path)
    container_sha: str | None = None
    items = extract(path, config.extract)
    given = False
    while True:
        try:
            item = next(items)
        except StopIteration:
            if not given:  # never "clean" for want of an answer
                yield FileError(shown, Status.PARSE_ERROR, "extraction gave nothing for this file")
            return
        except Exception as exc:  # MemoryError and RecursionError included
            error = as_extraction_error(exc)
            yield FileError(shown, error.status, error.message)
            return
        given = True
        if isinstance(item, ContainerEntry):
            container_sha = item.sha256 if not item.chain else container_sha
        elif isinstance(item, Member):
            tokens = tokenize(item.extracted.text)
            yield AnalysedFile(path, item.data, item.extracted, fingerprint_tokens(tokens, store.params, store.key),
                               item.chain, item.meta, container_sha)
        else:
            yield FileError(member_path(shown, item.chain), item.status, item.message,
                            shown if item.chain else None, item.chain)


def analyse_paths(paths: Iterable[Path], config: Config, store: FingerprintStore,
                  extract: FileExtract = extract_members) -> Iterator[AnalysedFile | FileError]:
    """Every deliverable under ``paths`` (files, and the members of container files),
    analysed, or the error that stopped it (in walk order)."""
    for listing in _listings(paths, config):
        if listing.error is not None:
            yield listing.error
        else:
            yield from analyse_members(listing.path, config, store, extract)


def _listings(paths: Iterable[Path], config: Config) -> Iterator[Listing]:
    store_dir = Path(config.store) if not is_url(config.store) else None
    exclude = (store_dir,) if store_dir is not None else ()
    return iter_files(list(paths), config.follow_symlinks, exclude)


def file_sha256(path: Path, limit: int | None = None) -> str | None:
    """Content hash read in chunks; None for a file over ``limit`` bytes (not read further)."""
    digest = hashlib.sha256()
    read = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            read += len(chunk)
            if limit is not None and read > limit:
                return None
            digest.update(chunk)
    return digest.hexdigest()


# --- corpus runs ---------------------------------------------------------------------------

@dataclass
class ExtractionRun:
    """What reading a whole tree gave: statuses, the slowest file, the memory needed."""

    by_status: Counter[str] = field(default_factory=Counter)
    errors: list[FileError] = field(default_factory=list)
    # Members of archives and e-mails read (a file's status is its first member error's).
    members: int = 0
    slowest: tuple[str, float] | None = None
    peak_rss_kb: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": sum(self.by_status.values()),
            "by_status": dict(sorted(self.by_status.items())),
            "members": self.members,
            "slowest": None if self.slowest is None else {"path": self.slowest[0],
                                                          "seconds": round(self.slowest[1], 3)},
            "peak_memory_mb": round(self.peak_rss_kb / 1024, 1),
            "seconds": round(self.seconds, 3),
            "errors": [e.to_dict() for e in self.errors],
        }


def check_extraction(paths: Iterable[Path], config: Config) -> ExtractionRun:
    """Extract every file under ``paths`` the way scans do (isolated, with the limits)
    and count the outcomes (a container's members each count): the corpus run of the
    hostile-input checks."""
    import resource

    run = ExtractionRun()
    started = time.monotonic()
    with extraction(config) as extract:
        for listing in iter_files(list(paths), config.follow_symlinks, ()):
            if listing.error is not None:
                run.by_status[str(listing.error.status)] += 1
                run.errors.append(listing.error)
                continue
            t0 = time.monotonic()
            shown = display_path(listing.path)
            # A file counts once: ok, or the status of its (first member's) error.
            status = Status.OK
            try:
                for item in extract(listing.path, config.extract):
                    if isinstance(item, Member):
                        run.members += bool(item.chain)
                    elif not isinstance(item, ContainerEntry):
                        status = item.status if status == Status.OK else status
                        run.errors.append(FileError(member_path(shown, item.chain), item.status, item.message,
                                                    shown if item.chain else None, item.chain))
            except ExtractionError as exc:
                status = exc.status
                run.errors.append(FileError(shown, exc.status, exc.message))
            run.by_status[str(status)] += 1
            elapsed = time.monotonic() - t0
            if run.slowest is None or elapsed > run.slowest[1]:
                run.slowest = (shown, elapsed)
        run.peak_rss_kb = extract.peak_rss_kb or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run.seconds = time.monotonic() - started
    return run


# --- indexing -----------------------------------------------------------------------------

@dataclass
class IndexResult:
    added: list[SourceDocument] = field(default_factory=list)
    replaced: list[SourceDocument] = field(default_factory=list)
    unchanged: list[SourceDocument] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    # The signal that stopped the run (the documents before it are registered, whole).
    interrupted: int | None = None

    @property
    def exit_code(self) -> int:
        if self.interrupted is not None:
            return 128 + self.interrupted
        return EXIT_INCOMPLETE if self.errors else EXIT_CLEAN


def new_document(analysed: AnalysedFile, store: FingerprintStore, label: str, owner: str | None,
                 fingerprints: DocumentFingerprints | None = None) -> NewDocument:
    """What the store records for an analysed file (its own fingerprints unless others are given)."""
    return NewDocument(
        path=analysed.registered_path,
        content_mac=store.key.content_mac(analysed.data),
        size=len(analysed.data),
        label=label,
        owner=owner,
        format=analysed.extracted.format,
        extractor_version=analysed.extracted.extractor_version,
        n_chars=len(analysed.extracted.text),
        page_starts=analysed.extracted.page_starts,
        fingerprints=fingerprints if fingerprints is not None else analysed.fingerprints,
    )


def index_paths(paths: Iterable[Path], store: FingerprintStore, config: Config, label: str,
                owner: str | None, extract: FileExtract = extract_members,
                documents: Iterable[NewDocument | FileError] | None = None) -> IndexResult:
    """Register every file under ``paths`` as confidential material (each member of an
    archive or e-mail as a document of its own, at ``<file>!/<member>``). ``documents``,
    when given, are those files already analysed elsewhere (``index add -j``:
    :func:`leakwatch.index_pool.documents_in_pool`); the store is written here, in walk
    order, either way."""
    result = IndexResult()
    if documents is None:
        documents = (analysed if isinstance(analysed, FileError) else document_of(analysed, store, label, owner)
                     for analysed in analyse_paths(paths, config, store, extract))
    # Grouped commits (the store's bulk mode): one sync per few seconds, not per file. On
    # an interruption the documents registered so far are committed, each whole.
    try:
        with store.bulk():
            for item in documents:
                if isinstance(item, FileError):
                    result.errors.append(item)
                    continue
                doc, action = store.add_document(item)
                getattr(result, action).append(doc)
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM (leakwatch.interrupt)
        from leakwatch.interrupt import signum_of

        result.interrupted = signum_of(exc)
    return result


def document_of(analysed: AnalysedFile, store: Any, label: str, owner: str | None) -> NewDocument | FileError:
    """What the store records for one analysed deliverable, or why it records nothing
    (``store`` gives the key and the fingerprint parameters)."""
    if analysed.fingerprints.keyed.size == 0:
        return FileError(analysed.shown, Status.UNSUPPORTED,
                         f"fewer than {store.params.shingle_size} words of text: nothing to fingerprint")
    return new_document(analysed, store, label, owner)


# --- the allow-list -------------------------------------------------------------------------

ALLOW_NOTE_PREFIX = "allow:"


@dataclass
class AllowResult:
    files: int = 0
    new_shingles: int = 0
    errors: list[FileError] = field(default_factory=list)


def allow_paths(paths: Iterable[Path], store: FingerprintStore, config: Config,
                extract: FileExtract = extract_members) -> AllowResult:
    """Put every keyed shingle of the files under ``paths`` on the allow-list.

    All shingles, not the winnowed sample: the list is subtracted shingle by
    shingle from deliverables, whose own winnowing picks different positions.
    """
    result = AllowResult()
    for analysed in analyse_paths(paths, config, store, extract):
        if isinstance(analysed, FileError):
            result.errors.append(analysed)
            continue
        keyed = analysed.fingerprints.keyed
        result.new_shingles += store.add_allowed(keyed)
        result.files += 1
        store.write_note(ALLOW_NOTE_PREFIX + analysed.registered_path, json.dumps(
            {"added_at": datetime.now(UTC).isoformat(timespec="seconds"), "shingles": int(np.unique(keyed).size)}))
    return result


# --- scanning -----------------------------------------------------------------------------

def _with_container(f: Finding, analysed: AnalysedFile) -> Finding:
    """A member's finding, with the file holding it and what its containers said."""
    container = {"path": display_path(analysed.path.resolve()), "sha256": analysed.container_sha256,
                 "members": list(analysed.members)}
    return replace(f, extra={**f.extra, "container": container, **analysed.meta})


def scan_analysed(analysed: AnalysedFile | FileError, detectors: Sequence[Detector]) -> FileScan:
    """Run every detector over one analysed deliverable (a file or a member).

    Raises:
        StoreError: the store, not this file, failed (the run stops with its message).
    """
    if isinstance(analysed, FileError):
        return FileScan(analysed.path, [], analysed)
    shown = analysed.shown
    deliverable = Deliverable(
        path=shown,
        sha256=hashlib.sha256(analysed.data).hexdigest(),
        extracted=analysed.extracted,
        fingerprints=analysed.fingerprints,
    )
    try:
        found = [f for detector in detectors for f in detector.detect(deliverable)]
    except StoreError:
        raise
    except Exception as exc:  # one bad file must not end a nightly run; it is reported
        where = display_path(analysed.path) if not analysed.members else shown
        return FileScan(where, [], FileError(where, Status.PARSE_ERROR, f"detection failed: {type(exc).__name__}: "
                                             f"{exc}", display_path(analysed.path) if analysed.members else None,
                                             analysed.members), deliverable.sha256)
    if analysed.members:
        found = [_with_container(f, analysed) for f in found]
    # One file's findings in reading order, whichever detector found them.
    found.sort(key=lambda f: (f.deliverable_span.start, f.deliverable_span.end))
    if analysed.extracted.regions:
        found = [with_ocr_regions(f, analysed.extracted) for f in found]
    return FileScan(shown, found, None, deliverable.sha256)


def scan_file(path: Path, config: Config, store: FingerprintStore, detectors: Sequence[Detector],
              extract: FileExtract = extract_members) -> FileScan:
    """Read and scan one file named directly (the batch workers', the daemon's unit of
    work); a container's members one by one, into one :class:`FileScan`."""
    findings: list[Finding] = []
    errors: list[FileError] = []
    members, sha = 0, None
    whole: FileScan | None = None  # a plain file's scan, or the file's own error
    # Read to the end even for a plain file (one item): an isolated worker's reply stream
    # is only done when it says so.
    for analysed in analyse_members(path, config, store, extract):
        if isinstance(analysed, AnalysedFile) and not analysed.members:
            whole = scan_analysed(analysed, detectors)
            continue
        if isinstance(analysed, FileError) and analysed.container is None and not members and not errors:
            whole = FileScan(analysed.path, [], analysed)
            continue
        if whole is not None and whole.error is not None:  # an error of the container, not of the file
            errors.append(whole.error)
            whole = None
        scanned = scan_analysed(analysed, detectors)
        if isinstance(analysed, AnalysedFile):
            sha = sha or analysed.container_sha256
        findings.extend(scanned.findings)
        if scanned.error is not None:
            errors.append(scanned.error)
        else:
            members += 1
    if whole is not None:
        return whole
    return FileScan(display_path(path.resolve()), findings, None, sha, tuple(errors), members)


def index_summary(store: FingerprintStore) -> dict[str, Any]:
    return {"store": store.location, "documents": store.count_documents(), "key_id": store.key.key_id}


def scan_paths(paths: Iterable[Path], store: FingerprintStore, config: Config, detectors: Sequence[Detector],
               on_file: Callable[[Path], None] | None = None,
               extract: FileExtract = extract_members) -> ScanReport:
    """Scan every file under ``paths`` against the store with ``detectors`` (a scan of
    every kind: :func:`leakwatch.detect.registry.default_detectors`)."""
    started = time.monotonic()
    report = ScanReport(index=index_summary(store), config=config_identity(config, store.params),
                        started_at=datetime.now(UTC).isoformat(timespec="seconds"))
    for listing in _listings(paths, config):
        if on_file is not None:
            on_file(listing.path)
        if listing.error is not None:
            report.add(FileScan(listing.error.path, [], listing.error))
        else:
            report.add(scan_file(listing.path, config, store, detectors, extract))
    report.duration_s = time.monotonic() - started
    return report
