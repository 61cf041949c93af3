"""When the compiled kernels of :mod:`leakwatch._kernels` (numba, the optional ``fast``
extra) take over the fingerprinting hot path from the numpy code.

Both paths give bit-identical results; the kernels are several times faster, but
importing numba and loading the cached kernels costs about 1-2 s of process time,
more than a small scan takes altogether. So by default (``LEAKWATCH_JIT=auto``) a
process starts on the numpy path and loads the kernels only once it has done enough
work for the load to be worth it: :data:`AUTO_AFTER` units, one per value and stage
(about 6.5 per word fingerprinted: some 1.2M words or 8 MB of text, on which the numpy
path spends about as long as the load takes; or one document that large).
``LEAKWATCH_JIT=always`` loads them at the first call, ``never`` keeps the numpy path.
Without numba installed the numpy path is used, silently.
"""

from __future__ import annotations

import logging
import os
import threading
from types import ModuleType

log = logging.getLogger(__name__)

MODES = ("auto", "always", "never")
# Units of work (one per value and stage) after which ``auto`` loads the kernels.
AUTO_AFTER = 8_000_000

_lock = threading.Lock()
_mode: str | None = None
_work = 0
_kernels: ModuleType | None = None
_failed = False


def mode() -> str:
    """The current mode (from ``LEAKWATCH_JIT`` at first use, or :func:`set_mode`)."""
    global _mode
    if _mode is None:
        value = os.environ.get("LEAKWATCH_JIT", "auto").strip().lower() or "auto"
        _mode = value if value in MODES else "auto"
    return _mode


def set_mode(value: str) -> str:
    """Set the mode for this process; returns the previous one."""
    global _mode
    if value not in MODES:
        raise ValueError(f"LEAKWATCH_JIT must be one of {', '.join(MODES)}, not {value!r}")
    previous = mode()
    _mode = value
    return previous


def kernels(work: int) -> ModuleType | None:
    """The kernels module when the hot path should use it for a call doing ``work``
    units, else None. Cheap: called once per array operation."""
    global _work
    current = _mode or mode()
    if current == "never" or _failed:
        return None
    if _kernels is not None:
        return _kernels
    _work += work
    if current == "always" or _work >= AUTO_AFTER:
        return load()
    return None


def load() -> ModuleType | None:
    """Import (and compile, or load from numba's cache) the kernels; None if numba is
    missing or fails."""
    global _kernels, _failed
    with _lock:
        if _kernels is None and not _failed:
            try:
                from leakwatch import _kernels as module
            except ImportError:
                _failed = True
            except Exception as exc:  # a numba or LLVM failure: the numpy path still works
                log.warning("compiled fingerprint kernels unavailable (%s); using numpy", exc)
                _failed = True
            else:
                _kernels = module
    return _kernels


def available() -> bool:
    """True when the kernels can be (or are) loaded."""
    return load() is not None
