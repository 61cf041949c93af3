"""Extraction in a separate, limited worker process.

Every deliverable comes from a third party, and parsers (PDF above all) are where a
crafted file hangs, eats memory or crashes the interpreter. Files are therefore
extracted in a long-lived worker process with a wall-clock limit, a memory limit
(``RLIMIT_AS``) and a CPU limit per file (``RLIMIT_CPU``); a worker that dies or runs
over is killed and replaced, and the file gets a status (``timeout``, ``memory``,
``parse-error``). Workers are recycled after a number of files, so that a slow leak in
a parser never accumulates (osquery's watchdog is the model).

The worker never sends anything the parent would unpickle: requests are the file
path as bytes, replies are a JSON header, the file's bytes and the text (UTF-8), all
over ``Connection.send_bytes``. A worker compromised by a crafted file can lie about
the text of that file, not run code in the scanner.
"""

from __future__ import annotations

import contextlib
import json
import math
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from leakwatch.config import ExtractLimits
from leakwatch.model import ExtractedText, ExtractionError, Status

_MB = 1024 * 1024
# Steps with their own timeout other than OCR images, per file (a conversion).
_MAX_CONVERSIONS = 4
# Preloaded once in the fork server, so that each worker starts without re-importing
# the parsers.
_PRELOAD = ["leakwatch.extract"]


