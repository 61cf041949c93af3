"""Domain values shared by every stage: extracted text, file errors, findings."""

from __future__ import annotations

import bisect
import dataclasses
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


class Status(enum.StrEnum):
    """Outcome of reading one file. Every status but ``OK`` means "not scanned"."""

    OK = "ok"
    ENCRYPTED = "encrypted"
    TOO_LARGE = "too-large"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    UNREADABLE = "unreadable"
    VANISHED = "vanished"
    PARSE_ERROR = "parse-error"
    UNSUPPORTED = "unsupported"
    # The run was interrupted (SIGINT, SIGTERM) before this file was scanned.
    INTERRUPTED = "interrupted"


class LeakwatchWarning(UserWarning):
    """Something a user should know that does not stop the run (a key file others can
    read, an empty index). The CLI prints these as ``leakwatch: warning: ...``; the daemon
    logs them."""


class ExtractionError(Exception):
    """A file could not be turned into text; carries the per-file status."""

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# Containers (archives, e-mails): a member is named by the file that holds it, then its
# name in each container down the chain, joined by "!/" (as Java names jar entries):
# ``delivery.zip!/docs/a.docx``, ``delivery.zip!/inner.tar.gz!/x.txt``,
# ``mail.eml!/body.html``. A member name is relative, "/"-separated, with no "." or ".."
# (leakwatch.extract.container.safe_member_name).
MEMBER_SEPARATOR = "!/"


def member_path(path: str, members: Sequence[str]) -> str:
    """The name of a member of the file at ``path`` (the file itself when ``members`` is empty)."""
    return path + "".join(MEMBER_SEPARATOR + m for m in members)


def as_extraction_error(exc: BaseException) -> ExtractionError:
    """What went wrong reading a file (or a member), as its status: a parser's bug on
    hostile input is that file's ``parse-error``, not the run's end."""
    if isinstance(exc, ExtractionError):
        return exc
    if isinstance(exc, MemoryError):
        return ExtractionError(Status.MEMORY, "out of memory while extracting")
    if isinstance(exc, RecursionError):
        return ExtractionError(Status.PARSE_ERROR, "structure nested too deeply")
    return ExtractionError(Status.PARSE_ERROR, f"{type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class FileError:
    """A file, or a member of a container file, that could not be scanned or indexed.
    Never counts as clean.

    For a member, ``path`` names it with its container chain (:func:`member_path`),
    ``container`` is the path of the file that holds it and ``members`` the chain.
    """

    path: str
    status: Status
    message: str
    container: str | None = None
    members: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "status": str(self.status), "message": self.message}
        if self.container is not None:
            out["container"] = {"path": self.container, "members": list(self.members)}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileError:
        container = data.get("container") or {}
        return cls(data["path"], Status(data["status"]), data["message"], container.get("path"),
                   tuple(container.get("members", ())))


