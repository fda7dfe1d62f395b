"""Revision 20261205_0020 seals message bodies, receipts and quality-issue details; its downgrade opens them."""

from __future__ import annotations

import json
from typing import Iterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from chudong.db import downgrade, session_factory, upgrade
from chudong.dossiers.models import Dossier, DossierEvent, DossierResult
from chudong.notifications.models import DeliveryReceipt, Notification
from chudong.privacy.service import PROTECTED_0020
from chudong.privacy.types import Sealed, SealedDocument
from chudong.registry.models import QualityIssue
from chudong.rules.models import LifeEvent
from tests.privacy.scratch import scratch_engine

BEFORE = "20261205_0019"
PHONE, CODE = "+84912345678", "731942"
RENDERED = {"sms": {"body": f"Mã xác thực của bạn là {CODE}"}}
PAYLOAD = {"message_id": "m1", "status": "delivered", "to": PHONE}
DUMP = ["SELECT CAST(rendered AS TEXT) FROM notification", "SELECT CAST(payload AS TEXT) FROM delivery_receipt",
        "SELECT detail FROM quality_issue"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    with scratch_engine(request.param, tmp_path, "chudong_test_0020") as engine:
        yield _filled(engine)


def _filled(engine: Engine) -> Engine:
    upgrade(engine, BEFORE)
    now = "2026-11-02 02:00:00+00:00"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO person (id, full_name, name_key, birth_date, sex) "
                          "VALUES (1, 'Nguyễn Văn An', 'nguyen van an', '1990-01-02', 'M')"))
        conn.execute(text(
            "INSERT INTO notification (id, event_key, step, recipient_key, person_id, service, template_id, "
            "template_version, template_hash, language, urgent, mandatory, channels, channel_index, channel, "
            "destinations, rendered, status, attempts, due_at, created_at, updated_at) VALUES (1, 'e', 's', "
            "'person:1', 1, '', 'otp', 1, 'h', 'vi', true, true, '[\"sms\"]', 0, 'sms', '{}', :r, 'sent', 0, "
            ":now, :now, :now)"), {"r": json.dumps(RENDERED, ensure_ascii=False), "now": now})
        conn.execute(text("INSERT INTO delivery_receipt (id, provider, provider_message_id, status, notification_id, "
                          "outcome, payload, received_at) VALUES (1, 'p', 'm1', 'delivered', 1, 'applied', :p, :now)"),
                     {"p": json.dumps(PAYLOAD), "now": now})
        conn.execute(text("INSERT INTO quality_issue (id, kind, person_id, field, status, detail, created_at) "
                          "VALUES (1, 'conflict', 1, 'phone', 'open', :d, :now)"),
                     {"d": f"population says {PHONE}, health says +84987654321", "now": now})
    return engine


def _dump(engine: Engine) -> str:
    with engine.connect() as conn:
        return "\n".join(str(v) for q in DUMP for row in conn.exec_driver_sql(q) for v in row)


def test_upgrade_seals_bodies_receipts_details_and_downgrade_opens_them(db: Engine):
    assert CODE in _dump(db) and PHONE in _dump(db)
    upgrade(db)
    dump = _dump(db)
    assert CODE not in dump and PHONE not in dump and "987654321" not in dump
    assert dump.count("v1.dev.") == 3
    with session_factory(db)() as s:
        assert s.get(Notification, 1).rendered == RENDERED
        assert s.scalar(select(DeliveryReceipt.payload)) == PAYLOAD
        assert PHONE in s.scalar(select(QualityIssue.detail))
    downgrade(db, BEFORE)
    with db.connect() as conn:
        assert json.loads(conn.exec_driver_sql("SELECT CAST(rendered AS TEXT) FROM notification").scalar()) == RENDERED
        assert json.loads(conn.exec_driver_sql("SELECT CAST(payload AS TEXT) FROM delivery_receipt").scalar()) == PAYLOAD
        assert PHONE in conn.exec_driver_sql("SELECT detail FROM quality_issue").scalar()
    upgrade(db)  # and again: the round trip loses nothing
    with session_factory(db)() as s:
        assert s.get(Notification, 1).rendered == RENDERED


def test_every_column_of_0020_is_sealed_by_its_model():
    columns = {(c.table.name, c.name): c for m in (Dossier, DossierEvent, DossierResult, LifeEvent, QualityIssue,
                                                   DeliveryReceipt, Notification) for c in m.__table__.columns}
    for spec in PROTECTED_0020:
        col = columns[(spec.table, spec.column)]
        assert isinstance(col.type, (Sealed, SealedDocument)), f"{spec.table}.{spec.column}"
        assert col.type.kind == spec.kind, f"{spec.table}.{spec.column}"
