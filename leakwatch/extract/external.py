"""External programs an extractor runs: Tesseract (OCR), catdoc (.doc), LibreOffice (.ppt).

They run as children of the extraction worker (:mod:`leakwatch.isolate`), so they inherit
its address-space limit, and each is held to rules of its own:

* found on ``PATH`` once and run by absolute path, from an argument list (no shell);
* a minimal environment, whose ``HOME`` and ``TMPDIR`` are a private temporary folder
  (mode 0700, removed afterwards) that is also the working folder: nothing is written
  next to the input, and a converter's profile or scratch files die with the folder;
* a session of its own, killed as a whole (LibreOffice forks) on its wall-clock timeout,
  or after it exits, so that no straggler outlives the step;
* any failure is the file's status (``timeout``, ``parse-error``; ``unsupported`` when
  the program is not installed), never an exception of another type.

A step's timeout is its own budget: before it starts, the isolated worker asks its parent
for as much time again (:func:`request_time`), so that the file's overall timeout never
cuts short a step whose own timeout bounds it (a 40-page scan takes 40 OCR steps).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path

from leakwatch.model import ExtractionError, Status

# Set by the isolated worker: asks the parent for ``seconds`` more of wall-clock time for
# the file being extracted. None in-process, where no clock runs against the file.
TIME_REQUEST: ContextVar[Callable[[float], None] | None] = ContextVar("leakwatch_time_request", default=None)

_STDERR_SHOWN = 200


def request_time(seconds: float) -> None:
    """Tell the isolated worker's parent that a step bounded by ``seconds`` starts now."""
    ask = TIME_REQUEST.get()
    if ask is not None:
        ask(seconds)


def find_program(name: str, package: str, purpose: str) -> str:
    """The absolute path of program ``name``.

    Raises:
        ExtractionError: ``unsupported``, naming the Debian package to install.
    """
    found = shutil.which(name)
    if found is None:
        raise ExtractionError(Status.UNSUPPORTED,
                              f"{purpose} needs the {name} program (Debian package {package}), which is not installed")
    return found


@contextlib.contextmanager
def private_folder() -> Iterator[Path]:
    """A temporary folder only this user can enter (mkdtemp makes it 0700), removed after."""
    with tempfile.TemporaryDirectory(prefix="leakwatch-") as folder:
        yield Path(folder)


def _environment(folder: Path, extra: Mapping[str, str]) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(folder), "TMPDIR": str(folder),
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    if "TESSDATA_PREFIX" in os.environ:
        env["TESSDATA_PREFIX"] = os.environ["TESSDATA_PREFIX"]
    env.update(extra)
    return env


def _kill_session(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def run_program(args: list[str], *, what: str, folder: Path, timeout: float, stdin: bytes | None = None,
                env: Mapping[str, str] | None = None) -> bytes:
    """Run one external program to completion and return its standard output.

    Args:
        args: the program (absolute path, from :func:`find_program`) and its arguments.
        what: the step, for messages ("OCR of page 3", "catdoc").
        folder: the private folder (:func:`private_folder`): working folder, HOME, TMPDIR.
        timeout: wall-clock seconds for this step.
        stdin: bytes fed to the program, or None for no input.
        env: variables added to the minimal environment.

    Raises:
        ExtractionError: ``timeout`` past ``timeout``; ``parse-error`` when the program
            fails or crashes (its first words of complaint in the message).
    """
    request_time(timeout)
    try:
        process = subprocess.Popen(
            args, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, cwd=folder, env=_environment(folder, env or {}), start_new_session=True,
        )
    except OSError as exc:
        raise ExtractionError(Status.UNSUPPORTED, f"{what}: cannot start {Path(args[0]).name} ({exc})") from exc
    try:
        out, err = process.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_session(process)
        process.communicate()
        raise ExtractionError(Status.TIMEOUT, f"{what} took over {timeout:g} s: stopped") from None
    finally:
        _kill_session(process)  # helpers a converter left behind
        if process.poll() is None:
            process.kill()
            process.wait()
    code = process.returncode
    if code != 0:
        how = f"signal {_signal_name(-code)}" if code < 0 else f"exit code {code}"
        said = " ".join(err.decode("utf-8", "replace").split())[:_STDERR_SHOWN]
        raise ExtractionError(Status.PARSE_ERROR, f"{what} failed ({how})" + (f": {said}" if said else ""))
    return out
