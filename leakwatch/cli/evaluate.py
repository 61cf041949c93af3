"""Detection quality on annotated corpora: ``leakwatch evaluate pan|labels|licences|code``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

import leakwatch
from leakwatch.cli.app import cli, common_options, config_of
from leakwatch.config import Config


@cli.group()
def evaluate() -> None:
    """Measure detection quality on annotated corpora."""


def _pan_table(ev: dict[str, Any]) -> list[str]:
    lines = [f"{ev['mode']}: {'class':30} {'prec':>6} {'rec':>6} {'gran':>6} {'plagdet':>8} {'cases':>6} {'dets':>5}"]
    rows = [*ev["classes"].items(), ("overall", ev["overall"])]
    for name, s in rows:
        lines.append(f"{'':{len(ev['mode']) + 2}}{name:30} {s['precision']:6.3f} {s['recall']:6.3f} "
                     f"{s['granularity']:6.3f} {s['plagdet']:8.3f} {s['cases']:6} {s['detections']:5}")
    doc = ev["document_level"]
    lines.append(f"{'':{len(ev['mode']) + 2}}document level: precision {doc['precision']:.3f}, "
                 f"recall {doc['recall']:.3f} over {doc['pairs']} pairs")
    if ev.get("unlisted_detections"):
        lines.append(f"{'':{len(ev['mode']) + 2}}{ev['unlisted_detections']} detection(s) on pairs the corpus "
                     "does not list (not annotated: each counts against precision)")
    return lines


def _key_spread_table(keys: dict[str, Any]) -> list[str]:
    title = f"plagdet over {len(keys['runs'])} keys:"
    lines = [f"{title:50} {'mean':>6} {'min':>6} {'max':>6}"]
    for name, s in keys["spread"].items():
        label = "overall (whole index)" if name == "whole_index_overall" else name
        lines.append(f"{'':8}{label:42} {s['mean']:6.3f} {s['min']:6.3f} {s['max']:6.3f}")
    return lines


def _evaluation(ctx: click.Context, store: str | None, config_path: str | None, fmt: str,
                run: Callable[[Config], Any]) -> dict[str, Any] | None:
    """Run one evaluation; print it as JSON (and return None) for ``--format json``,
    else return its data for the command's table. A bad corpus ends the command (exit 2,
    through the commands' error handler)."""
    result = run(config_of(ctx, store, config_path))
    data: dict[str, Any] = {"leakwatch": leakwatch.__version__, **result.to_dict()}
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return None
    return data


@evaluate.command("pan")
@click.argument("corpus_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--keys", "keys", type=click.IntRange(1, 50), default=1, show_default=True,
              help="Repeat the evaluation with this many public store keys and report the spread "
                   "(LSH candidates depend on the key).")
@click.option("--folds", "folds", type=click.IntRange(0, 20), default=0, show_default=True,
              help="Cross-validate: train a reworded-passage scorer per fold (grouped by connected "
                   "component of the pair graph) and scan each fold's documents with its own (0: the shipped "
                   "scorer for all).")
@click.option("--upstream", "upstream", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of upstream annotations (one XML per pair, in class folders) that mark every reused "
                   "passage of the suspicious documents [default: CORPUS_DIR/upstream-annotations].")
@common_options
@click.pass_context
def evaluate_pan_cmd(ctx: click.Context, corpus_dir: Path, fmt: str, keys: int, folds: int, upstream: Path | None,
                     store: str | None, config_path: str | None) -> None:
    """PAN character-level precision, recall, granularity and plagdet per obfuscation class.

    Indexes CORPUS_DIR/src into a temporary store and scans CORPUS_DIR/susp; scores
    listed pairs only (PAN's setting) and the whole index (every finding counts).
    The tables are those of the fixed evaluation key; with --keys N, the plagdet of N
    keys' runs follows (mean, min, max).

    With upstream-annotations/ in the corpus, the unbacked findings (on text annotated as no
    reuse, sharing little wording with their source) and the calibration of confidence follow.

    \b
    Example:
      leakwatch evaluate pan ../shared/corpora/pan13-text-alignment-sample
      leakwatch evaluate pan ../shared/corpora/pan13-text-alignment-sample --keys 5
      leakwatch evaluate pan ../shared/corpora/pan13-text-alignment-train --folds 5
      leakwatch evaluate pan ../shared/corpora/pan13-text-alignment-sample \\
          --upstream ../shared/corpora/pan13-text-alignment-train/upstream-annotations
    """
    from leakwatch.evaluate.calibration import reliability_lines
    from leakwatch.evaluate.crossval import evaluate_pan_cv
    from leakwatch.evaluate.pan import evaluate_pan
    from leakwatch.evaluate.unbacked import unbacked_lines

    data = _evaluation(ctx, store, config_path, fmt,
                       lambda config: evaluate_pan_cv(corpus_dir, config, folds, keys, upstream) if folds
                       else evaluate_pan(corpus_dir, config, keys, upstream))
    if data is None:
        return
    for mode in ("listed_pairs", "whole_index"):
        click.echo("\n".join(_pan_table(data[mode])))
    if "unbacked" in data:
        click.echo("\n".join(unbacked_lines(data["unbacked"]) + reliability_lines(data["calibration"])))
    if "keys" in data:
        click.echo("\n".join(_key_spread_table(data["keys"])))
    click.echo(f"indexing {data['seconds']['index']:.1f}s, scanning {data['seconds']['scan']:.1f}s, "
               f"{data['scan_errors']} file(s) not scanned")


