"""The birth flow through HTTP: tokens, tracker, confirm, officer approval, PDF, verification."""

from sqlalchemy import select

from chudong.db import session_factory
from chudong.dossiers import service
from chudong.dossiers.models import ResultVerification
from chudong.identity.principal import issue_citizen_token, issue_officer_token

from . import builders as b


def test_birth_through_the_api(client, engine, settings, clock, notices):
    with session_factory(engine)() as s:
        b.units(s)
        mother = b.person(s, household=b.household(s))
        ev = b.life_event(s, "birth-registration", person=mother, vital=b.vital_event(s, mother=mother))
        code = service.open_dossiers(s, [ev.id]).codes[0]
        d = service.get_by_code(s, code)
        civil = b.officer(s, d.handling_unit_code)
        police, insurance = b.officer(s, "CA-48"), b.officer(s, "BHXH-48")
        s.commit()
        mother_id = mother.id
    key = settings.secret_key
    cit = {"Authorization": f"Bearer {issue_citizen_token(key, mother_id)}"}
    other = {"Authorization": f"Bearer {issue_citizen_token(key, mother_id + 1000)}"}
    off = {"Authorization": f"Bearer {issue_officer_token(key, civil.id)}"}

    assert client.get(f"/api/v1/dossiers/{code}").status_code == 401
    assert client.get(f"/api/v1/dossiers/{code}", headers=other).status_code == 404
    assert client.get(f"/api/v1/dossiers/{code}", headers={"Authorization": "Bearer forged"}).status_code == 401
    mine = client.get("/api/v1/dossiers/mine", headers=cit).json()
    assert [x["code"] for x in mine] == [code] and mine[0]["allowed"] == ["confirmed", "declined", "expired"]
    version = mine[0]["version"]
    r = client.post(f"/api/v1/dossiers/{code}/confirm", headers=cit,
                    json={"version": version, "supplied": {"child_name": "Lê Minh An", "father_pid": "048090001234"}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "confirmed" and len(body["children"]) == 2
    again = client.post(f"/api/v1/dossiers/{code}/confirm", headers=cit, json={"version": version, "supplied": {}})
    assert again.status_code == 409  # double submission

    wrong = {"Authorization": f"Bearer {issue_officer_token(key, police.id)}"}
    assert client.post(f"/api/v1/dossiers/{code}/approve", headers=wrong, json={"version": body["version"]}).status_code == 403
    queue = client.get("/api/v1/dossiers/queue", headers=off).json()
    assert [q["code"] for q in queue] == [code] and queue[0]["deadline_status"] == "on_time"
    r = client.post(f"/api/v1/dossiers/{code}/approve", headers=off, json={"version": body["version"]})
    assert r.status_code == 200 and r.json()["status"] == "result_issued"
    for child, who in zip(sorted(body["children"], key=lambda c: c["agency"]), (police, insurance)):
        h = {"Authorization": f"Bearer {issue_officer_token(key, who.id)}"}
        r = client.post(f"/api/v1/dossiers/{child['code']}/approve", headers=h, json={"version": child["version"]})
        assert r.status_code == 200, r.text
    tracked = client.get(f"/api/v1/dossiers/track/{code}").json()
    assert tracked["status"] == "closed" and {c["status"] for c in tracked["children"]} == {"closed"}
    assert "fields" not in tracked

    pdf = client.get(f"/api/v1/dossiers/{code}/result.pdf", headers=cit)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    with session_factory(engine)() as s:
        from chudong.dossiers.results import result_of, verification_url

        url = verification_url(settings.base_url, key, result_of(s, service.get_by_code(s, code)))
    page = client.get(url.replace(settings.base_url, ""))
    assert page.status_code == 200 and "genuine" in page.text.lower() or "thật" in page.text
    assert client.get("/verify/not-a-token").status_code == 404
    with session_factory(engine)() as s:
        assert sorted(s.scalars(select(ResultVerification.outcome))) == ["genuine", "unknown"]
    assert client.post(f"/api/v1/dossiers/{code}/rating", headers=cit, json={"score": 5}).status_code == 201
    log = client.get("/api/v1/dossiers/access-log", headers=cit).json()
    assert {e["purpose"] for e in log} >= {"processing: approve"}
    timeline = client.get(f"/api/v1/dossiers/{code}/timeline", headers=cit).json()
    assert [e["kind"] for e in timeline][:3] == ["detected", "offered", "confirmed"]


def test_attachment_upload_checks_content(client, engine, settings, clock, notices):
    with session_factory(engine)() as s:
        b.units(s)
        hh = b.household(s)
        head = b.person(s, household=hh)
        ev = b.life_event(s, "poor-household-confirmation", person=head, household=hh, subject_kind="household")
        code = service.open_dossiers(s, [ev.id]).codes[0]
        s.commit()
        pid = head.id
    cit = {"Authorization": f"Bearer {issue_citizen_token(settings.secret_key, pid)}"}
    ok = client.post(f"/api/v1/dossiers/{code}/attachments", headers=cit, data={"kind": "income_proof"},
                     files={"file": ("thu-nhap.pdf", b"%PDF-1.4 hello", "application/pdf")})
    assert ok.status_code == 201 and ok.json()["size"] == 14
    fake = client.post(f"/api/v1/dossiers/{code}/attachments", headers=cit, data={"kind": "income_proof"},
                       files={"file": ("thu-nhap.pdf", b"<html>", "application/pdf")})
    assert fake.status_code == 422 and "not application/pdf" in fake.json()["detail"]
