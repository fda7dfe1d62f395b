"""Prometheus metrics of the web process (text format at ``/metrics``) and who may read them.

``/metrics`` needs ``Authorization: Bearer <CHUDONG_METRICS_TOKEN>`` (Prometheus:
``authorization: {credentials: …}`` in the scrape config) or a signed-in operator. Only a
development process with no token set serves it to anyone.
"""

from __future__ import annotations

import hmac
from functools import lru_cache

from fastapi import Request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from chudong.kit.errors import NotFound, Unauthorized

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


class MetricsSettings(BaseSettings):
    """``CHUDONG_METRICS_TOKEN``: the bearer token Prometheus sends (empty: operators only)."""

    model_config = SettingsConfigDict(env_prefix="CHUDONG_METRICS_", env_file=".env", extra="ignore")

    token: str = ""


@lru_cache
def get_metrics_settings() -> MetricsSettings:
    """Return the metrics settings, reading the environment once."""
    return MetricsSettings()


def authorise_scrape(request: Request, session: Session) -> None:
    """Let a scrape through with the metrics token or an operator's session; refuse anyone else.

    A wrong token is a 401. Without a token, production answers 404 (the endpoint is not
    advertised), other environments 401 — except development with no token configured,
    where metrics stay open for a local Prometheus.
    """
    token = get_metrics_settings().token
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and given.strip():
        if hmac.compare_digest(given.strip().encode(), token.encode()):
            return
        raise Unauthorized("wrong metrics token")
    from chudong.portal.security import load_user

    user = load_user(request, session)
    if user is not None and user.role == "operator":
        return
    env = request.app.state.settings.env
    if env == "development" and not token:
        return
    if env == "production":
        raise NotFound("not found")
    raise Unauthorized("send Authorization: Bearer <CHUDONG_METRICS_TOKEN>, or sign in as an operator")


class _OperationsCollector:
    """Read, at scrape time, what the workers' lanes are doing (``worker_lane``) and the replica's lag."""

    def __init__(self, engine: Engine, state=None) -> None:
        self.engine = engine
        self.app_state = state

    def collect(self):
        import datetime as dt

        from chudong.worker.models import WorkerLane

        labels = ["worker", "lane"]
        age = GaugeMetricFamily("chudong_worker_lane_heartbeat_age_seconds",
                                "Seconds since the lane last reported (grows when its worker died or hangs)", labels=labels)
        busy = GaugeMetricFamily("chudong_worker_lane_busy_seconds",
                                 "How long the lane's current job has been running (0: idle)", labels=labels + ["job"])
        runs = GaugeMetricFamily("chudong_worker_lane_runs", "Job runs the lane made since its worker started", labels=labels)
        fails = GaugeMetricFamily("chudong_worker_lane_failures", "Job runs that failed (logged)", labels=labels)
        now = dt.datetime.now(dt.UTC)
        with Session(self.engine) as s:
            rows = s.scalars(select(WorkerLane).order_by(WorkerLane.worker, WorkerLane.lane)).all()
        for r in rows:
            key = [r.worker, r.lane]
            age.add_metric(key, max(0.0, (now - r.heartbeat_at).total_seconds()))
            since = (now - r.running_since).total_seconds() if r.running_since else 0.0
            busy.add_metric(key + [r.running_job or ""], max(0.0, since))
            runs.add_metric(key, r.runs)
            fails.add_metric(key, r.failures)
        yield from (age, busy, runs, fails)
        yield from self._replica()

    def _replica(self):
        from chudong.replica import router_of

        if self.app_state is None or not getattr(self.app_state.settings, "database_replica_url", ""):
            return
        st = router_of(self.app_state).state()
        up = GaugeMetricFamily("chudong_replica_up", "1 when the read replica answered the last check")
        up.add_metric([], 1.0 if st.up else 0.0)
        used = GaugeMetricFamily("chudong_replica_in_use",
                                 "1 when read-only pages read the replica, 0 when they fell back to the primary")
        used.add_metric([], 1.0 if st.in_use else 0.0)
        yield up
        yield used
        if st.lag_seconds is not None:
            lag = GaugeMetricFamily("chudong_replica_lag_seconds", "How far the read replica is behind the primary")
            lag.add_metric([], st.lag_seconds)
            yield lag


def scrape(state) -> bytes:
    """Return the process's metrics and the deployment's (worker lanes, replica lag) in Prometheus text format.

    ``state``: the application's ``app.state`` (its engine, settings and replica router).
    """
    ops = CollectorRegistry(auto_describe=False)
    ops.register(_OperationsCollector(state.engine, state))
    return generate_latest(REGISTRY) + generate_latest(ops)
