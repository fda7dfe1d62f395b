"""Prometheus metrics of the web process (text format at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "chudong_http_requests_total", "HTTP requests handled", ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "chudong_http_request_seconds", "HTTP request latency", ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
