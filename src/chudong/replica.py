"""Reads that may go to a PostgreSQL streaming replica (``CHUDONG_DATABASE_REPLICA_URL``).

Read-only pages and reports take ``ReadSessionDep`` instead of ``SessionDep``: a session on the
replica while its lag is within ``CHUDONG_REPLICA_MAX_LAG_SECONDS``, on the primary otherwise
(replica not configured, unreachable, or behind). Everything that writes, or must read what
the same request or the user's last request wrote, keeps ``SessionDep`` (the primary).
A read session never commits: the replica refuses writes, and a route that tried would fail.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Annotated, Iterator

from fastapi import Depends, Request
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from chudong.db import make_engine

log = logging.getLogger("chudong.replica")

# 0 while the standby has replayed all it received and is streaming; otherwise the age of the
# last transaction it replayed (a standby cut off from its primary grows old, never looks fresh)
LAG_SQL = text(
    "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() "
    "AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END")


@dataclass(frozen=True)
class ReplicaState:
    """What the last check found: reachable, lag in seconds (None when unreachable), whether reads use it."""

    up: bool
    lag_seconds: float | None
    in_use: bool
    checked_at: float


class ReplicaRouter:
    """Choose the engine of a read: the replica while it is close enough, else the primary."""

    CHECK_EVERY = 1.0  # seconds a lag measurement is reused (one query per second per process at most)

    def __init__(self, primary: Engine, url: str, max_lag_seconds: float) -> None:
        self.primary = primary
        self.replica = make_engine(url) if url else None
        self.max_lag = max_lag_seconds
        self._state: ReplicaState | None = None
        self._lock = threading.Lock()

    def state(self) -> ReplicaState | None:
        """Return the replica's current state (measured at most every ``CHECK_EVERY`` seconds); None: no replica."""
        if self.replica is None:
            return None
        now = time.monotonic()
        with self._lock:
            if self._state is None or now - self._state.checked_at >= self.CHECK_EVERY:
                self._state = self._measure(now)
            return self._state

    def _measure(self, now: float) -> ReplicaState:
        try:
            with self.replica.connect() as conn:  # type: ignore[union-attr]
                standby, lag = conn.execute(LAG_SQL).one()
        except Exception as exc:  # noqa: BLE001 - an unreachable replica sends reads to the primary, logged
            log.warning("read replica unreachable, reading from the primary: %s", type(exc).__name__)
            return ReplicaState(False, None, False, now)
        lag = float(lag or 0)
        if not standby:
            log.warning("CHUDONG_DATABASE_REPLICA_URL is not a standby (pg_is_in_recovery() is false)")
        return ReplicaState(True, lag, lag <= self.max_lag, now)

    def read_engine(self) -> Engine:
        """Return the engine a read-only request should use now."""
        st = self.state()
        return self.replica if st is not None and st.in_use else self.primary  # type: ignore[return-value]

    def dispose(self) -> None:
        if self.replica is not None:
            self.replica.dispose()


def router_of(state) -> ReplicaRouter:
    """Return the application's router (made on first use from its settings)."""
    router = getattr(state, "replica_router", None)
    if router is None:
        s = state.settings
        router = state.replica_router = ReplicaRouter(state.engine, s.database_replica_url,
                                                       s.replica_max_lag_seconds)
    return router


def get_read_session(request: Request) -> Iterator[Session]:
    """Yield a read-only session on the replica (or the primary when it lags); never commits."""
    session = Session(router_of(request.app.state).read_engine())
    try:
        yield session
    finally:
        session.rollback()
        session.close()


ReadSessionDep = Annotated[Session, Depends(get_read_session)]
