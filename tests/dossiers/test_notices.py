"""Dossier steps queue real notices: the catalogue's words, rendered in the citizen's language."""

from sqlalchemy import select

from chudong.dossiers import service
from chudong.identity.principal import Principal
from chudong.notifications.models import InboxMessage, Notification

from . import builders as b


def test_offer_notice_uses_the_catalogue_text(session, clock):
    b.units(session)
    holder = b.person(session, full_name="Phạm Thị Hoa")
    lic = b.licence(session, holder, kind="passport")
    ev = b.life_event(session, "passport-expiry", person=holder,
                      facts={"document": "hộ chiếu", "number": lic.number, "full_name": "Phạm Thị Hoa"})
    code = service.open_dossiers(session, [ev.id]).codes[0]
    n = session.scalar(select(Notification).where(Notification.event_key == f"dossier:{code}"))
    assert n is not None and n.template_id == "service-notice" and n.step == "offered"
    body = n.rendered[n.channel]["body"]
    assert "Phạm Thị Hoa" in body and lic.number in body and "29/12/2026" in body
    inbox = session.scalar(select(InboxMessage).where(InboxMessage.person_id == holder.id))
    assert inbox is not None and lic.number in inbox.body


def test_supplement_notice_names_the_missing_item_and_window(session, clock):
    b.units(session)
    mother = b.person(session)
    vital = b.vital_event(session, mother=mother)
    ev = b.life_event(session, "birth-registration", person=mother, vital=vital)
    code = service.open_dossiers(session, [ev.id]).codes[0]
    d = service.get_by_code(session, code)
    citizen = Principal.citizen(mother.id)
    service.confirm(session, d, citizen, supplied={"child_name": "Lê An", "father_pid": "048090001234"},
                    linked=[], version=d.version)
    o = b.officer(session, d.handling_unit_code)
    officer = Principal(kind="officer", id=o.id, label=f"officer:{o.username}", unit_code=o.unit_code,
                        agency=o.agency, role=o.role)
    service.claim(session, d, officer, version=d.version)
    service.request_supplement(session, d, officer, reason="bản sao giấy chứng sinh", documents=["giấy chứng sinh"], version=d.version)
    n = session.scalar(select(Notification).where(Notification.event_key == f"dossier:{code}",
                                                  Notification.step == "supplement_requested"))
    body = n.rendered[n.channel]["body"]
    assert "bản sao giấy chứng sinh" in body and "7" in body and code in body