@dataclass(frozen=True)
class TextRegion:
    """Text of an extracted text that was read from an image by OCR.

    Attributes:
        start: offset of the region's first character in the extracted text.
        end: offset just past its last character.
        name: the image it was read from, as a reader finds it: ``page 3`` (a scanned
            PDF page or a TIFF frame), ``page 2, image 1`` (a picture on a PDF page),
            ``word/media/image1.png`` (a picture in a DOCX or PPTX), ``image``.
        size: the image's width and height in pixels, as it was read.
        words: each word's character span in the extracted text and its box on the
            image in pixels: ``(start, end, left, top, right, bottom)``.
    """

    start: int
    end: int
    name: str
    size: tuple[int, int]
    words: tuple[tuple[int, int, int, int, int, int], ...] = ()

    def box(self, start: int, end: int) -> tuple[int, int, int, int] | None:
        """The union of the boxes of the words overlapping ``[start, end)``, or None."""
        boxes = [w[2:] for w in self.words if w[0] < end and start < w[1]]
        if not boxes:
            return None
        return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                max(b[3] for b in boxes))

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "name": self.name, "size": list(self.size),
                "words": [list(w) for w in self.words]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextRegion:
        """The region :meth:`to_dict` gave; values are checked (they cross the worker pipe)."""
        width, height = (int(v) for v in data["size"])
        words = tuple(tuple(int(v) for v in w) for w in data["words"])
        if any(len(w) != 6 for w in words):
            raise ValueError("a word box needs six numbers")
        return cls(int(data["start"]), int(data["end"]), str(data["name"]), (width, height),
                   words)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ExtractedText:
    """The text of one file, as every later stage sees it.

    Attributes:
        text: the extracted text; character offsets in findings index this string.
            For plain-text formats it is the decoded file, unchanged.
        format: the detected format name (``text``, ``pdf``, ``docx`` ...).
        encoding: the character encoding used to decode it, or None for binary formats.
        page_starts: offsets where page 2, 3, ... begin (pages of a PDF, slides of a
            PPTX, sheets of an XLSX); empty for formats without pages.
        extractor_version: changes whenever an extractor's output changes, so that a
            store can tell which documents were indexed with older text.
        regions: the parts of the text read from images by OCR, in text order, with
            their words' positions on the image.
    """

    text: str
    format: str
    encoding: str | None = None
    page_starts: tuple[int, ...] = ()
    extractor_version: str = "1"
    language: str | None = None
    regions: tuple[TextRegion, ...] = ()

    @property
    def has_pages(self) -> bool:
        return self.format in PAGED_FORMATS

    def page_of(self, offset: int) -> int | None:
        """1-based page (slide, sheet) holding character ``offset``, or None."""
        if not self.has_pages:
            return None
        return bisect.bisect_right(self.page_starts, offset) + 1

    def header(self) -> dict[str, Any]:
        """Everything but the text, as JSON-able values (the isolated worker's reply)."""
        return {"format": self.format, "encoding": self.encoding, "page_starts": list(self.page_starts),
                "extractor_version": self.extractor_version, "language": self.language,
                "regions": [r.to_dict() for r in self.regions]}

    @classmethod
    def from_header(cls, header: dict[str, Any], text: str) -> ExtractedText:
        """The inverse of :meth:`header`; values are checked, as they come from a worker
        that read an untrusted file."""
        return cls(text=text, format=str(header["format"]), encoding=header["encoding"],
                   page_starts=tuple(int(p) for p in header["page_starts"]),
                   extractor_version=str(header["extractor_version"]), language=header["language"],
                   regions=tuple(TextRegion.from_dict(r) for r in header.get("regions", ())))

    def ocr_regions(self, start: int, end: int) -> list[dict[str, Any]]:
        """What a finding on ``[start, end)`` says about the images it was read from: each
        region it overlaps, by name, with the box of its words there (pixels) and the
        image's size. Empty when the span holds no OCR text."""
        out: list[dict[str, Any]] = []
        for region in self.regions:
            if region.start < end and start < region.end:
                box = region.box(start, end)
                out.append({"image": region.name, "bbox": None if box is None else list(box),
                            "image_size": list(region.size)})
        return out


# Formats whose text has pages (slides, sheets, spine chapters, image frames).
PAGED_FORMATS = frozenset({"pdf", "pptx", "xlsx", "odp", "ods", "epub", "xls", "ppt", "image"})


# --- what reading one file gives: its deliverables, one by one ------------------------------
#
# A plain file gives one Member (chain ()); a container gives a ContainerEntry for itself
# and for every container inside it, then its members, each a Member or a MemberError.
# The isolated worker streams these one by one (header() as JSON, then the bytes).


@dataclass(frozen=True)
class Member:
    """One deliverable read out of a file: the file itself (``chain == ()``) or a member
    of a container in it, with its own bytes (its sha256 is theirs) and its text.
    ``meta`` says what the containers said about it (``{"email": {...}}``: the headers of
    the innermost e-mail holding it)."""

    chain: tuple[str, ...]
    data: bytes
    extracted: ExtractedText
    meta: dict[str, Any] = field(default_factory=dict)

    def header(self) -> dict[str, Any]:
        return {"kind": "member", "chain": list(self.chain), "meta": self.meta, **self.extracted.header()}


