"""Prometheus metrics at ``/metrics``: requests, latency by route and media kind, detector time,
verdicts by action, hash-bank matches, and (read at each scrape) the job queue's depth, bank
entries set aside (quarantined or disabled) and the size of this process's bank indexes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from winnow.types import Verdict

disable_created_metrics()  # type: ignore[no-untyped-call]  # the *_created series only double what Prometheus scrapes
_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _ReadGauge(Collector):
    """A gauge by one label, read at each scrape (from the database or the process)."""

    def __init__(
        self, name: str, documentation: str, label: str, read: Callable[[], Mapping[str, int]]
    ) -> None:
        self._name, self._doc, self._label, self._read = name, documentation, label, read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        g = GaugeMetricFamily(self._name, self._doc, labels=[self._label])
        try:
            for value, n in self._read().items():
                g.add_metric([value], n)
        except Exception:  # the database is down: /readyz says so; metrics still answer
            pass
        yield g


class Metrics:
    def __init__(
        self,
        queue_depth: Callable[[], Mapping[str, int]],
        banks_set_aside: Callable[[], Mapping[str, int]] | None = None,
        bank_index: Callable[[], Mapping[str, int]] | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "winnow_http_requests",
            "HTTP requests answered, by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "winnow_http_request_duration_seconds",
            "Time to answer a request, by route and the media kind it carried.",
            ["route", "kind"],
            buckets=_LATENCY,
            registry=self.registry,
        )
        self.detector = Histogram(
            "winnow_detector_duration_seconds",
            "Time each detector spent on one item (and decode, language).",
            ["detector"],
            buckets=_LATENCY,
            registry=self.registry,
        )
        self.verdicts = Counter(
            "winnow_verdicts",
            "Scans finished, by action (failed: the content could not be scanned).",
            ["action"],
            registry=self.registry,
        )
        self.bank_matches = Counter(
            "winnow_bank_matches",
            "Hash-bank matches in finished scans, by bank kind, algorithm and whether a negative "
            "bank suppressed them.",
            ["kind", "algorithm", "suppressed"],
            registry=self.registry,
        )
        self.registry.register(
            _ReadGauge(
                "winnow_queue_depth", "Jobs not finished yet, by status.", "status", queue_depth
            )
        )
        if banks_set_aside is not None:
            self.registry.register(
                _ReadGauge(
                    "winnow_bank_entries_set_aside",
                    "Bank entries not matched, all tenants: quarantined (flood protection, "
                    "pending review) and disabled.",
                    "state",
                    banks_set_aside,
                )
            )
        if bank_index is not None:
            self.registry.register(
                _ReadGauge(
                    "winnow_bank_index_entries",
                    "PDQ entries in this process's bank indexes, by where they were loaded from "
                    "(snapshot or database).",
                    "loaded_from",
                    bank_index,
                )
            )

    def observe_verdict(self, verdict: Verdict) -> None:
        self.verdicts.labels(verdict.action.label).inc()
        for m in verdict.hash_matches:
            suppressed = "true" if m.suppressed_by is not None else "false"
            self.bank_matches.labels(m.kind, m.algorithm, suppressed).inc()
        for name, ms in verdict.timings_ms.items():
            self.detector.labels(name).observe(ms / 1000.0)

    def middleware(self, app: ASGIApp) -> ASGIApp:
        requests, latency = self.requests, self.latency

        async def measured(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            t0 = time.perf_counter()
            status = 500

            async def send_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await app(scope, receive, send_status)
            finally:
                route = scope.get("route")
                path = getattr(route, "path", "unmatched")
                kind = scope.get("state", {}).get("kind", "none")
                requests.labels(path, scope["method"], str(status)).inc()
                latency.labels(path, kind).observe(time.perf_counter() - t0)

        return measured
