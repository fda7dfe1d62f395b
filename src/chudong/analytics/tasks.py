"""Periodic job: keep today's demand forecast computed for the current data (the leader page reads it)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from chudong.db import unit_of_work
from chudong.kit.jobs import periodic


@periodic("analytics.forecast", every=600)
def forecast_snapshot(engine: Engine) -> int:
    """Compute today's 12-month forecast if the data changed since the last one; return 1 if it did."""
    from chudong.analytics.forecast_cache import refresh
    from chudong.kit import clock

    with unit_of_work(engine) as session:
        return refresh(session, today=clock.today())
