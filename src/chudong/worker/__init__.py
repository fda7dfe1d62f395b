"""The worker process: runs every registered periodic job, one thread per lane, until stopped.

Jobs of one lane run one after another on their schedule; lanes run side by side, so the
forecast or a report (lane ``reports``) never holds back notification dispatch (lane
``dispatch``). Each lane records what it is doing in ``worker_lane`` for ``/metrics``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
import time
from collections import defaultdict

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine

from chudong.kit.jobs import Job, registered_jobs

log = logging.getLogger("chudong.worker")


def _wall() -> dt.datetime:
    """Operational wall time (heartbeats), not the business clock that ``--as-of`` may set."""
    return dt.datetime.now(dt.UTC)


class LaneRecorder:
    """Keep one lane's row in ``worker_lane`` current; a failure to write is logged, never fatal."""

    def __init__(self, engine: Engine, worker: str, lane: str, jobs: list[Job]) -> None:
        from chudong.worker.models import WorkerLane

        self.engine, self.worker, self.lane = engine, worker, lane
        self.table = WorkerLane.__table__
        self.where = (self.table.c.worker == worker) & (self.table.c.lane == lane)
        now = _wall()
        self._write(delete(self.table).where(self.where),
                    self.table.insert().values(worker=worker, lane=lane, jobs=",".join(j.name for j in jobs),
                                               started_at=now, heartbeat_at=now, runs=0, failures=0))

    def _write(self, *statements) -> None:
        try:
            with self.engine.begin() as conn:
                for st in statements:
                    conn.execute(st)
        except Exception:  # the lane's state is for monitoring: losing one update must not stop the jobs
            log.exception("lane %s: could not record its state", self.lane)

    def started(self, job: Job) -> None:
        now = _wall()
        self._write(update(self.table).where(self.where).values(
            running_job=job.name, running_since=now, heartbeat_at=now))

    def finished(self, job: Job, did: int, error: str | None) -> None:
        c = self.table.c
        self._write(update(self.table).where(self.where).values(
            running_job=None, running_since=None, heartbeat_at=_wall(), runs=c.runs + 1,
            failures=c.failures + (1 if error else 0), last_job=job.name, last_did=did,
            last_error=error[:300] if error else c.last_error))

    def idle(self) -> None:
        self._write(update(self.table).where(self.where).values(heartbeat_at=_wall()))

    def remove(self) -> None:
        self._write(delete(self.table).where(self.where))


class Worker:
    """Run jobs on their schedule, one thread per lane; stop cleanly on SIGTERM / SIGINT."""

    HEARTBEAT_SECONDS = 10.0  # an idle lane still refreshes its row this often

    def __init__(self, engine: Engine, only: list[str] | None = None, lanes: str | None = None) -> None:
        if lanes is None:
            from chudong.config import get_settings

            lanes = get_settings().worker_lanes
        jobs = registered_jobs(lanes)
        unknown = sorted(set(only or []) - set(jobs))
        if unknown:
            raise ValueError(f"unknown job(s): {', '.join(unknown)}; known: {', '.join(sorted(jobs))}")
        self.jobs: list[Job] = [j for n, j in sorted(jobs.items()) if not only or n in only]
        self.lanes: dict[str, list[Job]] = defaultdict(list)
        for j in self.jobs:
            self.lanes[j.lane].append(j)
        self.engine = engine
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._stop_event = threading.Event()

    @property
    def stopping(self) -> bool:
        return self._stop_event.is_set()

    def run_once(self) -> dict[str, int]:
        """Run every job once, lane by lane; return what each did (-1: failed, logged)."""
        done: dict[str, int] = {}
        for job in self.jobs:
            did, _ = self._run(job)
            done[job.name] = did
        return done

    def _run(self, job: Job) -> tuple[int, str | None]:
        """Run one job; a failure is logged with its traceback and returned, never raised."""
        try:
            return job.run(self.engine), None
        except Exception as exc:  # one job's failure must not stop the others or its lane
            log.exception("job %s failed", job.name)
            return -1, f"{type(exc).__name__}: {exc}"

    def run_forever(self, install_signals: bool = True) -> None:
        """Run every lane in its own thread until a stop signal (or ``stop()``) arrives."""
        if install_signals:
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
        threads = [threading.Thread(target=self._lane_loop, args=(lane, jobs), name=f"lane-{lane}", daemon=True)
                   for lane, jobs in sorted(self.lanes.items())]
        for t in threads:
            t.start()
        while not self._stop_event.wait(0.5):
            if not any(t.is_alive() for t in threads):
                break
        self._stop_event.set()
        for t in threads:
            t.join()

    def stop(self) -> None:
        """Ask every lane to stop after its current job."""
        self._stop_event.set()

    def _lane_loop(self, lane: str, jobs: list[Job]) -> None:
        recorder = LaneRecorder(self.engine, self.name, lane, jobs)
        next_run = {j.name: 0.0 for j in jobs}
        last_beat = time.monotonic()
        try:
            while not self.stopping:
                for job in jobs:
                    if self.stopping or time.monotonic() < next_run[job.name]:
                        continue
                    recorder.started(job)
                    did, error = self._run(job)
                    recorder.finished(job, did, error)
                    last_beat = time.monotonic()
                    next_run[job.name] = time.monotonic() + (0 if did > 0 else job.every)
                if time.monotonic() - last_beat >= self.HEARTBEAT_SECONDS:
                    recorder.idle()
                    last_beat = time.monotonic()
                due = min(next_run.values()) - time.monotonic()
                self._stop_event.wait(min(max(due, 0.01), 0.25))
        finally:
            recorder.remove()

    def _stop(self, *_: object) -> None:
        self._stop_event.set()
