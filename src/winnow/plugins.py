"""The one way to register anything: pluggy hooks, discovered through the ``winnow`` entry points.

Winnow's own detectors are registered exactly like a third-party plugin: the package declares
``[project.entry-points.winnow] text = "winnow.detectors.text"`` and that module implements
:func:`WinnowSpec.winnow_detectors`. A third-party package does the same with its own entry point.
Nothing is discovered at import time; :class:`Registry` loads plugins on first use.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Iterable

import pluggy

from winnow import taxonomy
from winnow.detectors.base import Detector
from winnow.errors import ConfigError

PROJECT = "winnow"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class WinnowSpec:
    """Hooks a plugin may implement."""

    @hookspec
    def winnow_detectors(self) -> list[type[Detector]]:  # type: ignore[empty-body]
        """Detector classes this plugin provides."""


class Registry:
    """Detector classes from every plugin, checked: unique names, labels from the taxonomy."""

    def __init__(self, plugins: Iterable[object] = (), *, entry_points: bool = True) -> None:
        self._extra = list(plugins)
        self._entry_points = entry_points
        self._lock = threading.Lock()
        self._detectors: dict[str, type[Detector]] | None = None

    def _load(self) -> dict[str, type[Detector]]:
        pm = pluggy.PluginManager(PROJECT)
        pm.add_hookspecs(WinnowSpec)
        if self._entry_points:
            pm.load_setuptools_entrypoints(PROJECT)
        for plugin in self._extra:
            pm.register(plugin)
        found: dict[str, type[Detector]] = {}
        for batch in pm.hook.winnow_detectors():
            for cls in batch:
                _check_detector_class(cls)
                if cls.name in found and found[cls.name] is not cls:
                    raise ConfigError(
                        f"two detectors are named {cls.name!r}: "
                        f"{found[cls.name].__module__} and {cls.__module__}"
                    )
                found[cls.name] = cls
        return dict(sorted(found.items()))

    def detectors(self) -> dict[str, type[Detector]]:
        with self._lock:
            if self._detectors is None:
                self._detectors = self._load()
            return self._detectors

    def get(self, name: str) -> type[Detector]:
        detectors = self.detectors()
        if name not in detectors:
            known = ", ".join(detectors) or "none"
            raise ConfigError(f"unknown detector {name!r} (registered: {known})")
        return detectors[name]


def _check_detector_class(cls: type[Detector]) -> None:
    for attr in ("name", "version", "labels", "media"):
        if not hasattr(cls, attr):
            raise ConfigError(f"detector {cls.__qualname__} does not declare {attr!r}")
    unknown = sorted(label for label in cls.labels if not taxonomy.is_label(label))
    if unknown:
        raise ConfigError(f"detector {cls.name!r} declares labels outside the taxonomy: {unknown}")


_default: Registry | None = None
_default_lock = threading.Lock()


def default_registry() -> Registry:
    """The process-wide registry of installed plugins (created on first call, not at import).

    Besides installed packages' entry points, ``WINNOW_PLUGINS`` may name importable modules
    (comma-separated) that implement the hooks: site-local detectors without packaging them.
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = Registry(_env_plugins())
        return _default


def _env_plugins() -> list[object]:
    modules: list[object] = []
    for name in filter(None, (n.strip() for n in os.environ.get("WINNOW_PLUGINS", "").split(","))):
        try:
            modules.append(importlib.import_module(name))
        except ImportError as exc:
            raise ConfigError(
                f"WINNOW_PLUGINS names {name!r}, which cannot be imported: {exc}"
            ) from None
    return modules
