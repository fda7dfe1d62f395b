"""The worker runs each lane in its own thread: a slow job never holds back another lane's jobs."""

from __future__ import annotations

import threading
from types import SimpleNamespace
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from chudong.kit import jobs as jobs_mod
from chudong.kit.jobs import Job, LaneSpecError, parse_lanes, registered_jobs
from chudong.web.metrics import scrape
from chudong.worker import Worker
from chudong.worker.models import WorkerLane


def _wait(cond, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def lanes_jobs(monkeypatch):
    release = threading.Event()
    fast_runs: list[float] = []

    def slow(engine) -> int:
        release.wait(20)
        return 0

    def fast(engine) -> int:
        fast_runs.append(time.monotonic())
        return 0

    def broken(engine) -> int:
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(jobs_mod._JOBS, "test.slow", Job("test.slow", 60, slow, "reports"))
    monkeypatch.setitem(jobs_mod._JOBS, "test.fast", Job("test.fast", 0.02, fast, "dispatch"))
    monkeypatch.setitem(jobs_mod._JOBS, "test.broken", Job("test.broken", 60, broken, "default"))
    return release, fast_runs


def test_slow_lane_does_not_hold_dispatch_and_lanes_show_on_metrics(engine, lanes_jobs):
    release, fast_runs = lanes_jobs
    w = Worker(engine, only=["test.slow", "test.fast", "test.broken"], lanes="")
    assert {lane: [j.name for j in js] for lane, js in w.lanes.items()} == {
        "reports": ["test.slow"], "dispatch": ["test.fast"], "default": ["test.broken"]}
    t = threading.Thread(target=w.run_forever, kwargs={"install_signals": False})
    t.start()
    try:
        # the slow job is running (and stays running) while the fast lane keeps going
        def slow_running() -> bool:
            with Session(engine) as s:
                row = s.get(WorkerLane, (w.name, "reports"))
                return row is not None and row.running_job == "test.slow"
        assert _wait(slow_running)
        before = len(fast_runs)
        assert _wait(lambda: len(fast_runs) >= before + 10), "dispatch lane waited behind the slow job"

        def broken_counted() -> bool:
            with Session(engine) as s:
                row = s.get(WorkerLane, (w.name, "default"))
                return row is not None and row.failures >= 1
        assert _wait(broken_counted)
        text = scrape(SimpleNamespace(engine=engine, settings=None)).decode()
        assert f'chudong_worker_lane_busy_seconds{{job="test.slow",lane="reports",worker="{w.name}"}}' in text
        assert f'chudong_worker_lane_failures{{lane="default",worker="{w.name}"}} 1.0' in text
        assert "chudong_worker_lane_heartbeat_age_seconds" in text
        with Session(engine) as s:
            assert "RuntimeError: disk on fire" in s.get(WorkerLane, (w.name, "default")).last_error
    finally:
        w.stop()
        release.set()
        t.join(20)
    assert not t.is_alive()
    with Session(engine) as s:  # a clean stop removes the worker's rows
        assert s.scalars(select(WorkerLane).where(WorkerLane.worker == w.name)).all() == []


def test_run_once_reports_each_job(engine, lanes_jobs):
    release, fast_runs = lanes_jobs
    release.set()
    w = Worker(engine, only=["test.fast", "test.broken"], lanes="")
    assert w.run_once() == {"test.broken": -1, "test.fast": 0}
    assert len(fast_runs) == 1


def test_default_lanes_keep_dispatch_apart_from_the_forecast():
    jobs = registered_jobs("")
    assert jobs["notifications.dispatch"].lane == "dispatch"
    assert jobs["analytics.forecast"].lane == "reports"
    assert jobs["notifications.dispatch"].lane != jobs["dossiers.deadlines"].lane


def test_lanes_setting_moves_jobs():
    jobs = registered_jobs("heavy=analytics.forecast,audit.anchor; dispatch=bus.relay")
    assert jobs["analytics.forecast"].lane == "heavy"
    assert jobs["audit.anchor"].lane == "heavy"
    assert jobs["bus.relay"].lane == "dispatch"


@pytest.mark.parametrize("spec, error", [
    ("heavy", "is not 'lane=job,job'"),
    ("=a.b", "is not 'lane=job,job'"),
    ("a=x.y;b=x.y", "job x.y is in lanes a and b"),
])
def test_bad_lanes_setting_is_a_clear_error(spec, error):
    with pytest.raises(LaneSpecError, match=error):
        parse_lanes(spec)


def test_lanes_setting_with_unknown_job_is_refused():
    with pytest.raises(LaneSpecError, match="unknown job"):
        registered_jobs("x=no.such.job")