def _apply_memory_limit(limits: ExtractLimits) -> None:
    cap = limits.max_memory_mb * _MB
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _arm_cpu_limit(limits: ExtractLimits) -> None:
    """Let the next file use ``max_cpu_s`` seconds of CPU on top of what the worker has
    used so far (RLIMIT_CPU counts the whole process life)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = used + limits.max_cpu_s
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _reply(conn: Connection, header: dict[str, Any]) -> None:
    # Every reply says how much memory the worker has needed so far (for corpus runs).
    header["max_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    conn.send_bytes(json.dumps(header).encode())


def _worker_main(conn: Connection, limits_json: str) -> None:
    """The worker loop: one request (a path) at a time, until the pipe closes."""
    # A parent killed (kill -9, OOM) while this worker extracts leaves it writing into a
    # closed pipe: it ends quietly. A traceback here would land in the parent's stderr,
    # which is the daemon's JSON-lines log.
    with contextlib.suppress(EOFError, OSError):
        _serve(conn, ExtractLimits(**json.loads(limits_json)))


def _time_asker(conn: Connection) -> Callable[[float], None]:
    """What the worker's extractors call before a step with a timeout of its own (an OCR
    page, a conversion): the parent extends the file's deadline by as much, and the file's
    CPU limit grows by as much (Pillow and PDFium work for each page in this process)."""

    def ask(seconds: float) -> None:
        conn.send_bytes(json.dumps({"extend": seconds}).encode())
        soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        if soft != resource.RLIM_INFINITY:
            soft += int(seconds) + 1
            resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard),
                                                     hard))

    return ask


def _serve(conn: Connection, limits: ExtractLimits) -> None:
    from leakwatch.extract import extract_file
    from leakwatch.extract.external import TIME_REQUEST

    # The parent handles interruption; a Ctrl-C must not leave a half-written reply.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _apply_memory_limit(limits)
    TIME_REQUEST.set(_time_asker(conn))
    while True:
        request = conn.recv_bytes()  # EOFError once the parent closes the pipe
        _arm_cpu_limit(limits)
        path = Path(os.fsdecode(request))
        try:
            data, extracted = extract_file(path, limits)
        except ExtractionError as exc:
            _reply(conn, {"ok": False, "status": str(exc.status), "message": exc.message})
            continue
        except MemoryError:
            _reply(conn, {"ok": False, "status": str(Status.MEMORY),
                          "message": f"over the {limits.max_memory_mb} MB memory limit"})
            continue
        except RecursionError:
            _reply(conn, {"ok": False, "status": str(Status.PARSE_ERROR), "message": "structure nested too deeply"})
            continue
        except Exception as exc:  # a parser bug on hostile input: that file's status, not the worker's end
            _reply(conn, {"ok": False, "status": str(Status.PARSE_ERROR), "message": f"{type(exc).__name__}: {exc}"})
            continue
        _reply(conn, {"ok": True, **extracted.header()})
        conn.send_bytes(data)
        conn.send_bytes(extracted.text.encode("utf-8", "surrogatepass"))


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    files: int = 0


def _limits_json(limits: ExtractLimits) -> str:
    return json.dumps({k: v for k, v in limits.__dict__.items()})


class IsolatedExtractor:
    """Extracts files in a recycled worker process under the limits of ``ExtractLimits``.

    Use as a context manager; :meth:`extract` has the signature of
    :func:`leakwatch.extract.extract_file`.
    """

    def __init__(self, limits: ExtractLimits) -> None:
        self.limits = limits
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(_PRELOAD)
        self._worker: _Worker | None = None
        self._starting: threading.Thread | None = None
        self.restarts = 0
        # The most memory any worker reported needing (a worker killed over a limit
        # reports nothing: its file's status says it).
        self.peak_rss_kb = 0

    def __enter__(self) -> IsolatedExtractor:
        # Started in the background: the first start launches the forkserver, which
        # imports the extractors (about half a second) while the caller opens its store
        # and builds its detectors. A start that fails here is retried by extract().
        self._starting = threading.Thread(target=self._start_quietly, name="leakwatch-extract-start",
                                          daemon=True)
        self._starting.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start_quietly(self) -> None:
        with contextlib.suppress(Exception):
            self._ensure_worker()

    def _started(self) -> None:
        """Wait for the background start, so that only one thread touches the worker."""
        if self._starting is not None:
            self._starting.join()
            self._starting = None

    def close(self) -> None:
        self._started()
        if self._worker is not None:
            self._stop(self._worker, graceful=True)
            self._worker = None

    # --- workers ------------------------------------------------------------------------

    def _ensure_worker(self) -> _Worker:
        w = self._worker
        if w is not None and (w.files >= self.limits.recycle_after or not w.process.is_alive()):
            self._stop(w, graceful=w.process.is_alive())
            w = self._worker = None
        if w is None:
            parent, child = self._context.Pipe(duplex=True)
            process = self._context.Process(target=_worker_main, args=(child, _limits_json(self.limits)),
                                            name="leakwatch-extract", daemon=True)
            process.start()
            child.close()
            w = self._worker = _Worker(process, parent)
        return w

    def _stop(self, w: _Worker, graceful: bool) -> None:
        with contextlib.suppress(OSError):
            w.conn.close()
        if graceful:
            w.process.join(timeout=2.0)
        if w.process.is_alive():
            w.process.kill()
        w.process.join(timeout=5.0)

    def _fail(self, w: _Worker, status: Status, message: str) -> ExtractionError:
        """Kill the worker (its state is unknown) and describe what happened to the file."""
        self._stop(w, graceful=False)
        self._worker = None
        self.restarts += 1
        return ExtractionError(status, message)

    def _died(self, w: _Worker) -> ExtractionError:
        w.process.join(timeout=5.0)
        code = w.process.exitcode
        if code == -signal.SIGXCPU:
            return self._fail(w, Status.TIMEOUT, f"over the {self.limits.max_cpu_s} s CPU limit: stopped")
        if code == -signal.SIGKILL:
            # Not us (we have not killed it yet): the kernel's OOM killer, most likely.
            return self._fail(w, Status.MEMORY, "the extraction worker was killed (out of memory?)")
        how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
        return self._fail(w, Status.PARSE_ERROR, f"the extraction worker crashed ({how})")

    def _receive(self, w: _Worker, deadline: float) -> bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not w.conn.poll(remaining):
            if not w.process.is_alive():
                raise self._died(w)
            raise self._fail(w, Status.TIMEOUT, f"extraction took over {self.limits.timeout_s:g} s: stopped")
        try:
            return w.conn.recv_bytes()
        except (EOFError, OSError):
            raise self._died(w) from None

    def _header(self, w: _Worker, deadline: float) -> tuple[dict[str, Any], float]:
        """The reply's header, after any requests for more time (one per OCR image or
        conversion, each granted up to that step's own limit, as many as a file may have)."""
        step = max(self.limits.ocr_timeout_s, self.limits.timeout_s)
        granted = 0
        while True:
            header = _parse_header(self._receive(w, deadline))
            if "extend" not in header:
                return header, deadline
            granted += 1
            if granted <= self.limits.ocr_max_images + _MAX_CONVERSIONS:
                try:
                    seconds = float(header["extend"])
                except (TypeError, ValueError):
                    seconds = math.nan
                if not math.isfinite(seconds):
                    raise ExtractionError(Status.PARSE_ERROR, "the extraction worker sent a malformed reply")
                deadline += min(max(seconds, 0.0), step)

    # --- the one operation --------------------------------------------------------------

    def extract(self, path: Path, limits: ExtractLimits | None = None) -> tuple[bytes, ExtractedText]:
        """Read and extract one file in the worker.

        Raises:
            ExtractionError: the file's status, including ``timeout`` and ``memory``
                when the worker ran over its limits or died.
        """
        self._started()
        fresh = self._worker is None or self._worker.files == 0
        try:
            return self._extract_once(path)
        except ExtractionError as exc:
            if exc.status != Status.MEMORY or fresh:
                raise
        # Out of memory in a worker that had read other files: the heap they left may be
        # to blame, not this file. A fresh worker decides.
        return self._extract_once(path)

    def _extract_once(self, path: Path) -> tuple[bytes, ExtractedText]:
        w = self._ensure_worker()
        deadline = time.monotonic() + self.limits.timeout_s
        try:
            w.conn.send_bytes(os.fsencode(path))
        except (BrokenPipeError, OSError):
            raise self._died(w) from None
        w.files += 1
        header, deadline = self._header(w, deadline)
        self.peak_rss_kb = max(self.peak_rss_kb, int(header.get("max_rss_kb") or 0))
        if not header["ok"]:
            status = Status(header["status"]) if header["status"] in Status._value2member_map_ else Status.PARSE_ERROR
            if status == Status.MEMORY:
                # The interpreter is alive but its heap is suspect: start afresh.
                self._stop(w, graceful=False)
                self._worker = None
            raise ExtractionError(status, str(header.get("message", "")))
        data = self._receive(w, deadline)
        text = self._receive(w, deadline).decode("utf-8", "surrogatepass")
        try:
            return data, ExtractedText.from_header(header, text)
        except (KeyError, TypeError, ValueError) as exc:
            raise ExtractionError(Status.PARSE_ERROR, "the extraction worker sent a malformed reply") from exc


def _parse_header(raw: bytes) -> dict[str, Any]:
    try:
        header = json.loads(raw)
    except ValueError as exc:
        raise ExtractionError(Status.PARSE_ERROR, "the extraction worker sent a malformed reply") from exc
    if not isinstance(header, dict) or ("ok" not in header and "extend" not in header):
        raise ExtractionError(Status.PARSE_ERROR, "the extraction worker sent a malformed reply")
    return header
