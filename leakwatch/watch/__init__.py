"""The daemon: watch vendor delivery folders and scan every complete file once."""

from leakwatch.watch.daemon import Daemon, DaemonError, RunTotals

__all__ = ["Daemon", "DaemonError", "RunTotals"]
