"""``winnow bank …``: create hash banks, import and export hash lists, add local images.

Banks live in the database the service uses (``WINNOW_DATABASE_URL``, default SQLite
``winnow.db``), per tenant (``--tenant``, default ``WINNOW_TENANT`` or ``demo``). A running
service sees every change within about a second.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from winnow.errors import ContentError, ExitCode

if TYPE_CHECKING:
    from winnow.store.banks import BankStore

_KINDS = ["block", "review", "allow", "negative"]
_tenant = click.option(
    "--tenant",
    default=lambda: os.environ.get("WINNOW_TENANT", "demo"),
    show_default="WINNOW_TENANT or demo",
    help="The tenant whose banks these are.",
)


def _open(tenant: str) -> tuple[BankStore, str]:
    from winnow.cli.service import _store
    from winnow.store.banks import BankStore

    store = _store()
    tenant_id = store.tenant_id(tenant, create=True)
    assert tenant_id is not None
    return BankStore(store), tenant_id


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


@click.group()
def bank() -> None:
    """Hash banks: known content matched by MD5, SHA-256 and PDQ."""


@bank.command("create")
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice(_KINDS),
    required=True,
    help="block/review: what a match does; allow: known good, never flagged; "
    "negative: cancels other banks' matches.",
)
@click.option("--description", default="")
@click.option(
    "--pdq-threshold",
    type=click.IntRange(0, 128),
    default=31,
    show_default=True,
    help="Largest PDQ distance (bits) that counts as a match.",
)
@click.option(
    "--pdq-min-quality",
    type=click.IntRange(0, 100),
    default=50,
    show_default=True,
    help="Content PDQ quality below this is not matched (blank or flat images).",
)
@click.option(
    "--flood-limit",
    type=click.IntRange(1, 1_000_000_000),
    default=100,
    show_default=True,
    help="An entry matching more items than this within an hour is quarantined.",
)
@click.option(
    "--suppresses",
    multiple=True,
    help="Negative banks: the bank whose matches this one cancels (repeatable; "
    "default every other bank).",
)
@_tenant
def bank_create(
    name: str,
    kind: str,
    description: str,
    pdq_threshold: int,
    pdq_min_quality: int,
    flood_limit: int,
    suppresses: tuple[str, ...],
    tenant: str,
) -> None:
    """Create a bank."""
    banks, tenant_id = _open(tenant)
    row = banks.create_bank(
        tenant_id,
        name,
        kind,
        description=description,
        pdq_threshold=pdq_threshold,
        pdq_min_quality=pdq_min_quality,
        flood_limit=flood_limit,
        suppresses=list(suppresses) if suppresses else None,
    )
    click.echo(
        f"created {kind} bank {row['name']!r} for tenant {tenant!r} (PDQ threshold "
        f"{pdq_threshold}, minimum quality {pdq_min_quality}, flood limit {flood_limit}/hour)"
    )


@bank.command("configure")
@click.argument("name")
@click.option("--kind", type=click.Choice(_KINDS))
@click.option("--description")
@click.option("--pdq-threshold", type=click.IntRange(0, 128))
@click.option("--pdq-min-quality", type=click.IntRange(0, 100))
@click.option("--flood-limit", type=click.IntRange(1, 1_000_000_000))
@_tenant
def bank_configure(
    name: str,
    kind: str | None,
    description: str | None,
    pdq_threshold: int | None,
    pdq_min_quality: int | None,
    flood_limit: int | None,
    tenant: str,
) -> None:
    """Change a bank's settings (they apply to lookups within a second)."""
    banks, tenant_id = _open(tenant)
    row = banks.configure_bank(
        tenant_id,
        name,
        kind=kind,
        description=description,
        pdq_threshold=pdq_threshold,
        pdq_min_quality=pdq_min_quality,
        flood_limit=flood_limit,
    )
    click.echo(
        f"bank {name!r}: {row['kind']}, PDQ threshold {row['pdq_threshold']}, minimum quality "
        f"{row['pdq_min_quality']}, flood limit {row['flood_limit']}/hour"
    )


@bank.command("list")
@_tenant
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def bank_list(tenant: str, as_json: bool) -> None:
    """List the tenant's banks with their entry counts."""
    banks, tenant_id = _open(tenant)
    rows = banks.list_banks(tenant_id)
    if as_json:
        click.echo(json.dumps([_bank_json(r) for r in rows], indent=2))
        return
    table = Table(
        "bank",
        "kind",
        "enabled",
        "disabled",
        "quarantined",
        "PDQ threshold",
        "min quality",
        "flood limit/h",
    )
    for r in rows:
        e = r["entries"]
        table.add_row(
            r["name"],
            r["kind"],
            str(e.get("enabled", 0)),
            str(e.get("disabled", 0)),
            str(e.get("quarantined", 0)),
            str(r["pdq_threshold"]),
            str(r["pdq_min_quality"]),
            str(r["flood_limit"]),
        )
    Console(highlight=False).print(table if rows else f"tenant {tenant!r} has no banks")