@dataclass(frozen=True)
class MemberError:
    """A member (or a container, partly read) that could not be read: a status."""

    chain: tuple[str, ...]
    status: Status
    message: str

    def header(self) -> dict[str, Any]:
        return {"kind": "error", "chain": list(self.chain), "status": str(self.status), "message": self.message}


@dataclass(frozen=True)
class ContainerEntry:
    """A container was opened: the file itself (``chain == ()``) or one inside it."""

    chain: tuple[str, ...]
    format: str
    sha256: str
    size: int

    def header(self) -> dict[str, Any]:
        return {"kind": "container", "chain": list(self.chain), "format": self.format, "sha256": self.sha256,
                "size": self.size}


FileItem = Member | MemberError | ContainerEntry


def item_from_header(header: dict[str, Any], data: bytes = b"", text: str = "") -> FileItem:
    """The inverse of the items' ``header()`` (values checked: they come from a worker
    that read an untrusted file).

    Raises:
        KeyError, TypeError, ValueError: a malformed header.
    """
    chain = tuple(str(c) for c in header["chain"])
    kind = header["kind"]
    if kind == "member":
        meta = header.get("meta") or {}
        if not isinstance(meta, dict):
            raise TypeError("meta is not an object")
        return Member(chain, data, ExtractedText.from_header(header, text), meta)
    if kind == "error":
        status = Status(header["status"]) if header["status"] in Status._value2member_map_ else Status.PARSE_ERROR
        return MemberError(chain, status, str(header["message"]))
    if kind == "container":
        return ContainerEntry(chain, str(header["format"]), str(header["sha256"]), int(header["size"]))
    raise ValueError(f"unknown item kind {kind!r}")


class Severity(enum.IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Severity:
        try:
            return cls[value.upper()]
        except KeyError:
            raise ValueError(f"unknown severity {value!r} (low, medium, high)") from None


@dataclass(frozen=True)
class FindingKind:
    """A kind of finding, declared once by the detector that emits it (``Detector.kinds``).
    The detector registry collects them; SARIF's rules, the audit's confidential counts and
    the severity rule read them from there, so a new detector is one folder and one line."""

    id: str  # the finding JSON's "kind", e.g. "confidential-excerpt"
    name: str  # a SARIF rule name, e.g. "ConfidentialExcerpt"
    title: str  # one line
    description: str  # a paragraph
    default_severity: Severity  # SARIF's default level (high: error, medium: warning, low: note)
    # Registered confidential material: audits count it and the return check looks for it.
    confidential: bool = False
    # The deliverable as a whole is the copy: never rated low (``scoring.severity``).
    whole_document: bool = False


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    page: int | None = None


@dataclass(frozen=True)
class Scores:
    resemblance: float
    containment_deliverable: float
    containment_source: float
    matched_words: int
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "resemblance": round(self.resemblance, 4),
            "containment_deliverable": round(self.containment_deliverable, 4),
            "containment_source": round(self.containment_source, 4),
            "matched_words": self.matched_words,
            "confidence": round(self.confidence, 4),
        }


@dataclass(frozen=True)
class SourceRef:
    """Where a finding's material came from: an indexed document, a registered
    reference, or a shipped licence text (whose span is unknown: None)."""

    doc_id: str
    path: str
    label: str
    span: Span | None
    owner: str | None = None


