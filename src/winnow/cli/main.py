"""The ``winnow`` command.

Exit codes (also in :class:`winnow.errors.ExitCode`): 0 every item passed, 1 something needs
review, 3 something is blocked, 4 an item could not be scanned (the others were), 5 invalid
policy or settings, 2 a usage error, 70 a bug.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from winnow import __version__, taxonomy
from winnow.engine import Engine, EngineSettings
from winnow.errors import ContentError, ExitCode, PolicyError, WinnowError, exit_code
from winnow.media.text import DEFAULT_MAX_TEXT_BYTES, TextLimits
from winnow.plugins import default_registry
from winnow.policy.loader import Policy, default_policy_text, load_default_policy, load_policy
from winnow.redact import redact_image, redact_text
from winnow.serialize import verdict_to_dict
from winnow.types import Action, Content, Verdict

_PROGRESS_MIN_BYTES = 8 << 20
_PROGRESS_MIN_ITEMS = 20


def _err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _load(policy: Path | None) -> Policy:
    return load_policy(policy) if policy is not None else load_default_policy()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="winnow")
def cli() -> None:
    """Winnow: self-hosted content moderation that explains every decision."""


def _matcher(tenant: str, wanted: bool | None) -> Any:
    """The tenant's bank matcher: always with --banks, never with --no-banks, and by default
    when the configured database exists and the tenant has banks."""
    if wanted is False:
        return None
    from winnow.service.settings import Settings

    settings = Settings.from_env()
    url = settings.database_url
    if wanted is None and url.startswith("sqlite:///") and not Path(url[10:]).exists():
        return None
    from winnow.hashing.banks import BankMatcher
    from winnow.store import Store
    from winnow.store.banks import BankStore

    store = Store(url)
    store.upgrade()
    tenant_id = store.tenant_id(tenant, create=bool(wanted))
    if tenant_id is None:
        return None
    banks = BankStore(store)
    if wanted is None and not banks.banks_by_id(tenant_id):
        return None
    return BankMatcher(banks, tenant_id, snapshot_dir=settings.snapshot_dir)


def _items(paths: tuple[str, ...]) -> Iterator[tuple[str, Path | None]]:
    """(name, path) for every file to scan; stdin is ('-', None). Directories are walked."""
    for raw in paths:
        if raw == "-":
            yield "-", None
            continue
        p = Path(raw)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for name in sorted(files):
                    yield str(Path(root) / name), Path(root) / name
        else:
            yield raw, p


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--policy", type=click.Path(path_type=Path), help="Policy YAML (default: built-in).")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "table"]), default="jsonl", show_default=True
)
@click.option("--encoding", help="Text encoding of the input (default: UTF-8, or the BOM's).")
@click.option(
    "--decode-errors",
    type=click.Choice(["strict", "replace"]),
    default="strict",
    show_default=True,
    help="What to do with bytes that do not decode: refuse the item, or replace them.",
)
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_TEXT_BYTES,
    show_default=True,
    help="Largest text accepted, in bytes.",
)
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a TTY).")
@click.option(
    "--banks/--no-banks",
    default=None,
    help="Match the tenant's hash banks (default: when the database holds any).",
)
@click.option(
    "--tenant",
    default=lambda: os.environ.get("WINNOW_TENANT", "demo"),
    show_default="WINNOW_TENANT or demo",
    help="Whose hash banks to match.",
)
def scan(
    paths: tuple[str, ...],
    policy: Path | None,
    fmt: str,
    encoding: str | None,
    decode_errors: str,
    max_bytes: int,
    progress: bool | None,
    banks: bool | None,
    tenant: str,
) -> None:
    """Scan files, directories (recursively) or stdin (-); one JSON verdict per item."""
    try:
        engine = Engine(
            _load(policy),
            settings=EngineSettings(
                limits=TextLimits(
                    max_bytes=max_bytes,
                    decode_errors="replace" if decode_errors == "replace" else "strict",
                )
            ),
            matcher=_matcher(tenant, banks),
        )
    except WinnowError as exc:
        _err().print(f"[red]error:[/] {exc.message}")
        sys.exit(exit_code(exc))
    items = list(_items(paths))
    total = sum(p.stat().st_size for _, p in items if p is not None and p.is_file())
    show = progress if progress is not None else sys.stderr.isatty()
    show = show and (total >= _PROGRESS_MIN_BYTES or len(items) >= _PROGRESS_MIN_ITEMS)
    worst = Action.PASS
    failed = False
    rows: list[tuple[str, Verdict | None, str | None]] = []
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(), console=_err(), disable=not show, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("scanning", total=len(items))
        for name, path in items:
            content = (
                Content.from_bytes(sys.stdin.buffer.read(), name="-", encoding=encoding)
                if path is None
                else Content.from_path(path, encoding=encoding)
            )
            try:
                verdict = engine.scan(content)
            except ContentError as exc:
                failed = True
                _emit_error(name, exc, fmt, rows)
            else:
                worst = max(worst, verdict.action)
                if fmt == "jsonl":
                    _print_json({"item": name, **verdict_to_dict(verdict)})
                else:
                    rows.append((name, verdict, None))
            bar.advance(task)
    if fmt == "table":
        _print_table(rows)
    if engine.matcher is not None:  # the next run loads the bank index from its snapshot
        engine.matcher.close()
    if failed:
        sys.exit(ExitCode.CONTENT)
    sys.exit({Action.PASS: ExitCode.OK, Action.REVIEW: ExitCode.REVIEW,
              Action.BLOCK: ExitCode.BLOCK}[worst])  # fmt: skip


def _print_json(obj: dict[str, Any], stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    out.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
    out.flush()


def _emit_error(
    name: str, exc: WinnowError, fmt: str, rows: list[tuple[str, Verdict | None, str | None]]
) -> None:
    if fmt == "jsonl":
        _print_json({"item": name, "error": {"code": exc.code, "message": exc.message}})
    else:
        rows.append((name, None, exc.message))
    _err().print(f"[yellow]{name}:[/] {exc.message}")


def _print_table(rows: list[tuple[str, Verdict | None, str | None]]) -> None:
    table = Table(show_lines=False, expand=False)
    for col in ("item", "action", "rules", "evidence", "lang"):
        table.add_column(col, overflow="fold")
    colour = {"pass": "green", "review": "yellow", "block": "red"}
    for name, verdict, error in rows:
        if verdict is None:
            table.add_row(name, "[magenta]error[/]", "", error or "", "")
            continue
        action = verdict.action.label
        rules = ", ".join(h.rule for h in verdict.rule_hits)
        evidence = "; ".join(
            f"{f.label} {f.score:.2f} {f.excerpt!r}" for f in verdict.findings[:4]
        ) + (f" (+{len(verdict.findings) - 4})" if len(verdict.findings) > 4 else "")
        lang = verdict.language.code if verdict.language else ""
        table.add_row(name, f"[{colour[action]}]{action}[/]", rules, evidence, lang)
    Console(highlight=False).print(table)


@cli.group()
def policy() -> None:
    """Check and show policies."""


@policy.command("check")
@click.argument("file", type=click.Path(path_type=Path))
def policy_check(file: Path) -> None:
    """Validate a policy file and print every problem with its line."""
    try:
        p = load_policy(file)
    except PolicyError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(exc.problems)} problem(s) in {file}", err=True)
        sys.exit(ExitCode.CONFIG)
    except WinnowError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(exit_code(exc))
    detectors = ", ".join(s.cls.name for s in p.detectors)
    click.echo(f"{file}: ok — policy {p.ref}, {len(p.model.rules)} rules, detectors: {detectors}")


@policy.command("default")
def policy_default() -> None:
    """Print the built-in default policy (a starting point for your own)."""
    click.echo(default_policy_text(), nl=False)


@cli.command()
@click.argument("path", default="-")
@click.option("--policy", type=click.Path(path_type=Path))
@click.option(
    "--label",
    "labels",
    multiple=True,
    help="Labels (or categories) to redact; repeat for several. Default: privacy/pii for text;"
    " privacy/face for images.",
)
@click.option("--encoding")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Where to write a redacted image (required for images; text goes to stdout).",
)
def redact(
    path: str,
    policy: Path | None,
    labels: tuple[str, ...],
    encoding: str | None,
    output: Path | None,
) -> None:
    """Print a text with personal data masked, or write an image with faces (or other labels:
    sexual, spam/qrcode, privacy/pii read by OCR) blurred out."""
    try:
        engine = Engine(_load(policy))
        # One byte past the larger limit: the engine then refuses an oversize item by name.
        cap = max(engine.settings.limits.max_bytes, engine.settings.image.max_bytes) + 1
        raw = sys.stdin.buffer.read(cap) if path == "-" else _read_capped(Path(path), cap)
        content = Content.from_bytes(raw, name=path, encoding=encoding)
        verdict = engine.scan(content)
        if verdict.content.kind == "image":
            if output is None:
                raise ContentError("this is an image: say where to write the copy with --output")
            data, media_type, count = redact_image(raw, verdict, labels or ("privacy/face",))
            output.write_bytes(data)
            click.echo(f"{output}: {media_type}, {count} region(s) redacted", err=True)
            return
        text = raw.decode(encoding or "utf-8-sig")
    except WinnowError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(exit_code(exc))
    except OSError as exc:
        click.echo(f"error: cannot write {output}: {exc.strerror}", err=True)
        sys.exit(ExitCode.CONTENT)
    sys.stdout.write(redact_text(text, verdict.findings, labels or ("privacy/pii",)))


def _read_capped(path: Path, limit: int) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(limit)
    except OSError as exc:
        raise ContentError(f"cannot read {path}: {exc.strerror}") from None


@cli.command()
def detectors() -> None:
    """List the registered detectors, their versions and labels."""
    table = Table()
    for col in ("name", "version", "media", "labels", "module"):
        table.add_column(col, overflow="fold")
    for name, cls in default_registry().detectors().items():
        table.add_row(name, cls.version, ", ".join(sorted(cls.media)),
                      ", ".join(sorted(cls.labels)), cls.__module__)  # fmt: skip
    Console(highlight=False).print(table)


@cli.command()
def labels() -> None:
    """List the label taxonomy with its DSA and OpenAI mappings."""
    table = Table()
    for col in ("label", "description", "DSA category", "OpenAI"):
        table.add_column(col, overflow="fold")
    for info in taxonomy.LABELS.values():
        table.add_row(
            info.name,
            info.description,
            info.dsa.value.removeprefix("STATEMENT_CATEGORY_"),
            ", ".join(info.openai),
        )
    Console(highlight=False).print(table)


def _register() -> None:
    from winnow.cli.banks import bank
    from winnow.cli.evaluate import eval_group
    from winnow.cli.service import db, key, serve, worker

    for command in (eval_group, serve, worker, key, db, bank):
        cli.add_command(command)


_register()


def main() -> None:
    try:
        cli.main(standalone_mode=True)
    except WinnowError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(exit_code(exc))
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a bug: say so briefly; the traceback only when asked for
        if os.environ.get("WINNOW_DEBUG"):
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {exc} (set WINNOW_DEBUG=1 for the traceback; "
            "please report it)",
            err=True,
        )
        sys.exit(ExitCode.INTERNAL)
