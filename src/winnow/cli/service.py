"""``winnow serve``, ``winnow worker``, ``winnow key …`` and ``winnow db upgrade``.

All read the ``WINNOW_*`` settings (see :mod:`winnow.service.settings`); the database is SQLite
``winnow.db`` in the current directory unless ``WINNOW_DATABASE_URL`` says otherwise.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from winnow.service.settings import Settings

if TYPE_CHECKING:
    from winnow.store import Store


def _store() -> Store:
    from winnow.store import Store

    store = Store(Settings.from_env().database_url)
    store.upgrade()
    return store


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
@click.option(
    "--access-log/--no-access-log",
    default=False,
    show_default=True,
    help="Log every request (costs throughput).",
)
def serve(host: str, port: int, log_level: str, access_log: bool) -> None:
    """Run the HTTP API (with the embedded job workers unless WINNOW_BROKER_URL is set).

    The schema is created or upgraded on start; the models load before the first request.
    """
    import uvicorn

    Settings.from_env()  # refuse bad settings before anything starts
    uvicorn.run(
        "winnow.service.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        loop="uvloop",
        http="httptools",
        server_header=False,
        timeout_graceful_shutdown=10,
    )  # fmt: skip


@click.command()
@click.option(
    "--concurrency",
    "-c",
    default=1,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Jobs run at once by this worker (processes).",
)
@click.option("--name", help="Worker name (default: winnow-<pid>@<host>).")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def worker(concurrency: int, name: str | None, log_level: str) -> None:
    """Run Celery workers for jobs queued on WINNOW_BROKER_URL (Redis), and deliver webhooks."""
    import os

    from winnow.errors import ConfigError
    from winnow.jobs.celery_app import make_celery
    from winnow.jobs.webhooks import WebhookSender
    from winnow.store import Store

    settings = Settings.from_env()
    if not settings.broker_url:
        raise ConfigError("winnow worker needs WINNOW_BROKER_URL (redis://host:6379/0)")
    store = Store(settings.database_url)
    store.upgrade()
    sender = WebhookSender.from_settings(store, settings)
    sender.start()
    app = make_celery(settings)
    argv = [
        "worker",
        f"--loglevel={log_level.upper()}",
        f"--hostname={name or f'winnow-{os.getpid()}@%h'}",
        "--without-gossip",
        "--without-mingle",
        "--pool=solo" if concurrency == 1 else "--pool=prefork",
        f"--concurrency={concurrency}",
    ]
    try:
        app.worker_main(argv)
    finally:
        sender.stop()


@click.group()
def key() -> None:
    """Create, list and revoke API keys. Keys are stored hashed; a key is shown once."""


@key.command("create")
@click.option("--tenant", required=True, help="Tenant the key belongs to (created if new).")
@click.option("--name", default="default", show_default=True, help="A label for the key.")
@click.option("--policy", help="The key's default policy ('name' or 'name@N').")
@click.option("--rate-limit", type=click.FloatRange(min=0.001), help="Requests per second.")
@click.option("--burst", type=click.IntRange(min=1), help="Requests the key may burst.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts).")
def key_create(
    tenant: str,
    name: str,
    policy: str | None,
    rate_limit: float | None,
    burst: int | None,
    as_json: bool,
) -> None:
    """Create an API key for TENANT and print it (the only time it is shown)."""
    from winnow.service.engines import split_policy_ref

    if policy is not None:
        split_policy_ref(policy)
    store = _store()
    token = store.create_key(tenant, name, policy=policy, rate_limit=rate_limit, burst=burst)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "key": token.token,
                    "key_id": token.key_id,
                    "tenant": token.tenant,
                    "tenant_id": token.tenant_id,
                    "webhook_secret": token.webhook_secret,
                }
            )
        )
        return
    click.echo(f"key:            {token.token}")
    click.echo(f"key id:         {token.key_id} (tenant {token.tenant})")
    click.echo(f"webhook secret: {token.webhook_secret} (verifies Winnow-Signature)")
    click.echo("The key is shown only now; Winnow stores its hash.", err=True)


@key.command("list")
@click.option("--tenant", help="Only this tenant's keys.")
def key_list(tenant: str | None) -> None:
    """List keys (ids and settings, never the secrets)."""
    store = _store()
    for row in store.list_keys(tenant):
        state = "revoked" if row["revoked_at"] else "active"
        rate = f"{row['rate_limit']:g}/s" if row["rate_limit"] else "default rate"
        click.echo(
            f"{row['id']}  {row['tenant']:<20} {row['name']:<16} {state:<8} "
            f"policy={row['policy'] or 'default'}  {rate}"
        )


@key.command("revoke")
@click.argument("key_id")
def key_revoke(key_id: str) -> None:
    """Revoke a key by its id (wn_…). API processes stop accepting it within 10 seconds."""
    from winnow.errors import ConfigError

    store = _store()
    if not store.revoke_key(key_id):
        raise ConfigError(f"no active key {key_id!r}")
    click.echo(f"revoked {key_id}")


@click.group()
def db() -> None:
    """The database (WINNOW_DATABASE_URL)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create the schema or bring it to this version (also done by serve and worker on start)."""
    store = _store()
    current, head = store.revision()
    click.echo(f"{store.url.split('@')[-1]}: schema at {current} (newest {head})")
