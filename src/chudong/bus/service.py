"""Publish domain events into the in-database event log (a transactional outbox).

``publish`` writes in the caller's transaction: the event exists exactly when the change
it describes was committed. The relay (``chudong.bus.relay``) later copies unpublished
events to NATS JetStream; the table stays the source of truth.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chudong.bus.models import DomainEvent
from chudong.kit import clock
from chudong.kit.errors import Unprocessable

# Lower-case dotted names become NATS subject tokens: "birth.registered", "dossier.settled".
_TYPE_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


def publish(session: Session, *, type: str, subject: str, payload: dict) -> DomainEvent:
    """Record a domain event in the caller's transaction; the relay sends it to JetStream after commit."""
    if not isinstance(type, str) or len(type) > 80 or not _TYPE_RE.match(type):
        raise Unprocessable(f"event type {type!r} must be lower-case dotted words, e.g. 'dossier.settled'", field="type")
    if not subject or len(subject) > 200:
        raise Unprocessable("event subject must be 1–200 characters (e.g. 'dossier:HS-2026-000123')", field="subject")
    try:
        clean = json.loads(json.dumps(payload, ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise Unprocessable(f"event payload must be plain JSON: {exc}", field="payload") from None
    if not isinstance(clean, dict):
        raise Unprocessable("event payload must be a JSON object", field="payload")
    event = DomainEvent(event_id=uuid.uuid4(), type=type, subject=subject,
                        occurred_at=clock.now().astimezone(dt.UTC), payload=clean)
    session.add(event)
    session.flush()
    return event


def envelope(event: DomainEvent) -> bytes:
    """Return the JSON message body agencies receive for ``event``."""
    return json.dumps({
        "event_id": str(event.event_id), "type": event.type, "subject": event.subject,
        "occurred_at": event.occurred_at.isoformat(), "payload": event.payload,
    }, ensure_ascii=False, sort_keys=True).encode("utf-8")


def pending_count(session: Session) -> int:
    """Return how many events wait for the relay."""
    return session.scalar(select(func.count()).select_from(DomainEvent).where(DomainEvent.published_at.is_(None))) or 0
