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
    body = n.rendered["inbox"]["body"]
    assert "Phạm Thị Hoa" in body and lic.number in body and "29/12/2026" in body
    inbox = session.scalar(select(InboxMessage).where(InboxMessage.person_id == holder.id))
    assert inbox is not None and lic.number in inbox.body
    # every channel names the code, the deadline and the link that signs in to this dossier
    for rendered in n.rendered.values():
        assert code in rendered["body"] and f"/d/{code}" in rendered["body"] and "29/12/2026" in rendered["body"]


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
    body = n.rendered["inbox"]["body"]
    assert "bản sao giấy chứng sinh" in body and "7" in body and code in body


def test_notice_template_without_action_or_deadline_fails_catalogue_validation(tmp_path):
    import shutil

    import pytest

    from chudong.rules.catalogue import BUILTIN_DIR, CatalogueError, load_catalogue

    folder = tmp_path / "cat"
    shutil.copytree(BUILTIN_DIR, folder)
    path = folder / "templates" / "notices.yaml"
    text = path.read_text(encoding="utf-8")
    birth = '  action: {vi: "Xác nhận hồ sơ khai sinh", en: "Confirm the birth dossier"}\n'
    assert birth in text
    path.write_text(text.replace(birth, ""), encoding="utf-8")
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(folder)
    assert "'birth.offered' needs action.vi" in str(exc.value.message) and "birth-registration" in str(exc.value.message)
    path.write_text(text.replace("birth.reminder:\n" + birth + "  deadline: due_date\n",
                                 "birth.reminder:\n" + birth + "  deadline: null\n"), encoding="utf-8")
    with pytest.raises(CatalogueError, match="step 'reminder', which has a deadline"):
        load_catalogue(folder)


def test_every_catalogue_notice_fits_two_sms_with_a_long_code_and_address():
    """Each service step's SMS, with the longest document name, a 20-character code and a 32-character address."""
    from chudong.dossiers.flows import message_template, service_notice
    from chudong.notifications.templates import get_template
    from chudong.rules.catalogue import get_catalogue
    from chudong.rules.engine import DOCUMENTS

    cat = get_catalogue()
    checked = 0
    for svc in cat.services.values():
        for step, tid in svc.templates.items():
            for kind in DOCUMENTS:
                ctx = service_notice(tid, {"code": "48-NHA-261231-0SSJX141", "due_date": "2026-12-31",
                                           "service": svc.names.model_dump(),
                                           "facts": {"licence_kind": kind, "grade": 10, "window_closes": "2027-07-31",
                                                     "full_name": "Nguyễn Thị Phương Thảo"}},
                                     cat, "https://dichvucong.danang.gov.vn")
                tpl = get_template(message_template(ctx))
                context = {v: ctx.get(v, "") for v in tpl.variables}
                for lang in ("vi", "en"):
                    sms = tpl.render("sms", lang, context)
                    assert sms.sms.segments <= 2, (svc.id, step, lang, sms.body)
                    assert ctx["link"] in sms.body and "48-NHA-261231-0SSJX141" in sms.body
                    checked += 1
    assert checked > 100
