"""publish() writes the event in the caller's transaction and validates it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from chudong.bus import service
from chudong.bus.models import DomainEvent
from chudong.kit.errors import Unprocessable


def test_publish_writes_in_the_callers_transaction(session, clock):
    e = service.publish(session, type="dossier.settled", subject="dossier:HS-1", payload={"code": "HS-1", "on_time": True})
    assert e.id is not None and e.published_at is None
    assert e.occurred_at == clock.now()
    session.commit()
    assert service.pending_count(session) == 1


def test_rolled_back_change_leaves_no_event(session, clock):
    service.publish(session, type="birth.registered", subject="person:1", payload={})
    session.rollback()
    assert session.scalars(select(DomainEvent)).all() == []


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"type": "Dossier Settled", "subject": "x", "payload": {}}, "type"),
    ({"type": "settled", "subject": "x", "payload": {}}, "type"),
    ({"type": "dossier.settled", "subject": "", "payload": {}}, "subject"),
    ({"type": "dossier.settled", "subject": "x", "payload": {"s": {1, 2}}}, "payload"),
])
def test_bad_events_are_refused(session, clock, kwargs, field):
    with pytest.raises(Unprocessable) as info:
        service.publish(session, **kwargs)
    assert info.value.field == field


def test_envelope_carries_id_type_subject_and_payload(session, clock):
    e = service.publish(session, type="birth.registered", subject="person:7", payload={"tên": "Lê Thị Hoa"})
    body = json.loads(service.envelope(e))
    assert body == {"event_id": str(e.event_id), "type": "birth.registered", "subject": "person:7",
                    "occurred_at": e.occurred_at.isoformat(), "payload": {"tên": "Lê Thị Hoa"}}
