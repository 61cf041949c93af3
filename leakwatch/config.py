"""One typed, frozen configuration object, its defaults, and its TOML loader.

Every knob lives here with its default; the CLI, the daemon and the batch job
build one :class:`Config` and pass it explicitly. Command-line flags win over the
file (the file is read first, flags replace fields afterwards).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_STORE = "./fingerprints"
STORE_ENV = "LEAKWATCH_STORE"


class ConfigError(ValueError):
    """A configuration file or value is invalid (CLI exit code 2)."""


@dataclass(frozen=True)
class FingerprintParams:
    """How documents are turned into fingerprints.

    These values are recorded in a store when it is created; a store is always
    read with the parameters it was built with.

    Note:
        Winnowing keeps the minimum hash of every window of ``winnow_window``
        consecutive word ``shingle_size``-grams, so any copied run of at least
        ``shingle_size + winnow_window - 1`` words shares at least one stored
        fingerprint with its source (20 words with the defaults), and no match
        is shorter than ``shingle_size`` words.
    """

    shingle_size: int = 5
    winnow_window: int = 16
    # Passage windows are counted in shingles; a window spans two strides so that
    # any copied paragraph of a window's length lies at least 3/4 inside one window.
    passage_stride: int = 40
    num_perm: int = 128
    seed: int = 1
    lsh_threshold: float = 0.5
    # Unordered bags of content words per passage find reworded passages that share
    # few exact runs; a lower threshold, as rewording keeps only part of the words.
    bag_lsh_threshold: float = 0.3

    @property
    def passage_window(self) -> int:
        return 2 * self.passage_stride

    @property
    def guaranteed_run(self) -> int:
        """Length in words of the shortest copied run that winnowing always finds."""
        return self.shingle_size + self.winnow_window - 1

    def validate(self) -> None:
        if not 2 <= self.shingle_size <= 16:
            raise ConfigError("fingerprint.shingle_size must be between 2 and 16")
        if not 1 <= self.winnow_window <= 64:
            raise ConfigError("fingerprint.winnow_window must be between 1 and 64")
        if self.guaranteed_run > 40:
            raise ConfigError("shingle_size + winnow_window - 1 must be at most 40 words")
        if not 10 <= self.passage_stride <= 100:
            raise ConfigError("fingerprint.passage_stride must be between 10 and 100 shingles")
        if self.num_perm < 16 or self.num_perm > 1024:
            raise ConfigError("fingerprint.num_perm must be between 16 and 1024")
        if not 0.05 <= self.lsh_threshold <= 0.95:
            raise ConfigError("fingerprint.lsh_threshold must be between 0.05 and 0.95")
        if not 0.05 <= self.bag_lsh_threshold <= 0.95:
            raise ConfigError("fingerprint.bag_lsh_threshold must be between 0.05 and 0.95")


PDF_ENGINES = ("auto", "pdfminer")
_OCR_LANGUAGES = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\+[A-Za-z][A-Za-z0-9_]*)*")


@dataclass(frozen=True)
class ExtractLimits:
    """Caps applied while reading a file; going over one is a per-file error."""

    max_file_bytes: int = 200 * 1024 * 1024
    max_text_chars: int = 50_000_000
    # Office Open XML packages are zip files: each member and their sum are capped
    # before decompression, and so is the compression ratio (zip bombs). The same two
    # caps bound what a PDF's streams may decode to (one stream, and the document).
    max_member_bytes: int = 100 * 1024 * 1024
    max_total_uncompressed: int = 400 * 1024 * 1024
    max_members: int = 10_000
    max_compression_ratio: float = 200.0
    max_pdf_pages: int = 5_000
    # Archives and e-mails (leakwatch.extract.container): the four caps above apply to
    # their members too, counted over the whole file (members of nested containers
    # included); a container nested deeper than this is not opened.
    max_container_depth: int = 5
    # Wall clock for all the members of one container file together (each member also
    # has ``timeout_s`` of its own); members not reached in time get ``timeout``.
    container_timeout_s: float = 1800.0
    # "auto": PDFium (pypdfium2) reads the PDFs its screen passes, pdfminer.six the rest
    # and any PDFium cannot open; "pdfminer": pdfminer.six for every PDF (slower). See
    # leakwatch.extract.pdf. Index and scan must use the same value.
    pdf_engine: str = "auto"
    # Files are extracted in a worker process under these limits (see leakwatch.isolate);
    # a file over one gets the status timeout or memory, never "clean".
    isolate: bool = True
    timeout_s: float = 120.0
    max_memory_mb: int = 4096
    max_cpu_s: int = 300
    # A worker is replaced after this many files, so a parser's leak never accumulates.
    recycle_after: int = 500
    # OCR (Tesseract) of images, of PDF pages without a text layer and of pictures in
    # documents (see leakwatch.extract.ocr). Each image or page gets ocr_timeout_s of its
    # own (the file's timeout_s is extended by as much); a file needing more than
    # ocr_max_images is too-large. Index and scan must use the same values.
    ocr: bool = True
    ocr_languages: str = "eng"
    ocr_timeout_s: float = 60.0
    ocr_max_images: int = 500
    ocr_dpi: int = 300
    # Images (and PDF pages as rendered for OCR) over this many pixels are too-large:
    # decompression bombs decode a few KB into gigabytes.
    max_image_pixels: int = 100_000_000

    def validate(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, bool | str) and value <= 0:
                raise ConfigError(f"extract.{f.name} must be positive")
        if self.pdf_engine not in PDF_ENGINES:
            raise ConfigError(f"extract.pdf_engine must be one of {', '.join(PDF_ENGINES)}")
        if not _OCR_LANGUAGES.fullmatch(self.ocr_languages):
            raise ConfigError("extract.ocr_languages must be Tesseract language names joined by '+', like eng+deu")
        if not 72 <= self.ocr_dpi <= 1200:
            raise ConfigError("extract.ocr_dpi must be between 72 and 1200")


@dataclass(frozen=True)
class DetectParams:
    """Thresholds of the detection stages."""

    # A finding needs this many matched words (equal to the winnowing guarantee
    # by default, so the stated guarantee is also what gets reported).
    min_words: int = 20
    # A reworded fragment of fewer matched words (down to this) is a piece: kept only when,
    # with its neighbours, it makes a summary of a source (a summary draws a sentence or a
    # clause from each part), never reported alone. Chosen under grouped cross-validation
    # on the PAN training set (summary plagdet 0.504 -> 0.61; docs/detection-quality.md).
    min_summary_piece_words: int = 8
    # Seeds further apart than this (in words, on either side) start a new passage.
    max_gap: int = 30
    # A fingerprint found in more than this fraction of indexed documents (and at
    # least `min_df_docs` of them) is boilerplate and never seeds a match.
    max_df_fraction: float = 0.2
    min_df_docs: int = 5
    # Whole-document near-duplicate: both containments at least this high.
    near_duplicate_containment: float = 0.8
    # Severity (detect.scoring.severity): high needs both this confidence and high_words
    # (or a whole document); medium needs medium_words.
    high_confidence: float = 0.9
    high_words: int = 50
    medium_words: int = 30
    # Documents aligned per deliverable for reworded passages: those with a stored passage
    # whose content-word bag resembles a window of the deliverable at least this much
    # (estimated on the full signatures of band-sharing pairs), the most resembling
    # first, at most max_reworded_candidates; documents sharing exact fingerprints are
    # always aligned.
    min_reworded_resemblance: float = 0.2
    max_reworded_candidates: int = 32
    # That estimate over every window and passage (it costs windows x passages) for at most
    # this many documents, those whose band-sharing pairs resemble most; over the
    # band-sharing pairs only for the rest (detect.candidates).
    max_reworded_looks: int = 256
    # Registered sources kept in memory once read again and verified, in words (about 50
    # bytes a word with their tokens and keyed shingles): a daemon scanning deliverables
    # on the same subjects reads each source once, not once a deliverable.
    source_cache_words: int = 2_000_000

    def validate(self) -> None:
        if self.min_words < 1:
            raise ConfigError("detect.min_words must be at least 1")
        if self.min_summary_piece_words < 1:  # at min_words or above: no pieces
            raise ConfigError("detect.min_summary_piece_words must be at least 1")
        if self.max_gap < 1:
            raise ConfigError("detect.max_gap must be at least 1")
        if not 0 <= self.high_confidence <= 1:
            raise ConfigError("detect.high_confidence must be in [0, 1]")
        if not 0 <= self.min_reworded_resemblance <= 1:
            raise ConfigError("detect.min_reworded_resemblance must be in [0, 1]")
        if self.max_reworded_candidates < 0:
            raise ConfigError("detect.max_reworded_candidates must be 0 or more")
        if self.source_cache_words < 0:
            raise ConfigError("detect.source_cache_words must be 0 or more")
        if self.max_reworded_looks < self.max_reworded_candidates:
            raise ConfigError("detect.max_reworded_looks must be at least detect.max_reworded_candidates")
        if not 0 < self.max_df_fraction <= 1:
            raise ConfigError("detect.max_df_fraction must be in (0, 1]")
        if not 0 < self.near_duplicate_containment <= 1:
            raise ConfigError("detect.near_duplicate_containment must be in (0, 1]")


@dataclass(frozen=True)
class RecordsParams:
    """Exact data match over registered tables (``leakwatch index add-table``).

    A deliverable leaks a registered row when it holds values of at least
    ``min_cells`` distinct cells of that row within ``proximity_chars`` of a
    distinctive value of a key column (the anchor). Values shared by many rows
    (a country, a currency, a plan name) never anchor a match: they only count
    beside a distinctive one.
    """

    min_cells: int = 2
    proximity_chars: int = 400
    # A value found in more rows than min(max_anchor_rows, max_anchor_fraction x rows)
    # of its table is common: it corroborates but does not anchor.
    max_anchor_rows: int = 10
    max_anchor_fraction: float = 0.1
    # Cells longer than this many words are prose, left to the passage fingerprints.
    max_cell_words: int = 12
    # A spreadsheet deliverable whose cell values (as a multiset) resemble a registered
    # table's this much is a near-copy of it (rows re-sorted, columns moved, a few
    # values changed).
    near_duplicate_resemblance: float = 0.7
    # Matched rows from which a records finding is high (medium from 2 rows, low for 1).
    high_rows: int = 3

    def validate(self) -> None:
        if self.min_cells < 1:
            raise ConfigError("records.min_cells must be at least 1")
        if self.proximity_chars < 1:
            raise ConfigError("records.proximity_chars must be at least 1")
        if self.max_anchor_rows < 1:
            raise ConfigError("records.max_anchor_rows must be at least 1")
        if not 0 < self.max_anchor_fraction <= 1:
            raise ConfigError("records.max_anchor_fraction must be in (0, 1]")
        if not 1 <= self.max_cell_words <= 32:
            raise ConfigError("records.max_cell_words must be between 1 and 32")
        if not 0 < self.near_duplicate_resemblance <= 1:
            raise ConfigError("records.near_duplicate_resemblance must be in (0, 1]")
        if self.high_rows < 1:
            raise ConfigError("records.high_rows must be at least 1")


# Copied-code matching counts structure tokens, not words (a line of code is about 6
# of them): a reference file is a candidate copy when tiles cover 70% of it, then
# confirmed by its literal texts or comments (leakwatch.detect.code.compare, measured on
# IR-Plag leaving one case out: scripts/eval_code.py); a passage is a stretch of 40
# tokens or more (a function of 6-8 lines).
@dataclass(frozen=True)
class CodeMatchParams:
    """When a deliverable holds a copy of a reference's code (measured by
    ``scripts/eval_code.py``, leave one IR-Plag case out)."""

    shingle_size: int = 5  # tokens per k-gram = the minimum tile length
    coverage: float = 0.7  # stage 1: share of the region's tokens covered by tiles
    literals: float = 0.9  # stage 2: share of the region's distinct literals found verbatim
    min_literal_words: int = 3  # ... holding at least this many words between them
    unconfirmed_tokens: int = 120  # a region this large (about 15 lines) needs no verbatim evidence ...
    unconfirmed_coverage: float = 0.95  # ... when covered this well
    passage_tokens: int = 40  # the smallest passage worth a finding (6-8 lines)
    max_gap: int = 20  # tokens between tiles of one passage


CODE_MATCH = CodeMatchParams()


CODE_DETECT = DetectParams(min_words=CODE_MATCH.passage_tokens, max_gap=CODE_MATCH.max_gap,
                           near_duplicate_containment=CODE_MATCH.coverage, high_words=260, medium_words=160)


# Names that editors, browsers and copy tools give files still being written; they are
# scanned under their final name, after the rename.
TEMPORARY_PATTERNS = ("*.part", "*.partial", "*.crdownload", "*.tmp", "~$*", ".~lock.*#", "*.swp", ".#*")
QUARANTINE_ON = ("off", "findings", "unscannable", "both")


@dataclass(frozen=True)
class WatchFolder:
    """One vendor delivery folder the daemon watches."""

    path: str
    # The engagement the folder belongs to; every alert names it.
    vendor: str = ""
    include: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    # SMB/NFS shares send no inotify events: poll them instead.
    polling: bool = False
    # Lowest severity that raises an alert (unscannable files always do).
    alert_on: str = "low"
    # Move the file into watch.quarantine_dir on: off, findings, unscannable, both.
    quarantine: str = "off"
    # Accepted findings (leakwatch baseline create) and an ignore file: not alerted.
    baseline: str = ""
    ignore: str = ""

    @property
    def name(self) -> str:
        return self.vendor or Path(self.path).name

    def validate(self) -> None:
        if not self.path:
            raise ConfigError("[[watch.folders]] path must not be empty")
        if self.alert_on not in ("low", "medium", "high"):
            raise ConfigError(f"[[watch.folders]] alert_on must be low, medium or high, got {self.alert_on!r}")
        if self.quarantine not in QUARANTINE_ON:
            raise ConfigError(f"[[watch.folders]] quarantine must be one of {', '.join(QUARANTINE_ON)}, "
                              f"got {self.quarantine!r}")


@dataclass(frozen=True)
class WatchSettings:
    """How the daemon (``leakwatch watch``) runs."""

    folders: tuple[WatchFolder, ...] = ()
    # Where the state database and, by default, the alerts log live ("": the store folder).
    state_dir: str = ""
    # Append-only JSON lines of every alert ("": <state_dir>/alerts.jsonl).
    alerts_log: str = ""
    # Quiet time after the writer closed the file before it is scanned (repeated events
    # for one file become one scan)...
    debounce_s: float = 0.25
    # ...and, when no close is reported (polling, a writer that keeps the file open),
    # how long size and mtime must stay unchanged.
    settle_s: float = 5.0
    # Reconciliation sweeps: the truth behind the events (0: only at start and when
    # events were lost).
    reconcile_every_s: float = 3600.0
    temporary: tuple[str, ...] = TEMPORARY_PATTERNS
    webhook_url: str = ""
    webhook_timeout_s: float = 10.0
    webhook_retries: int = 5
    quarantine_dir: str = ""
    poll_interval_s: float = 2.0
    # Files scanned at once, each in its own lane (thread, store connection and isolated
    # extraction worker): a slow file (OCR of a long scan) never holds up the others.
    scan_lanes: int = 2
    # Prometheus metrics (leakwatch.watch.metrics; the "metrics" extra) on this port, 0 for
    # none; bound to loopback unless metrics_address says otherwise.
    metrics_port: int = 0
    metrics_address: str = "127.0.0.1"
    # The review console's database the daemon records each alert into as it is raised
    # (leakwatch.watch.console_sink), besides the alerts log ("": none).
    console_db: str = ""

    def validate(self) -> None:
        for name in ("debounce_s", "settle_s", "webhook_timeout_s", "poll_interval_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"watch.{name} must be positive")
        if self.reconcile_every_s < 0:
            raise ConfigError("watch.reconcile_every_s must be 0 or more")
        if self.webhook_retries < 0:
            raise ConfigError("watch.webhook_retries must be 0 or more")
        if not 0 <= self.metrics_port <= 65535:
            raise ConfigError("watch.metrics_port must be between 0 (no metrics) and 65535")
        if self.metrics_port and not self.metrics_address:
            raise ConfigError("watch.metrics_address must not be empty")
        if not 1 <= self.scan_lanes <= 32:
            raise ConfigError("watch.scan_lanes must be between 1 and 32")
        if self.webhook_url and not self.webhook_url.startswith(("http://", "https://")):
            raise ConfigError("watch.webhook_url must be an http:// or https:// URL")
        for folder in self.folders:
            folder.validate()
            if folder.quarantine != "off" and not self.quarantine_dir:
                raise ConfigError(f"folder {folder.path}: quarantine needs watch.quarantine_dir")
        if self.quarantine_dir:
            q = Path(self.quarantine_dir).resolve()
            for folder in self.folders:
                f = Path(folder.path).resolve()
                if q == f or f in q.parents:
                    raise ConfigError(f"watch.quarantine_dir must not be inside the watched folder {folder.path}")
        if self.console_db:
            c = Path(self.console_db).resolve()
            for folder in self.folders:
                if Path(folder.path).resolve() in c.parents:
                    raise ConfigError(f"watch.console_db must not be inside the watched folder {folder.path}")


EXECUTORS = ("local", "dask")


@dataclass(frozen=True)
class BatchSettings:
    """Where ``leakwatch scan`` scans files (command-line flags win): on local processes,
    or on a Dask cluster (``executor = "dask"``; ``scheduler`` its address, such as
    tcp://host:8786, or "" for a LocalCluster started for each run)."""

    executor: str = "local"
    scheduler: str = ""

    def validate(self) -> None:
        if self.executor not in EXECUTORS:
            raise ConfigError(f"batch.executor must be one of {', '.join(EXECUTORS)}")
        if self.scheduler and self.executor != "dask":
            raise ConfigError("batch.scheduler needs batch.executor = \"dask\"")


@dataclass(frozen=True)
class Config:
    """The whole configuration of a leakwatch run."""

    store: str = DEFAULT_STORE
    # The key may live outside the store folder, so that the folder can be
    # backed up or shared without it.
    key_file: str | None = None
    # None: an existing store's own parameters, or the defaults for a new store.
    fingerprint: FingerprintParams | None = None
    extract: ExtractLimits = field(default_factory=ExtractLimits)
    detect: DetectParams = field(default_factory=DetectParams)
    code_detect: DetectParams = CODE_DETECT
    records: RecordsParams = field(default_factory=RecordsParams)
    follow_symlinks: bool = False
    watch: WatchSettings = field(default_factory=WatchSettings)
    batch: BatchSettings = field(default_factory=BatchSettings)

    def validate(self) -> Config:
        if self.fingerprint is not None:
            self.fingerprint.validate()
        self.extract.validate()
        self.detect.validate()
        self.code_detect.validate()
        self.records.validate()
        self.watch.validate()
        self.batch.validate()
        return self

    def with_store(self, store: str | None) -> Config:
        return self if store is None else dataclasses.replace(self, store=store)


# Each section and the defaults its unset keys take.
_SECTIONS: dict[str, Any] = {
    "fingerprint": FingerprintParams(),
    "extract": ExtractLimits(),
    "detect": DetectParams(),
    "code_detect": CODE_DETECT,
    "records": RecordsParams(),
    "batch": BatchSettings(),
}


def _build_section(defaults: Any, name: str, values: Any) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"[{name}] must be a table")
    known = {f.name: f for f in dataclasses.fields(defaults)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown key(s) in [{name}]: {_with_suggestions(unknown, known)}")
    typed: dict[str, Any] = {}
    for key, value in values.items():
        expected = type(getattr(defaults, key))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if expected is tuple and isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = tuple(value)
        if not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
            raise ConfigError(f"[{name}] {key} must be {expected.__name__}, got {value!r}")
        typed[key] = value
    return dataclasses.replace(defaults, **typed)


def _with_suggestions(unknown: list[str], known: Any) -> str:
    """Each unknown key, with the closest known one or the section that has it."""
    import difflib

    sections = {name: {f.name for f in dataclasses.fields(d)} for name, d in
                (*_SECTIONS.items(), ("watch", WatchSettings()), ("watch.folders", WatchFolder(path="")))}
    said = []
    for key in unknown:
        close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
        elsewhere = [name for name, fields in sections.items() if key in fields]
        if close:
            said.append(f"{key!r} (did you mean {close[0]!r}?)")
        elif elsewhere:
            said.append(f"{key!r} (it belongs in [{elsewhere[0]}])")
        else:
            said.append(repr(key))
    return ", ".join(said)


def config_from_mapping(data: dict[str, Any]) -> Config:
    """Build and validate a :class:`Config` from a parsed TOML mapping."""
    top_keys = {"store", "key_file", "follow_symlinks"}
    allowed = top_keys | set(_SECTIONS) | {"watch", "report", "audit"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"unknown key(s) at the top level: {_with_suggestions(unknown, allowed)}")
    kwargs: dict[str, Any] = {}
    for key in ("store", "key_file"):
        if key in data:
            if not isinstance(data[key], str):
                raise ConfigError(f"{key} must be a string")
            kwargs[key] = data[key]
    if "follow_symlinks" in data:
        if not isinstance(data["follow_symlinks"], bool):
            raise ConfigError("follow_symlinks must be true or false")
        kwargs["follow_symlinks"] = data["follow_symlinks"]
    for name, defaults in _SECTIONS.items():
        if name in data:
            kwargs[name] = _build_section(defaults, name, data[name])
    if "watch" in data:
        kwargs["watch"] = _build_watch(data["watch"])
    return Config(**kwargs).validate()


def _build_watch(values: Any) -> WatchSettings:
    if not isinstance(values, dict):
        raise ConfigError("[watch] must be a table")
    folders = values.get("folders", [])
    if not isinstance(folders, list):
        raise ConfigError("[[watch.folders]] must be an array of tables")
    built = tuple(_build_section(WatchFolder(path=""), "watch.folders", f) for f in folders)
    settings = _build_section(WatchSettings(), "watch", {k: v for k, v in values.items() if k != "folders"})
    return dataclasses.replace(settings, folders=built)


CONFIG_ENV = "LEAKWATCH_CONFIG"
# Found in the working directory when no file is named (as gitleaks and semgrep find theirs).
LOCAL_CONFIG = "leakwatch.toml"


def find_config(explicit: str | os.PathLike[str] | None) -> str | None:
    """The configuration file to read: ``--config``, else ``$LEAKWATCH_CONFIG``, else
    ``./leakwatch.toml`` when it exists, else None (the defaults)."""
    if explicit is not None:
        return os.fspath(explicit)
    if os.environ.get(CONFIG_ENV):
        return os.environ[CONFIG_ENV]
    return LOCAL_CONFIG if Path(LOCAL_CONFIG).is_file() else None


def load_config(path: str | os.PathLike[str] | None) -> Config:
    """Read a TOML config file (or return the defaults when ``path`` is None).

    The store location falls back to ``$LEAKWATCH_STORE`` and then ``./fingerprints``.

    Raises:
        ConfigError: the file is missing, is not valid TOML, or holds bad values
            (the message names the file).
    """
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {path}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    if "store" not in data and os.environ.get(STORE_ENV):
        data = {**data, "store": os.environ[STORE_ENV]}
    try:
        return config_from_mapping(data)
    except ConfigError as exc:
        if path is None:
            raise
        raise ConfigError(f"config file {path}: {exc}") from exc


def config_identity(config: Config, params: FingerprintParams) -> dict[str, Any]:
    """What identifies the settings a scan ran with, for reports: the sha256 of the
    canonical JSON of every setting that shapes findings (the store's fingerprint
    parameters, extraction limits, detection parameters, symlink policy), and the
    fingerprint parameters themselves. The store location, key file and daemon settings
    do not change what a scan finds and are left out."""
    fingerprint = dataclasses.asdict(params)
    shaping = {
        "fingerprint": fingerprint,
        "extract": dataclasses.asdict(config.extract),
        "detect": dataclasses.asdict(config.detect),
        "code_detect": dataclasses.asdict(config.code_detect),
        "records": dataclasses.asdict(config.records),
        "follow_symlinks": config.follow_symlinks,
    }
    canonical = json.dumps(shaping, sort_keys=True, separators=(",", ":"), default=str)
    return {"sha256": hashlib.sha256(canonical.encode("utf-8")).hexdigest(), "fingerprint": fingerprint,
            "guaranteed_run_words": params.guaranteed_run}
