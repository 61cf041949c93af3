"""The two jobs every front end (CLI, daemon, batch) runs: index files, scan files.

Both read each file through the same extraction, tokenization and fingerprinting,
turn every per-file failure into a :class:`FileError` value, and go on.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import leakwatch
from leakwatch.config import Config, ExtractLimits, config_identity
from leakwatch.detect import ConfidentialDetector, Deliverable, Detector
from leakwatch.detect.licence import LicenceDetector
from leakwatch.extract import extract_members
from leakwatch.fingerprint import DocumentFingerprints, fingerprint_tokens
from leakwatch.model import (
    MEMBER_SEPARATOR,
    ContainerEntry,
    ExtractedText,
    ExtractionError,
    FileError,
    FileItem,
    Finding,
    Member,
    ReadAgain,
    Severity,
    Status,
    SuppressedFinding,
    as_extraction_error,
    member_path,
    with_ocr_regions,
)
from leakwatch.store.base import FingerprintStore, NewDocument, SourceDocument, StoreError
from leakwatch.text import tokenize
from leakwatch.walk import Listing, iter_files

if TYPE_CHECKING:
    from leakwatch.references import ReferenceLibrary

# Exit codes (DESIGN.md): computed here, in one place.
EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3


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

    def __init__(self, members: FileExtract, read_again: ReadAgain) -> None:
        self._members, self.read_again = members, read_again

    def __call__(self, path: Path, limits: ExtractLimits) -> Iterator[FileItem]:
        return self._members(path, limits)


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
        yield Extraction(isolated.members, isolated.read_again)


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
    store_dir = Path(config.store) if "://" not in config.store else None
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


def display_path(path: Path | str) -> str:
    """A path as text that can always be printed (undecodable bytes escaped)."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def absolute_error(error: FileError) -> FileError:
    """The error naming its file by absolute path, as findings do (one rule for every
    report: a path relative to whatever the scan was given is ambiguous in a nightly
    job's record). Links are not resolved: an error names the path as listed."""
    if os.path.isabs(error.path):
        return error
    # Only the file's own path is made absolute; a member's chain stays as written.
    file_path, sep, chain = error.path.partition(MEMBER_SEPARATOR)
    container = error.container
    if container is not None and not os.path.isabs(container):
        container = os.path.abspath(container)
    return replace(error, path=os.path.abspath(file_path) + sep + chain, container=container)


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
        peak = getattr(extract, "__self__", None)
        run.peak_rss_kb = int(getattr(peak, "peak_rss_kb", 0)) or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
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
                owner: str | None, extract: FileExtract = extract_members, workers: int = 1) -> IndexResult:
    """Register every file under ``paths`` as confidential material (each member of an
    archive or e-mail as a document of its own, at ``<file>!/<member>``; analysed by
    ``workers`` processes when more than one; the store is written here, in walk order)."""
    result = IndexResult()
    # Grouped commits (the store's bulk mode): one sync per few seconds, not per file. On
    # an interruption the documents registered so far are committed, each whole.
    try:
        with store.bulk():
            for item in _documents(paths, store, config, label, owner, extract, workers):
                if isinstance(item, FileError):
                    result.errors.append(item)
                    continue
                doc, action = store.add_document(item)
                getattr(result, action).append(doc)
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM (leakwatch.interrupt)
        from leakwatch.interrupt import signum_of

        result.interrupted = signum_of(exc)
    return result


def _documents(paths: Iterable[Path], store: FingerprintStore, config: Config, label: str, owner: str | None,
               extract: FileExtract, workers: int) -> Iterator[NewDocument | FileError]:
    if workers > 1:
        from leakwatch.index_pool import documents_in_pool

        yield from documents_in_pool(paths, config, store.params, store.key, label, owner, workers)
        return
    for analysed in analyse_paths(paths, config, store, extract):
        yield analysed if isinstance(analysed, FileError) else document_of(analysed, store, label, owner)


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

