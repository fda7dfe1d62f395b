"""Streaming detection: records that are themselves life events produce them as soon as they arrive.

Called right after an ingestion run (CLI and HTTP): births and deaths, household review
results and declared building plans of that run each go through their service's rule; the
licences (expiry) and people (ID-card milestones) of the run are evaluated as the daily run
would, restricted to the run's records.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from chudong.registry.models import BuildingPlan, Household, SourceRecord, VitalEvent

STREAMING_FEEDS = ("births", "deaths", "households", "building_plans")


def on_run(session: Session, run_id: int, feed: str) -> Counter:
    """Detect the life events of one ingestion run's records; return how many per service."""
    from chudong.kit import clock
    from chudong.rules.service import FEED_TRIGGERS, detect, on_building_plan, on_household_review, on_vital_event

    found: Counter = Counter()
    if feed in FEED_TRIGGERS:  # licences and people due within their service's horizon, as the daily run would
        result = detect(session, as_of=clock.today(), run_id=run_id, trigger_types=FEED_TRIGGERS[feed])
        found.update(e.service_id for e in result.created)
        return found
    if feed not in STREAMING_FEEDS:
        return found
    in_run = select(SourceRecord.id).where(SourceRecord.run_id == run_id)
    if feed in ("births", "deaths"):
        ids, handler = session.scalars(select(VitalEvent.id).where(VitalEvent.source_record_id.in_(in_run))), on_vital_event
    elif feed == "households":
        ids, handler = session.scalars(select(Household.id).where(Household.source_record_id.in_(in_run))), on_household_review
    else:
        ids, handler = session.scalars(select(BuildingPlan.id).where(BuildingPlan.source_record_id.in_(in_run))), on_building_plan
    for subject_id in list(ids):
        event = handler(session, subject_id)
        if event is not None:
            found[event.service_id] += 1
    return found
