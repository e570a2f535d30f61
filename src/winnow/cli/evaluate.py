"""``winnow eval``: score detectors on labelled data and print precision, recall and F1."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from winnow.errors import ExitCode


def _default_data() -> Path:
    return Path(os.environ.get("WINNOW_DATA", "../shared/data"))


@click.group("eval")
def eval_group() -> None:
    """Score detectors on labelled data sets."""


@eval_group.command("pii")
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=_default_data,
    show_default="$WINNOW_DATA or ../shared/data",
    help="Folder holding the data sets.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def eval_pii(data: Path, as_json: bool) -> None:
    """PII detector on presidio-research's synthetic set: P/R/F1 per entity type."""
    from winnow.evaluation.pii import DATASET, evaluate_pii

    if not (data / DATASET).is_file():
        click.echo(f"error: {data / DATASET} not found (pass --data)", err=True)
        sys.exit(ExitCode.CONTENT)
    report = evaluate_pii(data)
    if as_json:
        click.echo(json.dumps({
            "records": report.records,
            "entities": {s.name: {"support": s.support, "tp": s.tp, "fp": s.fp, "fn": s.fn,
                                  "precision": round(s.precision, 4), "recall": round(s.recall, 4),
                                  "f1": round(s.f1, 4)} for s in report.scores},
            "not_covered": report.not_covered,
        }, indent=2))  # fmt: skip
        return
    table = Table(title=f"PII on presidio-research synth ({report.records} records)")
    for col in ("entity", "support", "TP", "FP", "FN", "precision", "recall", "F1"):
        table.add_column(col, justify="right" if col != "entity" else "left")
    for s in report.scores:
        table.add_row(s.name, str(s.support), str(s.tp), str(s.fp), str(s.fn),
                      f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}")  # fmt: skip
    console = Console(highlight=False)
    console.print(table)
    gaps = ", ".join(f"{k} {v}" for k, v in report.not_covered.items())
    console.print(f"Not detected by design (support): {gaps}. NRP excluded.")
