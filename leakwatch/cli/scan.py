"""``leakwatch scan``: what a delivery holds, as a report."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from leakwatch.baseline import (
    apply_suppressions,
    load_baseline,
    load_ignore,
)
from leakwatch.cli.app import cli, common_options, config_of, fail, quiet, say, verbose
from leakwatch.detect.licence.texts import ReferenceFormatError
from leakwatch.model import Severity
from leakwatch.pipeline import extraction
from leakwatch.report import REPORTERS
from leakwatch.report.base import ReportContext, write_private
from leakwatch.report.redact import redact as redacted
from leakwatch.results import display_path
from leakwatch.store import StoreError


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(sorted(REPORTERS)), default="text", show_default=True,
              help="Report format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report to FILE (mode 0600, whole or not at all) instead of standard output.")
@click.option("--fail-on", type=click.Choice(["low", "medium", "high"]), default="low", show_default=True,
              help="Lowest severity that makes the exit code 1.")
@click.option("--no-verify", is_flag=True,
              help="Do not re-read registered sources to refine spans; use stored fingerprints only.")
@click.option("--baseline", "baseline_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Baseline of accepted findings (leakwatch baseline create): not raised again.")
@click.option("--ignore", "ignore_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Ignore file: path patterns, finding ids and kinds whose findings are not raised.")
@click.option("--workers", "-j", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes scanning in parallel (results are identical to one); with --executor dask and"
              " no --scheduler, the size of the local Dask cluster.")
@click.option("--executor", type=click.Choice(["local", "dask"]), default=None,
              help="Scan on this host's processes, or on a Dask cluster (results are identical)"
              " [default: [batch] executor in the config, else local].")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Dask scheduler to send the files to (tcp://host:8786) [default: [batch] scheduler in the"
              " config, else a local cluster of -j processes]. Workers read the files and the store at the"
              " same paths.")
@click.option("--changed-only", is_flag=True,
              help="Report only files new or changed since the last scan (by the scan cache).")
@click.option("--no-cache", is_flag=True,
              help="Extract every file again: do not read or write the scan cache (in the store folder).")
@click.option("--redact", is_flag=True,
              help="Keep locations, ids and scores only: no text of any document in the report (every format).")
@common_options
@click.pass_context
def scan(ctx: click.Context, paths: tuple[Path, ...], fmt: str, output: Path | None, fail_on: str,
         no_verify: bool, baseline_path: Path | None, ignore_path: Path | None, workers: int,
         executor: str | None, scheduler: str | None, changed_only: bool,
         no_cache: bool, redact: bool, store: str | None, config_path: str | None) -> None:
    """Scan deliverables (files, folders recursively) for confidential material and
    third-party content (licence texts, copyright notices, registered references).

    One finding per copied passage, with its span in the deliverable and in the
    source document. Files that cannot be read are listed as errors and make
    the exit code 3 (never reported clean).

    \b
    Examples:
      leakwatch scan delivery/report.pdf
      leakwatch scan /srv/vendors/acme --format json --output acme.json --fail-on medium
      leakwatch scan /srv/vendors/acme --format sarif --baseline acme-baseline.json --ignore lw.ignore
      leakwatch scan /srv/vendors --executor dask --scheduler tcp://scheduler:8786

    Findings accepted in the --baseline file or matched by the --ignore file are
    left out of the findings and the exit code, and counted as suppressed.
    """
    from leakwatch.batch import TreeScanOptions, default_cache_path, scan_tree
    from leakwatch.executors import ExecutorError

    config = config_of(ctx, store, config_path)
    if changed_only and no_cache:
        raise click.UsageError("--changed-only needs the scan cache (drop --no-cache)")
    executor = executor or config.batch.executor
    scheduler = scheduler or config.batch.scheduler or None
    if scheduler is not None and executor != "dask":
        raise click.UsageError("--scheduler needs --executor dask")
    baseline = load_baseline(baseline_path) if baseline_path is not None else None
    ignore = load_ignore(ignore_path) if ignore_path is not None else None
    options = TreeScanOptions(workers=workers, verify_sources=not no_verify, changed_only=changed_only,
                              cache=None if no_cache else default_cache_path(config), executor=executor,
                              scheduler=scheduler, progress=not quiet())
    # The text report on a terminal (or a pipe) shows each file's findings as it finishes;
    # the other formats and report files are written whole at the end.
    stream = fmt == "text" and output is None
    color = stream and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    on_file = _file_printer(stream, color, changed_only, redact, baseline, ignore)
    try:
        report = scan_tree(list(paths), config, options, on_file=on_file)
    except ExecutorError as exc:
        raise click.UsageError(str(exc)) from exc
    except (StoreError, ReferenceFormatError) as exc:
        fail(str(exc))
        return
    if baseline is not None or ignore is not None:
        report.findings, report.suppressed = apply_suppressions(report.findings, baseline, ignore)
    if redact:
        report = redacted(report)
    reporter = REPORTERS[fmt]
    with contextlib.ExitStack() as stack:
        # A format that quotes deliverables re-reads them in an isolated worker; the scanned
        # paths name the vendors.
        reader = (stack.enter_context(extraction(config)).read_again
                  if reporter.reads_deliverables and not report.redacted else None)
        roots = sorted({display_path(q) for p in paths for q in (p.resolve(), Path(os.path.abspath(p)))})
        _write_report(report, reporter.for_run(ReportContext(reader, roots)), stream, color, output)
    if report.interrupted is not None:
        click.echo(f"leakwatch: interrupted: {report.files_scanned} file(s) scanned, {len(report.errors)} not "
                   "scanned; the report is marked incomplete", err=True)
    elif changed_only and report.files_unchanged:
        say(f"leakwatch: {report.files_unchanged} file(s) unchanged since the last scan (not reported)")
    sys.exit(report.exit_code(Severity.parse(fail_on)))


def _write_report(report: Any, reporter: Any, stream: bool, color: bool, output: Path | None) -> None:
    """The report where it was asked for: the rest of a streamed text report, the whole
    report on stdout, or a file written 0600, whole or not at all."""
    if stream:
        from leakwatch.report.text import TextReporter

        TextReporter(color).write_tail(report, sys.stdout)
    elif output is None:
        reporter.write(report, sys.stdout)
    else:
        try:
            write_private(output, lambda fh: reporter.write(report, fh))
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror or exc}")
        say(f"report written to {output} (mode 0600): {len(report.findings)} finding(s), "
            f"{len(report.errors)} file(s) not scanned")


def _file_printer(stream: bool, color: bool, changed_only: bool, redact: bool, baseline: Any,
                  ignore: Any) -> Callable[[Any, bool], None] | None:
    """What a scan says as each file finishes: its findings (text report on stdout, after
    the baseline and ignore file), and with -v a line per file on stderr."""
    from tqdm import tqdm

    from leakwatch.report.redact import redact_finding
    from leakwatch.report.text import finding_text

    lines = verbose() > 0
    if not stream and not lines:
        return None

    def printed(scanned: Any, cached: bool) -> None:
        if cached and changed_only:
            return
        findings = scanned.findings
        if baseline is not None or ignore is not None:
            findings, _ = apply_suppressions(findings, baseline, ignore)
        if lines:
            what = (f"not scanned ({scanned.error.status}: {scanned.error.message})" if scanned.error is not None
                    else f"{len(findings)} finding(s)" + (" (unchanged, from the scan cache)" if cached else ""))
            tqdm.write(f"leakwatch: {scanned.path}: {what}", file=sys.stderr)
        if stream and findings:
            text = "".join(finding_text(redact_finding(f) if redact else f, color) for f in findings)
            tqdm.write(text.rstrip("\n") + "\n", file=sys.stdout)  # above the progress bar, if there is one

    return printed