@evaluate.command("labels")
@click.argument("corpus_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@common_options
@click.pass_context
def evaluate_labels_cmd(ctx: click.Context, corpus_dir: Path, fmt: str, store: str | None,
                        config_path: str | None) -> None:
    """ROC AUC and precision/recall of the leak score on a corpus labelled per document.

    \b
    Example:
      leakwatch evaluate labels ../shared/corpora/clough-stevenson-short-answers-sample
    """
    from leakwatch.evaluate.labels import evaluate_labels

    data = _evaluation(ctx, store, config_path, fmt, lambda config: evaluate_labels(corpus_dir, config))
    if data is None:
        return
    click.echo(f"ROC AUC {data['roc_auc']:.3f}; at the default threshold precision {data['precision']:.3f}, "
               f"recall {data['recall']:.3f} over {data['files']} files")
    click.echo("flagged per category: " + ", ".join(f"{c} {v}" for c, v in data["flagged_by_category"].items()))


@evaluate.command("licences")
@click.argument("corpus_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@common_options
@click.pass_context
def evaluate_licences_cmd(ctx: click.Context, corpus_dir: Path, fmt: str, store: str | None,
                          config_path: str | None) -> None:
    """Agreement of the top-1 SPDX id with the declared licence, on licence files that
    carry one licence (CORPUS_DIR/labels.csv); every miss and exclusion is listed.

    \b
    Example:
      leakwatch evaluate licences ../shared/corpora/licenses-in-the-wild-sample
    """
    from leakwatch.evaluate.licences import evaluate_licences

    data = _evaluation(ctx, store, config_path, fmt, lambda config: evaluate_licences(corpus_dir, config))
    if data is None:
        return
    for r in data["scored"]:
        mark = "ok  " if r["agrees"] else "MISS"
        cov = f"{r['coverage']:.2f}" if r["coverage"] is not None else "-"
        click.echo(f"{mark} {r['path']}: declared {r['declared']}; top-1 {r['top1']} ({r['top1_part']}, "
                   f"coverage {cov}); all: {', '.join(r['ids_found']) or '-'}")
    for r in data["excluded"]:
        click.echo(f"excl {r['path']}: {r['reason']}")
    for r in data["errors"]:
        click.echo(f"ERR  {r['path']}: {r['status']}: {r['message']}")
    click.echo(f"top-1 agreement {data['agreement']:.3f} over {data['files_scored']} single-licence files "
               f"(same SPDX id exactly: {data['exact_id_agreement']:.3f}); {len(data['excluded'])} excluded")
    for label, c in (("all scored files", data["all_findings"]), ("wheels declaring one id", data["single_id_wheels"])):
        click.echo(f"{label}: declared id reported {c['present']}/{c['files']}, alone {c['alone']}/{c['files']}")


@evaluate.command("code")
@click.argument("corpus_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@common_options
@click.pass_context
def evaluate_code_cmd(ctx: click.Context, corpus_dir: Path, fmt: str, store: str | None,
                      config_path: str | None) -> None:
    """Copied-code recall per disguise level and precision on a code plagiarism corpus
    (CORPUS_DIR/labels.csv: each case's original is registered as a reference).

    \b
    Example:
      leakwatch evaluate code ../shared/corpora/ir-plag-java-sample
    """
    from leakwatch.evaluate.code import evaluate_code

    data = _evaluation(ctx, store, config_path, fmt, lambda config: evaluate_code(corpus_dir, config))
    if data is None:
        return
    for level, r in data["recall_by_level"].items():
        click.echo(f"{level}: {r['found']}/{r['files']} copies found")
    click.echo(f"precision {data['precision']:.3f} ({data['true_positives']} copies, {data['false_positives']} of "
               f"{data['negatives']} independent files flagged: false-positive rate "
               f"{data['false_positive_rate']:.3f}); recall {data['recall']:.3f}; "
               f"{data['cross_case_findings']} finding(s) from another task's original")
    for path in data["false_positive_files"]:
        click.echo(f"  flagged independent file: {path}")
    for case, m in data["by_case"].items():
        click.echo(f"{case}: " + ", ".join(f"{lv} {r['found']}/{r['files']}" for lv, r in m["recall_by_level"].items())
                   + f"; precision {m['precision']:.3f} ({m['false_positives']} of {m['negatives']} independent)")
