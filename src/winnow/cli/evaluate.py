"""``winnow eval``: score detectors on labelled data and print precision, recall and F1."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

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


class _EvalGroup(click.Group):
    """``winnow eval FILE`` is ``winnow eval file FILE``: a first argument that is no
    subcommand's name is a labelled file to score."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["file", *args]
        return super().parse_args(ctx, args)


@click.group("eval", cls=_EvalGroup)
def eval_group() -> None:
    """Score detectors on labelled data sets, or on your own labelled file (winnow eval FILE)."""


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


def _policy_engine(policy: Path | None, only: str | None = None) -> Any:
    """The engine for ``--policy`` (default: the built-in policy); ``only``: that policy with
    every detector but one removed (the lexicon-alone baseline)."""
    import yaml

    from winnow.engine import Engine
    from winnow.plugins import default_registry
    from winnow.policy.loader import default_policy_text, parse_policy

    text = policy.read_text(encoding="utf-8") if policy else default_policy_text()
    if only is not None:
        doc = yaml.safe_load(text)
        kept = (doc.get("detectors") or {}).get(only) or {}
        doc["detectors"] = {name: {"enabled": False} for name in default_registry().detectors()}
        doc["detectors"][only] = kept
        text = yaml.safe_dump(doc, sort_keys=False)
    return Engine(parse_policy(text, str(policy or "default")))


