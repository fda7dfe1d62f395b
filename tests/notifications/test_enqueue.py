"""Enqueue: one outbox row per (event, step, recipient), channel plan, inbox, quality issues, opt-out."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from chudong.kit.errors import NotFound, Unprocessable
from chudong.notifications.models import CANCELLED, DELIVERED, QUEUED, InboxMessage, Notification
from chudong.notifications.service import Contact, enqueue, inbox_for, set_preferences
from chudong.registry.models import QualityIssue
from tests.notifications.builders import CONTEXT, person


def started(session, person_id, **kw):
    return enqueue(session, event_key=kw.pop("event_key", "dossier:1"), step=kw.pop("step", "started"),
                   person_id=person_id, template_id=kw.pop("template_id", "dossier-started"),
                   context=kw.pop("context", CONTEXT), **kw)


def test_enqueue_is_idempotent_per_event_step_recipient(session, clock):
    p = person(session, zalo_id="z1")
    first = started(session, p.id)
    again = started(session, p.id)
    other_step = started(session, p.id, step="approved", template_id="dossier-approved",
                         context={**CONTEXT, "result_url": "https://x"})
    session.commit()
    assert [n.id for n in again] == [n.id for n in first]
    assert other_step[0].id != first[0].id
    assert session.scalar(select(func.count()).select_from(Notification)) == 2
    assert first[0].channels == ["zalo", "sms"] and first[0].channel == "zalo" and first[0].status == QUEUED
    assert first[0].template_version == 1 and first[0].service == "birth-registration"


def test_every_notice_to_a_person_lands_in_the_portal_inbox(session, clock):
    p = person(session)
    n = started(session, p.id)[0]
    session.commit()
    inbox = inbox_for(session, p.id)
    assert len(inbox) == 1 and inbox[0].notification_id == n.id
    assert "Đăng ký khai sinh" in inbox[0].subject


def test_missing_contact_goes_to_inbox_and_opens_a_quality_issue(session, clock):
    p = person(session, phone=None)
    n = started(session, p.id)[0]
    started(session, p.id, event_key="dossier:2")  # a second notice does not open a second issue
    session.commit()
    assert n.channels == ["inbox"] and n.status == DELIVERED
    issues = list(session.scalars(select(QualityIssue).where(QualityIssue.person_id == p.id)))
    assert [(i.kind, i.field, i.status) for i in issues] == [("missing", "phone", "open")]


def test_invalid_phone_is_not_used_and_is_reported(session, clock):
    p = person(session, phone="0236 3822 222", email="a@example.vn")  # a landline cannot get SMS
    n = started(session, p.id)[0]
    session.commit()
    assert n.channels == ["email"]
    issue = session.scalars(select(QualityIssue).where(QualityIssue.person_id == p.id)).one()
    assert "not a Vietnamese mobile" in issue.detail


def test_preferences_order_language_and_unaccented_sms(session, clock):
    p = person(session, email="lan@example.vn", zalo_id="z")
    set_preferences(session, p.id, channels=["email", "sms"], language="en", sms_unaccented=True)
    n = started(session, p.id)[0]
    assert n.channels == ["email", "sms"] and n.language == "en"
    assert n.rendered["email"]["subject"].startswith("Your ")
    assert n.rendered["sms"]["sms"]["encoding"] == "GSM-7"


def test_opt_out_cancels_only_non_mandatory_notices(session, clock):
    p = person(session)
    set_preferences(session, p.id, channels=["sms"], opt_out_optional=True)
    optional = started(session, p.id, mandatory=False)[0]
    mandatory = started(session, p.id, event_key="dossier:9")[0]
    assert optional.status == CANCELLED and "opted out" in optional.last_error
    assert mandatory.status == QUEUED


def test_otp_to_a_typed_phone_without_a_person(session, clock):
    n = enqueue(session, event_key="signin:abc", step="otp", person_id=None, template_id="otp",
                context={"code": "123456", "minutes": 5}, urgent=True, contact_override=Contact(phone="0912 345 678"))[0]
    assert n.recipient_key == "phone:+84912345678" and n.channels == ["sms"] and n.quiet_hours is None
    assert "123456" in n.rendered["sms"]["body"]
    assert session.scalar(select(func.count()).select_from(InboxMessage)) == 0


def test_bad_requests_are_clear_errors(session, clock):
    with pytest.raises(NotFound, match="person"):
        started(session, 999_999)
    with pytest.raises(NotFound, match="template"):
        started(session, person(session).id, template_id="nope")
    with pytest.raises(Unprocessable, match="confirm_url"):
        started(session, person(session).id, context={k: v for k, v in CONTEXT.items() if k != "confirm_url"})
    with pytest.raises(Unprocessable, match="no usable contact"):
        enqueue(session, event_key="e", step="otp", person_id=None, template_id="otp",
                context={"code": "1", "minutes": 5}, contact_override=Contact(phone="12345"))
    with pytest.raises(Unprocessable, match="unknown channel"):
        set_preferences(session, person(session).id, channels=["fax"])
