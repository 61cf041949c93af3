"""Extraction in a separate, limited worker process.

Every deliverable comes from a third party, and parsers (PDF above all) are where a
crafted file hangs, eats memory or crashes the interpreter. Files are therefore
extracted in a long-lived worker process with a wall-clock limit, a memory limit
(``RLIMIT_AS``) and a CPU limit per file (``RLIMIT_CPU``); a worker that dies or runs
over is killed and replaced, and the file gets a status (``timeout``, ``memory``,
``parse-error``). Workers are recycled after a number of files, so that a slow leak in
a parser never accumulates (osquery's watchdog is the model).

The worker never sends anything the parent would unpickle: a request is JSON (the path,
and where to resume), replies are a stream of JSON headers, each member's bytes and its
text (UTF-8), all over ``Connection.send_bytes``. A worker compromised by a crafted file
can lie about the text of that file, not run code in the scanner.

Containers (archives, e-mail: :mod:`leakwatch.extract.container`) are unpacked in the
worker too, and their members stream back one at a time: a ``start`` header before a
member's text is extracted, then the member (header, bytes, text) or its error, and an
``end`` header after the file. Each member has the limits of a file: ``timeout_s`` of
wall clock from the previous reply, ``max_cpu_s`` of CPU, the worker's memory cap. A
worker lost on a member (killed over a limit, crashed) is replaced and the walk
resumed past that member, which alone gets the status; the whole container has
``container_timeout_s``, after which its remaining members are reported as not read.
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from leakwatch.config import ExtractLimits
from leakwatch.model import (
    ExtractedText,
    ExtractionError,
    FileItem,
    Member,
    MemberError,
    Status,
    as_extraction_error,
    item_from_header,
)

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


def _failure(exc: BaseException, limits: ExtractLimits) -> dict[str, Any]:
    """The reply for a file that could not be read at all."""
    error = as_extraction_error(exc)
    message = f"over the {limits.max_memory_mb} MB memory limit" if isinstance(exc, MemoryError) else error.message
    return {"kind": "error", "chain": [], "fatal": True, "status": str(error.status), "message": message}


def _time_asker(conn: Connection) -> Callable[[float], None]:
    """What the worker's extractors call before a step with a timeout of its own (an OCR
    page, a conversion): the parent extends the member's deadline by as much, and the
    member's CPU limit grows by as much (Pillow and PDFium work for each page in this process)."""

    def ask(seconds: float) -> None:
        conn.send_bytes(json.dumps({"extend": seconds}).encode())
        soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        if soft != resource.RLIM_INFINITY:
            soft += int(seconds) + 1
            resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard),
                                                     hard))

    return ask


def _serve(conn: Connection, limits: ExtractLimits) -> None:
    from leakwatch.extract import extract_members
    from leakwatch.extract.external import TIME_REQUEST

    # The parent handles interruption; a Ctrl-C must not leave a half-written reply.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _apply_memory_limit(limits)
    TIME_REQUEST.set(_time_asker(conn))

    def on_start(chain: tuple[str, ...], seq: int) -> None:
        # Each member has the CPU time of a file; the parent names it if it is lost.
        _arm_cpu_limit(limits)
        _reply(conn, {"kind": "start", "chain": list(chain), "seq": seq})

    while True:
        request = json.loads(conn.recv_bytes())  # EOFError once the parent closes the pipe
        _arm_cpu_limit(limits)
        if request.get("again"):
            _serve_again(conn, str(request["path"]), limits)
            continue
        path = Path(os.fsdecode(request["path"].encode("utf-8", "surrogateescape")))
        try:
            for item in extract_members(path, limits, on_start, int(request["skip"])):
                _reply(conn, item.header())
                if isinstance(item, Member):
                    conn.send_bytes(item.data)
                    conn.send_bytes(item.extracted.text.encode("utf-8", "surrogatepass"))
        except Exception as exc:  # MemoryError and RecursionError included
            _reply(conn, _failure(exc, limits))
        _reply(conn, {"kind": "end"})


