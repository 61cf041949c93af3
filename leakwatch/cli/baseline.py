"""Baselines of accepted findings: ``leakwatch baseline create``."""

from __future__ import annotations

from pathlib import Path

import click

import leakwatch
from leakwatch.baseline import (
    dumps_baseline,
    entries_from_findings,
    load_baseline,
    merge,
    read_report_findings,
)
from leakwatch.cli.app import cli, common_options, fail


@cli.group()
def baseline() -> None:
    """Baselines: findings reviewed and accepted, not raised again by scan --baseline."""


@baseline.command("create")
@click.argument("reports", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Baseline file to write.")
@click.option("--reason", required=True, help="Why these findings are accepted (kept with each entry).")
@click.option("--by", "accepted_by", default=None, help="Who accepts them [default: the login name].")
@click.option("--id", "only_ids", multiple=True, metavar="FINDING_ID",
              help="Accept only this finding (repeatable) [default: every finding of the reports].")
@click.option("--update", is_flag=True,
              help="Add to an existing baseline (entries already there keep their who, when and why).")
@common_options
@click.pass_context
def baseline_create(ctx: click.Context, reports: tuple[Path, ...], output: Path, reason: str,
                    accepted_by: str | None, only_ids: tuple[str, ...], update: bool, store: str | None,
                    config_path: str | None) -> None:
    """Accept the findings of scan reports (--format json or jsonl) into a baseline file.

    \b
    Examples:
      leakwatch scan /srv/vendors/acme --format json -o acme.json
      leakwatch baseline create acme.json -o acme-baseline.json --reason "licensed to acme, contract 2024-17"
      leakwatch baseline create acme.json -o acme-baseline.json --update --id lw-0123456789abcdef0123 \\
          --reason "quoted with permission" --by j.doe
    """
    import getpass
    from datetime import UTC, datetime

    if not reason.strip():
        # The reason is what a reviewer reads a year later: an empty one is no decision.
        raise click.BadParameter("say why these findings are accepted (it is kept with each entry)",
                                 param_hint="'--reason'")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if accepted_by is None:
        try:
            accepted_by = getpass.getuser()
        except (KeyError, OSError):
            accepted_by = "unknown"
    old = None
    if output.exists():
        if not update:
            fail(f"{output} exists: use --update to add to it")
        old = load_baseline(output)
    findings = [f for path in reports for f in read_report_findings(path)]
    entries = entries_from_findings(findings, accepted_by, reason, now, only_ids)
    result = merge(old, entries, now, leakwatch.__version__)
    added = len(result.entries) - (len(old.entries) if old is not None else 0)
    try:
        tmp = output.with_name(output.name + ".tmp")
        tmp.write_text(dumps_baseline(result), encoding="utf-8")
        tmp.replace(output)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    click.echo(f"{added} finding(s) accepted, {len(result.entries)} in {output}")