@dataclass
class ScanReport:
    """Everything a scan found, and everything it could not look at."""

    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    files_scanned: int = 0
    # Members of archives and e-mails scanned (each a deliverable of its own).
    members_scanned: int = 0
    # Files left out because the scan cache shows them unchanged (``--changed-only``).
    files_unchanged: int = 0
    duration_s: float = 0.0
    index: dict[str, Any] = field(default_factory=dict)
    # Findings a baseline or an ignore file keeps out of ``findings`` and the exit code.
    suppressed: list[SuppressedFinding] = field(default_factory=list)
    # The settings the scan ran with (:func:`leakwatch.config.config_identity`), and when.
    config: dict[str, Any] = field(default_factory=dict)
    started_at: str | None = None
    # The signal that stopped the run before every file was scanned (SIGINT, SIGTERM), or
    # None. The files it left are in ``errors`` with status ``interrupted``.
    interrupted: int | None = None
    # An interrupted run lists what it had not reached for a few seconds at most: False
    # when that listing was cut short too (more files may be missing from the errors).
    listing_complete: bool = True
    # Findings keep locations, ids and scores only, and no report quotes text (``--redact``).
    redacted: bool = False

    @property
    def complete(self) -> bool:
        return not self.errors and self.interrupted is None

    def add(self, scanned: FileScan) -> None:
        if scanned.error is not None:
            self.errors.append(absolute_error(scanned.error))
        else:
            self.findings.extend(scanned.findings)
            self.files_scanned += 1
            self.members_scanned += scanned.members
        # Members of a container that could not be read: the file is not clean either.
        self.errors.extend(absolute_error(e) for e in scanned.member_errors)

    def exit_code(self, fail_on: Severity) -> int:
        """128 + the signal for an interrupted run (130, 143: it answers nothing), else 1
        for findings at or above ``fail_on`` (this wins: a leak is the news), else 3 when
        any file could not be scanned, else 0."""
        if self.interrupted is not None:
            return 128 + self.interrupted
        if any(f.severity >= fail_on for f in self.findings):
            return EXIT_FINDINGS
        if self.errors:
            return EXIT_INCOMPLETE
        return EXIT_CLEAN

    def summary(self) -> dict[str, Any]:
        return {
            "files_scanned": self.files_scanned,
            "members_scanned": self.members_scanned,
            "files_with_findings": len({f.deliverable_path for f in self.findings}),
            "files_not_scanned": len(self.errors),
            "files_unchanged": self.files_unchanged,
            "findings": len(self.findings),
            "suppressed": len(self.suppressed),
            "by_kind": dict(sorted(Counter(f.kind for f in self.findings).items())),
            "by_severity": dict(sorted(Counter(str(f.severity) for f in self.findings).items())),
            "complete": self.complete,
            "redacted": self.redacted,
            "duration_s": round(self.duration_s, 3),
            "index": self.index,
            **({"interrupted": signal.Signals(self.interrupted).name,
                "listing_complete": self.listing_complete} if self.interrupted is not None else {}),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "leakwatch": leakwatch.__version__,
            "findings": [f.to_dict() for f in self.findings],
            "errors": [e.to_dict() for e in self.errors],
            "summary": self.summary(),
        }


def default_detectors(store: FingerprintStore, config: Config, verify_sources: bool = True,
                      library: ReferenceLibrary | None = None, read_again: ReadAgain | None = None) -> list[Detector]:
    """The detector stages a scan runs: every kind, in one pass over each file. Registered
    sources are re-read for verification through ``read_again`` (the scan's isolated
    worker; in-process when none is given)."""
    # Imported here: the reference library itself indexes through this module.
    from leakwatch.detect.notices import NoticeDetector
    from leakwatch.detect.records import RecordsDetector
    from leakwatch.detect.reference import CopiedCodeDetector, ReferenceTextDetector

    # Licence text in a deliverable is reported as such, never as a confidential or
    # third-party passage (a licence block inside a registered document is public text).
    licences = LicenceDetector(allow=store)
    detectors: list[Detector] = [
        ConfidentialDetector(store, config, verify_sources=verify_sources, public_words=licences.licence_words,
                             read_again=read_again),
        licences,
        NoticeDetector(),
        RecordsDetector(store, config),
    ]
    if library is not None:
        detectors += [ReferenceTextDetector(library, config, allow=store, verify_sources=verify_sources,
                                            public_words=licences.licence_words, read_again=read_again),
                      CopiedCodeDetector(library, config)]
    return detectors


@dataclass(frozen=True)
class FileScan:
    """One file's scan: its findings (in reading order), or why it could not be scanned.

    For a container file (archive, e-mail), ``findings`` are its members' (each naming
    its member), ``members`` counts the members scanned and ``member_errors`` lists the
    members (or nested containers) that could not be: a file with member errors is not
    clean. ``sha256`` is the file's own (for a member finding, the member's sha256 is in
    the finding).
    """

    path: str
    findings: list[Finding]
    error: FileError | None = None
    sha256: str | None = None
    member_errors: tuple[FileError, ...] = ()
    members: int = 0

    @property
    def complete(self) -> bool:
        return self.error is None and not self.member_errors


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


def scan_paths(paths: Iterable[Path], store: FingerprintStore, config: Config,
               detectors: Sequence[Detector] | None = None,
               on_file: Callable[[Path], None] | None = None,
               extract: FileExtract = extract_members) -> ScanReport:
    """Scan every file under ``paths`` against the store."""
    started = time.monotonic()
    detectors = detectors if detectors is not None else default_detectors(store, config)
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