@eval_group.command("file")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--text-column", default="text", show_default=True)
@click.option("--label-column", default="label", show_default=True)
@click.option(
    "--positive",
    default="harassment,hate,violence/threat",
    show_default=True,
    help="Label prefixes: a row is predicted positive when a rule hit rests on a label under "
    "one of them (a category covers its subcategories).",
)
@click.option(
    "--policy", type=click.Path(path_type=Path, dir_okay=False, exists=True), help="Policy YAML."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def eval_file(
    file: Path,
    text_column: str,
    label_column: str,
    positive: str,
    policy: Path | None,
    as_json: bool,
) -> None:
    """Score Winnow on a labelled CSV, TSV or JSON Lines file (label: 1/0, true/false, OFF/NOT).

    Prints accuracy, precision, recall, F1 and macro-F1. Rows without a usable text or label
    are skipped and listed on stderr by line.
    """
    from winnow.errors import WinnowError, exit_code
    from winnow.evaluation import text as ev

    try:
        prefixes = ev.parse_prefixes(positive)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--positive") from None
    try:
        labelled = ev.read_labelled(file, text_column, label_column)
        engine = _policy_engine(policy)
        result = ev.score(labelled.rows, ev.engine_predictor(engine, prefixes))
    except WinnowError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(exit_code(exc))
    for problem in labelled.skipped[:20]:
        click.echo(f"{file}: skipped {problem}", err=True)
    if len(labelled.skipped) > 20:
        click.echo(f"{file}: … and {len(labelled.skipped) - 20:,} more skipped", err=True)
    if as_json:
        click.echo(json.dumps(result.as_dict()))
        return
    table = Table(title=f"{file.name}: positive = rule hit on {', '.join(prefixes)}")
    for col in ("rows", "accuracy", "precision", "recall", "F1", "macro-F1", "skipped"):
        table.add_column(col, justify="right")
    d = result.as_dict()
    table.add_row(str(d["n"]), *(f"{d[k]:.3f}" for k in ("accuracy", "precision", "recall",
                  "f1", "macro_f1")), str(len(labelled.skipped)))  # fmt: skip
    console = Console(highlight=False, width=max(100, shutil.get_terminal_size().columns))
    console.print(table)
    if result.fp_labels:
        top = ", ".join(f"{lab} {n}" for lab, n in result.fp_labels.most_common(5))
        console.print(f"false positives by label: {top}")


@eval_group.command("text")
@_data_option
@click.option(
    "--policy", type=click.Path(path_type=Path, dir_okay=False, exists=True), help="Policy YAML."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def eval_text(data: Path, policy: Path | None, as_json: bool) -> None:
    """Every labelled text set: Winnow (the policy in force), the lexicon alone, and
    alt-profanity-check (English offensive sets), with P/R/F1 and macro-F1 per set."""
    from winnow.evaluation import text as ev

    sets = ev.available(data)
    if not sets:
        click.echo(f"error: no labelled text set found under {data} (pass --data)", err=True)
        sys.exit(ExitCode.CONTENT)
    systems: dict[str, Any] = {
        "winnow": _policy_engine(policy),
        "lexicon only": _policy_engine(policy, only="lexicon"),
    }
    baseline = _profanity_check()
    out: list[dict[str, Any]] = []
    functional: dict[str, Any] = {}
    pooled: dict[tuple[str, str, str], ev.BinaryScore] = {}
    for s in sets:
        rows = ev.rows_of(s, data)
        prefixes = ev.TASKS[s.task]
        for name, engine in systems.items():
            predict = ev.engine_predictor(engine, prefixes)
            if s.functional:
                groups = ev.functional(rows, predict)
                functional.setdefault(s.name, {})[name] = {
                    g: sc.accuracy for g, sc in groups.items()
                }
                result = groups["all"]
            else:
                result = ev.score(rows, predict)
            out.append(_set_row(s, name, result))
            pooled.setdefault((s.language, s.task, name), ev.BinaryScore()).merge(result)
        if baseline is not None and s.language == "en" and s.task == "offensive":
            result = ev.score(rows, baseline)
            out.append(_set_row(s, "alt-profanity-check", result))
            key = (s.language, s.task, "alt-profanity-check")
            pooled.setdefault(key, ev.BinaryScore()).merge(result)
    by_language = [
        {"language": lang, "task": task, "system": name, **sc.as_dict(),
         "top_false_positive_labels": _top(sc)}
        for (lang, task, name), sc in sorted(pooled.items())
    ]  # fmt: skip
    if as_json:
        click.echo(
            json.dumps(
                {"sets": out, "by_language_task": by_language, "functional_accuracy": functional},
                indent=2,
            )
        )
        return
    console = Console(highlight=False, width=max(170, shutil.get_terminal_size().columns))
    table = Table(title="Text: predicted positive = a rule hit on the task's labels")
    for col in ("set", "lang", "task", "system", "rows", "P", "R", "F1", "macro-F1",
                "most false positives"):  # fmt: skip
        table.add_column(col, justify="left" if col in ("set", "system", "most false "
                         "positives", "lang", "task") else "right")  # fmt: skip
    for r in out:
        table.add_row(r["set"], r["language"], r["task"], r["system"], str(r["n"]),
                      f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}",
                      f"{r['macro_f1']:.3f}", r["top_false_positive_labels"])  # fmt: skip
    console.print(table)
    table = Table(title="By language and task (each task's sets pooled)")
    for col in ("lang", "task", "system", "rows", "P", "R", "F1", "macro-F1",
                "most false positives"):  # fmt: skip
        table.add_column(col, justify="left" if col in ("lang", "task", "system", "most false "
                         "positives") else "right")  # fmt: skip
    for r in by_language:
        table.add_row(r["language"], r["task"], r["system"], str(r["n"]), f"{r['precision']:.3f}",
                      f"{r['recall']:.3f}", f"{r['f1']:.3f}", f"{r['macro_f1']:.3f}",
                      r["top_false_positive_labels"])  # fmt: skip
    console.print(table)
    for set_name, by_system in functional.items():
        table = Table(title=f"{set_name}: accuracy per functionality")
        table.add_column("functionality")
        for name in by_system:
            table.add_column(name, justify="right")
        names = sorted(next(iter(by_system.values())))
        for g in ["all", *[g for g in names if g != "all"]]:
            table.add_row(g, *(f"{by_system[n].get(g, 0.0):.3f}" for n in by_system))
        console.print(table)
    console.print("label mappings: " + "; ".join(f"{s.name}: {s.mapping}" for s in sets))


def _top(result: Any) -> str:
    """The labels behind most false positives: the confusion a moderator would see most."""
    return ", ".join(f"{lab} {n}" for lab, n in result.fp_labels.most_common(3))


def _set_row(s: Any, system: str, result: Any) -> dict[str, Any]:
    return {"set": s.name, "language": s.language, "task": s.task, "system": system,
            **result.as_dict(), "top_false_positive_labels": _top(result),
            "missed_examples": result.fn_examples[:3]}  # fmt: skip


def _profanity_check() -> Any:
    """alt-profanity-check as a predictor, if installed (the bench extra)."""
    try:
        from profanity_check import predict
    except ImportError:
        return None

    def run(text: str) -> tuple[bool, tuple[str, ...]]:
        return bool(predict([text])[0]), ("profanity-check",)

    return run