def _bank_json(r: Any) -> dict[str, Any]:
    out = {
        k: r[k]
        for k in ("name", "kind", "description", "pdq_threshold", "pdq_min_quality", "flood_limit")
    }
    out["suppresses"] = json.loads(r["suppresses"]) if r["suppresses"] else None
    out["entries"] = r["entries"]
    return out


@bank.command("import")
@click.argument("name")
@click.argument("file", type=click.File("r", encoding="utf-8", errors="replace"))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "jsonl", "threatexchange", "csv", "hex"]),
    default="auto",
    show_default=True,
)
@click.option(
    "--algorithm",
    type=click.Choice(["pdq", "md5", "sha256"]),
    help="For lists that do not say (64-digit plain lists: pdq or sha256).",
)
@click.option("--source", default="", help="Where the list came from (kept on each entry).")
@click.option("--label", "labels", multiple=True, help="A label added to every entry.")
@click.option(
    "--retro/--no-retro",
    default=True,
    show_default=True,
    help="Report past scans that the new entries match.",
)
@_tenant
def bank_import(
    name: str,
    file: Any,
    fmt: str,
    algorithm: str | None,
    source: str,
    labels: tuple[str, ...],
    retro: bool,
    tenant: str,
) -> None:
    """Import a hash list. Malformed rows are reported by line; the valid rows load."""
    from winnow.hashing.formats import detect_format, parse

    banks, tenant_id = _open(tenant)
    banks.get_bank(tenant_id, name)  # fail before reading a large file
    text = file.read()
    if fmt == "auto":
        fmt = detect_format(file.name, text[:4096])
    parsed = parse(
        io.StringIO(text),
        fmt,
        algorithm=algorithm,
        source=source or file.name,
        extra_labels=labels,
        name=file.name,
    )
    result = banks.add_entries(tenant_id, name, parsed.entries)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    for p in parsed.problems[:50]:
        err.print(f"{file.name}: {p}")
    if len(parsed.problems) > 50:
        err.print(f"{file.name}: … and {len(parsed.problems) - 50:,} more malformed rows")
    click.echo(
        f"{name}: {result.added:,} added, {result.duplicates:,} already there, "
        f"{len(parsed.problems):,} malformed (format {fmt})"
    )
    if retro and result.ids:
        _report_retro(banks, tenant_id, result.ids)
    if parsed.problems:
        sys.exit(ExitCode.CONTENT)


@bank.command("export")
@click.argument("name")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "threatexchange", "csv", "hex"]),
    default="jsonl",
    show_default=True,
)
@click.option(
    "--state",
    type=click.Choice(["enabled", "disabled", "quarantined"]),
    help="Only entries in this state.",
)
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-")
@_tenant
def bank_export(name: str, fmt: str, state: str | None, output: Any, tenant: str) -> None:
    """Export a bank's entries."""
    from winnow.hashing.formats import write

    banks, tenant_id = _open(tenant)
    n = write(banks.entries(tenant_id, name, state=state), fmt, output, name)
    click.echo(f"{name}: {n:,} entries written", err=True)


@bank.command("add")
@click.argument("name")
@click.argument("items", nargs=-1, required=True)
@click.option(
    "--algorithm",
    type=click.Choice(["pdq", "md5", "sha256"]),
    help="ITEMS are hex hashes of this kind rather than files.",
)
@click.option("--label", "labels", multiple=True, help="A label for the new entries.")
@click.option("--source", default="", help="Where the content came from.")
@click.option("--note", help="A note kept on each entry.")
@_tenant
def bank_add(
    name: str,
    items: tuple[str, ...],
    algorithm: str | None,
    labels: tuple[str, ...],
    source: str,
    note: str | None,
    tenant: str,
) -> None:
    """Add hashes, or hash local images (files or folders) into a bank.

    An image adds its PDQ hash (when its quality allows matching) and its MD5; other files add
    their MD5 and SHA-256. Nothing but the hashes is kept.
    """
    from winnow.cli.main import _items
    from winnow.hashing.local import bank_entries_for
    from winnow.store.banks import NewEntry

    banks, tenant_id = _open(tenant)
    banks.get_bank(tenant_id, name)
    entries: list[NewEntry] = []
    problems = 0
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if algorithm is not None:
        entries = [NewEntry(algorithm, v, tuple(labels), source, note) for v in items]
    else:
        for shown, path in _items(items):
            if path is None:
                err.print("- (stdin) cannot be hashed into a bank; name files")
                problems += 1
                continue
            try:
                data = path.read_bytes()
                entries.extend(bank_entries_for(data, tuple(labels), source or str(path), note))
            except (ContentError, OSError) as exc:
                err.print(f"{shown}: {getattr(exc, 'message', exc)}")
                problems += 1
    result = banks.add_entries(tenant_id, name, entries)
    click.echo(
        f"{name}: {result.added:,} added, {result.duplicates:,} already there"
        + (f", {problems} could not be hashed" if problems else "")
    )
    if result.ids:
        _report_retro(banks, tenant_id, result.ids)
    if problems:
        sys.exit(ExitCode.CONTENT)


