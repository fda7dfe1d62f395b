"""The worker process: runs every registered periodic job until stopped."""

from __future__ import annotations

import logging
import signal
import time

from sqlalchemy.engine import Engine

from chudong.kit.jobs import Job, registered_jobs

log = logging.getLogger("chudong.worker")


class Worker:
    """Run jobs on their schedule; stop cleanly on SIGTERM / SIGINT."""

    def __init__(self, engine: Engine, only: list[str] | None = None) -> None:
        jobs = registered_jobs()
        unknown = sorted(set(only or []) - set(jobs))
        if unknown:
            raise ValueError(f"unknown job(s): {', '.join(unknown)}; known: {', '.join(sorted(jobs))}")
        self.jobs: list[Job] = [j for n, j in sorted(jobs.items()) if not only or n in only]
        self.engine = engine
        self.stopping = False

    def run_once(self) -> dict[str, int]:
        """Run every job once; return what each did. A failing job is logged, not fatal."""
        done: dict[str, int] = {}
        for job in self.jobs:
            try:
                done[job.name] = job.run(self.engine)
            except Exception:  # one job's failure must not stop the others; it is logged with its traceback
                log.exception("job %s failed", job.name)
                done[job.name] = -1
        return done

    def run_forever(self) -> None:
        """Run jobs until a stop signal arrives."""
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        next_run = {j.name: 0.0 for j in self.jobs}
        while not self.stopping:
            now = time.monotonic()
            for job in self.jobs:
                if self.stopping or now < next_run[job.name]:
                    continue
                try:
                    did = job.run(self.engine)
                except Exception:
                    log.exception("job %s failed", job.name)
                    did = 0
                next_run[job.name] = time.monotonic() + (0 if did > 0 else job.every)
            time.sleep(0.05 if any(v <= time.monotonic() for v in next_run.values()) else 0.25)

    def _stop(self, *_: object) -> None:
        self.stopping = True
