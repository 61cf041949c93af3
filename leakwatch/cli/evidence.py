"""Evidence packages: ``leakwatch evidence keygen|export|verify``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from leakwatch.cli.app import cli, common_options, fail, say

# Exit codes of verify: 0 verified, 1 failed (a verdict), 2 usage error (as every command).
EXIT_FAILED = 1


@cli.group()
def evidence() -> None:
    """Evidence packages: one zip per finding (deliverable, finding, metadata, decision
    log, SHA-256 manifest), Ed25519-signed when given a key."""


@evidence.command("keygen")
@click.argument("keyfile", type=click.Path(dir_okay=False, path_type=Path))
@common_options
def evidence_keygen(keyfile: Path, store: str | None, config_path: str | None) -> None:
    """Make an Ed25519 signing key: KEYFILE (private, 0600) and KEYFILE.pub (give this to
    whoever verifies packages). An existing file is never overwritten."""
    from leakwatch.evidence.keys import fingerprint, generate_signing_key, load_public_key

    pub = generate_signing_key(keyfile)
    click.echo(f"{keyfile} (private) and {pub} (public), fingerprint {fingerprint(load_public_key(pub))}")


@evidence.command("export")
@click.argument("finding_id")
@click.option("--report", "report", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Saved report holding the finding: scan --format json or jsonl, or an audit record.")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Package to write (a zip, mode 0600; never overwritten).")
@click.option("--no-copy", is_flag=True, help="Keep only the deliverable's SHA-256, not a copy of it.")
@click.option("--sign", "signing_key", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Ed25519 private key (evidence keygen; PEM PKCS8 or raw 32 bytes) to sign the manifest with.")
@click.option("--decisions", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Decision log to include: a JSON list of objects (who, when, what) [default: none].")
@common_options
def evidence_export(finding_id: str, report: Path, output: Path, no_copy: bool, signing_key: Path | None,
                    decisions: Path | None, store: str | None, config_path: str | None) -> None:
    """Write the evidence package of FINDING_ID (an id of the report's findings).

    \b
    Examples:
      leakwatch scan /srv/vendors/acme --format json -o acme.json
      leakwatch evidence export lw-0123456789abcdef0123 --report acme.json -o incident-17.zip --sign legal.key
    """
    from leakwatch.evidence.package import export_package
    from leakwatch.evidence.reports import delivered_file, finding_in_report

    if os.path.lexists(output):
        fail(f"{output} exists: an evidence package is never overwritten")
    log = _decision_log(decisions) if decisions is not None else []
    finding, meta = finding_in_report(report, finding_id)
    deliverable = delivered_file(finding)
    written = export_package(output, finding=finding, report_meta=meta, deliverable=deliverable, decisions=log,
                             copy_deliverable=not no_copy, signing_key=signing_key)
    copied = "" if no_copy or deliverable is None or not deliverable.is_file() else " with a copy of the deliverable"
    if deliverable is not None and not deliverable.is_file():
        say(f"leakwatch: warning: {deliverable} is not there any more: the package keeps the SHA-256 the "
            "finding recorded")
    click.echo(f"{written}: evidence of {finding_id}{copied}{', signed' if signing_key else ''}")


def _decision_log(path: Path) -> list[dict[str, object]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"cannot read the decision log {path}: {exc}")
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        fail(f"{path}: the decision log must be a JSON list of objects")
    return data


@evidence.command("verify")
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--public-key", "public_key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="The signer's public key (KEYFILE.pub): the signature must verify under it.")
@common_options
def evidence_verify(package: Path, public_key: Path | None, store: str | None, config_path: str | None) -> None:
    """Check an evidence package: every member against the manifest, nothing missing or
    added, and the signature. Exit 0 verified, 1 failed, 2 usage error.

    Without --public-key a signature is checked against the key inside the package, which
    proves only that the package is unchanged since whoever holds that key signed it:
    compare the fingerprint shown with the signer's, or pass --public-key.
    """
    from leakwatch.evidence.package import verify_package

    result = verify_package(package, public_key)
    if not result.ok:
        for problem in result.problems:
            click.echo(f"leakwatch: verification failed: {problem}", err=True)
        click.echo(f"{package}: FAILED ({len(result.problems)} problem(s))")
        sys.exit(EXIT_FAILED)
    if not result.signed:
        how = "unsigned: it matches its own manifest (no proof of who made it)"
    elif public_key is not None:
        how = f"signature verified under {public_key} ({result.signer_fingerprint})"
    else:
        how = (f"signed by the key in the package, {result.signer_fingerprint}: compare it with the signer's "
               "fingerprint, or pass --public-key")
    click.echo(f"{package}: OK, {how}")