def _serve_again(conn: Connection, path: str, limits: ExtractLimits) -> None:
    """A file, or a member ``file!/member``, read again (a source to verify, a deliverable
    for the HTML report): each candidate's bytes go to the parent, which checks them (a
    keyed digest only it can compute, or the sha256 a scan recorded), and only accepted
    bytes are parsed, here."""
    from leakwatch.extract import read_again

    def accept(data: bytes) -> bool:
        _reply(conn, {"kind": "candidate"})
        conn.send_bytes(data)
        return bool(json.loads(conn.recv_bytes()).get("accept"))

    try:
        found = read_again(path, limits, accept)
        if found is None:
            _reply(conn, {"kind": "none"})
        else:
            data, extracted = found
            _reply(conn, {"kind": "member", **extracted.header()})
            conn.send_bytes(data)
            conn.send_bytes(extracted.text.encode("utf-8", "surrogatepass"))
    except Exception as exc:  # MemoryError and RecursionError included
        _reply(conn, _failure(exc, limits))
    _reply(conn, {"kind": "end"})


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
        # A file's walk is under way (its members are being handed out one by one, and
        # its worker still has replies to send): re-reads go to a second worker then.
        self._walking = False
        self._second: IsolatedExtractor | None = None

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
        if self._second is not None:
            self._second.close()
            self._second = None

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

    # --- the one operation --------------------------------------------------------------

    def members(self, path: Path, limits: ExtractLimits | None = None) -> Iterator[FileItem]:
        """Read one file in the worker and give its deliverables as they come: the file
        itself, or the members of a container (see :func:`leakwatch.extract.extract_members`).

        Raises:
            ExtractionError: the file itself could not be read (nothing was given),
                including ``timeout`` and ``memory`` when the worker ran over its limits
                or died on it.
        """
        self._started()
        self._walking = True
        try:
            yield from self._members(path)
        finally:
            self._walking = False

    def _members(self, path: Path) -> Iterator[FileItem]:
        began = time.monotonic()
        skip, given, retried = 0, 0, False
        while True:
            fresh = self._worker is None or self._worker.files == 0
            try:
                for item in self._walk(path, skip, began):
                    given += 1
                    yield item
                if given == 0:  # a file gives a member, a container its entry, or an error
                    raise ExtractionError(Status.PARSE_ERROR, "the extraction worker sent nothing for this file")
                return
            except _Lost as lost:
                error = lost.error
                if error.status == Status.MEMORY and not fresh and not retried:
                    # Out of memory in a worker that had read other files: the heap they left
                    # may be to blame, not this file. A fresh worker decides.
                    retried = True
                    skip = lost.seq if lost.seq is not None else skip
                    continue
                if lost.seq is None or not lost.chain:
                    if given == 0:
                        raise error from None
                    yield MemberError((), error.status, f"{error.message}; the rest of the file was not read")
                    return
                yield MemberError(lost.chain, error.status, error.message)
                given += 1
                if time.monotonic() - began >= self.limits.container_timeout_s:
                    yield MemberError((), Status.TIMEOUT, f"members not read within "
                                      f"{self.limits.container_timeout_s:g} s: the rest of the file was not read")
                    return
                skip, retried = lost.seq + 1, False

    def extract(self, path: Path, limits: ExtractLimits | None = None) -> tuple[bytes, ExtractedText]:
        """Read and extract one file (not a container) in the worker.

        Raises:
            ExtractionError: the file's status, including ``timeout`` and ``memory``
                when the worker ran over its limits or died; ``unsupported`` for a container.
        """
        items = list(self.members(path, limits))
        if len(items) == 1 and isinstance(items[0], Member) and not items[0].chain:
            return items[0].data, items[0].extracted
        raise ExtractionError(Status.UNSUPPORTED, "a container: its members are read one by one")

    def read_again(self, path: str, accept: Callable[[bytes], bool]) -> tuple[bytes, ExtractedText] | None:
        """A file, or a member ``file!/member``, read again in the worker, if its bytes pass
        ``accept`` (run here, in the parent, before the worker parses them); None when
        they do not, or the member is gone.

        Raises:
            ExtractionError: it cannot be read or extracted (status as for a scan).
        """
        if self._walking:
            # A source verified while a deliverable's members are still being handed out
            # (detection runs between them): the first worker is mid-reply.
            if self._second is None:
                self._second = IsolatedExtractor(self.limits)
            return self._second.read_again(path, accept)
        self._started()
        w = self._ensure_worker()
        try:
            w.conn.send_bytes(json.dumps({"path": path, "again": True}).encode("utf-8", "surrogatepass"))
        except (BrokenPipeError, OSError):
            raise self._died(w) from None
        w.files += 1
        step = max(self.limits.ocr_timeout_s, self.limits.timeout_s)
        deadline, granted = time.monotonic() + self.limits.timeout_s, 0
        found: tuple[bytes, ExtractedText] | None = None
        finished = False
        try:
            while True:
                header = _parse_header(self._receive(w, deadline))
                if "extend" in header:
                    granted += 1
                    seconds = _seconds(header["extend"])
                    if seconds is None:
                        raise self._fail(w, Status.PARSE_ERROR, "the extraction worker sent a malformed reply")
                    if granted <= self.limits.ocr_max_images + _MAX_CONVERSIONS:
                        deadline += min(seconds, step)
                    continue
                kind = header.get("kind")
                if kind == "end":
                    finished = True
                    return found
                if kind == "candidate":
                    verdict = bool(accept(self._receive(w, deadline)))
                    w.conn.send_bytes(json.dumps({"accept": verdict}).encode())
                elif kind == "member":
                    data = self._receive(w, deadline)
                    text = self._receive(w, deadline).decode("utf-8", "surrogatepass")
                    found = (data, ExtractedText.from_header(header, text))
                elif header.get("fatal"):
                    status = Status(header["status"]) if header["status"] in Status._value2member_map_ \
                        else Status.PARSE_ERROR
                    error = ExtractionError(status, str(header.get("message", "")))
                    if status != Status.MEMORY:
                        self._receive(w, deadline)  # its "end"
                        finished = True
                    raise error
        except (KeyError, TypeError, ValueError) as exc:
            raise self._fail(w, Status.PARSE_ERROR, "the extraction worker sent a malformed reply") from exc
        finally:
            if not finished and self._worker is w:
                # Lost, or stopped mid-reply: its remaining replies must never be read as
                # the next request's.
                self._stop(w, graceful=False)
                self._worker = None

    def _walk(self, path: Path, skip: int, began: float) -> Iterator[FileItem]:
        """One request: the items the worker sends, up to its ``end``.

        Raises:
            _Lost: the worker was lost (killed over a limit, crashed) or the file failed
                as a whole; says on which member, if one was being extracted.
        """
        w = self._ensure_worker()
        request = {"path": os.fsdecode(path).encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape"),
                   "skip": skip}
        try:
            w.conn.send_bytes(json.dumps(request).encode("utf-8", "surrogatepass"))
        except (BrokenPipeError, OSError):
            raise _Lost(self._died(w), None, ()) from None
        w.files += 1
        finished = False
        try:
            yield from self._replies(w, began)
            finished = True
        finally:
            if not finished and self._worker is w:
                # Closed early (the caller stopped reading) or lost: the worker may still be
                # sending this file's replies, which must never be read as the next file's.
                self._stop(w, graceful=False)
                self._worker = None

    def _replies(self, w: _Worker, began: float) -> Iterator[FileItem]:
        current: tuple[int | None, tuple[str, ...]] = (None, ())
        # Each deliverable (the file, or one member) has ``timeout_s``, plus the time its
        # worker asks for before each step that has a limit of its own (an OCR image, a
        # conversion: up to as many as a file may have, each up to that step's limit);
        # all of a container's members together have ``container_timeout_s``.
        step = max(self.limits.ocr_timeout_s, self.limits.timeout_s)
        last = began + self.limits.container_timeout_s
        deadline, granted = time.monotonic() + self.limits.timeout_s, 0
        while True:
            try:
                header = _parse_header(self._receive(w, min(deadline, last)))
            except ExtractionError as exc:
                raise _Lost(exc, *current) from None
            if "extend" in header:
                granted += 1
                seconds = _seconds(header["extend"])
                if seconds is None:
                    raise _Lost(self._fail(w, Status.PARSE_ERROR, "the extraction worker sent a malformed reply"),
                                *current)
                if granted <= self.limits.ocr_max_images + _MAX_CONVERSIONS:
                    deadline += min(seconds, step)
                continue
            self.peak_rss_kb = max(self.peak_rss_kb, int(header.get("max_rss_kb") or 0))
            kind = header.get("kind")
            if kind == "end":
                return
            if kind == "start":
                current = (int(header["seq"]), tuple(str(c) for c in header["chain"]))
                deadline, granted = time.monotonic() + self.limits.timeout_s, 0
                continue
            if header.get("fatal"):
                status = Status(header["status"]) if header["status"] in Status._value2member_map_ \
                    else Status.PARSE_ERROR
                if status == Status.MEMORY:
                    # The interpreter is alive but its heap is suspect: start afresh.
                    self._stop(w, graceful=False)
                    self._worker = None
                else:
                    self._receive(w, min(deadline, last))  # its "end"
                raise _Lost(ExtractionError(status, str(header.get("message", ""))), None, ())
            data, text = b"", ""
            if kind == "member":
                data = self._receive(w, min(deadline, last))
                text = self._receive(w, min(deadline, last)).decode("utf-8", "surrogatepass")
            try:
                item = item_from_header(header, data, text)
            except (KeyError, TypeError, ValueError) as exc:
                raise _Lost(self._fail(w, Status.PARSE_ERROR, "the extraction worker sent a malformed reply"),
                            None, ()) from exc
            current = (None, ())
            yield item
            deadline, granted = time.monotonic() + self.limits.timeout_s, 0


class _Lost(Exception):
    """The worker was lost on a file: the error, and the member it was extracting (its
    sequence number and chain), if any."""

    def __init__(self, error: ExtractionError, seq: int | None, chain: tuple[str, ...]) -> None:
        super().__init__(error.message)
        self.error, self.seq, self.chain = error, seq, chain


def _parse_header(raw: bytes) -> dict[str, Any]:
    try:
        header = json.loads(raw)
    except ValueError as exc:
        raise ExtractionError(Status.PARSE_ERROR, "the extraction worker sent a malformed reply") from exc
    if not isinstance(header, dict) or ("kind" not in header and "extend" not in header):
        raise ExtractionError(Status.PARSE_ERROR, "the extraction worker sent a malformed reply")
    return header


def _seconds(value: Any) -> float | None:
    """A worker's request for time, as a number of seconds (None: not a finite number)."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None
