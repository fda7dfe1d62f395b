"""Periodic jobs run by ``chudong worker``: each takes no payload, is idempotent and bounded.

Features declare jobs in ``chudong/<feature>/tasks.py`` with ``@periodic``. A job gets
the engine and returns how much it did (0 = idle); the worker runs it again after
``every`` seconds, or at once when it did a full batch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from sqlalchemy.engine import Engine

log = logging.getLogger("chudong.worker")


@dataclass(frozen=True)
class Job:
    """A named periodic job."""

    name: str
    every: float
    run: Callable[[Engine], int]


_JOBS: dict[str, Job] = {}


def periodic(name: str, every: float) -> Callable[[Callable[[Engine], int]], Callable[[Engine], int]]:
    """Register the decorated function as the periodic job ``name``."""

    def wrap(fn: Callable[[Engine], int]) -> Callable[[Engine], int]:
        _JOBS[name] = Job(name, every, fn)
        return fn

    return wrap


def registered_jobs() -> dict[str, Job]:
    """Import every feature's tasks and return the registered jobs by name."""
    from chudong.features import feature_modules

    feature_modules("tasks")
    return dict(_JOBS)
