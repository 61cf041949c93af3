"""The console entry point (``leakwatch``, ``python -m leakwatch``).

Interruptions are turned into :class:`leakwatch.interrupt.Interrupted` before anything
heavy is imported: a Ctrl-C during the second of imports must print one line and exit
130 like any other, not a traceback.
"""

from __future__ import annotations

import sys

from leakwatch.interrupt import Interrupted, install, signum_of


def main() -> None:
    install()
    try:
        from leakwatch.cli import main as cli_main
    except KeyboardInterrupt as exc:
        print("leakwatch: interrupted", file=sys.stderr)
        sys.exit(Interrupted(signum_of(exc)).exit_code)
    cli_main()
