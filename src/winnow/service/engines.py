"""Which policy a request runs, and one engine per distinct policy, shared by all requests.

A request names a policy (``"strict"`` or ``"strict@3"``), or its key names one, or it gets
``default``: the tenant's own policy called ``default`` if it uploaded one, else the built-in.
Engines are cached by the policy's digest (so two tenants with the same text share one), at most
``max_engines`` of them; resolving a name is cached for a second, so a newly uploaded version is in
use within a second on every API process and worker. Hash banks are per tenant: each tenant's
:class:`~winnow.hashing.banks.BankMatcher` is passed to the shared engine at scan time.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import Path

from winnow.engine import Engine, EngineSettings
from winnow.errors import PolicyError, PolicyProblem
from winnow.hashing.banks import BankMatcher
from winnow.policy.loader import Policy, load_default_policy, parse_policy
from winnow.store import Store
from winnow.store.banks import BankStore

DEFAULT = "default"
_RESOLVE_TTL = 1.0


def split_policy_ref(spec: str) -> tuple[str, int | None]:
    """``"name@3"`` → ("name", 3); ``"name"`` → ("name", None). Raises PolicyError if malformed."""
    name, sep, version = spec.partition("@")
    if not name or (sep and not version.isdigit()):
        raise PolicyError(
            [PolicyProblem("request", None, None, "policy", f"{spec!r} is not 'name' or 'name@N'")]
        )
    return name, int(version) if sep else None


class Engines:
    def __init__(
        self,
        store: Store,
        settings: EngineSettings | None = None,
        max_engines: int = 8,
        *,
        snapshot_dir: Path | None = None,
    ) -> None:
        self._store = store
        self._snapshot_dir = snapshot_dir
        self._settings = settings
        self._max = max_engines
        self._lock = threading.Lock()
        self._builtin = load_default_policy()
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._resolved: dict[tuple[str, str], tuple[float, Policy]] = {}
        self._matchers: dict[str, BankMatcher] = {}

    def matcher(self, tenant_id: str) -> BankMatcher:
        """The tenant's hash banks (each process follows their changes within a second)."""
        with self._lock:
            m = self._matchers.get(tenant_id)
            if m is None:
                m = self._matchers[tenant_id] = BankMatcher(
                    BankStore(self._store), tenant_id, snapshot_dir=self._snapshot_dir
                )
            return m

    def index_entries(self) -> dict[str, int]:
        """PDQ rows held by this process's bank indexes, by where each was loaded from."""
        with self._lock:
            matchers = list(self._matchers.values())
        out = {"snapshot": 0, "database": 0}
        for m in matchers:
            if m.loaded_from is not None:
                out[m.loaded_from] += len(m.index)
        return out

    def close(self) -> None:
        """Save each bank index that moved since its last snapshot (a clean shutdown)."""
        with self._lock:
            matchers = list(self._matchers.values())
        for m in matchers:
            m.close()

    def default_engine(self) -> Engine:
        return self._engine(self._builtin)

    def for_request(self, tenant_id: str, spec: str | None) -> Engine:
        """The engine for a tenant's policy spec. Raises PolicyError naming an unknown policy."""
        spec = spec or DEFAULT
        key = (tenant_id, spec)
        now = time.monotonic()
        hit = self._resolved.get(key)
        if hit is not None and now - hit[0] < _RESOLVE_TTL:
            return self._engine(hit[1])
        policy = self._resolve(tenant_id, spec)
        self._resolved[key] = (now, policy)
        return self._engine(policy)

    def _resolve(self, tenant_id: str, spec: str) -> Policy:
        name, version = split_policy_ref(spec)
        row = self._store.get_policy(tenant_id, name, version)
        if row is None:
            if name == DEFAULT and version is None:
                return self._builtin
            what = f"{name!r} version {version}" if version is not None else repr(name)
            raise PolicyError(
                [PolicyProblem("request", None, None, "policy", f"no policy {what} for this key")]
            )
        with self._lock:
            for engine in self._engines.values():
                if engine.policy.digest == row["digest"]:
                    return engine.policy
        return parse_policy(row["source"], f"{row['name']}@{row['version']}")

    def _engine(self, policy: Policy) -> Engine:
        with self._lock:
            engine = self._engines.get(policy.digest)
            if engine is not None:
                self._engines.move_to_end(policy.digest)
                return engine
        engine = Engine(policy, settings=self._settings)
        with self._lock:
            self._engines[policy.digest] = engine
            while len(self._engines) > self._max:
                self._engines.popitem(last=False)
            return self._engines[policy.digest]
