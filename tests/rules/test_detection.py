"""Detection from the legal facts of each service, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from chudong.registry.models import QualityIssue
from chudong.rules.models import LifeEvent
from chudong.rules.service import (
    detect, detect_range, non_take_up, on_building_plan, on_household_review, on_vital_event,
)
from tests.rules import builders as b

D = dt.date


def keys(result) -> set[str]:
    return {e.key for e in result.created}


def events(session, service_id: str | None = None) -> list[LifeEvent]:
    q = select(LifeEvent).order_by(LifeEvent.id)
    if service_id:
        q = q.where(LifeEvent.service_id == service_id)
    return list(session.scalars(q))


def issues(session) -> list[QualityIssue]:
    return list(session.scalars(select(QualityIssue).where(QualityIssue.kind == "missing").order_by(QualityIssue.id)))


# ---------------------------------------------------------------- ID card milestones


def test_id_card_at_14_fires_30_days_before_the_birthday(session):
    child = b.person(session, birth_date=D(2012, 12, 1))
    assert detect(session, as_of=D(2026, 10, 31), service_id="id-card-reissue").created == []
    result = detect(session, as_of=D(2026, 11, 1), service_id="id-card-reissue")
    [event] = result.created
    assert event.key == f"id-card-reissue:person:{child.id}:14"
    assert event.due_date == D(2026, 12, 1) and event.detected_on == D(2026, 11, 1)
    assert event.reason["facts"]["age"] == 14
    assert {p["name"] for p in event.reason["parameters"]} == {"id_card.milestone_ages", "id_card.grace_years"}
    assert "reach age 14 on 2026-12-01" in event.reason["text_en"]
    # the 7-day lead finds the same milestone: no second event
    again = detect(session, as_of=D(2026, 11, 24), service_id="id-card-reissue")
    assert again.created == [] and again.existing == 1


@pytest.mark.parametrize(("birth", "as_of", "due"), [
    (D(2001, 1, 1), D(2025, 12, 2), D(2026, 1, 1)),     # born 1 January: milestone 25 on New Year's Day
    (D(1986, 12, 31), D(2026, 12, 1), D(2026, 12, 31)),  # born 31 December
    (D(2012, 2, 29), D(2026, 1, 29), D(2026, 2, 28)),    # leap day: 28 February in a common year
])
def test_id_card_calendar_edges(session, birth, as_of, due):
    b.person(session, birth_date=birth)
    [event] = detect(session, as_of=as_of, service_id="id-card-reissue").created
    assert event.due_date == due


@pytest.mark.parametrize(("issued", "expected"), [
    (D(2025, 1, 1), 0),   # 23 months before the milestone: valid to the next one
    (D(2024, 12, 1), 0),  # exactly 2 years before: still within
    (D(2024, 11, 1), 1),  # 25 months before: must be re-issued
])
def test_card_issued_within_two_years_before_milestone_stays_valid(session, issued, expected):
    holder = b.person(session, birth_date=D(2001, 12, 1))  # 25 on 2026-12-01
    b.licence(session, "id_card", holder, issued)
    result = detect(session, as_of=D(2026, 11, 1), service_id="id-card-reissue")
    assert len(result.created) == expected


def test_age_14_milestone_only_under_the_2023_law(session):
    b.person(session, birth_date=D(2010, 6, 15))  # 14 on 2024-06-15, before Law 26/2023 took effect
    b.person(session, birth_date=D(2010, 8, 15))  # 14 on 2024-08-15, after
    assert detect(session, as_of=D(2024, 5, 16), service_id="id-card-reissue").created == []
    [event] = detect(session, as_of=D(2024, 7, 16), service_id="id-card-reissue").created
    assert event.occurrence == "14"


def test_dead_person_gets_no_milestone(session):
    b.person(session, birth_date=D(1966, 12, 1), death_date=D(2026, 1, 5))
    assert detect(session, as_of=D(2026, 11, 1), service_id="id-card-reissue").created == []


# ---------------------------------------------------------------- driving licences


def test_driving_classes_without_expiry_never_fire(session):
    holder = b.person(session)
    for cls in ("A1", "A", "B1"):  # Law 36/2024 art. 57(2)(a)
        b.licence(session, "driving_licence", holder, D(2025, 11, 1), licence_class=cls)
    for cls in ("A1", "A2", "A3"):  # Circular 12/2017 art. 17
        b.licence(session, "driving_licence", holder, D(2016, 11, 1), licence_class=cls)
    b.licence(session, "driving_licence", holder, D(2016, 11, 1), licence_class="B2", no_expiry=True)
    for day in (D(2026, 8, 3), D(2026, 10, 2), D(2026, 10, 25), D(2030, 8, 3), D(2035, 8, 3)):
        assert detect(session, as_of=day, service_id="driving-licence-renewal").created == []
    assert issues(session) == []


def test_old_b1_car_licence_with_a_printed_expiry_is_notified_and_renewed_to_b(session):
    holder = b.person(session, birth_date=D(1970, 4, 2))
    b.licence(session, "driving_licence", holder, D(2018, 4, 2), D(2030, 4, 2), licence_class="B1")
    [event] = detect(session, as_of=D(2030, 1, 2), service_id="driving-licence-renewal").created
    assert event.due_date == D(2030, 4, 2) and event.reason["facts"]["renewal_class"]["to"] == "B"
    assert "hạng B (Luật Trật tự, an toàn giao thông đường bộ 36/2024/QH15, điều 89" in event.reason["text_vi"]
    assert issues(session) == []  # a man born 1970 reaches 60 on 2030-04-02: the printed term agrees


def test_printed_term_contradicting_the_class_is_kept_and_raises_an_issue(session):
    holder = b.person(session)
    lic = b.licence(session, "driving_licence", holder, D(2020, 3, 1), D(2040, 3, 1), licence_class="B2")
    [event] = detect(session, as_of=D(2040, 1, 31), service_id="driving-licence-renewal").created
    assert event.due_date == D(2040, 3, 1)
    [issue] = session.scalars(select(QualityIssue)).all()
    assert (issue.kind, issue.field, issue.value_a) == ("conflict", "licence.expires_on", f"licence:{lic.id}")
    assert "2030-03-01" in issue.detail


@pytest.mark.parametrize(("cls", "issued", "expiry"), [
    ("B", D(2025, 3, 1), D(2035, 3, 1)),    # B: 10 years
    ("C1", D(2025, 3, 1), D(2035, 3, 1)),   # C1: 10 years
    ("C", D(2025, 3, 1), D(2030, 3, 1)),    # C: 5 years
    ("DE", D(2025, 3, 1), D(2030, 3, 1)),   # DE: 5 years
])
def test_driving_validity_by_class_when_the_feed_has_no_expiry(session, cls, issued, expiry):
    holder = b.person(session)
    lic = b.licence(session, "driving_licence", holder, issued, licence_class=cls)
    [event] = detect(session, as_of=expiry - dt.timedelta(days=90), service_id="driving-licence-renewal").created
    assert event.due_date == expiry and event.reason["facts"]["expiry_computed"] is True
    assert event.key == f"driving-licence-renewal:person:{holder.id}:{expiry.isoformat()}/L{lic.id}"
    assert any(p["name"] == "driving_licence.terms" for p in event.reason["parameters"])


def test_b_licence_is_not_five_years(session):
    b.licence(session, "driving_licence", b.person(session), D(2025, 3, 1), licence_class="B")
    assert detect(session, as_of=D(2029, 12, 1), service_id="driving-licence-renewal").created == []


def test_a_service_without_a_parameter_for_the_day_is_skipped_and_the_others_run(session):
    holder = b.person(session, birth_date=D(1990, 12, 1))
    b.licence(session, "tour_guide_card", holder, D(2010, 8, 30), D(2015, 8, 30))
    result = detect(session, as_of=D(2015, 6, 1))
    assert [e.service_id for e in result.created] == ["tour-guide-card-renewal"]
    # the ID-card milestone ages start in 2016: that service is skipped with the parameter named
    [warning] = [w for w in result.skipped if w.startswith("id-card-reissue")]
    assert "id_card.milestone_ages" in warning and "2015-07-01" in warning


def test_renewed_licence_does_not_fire(session):
    holder = b.person(session)
    b.licence(session, "driving_licence", holder, D(2016, 12, 1), D(2026, 12, 1), licence_class="C")
    b.licence(session, "driving_licence", holder, D(2026, 8, 1), D(2031, 8, 1), licence_class="C")
    assert detect(session, as_of=D(2026, 9, 2), service_id="driving-licence-renewal").created == []


def test_licence_without_class_or_expiry_goes_to_quality_list_once(session):
    b.licence(session, "driving_licence", b.person(session), D(2025, 12, 1))
    for _ in range(2):
        result = detect(session, as_of=D(2030, 9, 2), service_id="driving-licence-renewal")
        assert result.created == []
    [issue] = issues(session)
    assert issue.field == "licence.licence_class" and "[driving-licence-renewal]" in issue.detail


# ---------------------------------------------------------------- passports


def test_passport_issued_under_14_runs_5_years_else_10(session):
    child = b.person(session, birth_date=D(2011, 6, 1))   # 10 at issue
    adult = b.person(session, birth_date=D(1990, 1, 1))
    b.licence(session, "passport", child, D(2021, 12, 1))
    b.licence(session, "passport", adult, D(2021, 12, 1))
    [event] = detect(session, as_of=D(2026, 6, 4), service_id="passport-expiry").created  # 180 days before 2026-12-01
    assert event.person_id == child.id and event.due_date == D(2026, 12, 1)
    assert "passport.validity_years.child" in {p["name"] for p in event.reason["parameters"]}
    [later] = detect(session, as_of=D(2031, 6, 4), service_id="passport-expiry").created
    assert later.person_id == adult.id and later.due_date == D(2031, 12, 1)
    assert {p["name"] for p in later.reason["parameters"]} == {"passport.validity_years.adult"}


def test_passport_with_expiry_date_uses_it(session):
    holder = b.person(session)
    b.licence(session, "passport", holder, D(2017, 3, 3), D(2027, 3, 3))
    [event] = detect(session, as_of=D(2027, 3, 3) - dt.timedelta(days=90), service_id="passport-expiry").created
    assert event.due_date == D(2027, 3, 3) and event.reason["facts"]["lead_days"] == 90


# ---------------------------------------------------------------- professional licences


@pytest.mark.parametrize(("service_id", "kind", "leads"), [
    ("medical-licence-renewal", "medical_licence", (180, 90, 30)),
    ("tour-guide-card-renewal", "tour_guide_card", (90, 30, 7)),
    ("veterinary-cert-renewal", "veterinary_cert", (90, 30, 7)),
    ("transport-licence-renewal", "transport_licence", (60, 30, 7)),
])
def test_expiry_notices_one_event_over_all_lead_times(session, service_id, kind, leads):
    holder = b.person(session, full_name="Trần Thị Hoa")
    lic = b.licence(session, kind, holder, D(2021, 12, 2), D(2026, 12, 2), number="No-77")
    first = D(2026, 12, 2) - dt.timedelta(days=leads[0])
    assert detect(session, as_of=first - dt.timedelta(days=1), service_id=service_id).created == []
    [event] = detect(session, as_of=first, service_id=service_id).created
    assert event.reason["source_records"] == sorted([lic.source_record_id, holder.source_record_id])
    assert "no. No-77 expires on 2026-12-02" in event.reason["text_en"]
    assert "số No-77 hết hạn ngày 02/12/2026" in event.reason["text_vi"]
    for lead in leads[1:]:
        again = detect(session, as_of=D(2026, 12, 2) - dt.timedelta(days=lead), service_id=service_id)
        assert again.created == [] and again.existing == 1
    assert len(events(session, service_id)) == 1


def test_validity_computed_from_issue_date_when_missing(session):
    holder = b.person(session)
    b.licence(session, "tour_guide_card", holder, D(2021, 12, 2))  # 5 years (Law on Tourism art. 58)
    [event] = detect(session, as_of=D(2026, 9, 3), service_id="tour-guide-card-renewal").created
    assert event.due_date == D(2026, 12, 2)
    assert event.reason["parameters"][0]["name"] == "tour_guide_card.validity_years"


def test_late_licence_caught_at_a_later_lead(session):
    holder = b.person(session)
    b.licence(session, "veterinary_cert", holder, D(2021, 12, 2), D(2026, 12, 2))
    [event] = detect(session, as_of=D(2026, 11, 2), service_id="veterinary-cert-renewal").created  # 30 days
    assert event.reason["facts"]["lead_days"] == 30


def test_unlinked_licence_goes_to_quality_list(session):
    b.licence(session, "medical_licence", None, D(2021, 12, 2), D(2026, 12, 2))
    result = detect(session, as_of=D(2026, 6, 5), service_id="medical-licence-renewal")
    assert result.created == [] and result.quality_issues == 1
    assert detect(session, as_of=D(2026, 6, 5), service_id="medical-licence-renewal").quality_issues == 0
    [issue] = issues(session)
    assert issue.field == "licence.person_id" and issue.status == "open"


def test_revoked_licence_does_not_fire(session):
    b.licence(session, "tour_guide_card", b.person(session), D(2021, 12, 2), D(2026, 12, 2), revoked=True)
    assert detect(session, as_of=D(2026, 9, 3), service_id="tour-guide-card-renewal").created == []


# ---------------------------------------------------------------- poverty


@pytest.mark.parametrize(("area", "income", "deprived", "expected"), [
    ("rural", 1_500_000, 3, "poor"),        # exactly at the line counts as at-or-under
    ("rural", 1_500_000, 2, "near_poor"),
    ("rural", 1_500_001, 6, None),
    ("urban", 2_000_000, 4, "poor"),
    ("urban", 2_000_001, 0, None),
])
def test_poverty_classification(session, area, income, deprived, expected):
    hh = b.household(session, income=income, deprived=deprived, area_type=area, survey_date=D(2025, 10, 15))
    event = on_household_review(session, hh.id)
    if expected is None:
        assert event is None
    else:
        assert event is not None and event.reason["facts"]["classification"] == expected
        assert event.key == f"poor-household-confirmation:household:{hh.id}:2025-10-15"
        assert event.household_id == hh.id and event.person_id == hh.head_person_id
        assert event.reason["parameters"][0]["reference"].startswith("Decree 07/2021")


def test_poverty_line_switches_by_survey_date(session):
    # 2,000,000 VND in a rural area: above the 2022–2026 line, under the 2027 draft line.
    in_2026 = b.household(session, income=2_000_000, deprived=1, survey_date=D(2026, 12, 31))
    in_2027 = b.household(session, income=2_000_000, deprived=1, survey_date=D(2027, 1, 1))
    assert on_household_review(session, in_2026.id) is None
    event = on_household_review(session, in_2027.id)
    assert event is not None and event.reason["facts"]["income_line"] == 2_200_000
    assert event.reason["parameters"][0]["status"] == "draft"


def test_poverty_2026_uses_the_extension_period(session):
    hh = b.household(session, income=1_500_000, deprived=0, survey_date=D(2026, 1, 1))
    event = on_household_review(session, hh.id)
    assert event is not None and event.reason["parameters"][0]["valid_from"] == "2026-01-01"


def test_scheduled_review_cycle_picks_up_recent_reviews_once(session):
    hh = b.household(session, income=900_000, deprived=5, survey_date=D(2026, 10, 30))
    [event] = detect(session, as_of=D(2026, 11, 2), service_id="poor-household-confirmation").created
    assert event.household_id == hh.id
    assert on_household_review(session, hh.id).id == event.id  # streaming afterwards: same event
    assert len(events(session)) == 1


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"income": None}, "household.income_per_person"),
    ({"income": 1_000_000, "area_type": "mountain"}, "household.area_type"),
    ({"income": 1_000_000, "deprived": None}, "household.deprivations"),
    ({"income": 1_000_000, "head": None}, "household.head_person_id"),
])
def test_household_with_missing_data_goes_to_quality_list(session, kwargs, field):
    hh = b.household(session, **kwargs)
    assert on_household_review(session, hh.id) is None
    assert on_household_review(session, hh.id) is None
    [issue] = issues(session)
    assert issue.field == field and issue.value_a == f"household:{hh.id}"


# ---------------------------------------------------------------- birth and death


def test_birth_opens_registration_due_in_60_days_moved_past_new_year(session, clock):
    mother = b.person(session, birth_date=D(1995, 3, 3), sex="F")
    ve = b.vital_event(session, "birth", D(2026, 11, 2), mother=mother, weight_g=3200)
    event = on_vital_event(session, ve.id)
    assert event is not None and event.service_id == "birth-registration"
    assert event.person_id == mother.id and event.vital_event_id == ve.id
    # 2 Nov 2026 + 60 days = Fri 1 Jan 2027, a public holiday → next working day (Civil Code art. 148)
    assert event.due_date == D(2027, 1, 4)
    assert event.detected_on == D(2026, 11, 2)
    assert "vì cơ sở y tế Bệnh viện Đà Nẵng báo sinh ngày 02/11/2026" in event.reason["text_vi"]
    assert event.reason["facts"]["facility"] == "Bệnh viện Đà Nẵng"
    assert on_vital_event(session, ve.id).id == event.id
    assert detect(session, as_of=D(2026, 11, 3), service_id="birth-registration").existing == 1


def test_birth_without_mother_goes_to_quality_list(session, clock):
    ve = b.vital_event(session, "birth", D(2026, 11, 1))
    assert on_vital_event(session, ve.id) is None
    [issue] = issues(session)
    assert issue.field == "vital_event.mother_person_id"


def test_death_registration_within_15_days(session, clock):
    deceased = b.person(session, birth_date=D(1940, 1, 1), death_date=D(2026, 10, 20))
    ve = b.vital_event(session, "death", D(2026, 10, 20), subject=deceased)
    event = on_vital_event(session, ve.id)
    assert event is not None and event.service_id == "death-registration"
    assert event.due_date == D(2026, 11, 4)
    assert event.reason["facts"]["deadline_days"] == 15


def test_twins_are_two_events(session, clock):
    mother = b.person(session, sex="F")
    first = b.vital_event(session, "birth", D(2026, 11, 1), mother=mother)
    second = b.vital_event(session, "birth", D(2026, 11, 1), mother=mother)
    assert on_vital_event(session, first.id).id != on_vital_event(session, second.id).id


# ---------------------------------------------------------------- school admission


def test_school_cohorts_by_calendar_year(session):
    primary = b.school(session, "primary", [b.WARD], name="Tiểu học Hải Vân")
    # (no lower-secondary school here: school.level is String(10) in the registry, too short for
    # "lower_secondary" on PostgreSQL — reported to the registry owner)
    jan1 = b.person(session, birth_date=D(2021, 1, 1))
    dec31 = b.person(session, birth_date=D(2021, 12, 31))
    b.person(session, birth_date=D(2022, 1, 1))  # turns 6 in 2028: not this year
    b.person(session, birth_date=D(2020, 12, 31))  # turned 6 last year
    eleven = b.person(session, birth_date=D(2016, 7, 7), ward_code=b.OTHER_WARD)
    result = detect(session, as_of=D(2027, 6, 1), service_id="school-admission")  # 30 days before 1 July
    by_person = {e.person_id: e for e in result.created}
    assert set(by_person) == {jan1.id, dec31.id, eleven.id}
    assert by_person[jan1.id].occurrence == "2027-grade1"
    assert by_person[jan1.id].reason["facts"]["school_name"] == primary.name
    assert by_person[eleven.id].occurrence == "2027-grade6"
    assert by_person[eleven.id].reason["facts"]["school_name"] is None  # no school covers the ward
    assert "to be announced" in by_person[eleven.id].reason["text_en"]
    assert [(i.field, i.value_a) for i in issues(session)] == [("school.catchment", f"ward:{b.OTHER_WARD}:lower_secondary")]
    assert by_person[jan1.id].due_date == D(2027, 7, 31)
    assert detect(session, as_of=D(2027, 6, 2), service_id="school-admission").created == []


def test_child_without_ward_goes_to_quality_list(session):
    b.person(session, birth_date=D(2021, 5, 5), ward_code=None)
    result = detect(session, as_of=D(2027, 6, 1), service_id="school-admission")
    assert result.created == []
    assert [i.field for i in issues(session)] == ["person.ward_code"]


# ---------------------------------------------------------------- house building


def test_building_plan_opens_the_bundle(session, clock):
    declarant = b.person(session)
    plan = b.building_plan(session, declarant, D(2026, 11, 2))
    event = on_building_plan(session, plan.id)
    assert event is not None and event.subject_kind == "building_plan" and event.building_plan_id == plan.id
    assert event.reason["facts"]["linked"] == ["construction-permit", "electricity-connection", "water-connection"]
    assert event.due_date > D(2026, 11, 2)
    assert on_building_plan(session, plan.id).id == event.id


def test_building_plan_without_declarant_goes_to_quality_list(session, clock):
    plan = b.building_plan(session, None, D(2026, 11, 2))
    assert on_building_plan(session, plan.id) is None
    assert [i.field for i in issues(session)] == ["building_plan.person_id"]


# ---------------------------------------------------------------- idempotence, catch-up, non-take-up


def test_detection_twice_and_overlapping_ranges_create_nothing_new(session):
    holder = b.person(session, birth_date=D(2001, 12, 20))
    b.licence(session, "tour_guide_card", holder, D(2021, 12, 2), D(2026, 12, 2))
    b.licence(session, "passport", holder, D(2017, 3, 3), D(2027, 3, 3))
    b.household(session, income=1_000_000, deprived=4, survey_date=D(2026, 10, 1))
    first = detect_range(session, D(2026, 9, 1), D(2026, 12, 1))
    assert len(first.created) == 4  # tour guide card, passport (180 days), ID card at 25, poverty review
    second = detect_range(session, D(2026, 10, 1), D(2026, 12, 10))
    assert second.created == []
    assert detect(session, as_of=D(2026, 9, 3)).created == []
    total = session.scalar(select(func.count()).select_from(LifeEvent))
    distinct = session.scalar(select(func.count(func.distinct(LifeEvent.key))))
    assert total == distinct == 4


def test_a_missed_notice_day_is_caught_by_the_next_run(session):
    holder = b.person(session)
    b.licence(session, "tour_guide_card", holder, D(2021, 12, 2), D(2026, 12, 2))
    [event] = detect(session, as_of=D(2026, 9, 4)).created  # the 90-day day (3 Sep) was missed
    assert event.detected_on == D(2026, 9, 4) and event.due_date == D(2026, 12, 2)
    assert (event.reason["facts"]["lead_days"], event.reason["facts"]["days_before"]) == (90, 89)
    assert detect(session, as_of=D(2026, 9, 5)).created == []  # exactly once


def test_catch_up_range_detects_on_the_first_day_of_the_horizon(session):
    holder = b.person(session)
    b.licence(session, "tour_guide_card", holder, D(2021, 12, 2), D(2026, 12, 2))
    [event] = detect_range(session, D(2026, 9, 1), D(2026, 9, 4)).created
    assert event.detected_on == D(2026, 9, 3)


def test_a_licence_ingested_after_its_notice_day_is_offered_by_the_next_daily_run(session):
    holder = b.person(session)
    assert detect(session, as_of=D(2026, 11, 20)).created == []
    # arrives 12 days before expiry: after the 90- and 30-day notice days
    b.licence(session, "driving_licence", holder, D(2021, 12, 2), D(2026, 12, 2), licence_class="C")
    [event] = detect(session, as_of=D(2026, 11, 21)).created
    assert event.service_id == "driving-licence-renewal" and event.due_date == D(2026, 12, 2)
    assert (event.reason["facts"]["lead_days"], event.reason["facts"]["days_before"]) == (30, 11)
    assert detect(session, as_of=D(2026, 11, 26)).created == []


def test_bad_range_is_refused(session):
    from chudong.kit.errors import Unprocessable

    with pytest.raises(Unprocessable):
        detect_range(session, D(2026, 9, 4), D(2026, 9, 1))


def test_non_take_up_lists_eligible_without_dossier_per_ward(session, clock):
    poor = b.household(session, income=1_000_000, deprived=4, survey_date=D(2026, 10, 1))
    other = b.household(session, income=1_000_000, deprived=0, survey_date=D(2026, 10, 1), ward_code=b.OTHER_WARD)
    on_household_review(session, poor.id)
    on_household_review(session, other.id)
    rows = non_take_up(session, as_of=D(2026, 11, 2), service_id="poor-household-confirmation")
    assert {(r.ward_code, r.count) for r in rows} == {(b.WARD, 1), (b.OTHER_WARD, 1)}
    ward_row = next(r for r in rows if r.ward_code == b.WARD)
    assert ward_row.ward_name == "Phường Hải Vân"
    assert ward_row.subjects[0]["subject_id"] == poor.id and ward_row.overdue == 1
    assert non_take_up(session, as_of=D(2026, 9, 1)) == []
