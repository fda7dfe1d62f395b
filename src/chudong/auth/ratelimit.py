"""Fixed-window rate limits kept in the database, so every web process shares them.

A hit is committed in its own short transaction: a request that is then refused (and
rolled back) must still count against the limit.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from chudong.auth.models import RateLimitBucket
from chudong.kit import clock
from chudong.kit.errors import ChudongError


class RateLimited(ChudongError):
    """Too many attempts; the message says when to try again."""

    status_code = 429
    code = "rate_limited"


def _window(window_seconds: int) -> tuple[dt.datetime, dt.datetime]:
    now = clock.now().astimezone(dt.UTC)
    start = dt.datetime.fromtimestamp(now.timestamp() // window_seconds * window_seconds, dt.UTC)
    return now, start


def hit(engine: Engine, key: str, *, limit: int, window_seconds: int) -> int:
    """Count one attempt for ``key``; raise RateLimited once more than ``limit`` in the window."""
    now, start = _window(window_seconds)
    where = (RateLimitBucket.key == key, RateLimitBucket.window_start == start)
    with engine.begin() as conn:
        if not conn.execute(update(RateLimitBucket).where(*where).values(hits=RateLimitBucket.hits + 1)).rowcount:
            try:
                with conn.begin_nested():
                    conn.execute(insert(RateLimitBucket).values(key=key, window_start=start, hits=1))
            except IntegrityError:  # created meanwhile by another process: count on it
                conn.execute(update(RateLimitBucket).where(*where).values(hits=RateLimitBucket.hits + 1))
        hits = conn.scalar(select(RateLimitBucket.hits).where(*where)) or 0
    if hits > limit:
        retry = int((start + dt.timedelta(seconds=window_seconds) - now).total_seconds()) + 1
        raise RateLimited(f"too many attempts; try again in {retry} seconds")
    return hits


def purge_old(engine: Engine, older_than: dt.timedelta = dt.timedelta(days=1)) -> int:
    """Delete buckets of windows that ended long ago."""
    cutoff = clock.now().astimezone(dt.UTC) - older_than
    with engine.begin() as conn:
        return conn.execute(delete(RateLimitBucket).where(RateLimitBucket.window_start < cutoff)).rowcount