@dataclass(frozen=True)
class Finding:
    """One contiguous copied passage (or one whole-document copy), or one notice.

    Notices (``copyright-notice``) have no source and no scores: they are found by
    what they say, not by matching anything.
    """

    id: str
    kind: str
    severity: Severity
    deliverable_path: str
    deliverable_sha256: str
    deliverable_span: Span
    source: SourceRef | None
    scores: Scores | None
    verified: bool = False
    # How the deliverable was read: offsets index its text as decoded with this encoding.
    deliverable_format: str | None = None
    deliverable_encoding: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "severity": str(self.severity),
            "deliverable": {
                "path": self.deliverable_path,
                "sha256": self.deliverable_sha256,
                "start": self.deliverable_span.start,
                "end": self.deliverable_span.end,
                "page": self.deliverable_span.page,
                "format": self.deliverable_format,
                "encoding": self.deliverable_encoding,
            },
            "source": None if self.source is None else {
                "doc_id": self.source.doc_id,
                "path": self.source.path,
                "label": self.source.label,
                "owner": self.source.owner,
                "start": self.source.span.start if self.source.span else None,
                "end": self.source.span.end if self.source.span else None,
                "page": self.source.span.page if self.source.span else None,
            },
            "scores": None if self.scores is None else self.scores.to_dict(),
            # True when the source span was checked word by word against the source
            # file at its registered path (sha matched); False when it rests on the
            # stored fingerprints alone.
            "verified": self.verified,
            **self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """The finding :meth:`to_dict` gave (a scan cache entry, a JSON report)."""
        d, src, sc = data["deliverable"], data["source"], data["scores"]
        source = None
        if src is not None:
            span = None if src["start"] is None else Span(src["start"], src["end"], src["page"])
            source = SourceRef(src["doc_id"], src["path"], src["label"], span, src.get("owner"))
        return cls(
            id=data["id"], kind=data["kind"], severity=Severity.parse(data["severity"]),
            deliverable_path=d["path"], deliverable_sha256=d["sha256"],
            deliverable_span=Span(d["start"], d["end"], d["page"]), source=source,
            scores=None if sc is None else Scores(**sc), verified=data["verified"],
            deliverable_format=d["format"], deliverable_encoding=d["encoding"],
            extra={k: v for k, v in data.items() if k not in _FINDING_KEYS},
        )


def with_ocr_regions(finding: Finding, extracted: ExtractedText) -> Finding:
    """``finding`` naming the images its deliverable span was read from by OCR (``ocr``:
    each image's name, the box of the span's words on it in pixels, the image's size)."""
    span = finding.deliverable_span
    regions = extracted.ocr_regions(span.start, span.end)
    if not regions:
        return finding
    return dataclasses.replace(finding, extra={**finding.extra, "ocr": regions})


_FINDING_KEYS = frozenset({"id", "kind", "severity", "deliverable", "source", "scores", "verified"})



@dataclass(frozen=True)
class Suppression:
    """Why a finding is not raised: accepted in a baseline (who, when, why) or matched
    by a rule of an ignore file."""

    origin: str  # "baseline" or "ignore"
    justification: str
    file: str | None = None  # the baseline or ignore file
    accepted_by: str | None = None
    accepted_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "justification": self.justification, "file": self.file,
                "accepted_by": self.accepted_by, "accepted_at": self.accepted_at}


@dataclass(frozen=True)
class SuppressedFinding:
    """A finding a baseline or an ignore file keeps out of the findings and the exit code."""

    finding: Finding
    suppression: Suppression

def matched_parts(f: Finding) -> tuple[SourceRef, Span, Scores]:
    """The source, its span and the scores of a finding that matched an indexed
    document (confidential or reference material).

    Raises:
        ValueError: the finding is a notice or a licence match, which have no source span.
    """
    if f.source is None or f.source.span is None or f.scores is None:
        raise ValueError(f"a {f.kind} finding has no source span")
    return f.source, f.source.span, f.scores


# Reads a file, or a member ``file!/member``, again if its bytes pass the check (made
# before they are parsed): a registered source to verify, a deliverable to quote. The
# scan's isolated worker gives one (:class:`leakwatch.pipeline.Extraction`).
ReadAgain = Callable[[str, Callable[[bytes], bool]], "tuple[bytes, ExtractedText] | None"]
