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


_data_option = click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=_default_data,
    show_default="$WINNOW_DATA or ../shared/data",
    help="Folder holding the data sets.",
)


@click.group("eval")
def eval_group() -> None:
    """Score detectors on labelled data sets."""


@eval_group.command("pii")
@_data_option
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


@eval_group.command("images")
@_data_option
def eval_images(data: Path) -> None:
    """QR decoding, nudity false positives on benign photos, OCR and its gate."""
    from winnow.evaluation import images as ev

    missing = [p for p in (ev.QR_SET, *ev.BENIGN_SETS, ev.OCR_SET) if not (data / p).is_dir()]
    if missing:
        click.echo(f"error: {', '.join(str(data / p) for p in missing)} not found", err=True)
        sys.exit(ExitCode.CONTENT)
    console = Console(highlight=False)

    qr = ev.evaluate_qr(data)
    s = qr.score
    table = Table(title="QR codes and barcodes (zxing-cpp samples)")
    for col in ("label", "positives", "negatives", "TP", "FP", "FN", "precision", "recall", "F1",
                "exact payload"):  # fmt: skip
        table.add_column(col, justify="right" if col != "label" else "left")
    exact = f"{qr.exact}/{qr.exact_total} ({qr.exact / max(qr.exact_total, 1):.3f})"
    table.add_row(s.name, str(qr.positives), str(qr.negatives), str(s.tp), str(s.fp), str(s.fn),
                  f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}", exact)  # fmt: skip
    console.print(table)

    table = Table(title="Nudity: benign photos the default policy acts on (target <= 1%)")
    for col in ("set", "images", "flagged", "rate", "flagged images (rule, score)"):
        table.add_column(col, justify="right" if col in ("images", "flagged", "rate") else "left")
    benign = ev.evaluate_benign(data)
    total = sum(r.images for r in benign)
    flagged = sum(len(r.flagged) for r in benign)
    for r in benign:
        names = "; ".join(f"{n} ({rule} {sc})" for n, rule, sc in r.flagged)
        table.add_row(r.name, str(r.images), str(len(r.flagged)), f"{r.rate:.1%}", names)
    table.add_row("all", str(total), str(flagged), f"{flagged / max(total, 1):.1%}", "")
    console.print(table)

    table = Table(title="OCR (RapidOCR PP-OCRv6 small): character error rate")
    for col in ("set", "images", "lines", "chars", "CER", "exact lines", "gate lets OCR run"):
        table.add_column(col, justify="left" if col == "set" else "right")
    for o in ev.evaluate_ocr(data):
        table.add_row(o.name, str(o.images), str(o.lines), str(o.chars), f"{o.cer:.3f}",
                      f"{o.exact_lines}/{o.lines}", f"{o.gate_passed}/{o.images}")  # fmt: skip
    console.print(table)

    table = Table(title="OCR gate: images where the text-presence check runs OCR")
    for col in ("set", "images", "OCR runs", "rate"):
        table.add_column(col, justify="left" if col == "set" else "right")
    for name, n, passed in ev.gate_rates(data):
        table.add_row(name, str(n), str(passed), f"{passed / max(n, 1):.1%}")
    console.print(table)


@eval_group.command("hashes")
@_data_option
@click.option("--threshold", type=click.IntRange(0, 128), default=31, show_default=True)
def eval_hashes(data: Path, threshold: int) -> None:
    """PDQ robustness to everyday edits, and false matches between distinct images."""
    from winnow.evaluation import hashing as ev

    if not any((data / s).is_dir() for s in ev.SETS):
        click.echo(f"error: none of {', '.join(str(data / s) for s in ev.SETS)} found", err=True)
        sys.exit(ExitCode.CONTENT)
    r = ev.evaluate(data, threshold)
    console = Console(highlight=False)
    table = Table(
        title=f"PDQ: edited copies that still match their original (threshold {threshold}, "
        f"{r.images} photos)"
    )
    for col in ("edit", "images", "matched", "rate", "as sent (no dihedral)", "median distance"):
        table.add_column(col, justify="left" if col == "edit" else "right")
    for s in r.scores:
        as_sent = s.matched_as_sent / max(s.images, 1)
        table.add_row(
            s.edit,
            str(s.images),
            str(s.matched),
            f"{s.rate:.3f}",
            f"{as_sent:.3f}",
            f"{s.median_distance:.0f}",
        )
    console.print(table)
    rate = len(r.false_matches) / max(r.pairs, 1)
    console.print(
        f"false matches: {len(r.false_matches)} of {r.pairs:,} pairs of distinct images "
        f"({rate:.5f}) within {threshold} bits, dihedral hashes included"
    )
    for a, b, d in r.false_matches:
        console.print(f"  {a} ~ {b}: distance {d}")
    if r.low_quality:
        console.print(f"left out (PDQ quality under {ev.MIN_QUALITY}): {', '.join(r.low_quality)}")
