"""enqueue_many: one row per (event, step, recipient) on the small path, the COPY path and its fallback."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from chudong.kit.errors import Unprocessable
from chudong.notifications import service
from chudong.notifications.models import InboxMessage, Notification
from chudong.notifications.service import COPY_FROM, EnqueueRequest, enqueue_many
from chudong.registry.models import QualityIssue
from tests.notifications.builders import CONTEXT, person


def request(person_id, key, **kw):
    return EnqueueRequest(event_key=key, step=kw.pop("step", "started"), person_id=person_id,
                          template_id=kw.pop("template_id", "dossier-started"), context=kw.pop("context", CONTEXT), **kw)


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("size", [3, COPY_FROM + 5], ids=["small", "copy"])
def test_keys_already_queued_keep_their_rows_and_ids(session, clock, size):
    people = [person(session, phone=None if i % 2 else "+84912345678") for i in range(size)]
    first = enqueue_many(session, [request(p.id, f"dossier:{i}") for i, p in enumerate(people[:2])])
    reqs = [request(p.id, f"dossier:{i}") for i, p in enumerate(people)]
    ids = enqueue_many(session, reqs + reqs[:1])  # the same key twice in one call: one row
    session.commit()
    assert ids[:2] == first and ids[-1] == ids[0] and len(set(ids)) == size
    assert count(session, Notification) == size and count(session, InboxMessage) == size
    rows = {n.id: n for n in session.scalars(select(Notification))}
    assert [(rows[i].event_key, rows[i].person_id) for i in ids[:size]] == [(f"dossier:{i}", p.id)
                                                                            for i, p in enumerate(people)]
    inbox = {m.notification_id: m.person_id for m in session.scalars(select(InboxMessage))}
    assert inbox == {i: rows[i].person_id for i in ids[:size]}
    assert rows[ids[0]].destinations == {"sms": "+84912345678"} and rows[ids[1]].channels == ["inbox"]
    # a person without a phone gets one open issue, however many notices
    missing = session.scalars(select(QualityIssue.person_id).where(QualityIssue.kind == "missing")).all()
    assert sorted(missing) == sorted(p.id for p in people[1::2])


def test_a_notice_that_cannot_be_built_is_fine_when_already_queued(session, clock):
    p = person(session)
    (queued,) = enqueue_many(session, [request(p.id, "dossier:1")])
    broken = {k: v for k, v in CONTEXT.items() if k != "confirm_url"}
    assert enqueue_many(session, [request(p.id, "dossier:1", context=broken)]) == [queued]
    with pytest.raises(Unprocessable, match="confirm_url"):
        enqueue_many(session, [request(p.id, "dossier:2"), request(p.id, "dossier:3", context=broken)])
    assert count(session, Notification) == 1  # nothing of the refused batch was written


@pytest.mark.postgres
def test_copy_path_falls_back_when_a_concurrent_enqueue_got_in_first(session, clock, monkeypatch):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's")
    people = [person(session) for _ in range(COPY_FROM)]
    reqs = [request(p.id, f"dossier:{i}") for i, p in enumerate(people)]
    theirs = enqueue_many(session, reqs[:3])
    real = service._existing
    calls = []

    def blind_first_look(s, triples):  # the look-up before COPY misses the rows "just committed"
        calls.append(len(triples))
        return {} if len(calls) == 1 else real(s, triples)

    monkeypatch.setattr(service, "_existing", blind_first_look)
    ids = enqueue_many(session, reqs)
    session.commit()
    assert len(calls) == 2  # the look-up before COPY, then the keys the fallback insert skipped
    assert ids[:3] == theirs and len(set(ids)) == COPY_FROM
    assert count(session, Notification) == COPY_FROM and count(session, InboxMessage) == COPY_FROM
