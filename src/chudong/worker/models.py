"""What each lane of each running worker is doing (read by ``/metrics``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from chudong.db import Base, UTCDateTime


class WorkerLane(Base):
    """One lane of one worker process: its jobs, heartbeat, the job running now, counts.

    A worker writes its rows when a job starts and ends, and deletes them when it stops
    cleanly; a row whose heartbeat grows old belongs to a worker that died or hangs.
    """

    __tablename__ = "worker_lane"

    worker: Mapped[str] = mapped_column(String(120), primary_key=True)  # "host:pid"
    lane: Mapped[str] = mapped_column(String(40), primary_key=True)
    jobs: Mapped[str] = mapped_column(String(400))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    running_job: Mapped[str | None] = mapped_column(String(80))
    running_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    runs: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_job: Mapped[str | None] = mapped_column(String(80))
    last_did: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