@bank.command("remove")
@click.argument("name")
@click.argument("entries", nargs=-1, required=True)
@_tenant
def bank_remove(name: str, entries: tuple[str, ...], tenant: str) -> None:
    """Remove entries, by id or by hex hash."""
    from winnow.store.banks import ALGORITHMS

    banks, tenant_id = _open(tenant)
    ids = [int(e) for e in entries if e.isdigit()]
    hashes: list[tuple[str, str]] = []
    for e in entries:
        if e.isdigit():
            continue
        algs = [a for a, n in ALGORITHMS.items() if n == len(e)]
        hashes.extend((a, e) for a in algs)
    n = banks.remove_entries(tenant_id, name, ids=ids, hashes=hashes)
    click.echo(f"{name}: {n} entries removed")
    if n < len(entries):
        sys.exit(ExitCode.USAGE)


@bank.command("enable")
@click.argument("name")
@click.argument("ids", nargs=-1, required=True, type=int)
@_tenant
def bank_enable(name: str, ids: tuple[int, ...], tenant: str) -> None:
    """Enable entries (lifts a quarantine after review)."""
    banks, tenant_id = _open(tenant)
    click.echo(f"{name}: {banks.set_state(tenant_id, name, ids, 'enabled')} entries enabled")


@bank.command("disable")
@click.argument("name")
@click.argument("ids", nargs=-1, required=True, type=int)
@click.option("--reason", default="disabled by hand")
@_tenant
def bank_disable(name: str, ids: tuple[int, ...], reason: str, tenant: str) -> None:
    """Disable entries (kept, never matched)."""
    banks, tenant_id = _open(tenant)
    click.echo(f"{name}: {banks.set_state(tenant_id, name, ids, 'disabled', reason)} disabled")


@bank.command("stats")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_tenant
def bank_stats(name: str, as_json: bool, tenant: str) -> None:
    """A bank's entries by kind and state, its matches, busiest and quarantined entries."""
    banks, tenant_id = _open(tenant)
    s = banks.stats(tenant_id, name)
    if as_json:
        click.echo(json.dumps(_jsonable(s), indent=2))
        return
    b = s["bank"]
    out = Console(highlight=False, soft_wrap=True)
    out.print(
        f"bank {b['name']!r} ({b['kind']}): {s['entries']:,} entries, "
        f"{s['matches']:,} matches, last added {_when(s['last_added_at'])}, "
        f"last matched {_when(s['last_matched_at'])}"
    )
    for alg, states in sorted(s["by_algorithm"].items()):
        out.print(f"  {alg}: " + ", ".join(f"{n:,} {st}" for st, n in sorted(states.items())))
    if s["busiest"]:
        table = Table("entry", "hash", "matches", "last matched", "state", title="busiest")
        for r in s["busiest"]:
            table.add_row(
                str(r["id"]),
                f"{r['algorithm']}:{r['value'][:16]}…",
                str(r["matches"]),
                _when(r["last_matched_at"]),
                r["state"],
            )
        out.print(table)
    if s["quarantined"]:
        table = Table("entry", "hash", "since", "why", title="quarantined (pending review)")
        for r in s["quarantined"]:
            table.add_row(
                str(r["id"]),
                f"{r['algorithm']}:{r['value'][:16]}…",
                _when(r["state_changed_at"]),
                r["state_reason"] or "",
            )
        out.print(table)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict) or hasattr(value, "keys"):
        return {k: _jsonable(value[k]) for k in value.keys()}  # noqa: SIM118
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _report_retro(banks: BankStore, tenant_id: str, ids: list[int]) -> None:
    from winnow.hashing.retro import retro_match

    t0 = time.perf_counter()
    hits = retro_match(banks, tenant_id, ids)
    if not hits:
        click.echo(
            f"retroactive: no past scan matches the new entries ({time.perf_counter() - t0:.1f} s)"
        )
        return
    click.echo(f"retroactive: {len(hits):,} past scan(s) match the new entries:")
    for h in hits[:100]:
        click.echo(
            f"  {h.scan_id}  {h.name or '-'}  was {h.action or '-'}  "
            f"→ entry {h.entry_id} ({h.algorithm}, distance {h.distance})"
        )
    if len(hits) > 100:
        click.echo(f"  … and {len(hits) - 100:,} more")
