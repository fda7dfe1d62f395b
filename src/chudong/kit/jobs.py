"""Periodic jobs run by ``chudong worker``: each takes no payload, is idempotent and bounded.

Features declare jobs in ``chudong/<feature>/tasks.py`` with ``@periodic``. A job gets
the engine and returns how much it did (0 = idle); the worker runs it again after
``every`` seconds, or at once when it did a full batch.

Each job runs in a *lane*: the worker gives every lane its own thread, so a long job in
one lane (the forecast, a report) never holds back the jobs of another (notification
dispatch). A job names its lane with ``@periodic(..., lane=...)``; ``DEFAULT_LANES`` places
the jobs declared without one, and ``CHUDONG_WORKER_LANES`` overrides both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Callable

from sqlalchemy.engine import Engine

log = logging.getLogger("chudong.worker")

DEFAULT_LANE = "default"
# Where the jobs declared without a lane run: sending first, heavy computations apart.
DEFAULT_LANES: dict[str, str] = {
    "notifications.dispatch": "dispatch",
    "bus.relay": "dispatch",
    "analytics.forecast": "reports",
}


@dataclass(frozen=True)
class Job:
    """A named periodic job and the lane it runs in."""

    name: str
    every: float
    run: Callable[[Engine], int]
    lane: str = DEFAULT_LANE


_JOBS: dict[str, Job] = {}


def periodic(name: str, every: float, lane: str | None = None
             ) -> Callable[[Callable[[Engine], int]], Callable[[Engine], int]]:
    """Register the decorated function as the periodic job ``name`` (in ``lane``, if given)."""

    def wrap(fn: Callable[[Engine], int]) -> Callable[[Engine], int]:
        _JOBS[name] = Job(name, every, fn, lane or DEFAULT_LANES.get(name, DEFAULT_LANE))
        return fn

    return wrap


class LaneSpecError(ValueError):
    """``CHUDONG_WORKER_LANES`` cannot be read."""


def parse_lanes(spec: str) -> dict[str, str]:
    """Read ``"lane=job,job;lane=job"`` into ``{job: lane}``; a clear error names the bad part."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in spec.split(";")):
        if not part:
            continue
        lane, sep, jobs = part.partition("=")
        lane = lane.strip()
        if not sep or not lane or not jobs.strip():
            raise LaneSpecError(f"CHUDONG_WORKER_LANES: {part!r} is not 'lane=job,job'")
        for job in (j.strip() for j in jobs.split(",")):
            if not job:
                continue
            if job in out and out[job] != lane:
                raise LaneSpecError(f"CHUDONG_WORKER_LANES: job {job} is in lanes {out[job]} and {lane}")
            out[job] = lane
    return out


def registered_jobs(lanes: str = "") -> dict[str, Job]:
    """Import every feature's tasks and return the registered jobs by name, placed in their lanes.

    ``lanes`` (the ``CHUDONG_WORKER_LANES`` form) moves the jobs it names to other lanes.
    """
    from chudong.features import feature_modules

    feature_modules("tasks")
    moves = parse_lanes(lanes)
    unknown = sorted(set(moves) - set(_JOBS))
    if unknown:
        raise LaneSpecError(f"CHUDONG_WORKER_LANES names unknown job(s): {', '.join(unknown)}")
    return {n: replace(j, lane=moves.get(n, j.lane)) for n, j in _JOBS.items()}
