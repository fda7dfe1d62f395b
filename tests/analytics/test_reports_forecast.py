"""Monthly report (PDF/XLSX/CSV), forecast (exact and model), open data and pages."""

import datetime as dt
import io

import pytest

from chudong.analytics import forecast as fc
from chudong.analytics import reports
from chudong.analytics.service import Period
from tests.dossiers import builders as db

from . import builders as b

D = dt.date


@pytest.fixture
def units_and_dossiers(session, clock):
    db.units(session)
    from sqlalchemy import select

    from chudong.dossiers.models import Unit

    unit = session.scalars(select(Unit.code).order_by(Unit.code)).first()
    b.dossier(session, unit=unit, settled_on=D(2026, 10, 6), settlement_class="early", status="closed")
    b.dossier(session, unit=unit, settled_on=D(2026, 10, 20), settlement_class="late", status="closed")
    overdue = b.dossier(session, unit=unit, received_on=D(2026, 10, 1), due_on=D(2026, 10, 6), status="in_processing")
    session.flush()
    return unit, overdue


def test_monthly_report_counts_per_unit(session, units_and_dossiers):
    unit, overdue = units_and_dossiers
    rep = reports.monthly_report(session, Period.parse("2026-10"), D(2026, 11, 2))
    row = next(r for r in rep.rows if r.unit_code == unit)
    assert (row.received, row.settled_early, row.settled_late, row.in_progress, row.overdue) == (3, 1, 1, 1, 1)
    assert row.longest_overdue_days == 25 and rep.totals.longest_overdue_days == 25
    assert [o["code"] for o in rep.overdue] == [overdue.code]
    assert rep.overdue[0]["days_late"] == 25 and rep.overdue_complete


@pytest.fixture
def many_overdue(session, units_and_dossiers):
    """The first unit has 8 overdue dossiers (due 1–8 October after the fixture's one), a second unit 1."""
    from sqlalchemy import select

    from chudong.dossiers.models import Unit

    unit, first = units_and_dossiers
    other = session.scalars(select(Unit.code).where(Unit.code != unit).order_by(Unit.code)).first()
    late = [b.dossier(session, unit=unit, received_on=D(2026, 9, 20), due_on=D(2026, 10, day)) for day in range(1, 9)]
    single = b.dossier(session, unit=other, received_on=D(2026, 10, 2), due_on=D(2026, 10, 9))
    session.flush()
    return unit, other, [first, *late], single


def test_print_lists_each_units_oldest_overdue(session, many_overdue):
    unit, other, late, single = many_overdue
    full = reports.monthly_report(session, Period.parse("2026-10"), D(2026, 11, 2))
    assert len(full.overdue) == 10
    printed = reports.monthly_report(session, Period.parse("2026-10"), D(2026, 11, 2),
                                     overdue_per_unit=reports.PDF_OVERDUE_PER_UNIT)
    assert not printed.overdue_complete
    oldest = sorted(late, key=lambda d: (d.due_on, d.code))[:reports.PDF_OVERDUE_PER_UNIT]
    assert [o["code"] for o in printed.overdue if o["unit_code"] == unit] == [d.code for d in oldest]
    assert [o["code"] for o in printed.overdue if o["unit_code"] == other] == [single.code]
    row = next(r for r in printed.rows if r.unit_code == unit)
    assert row.overdue == 9 and row.longest_overdue_days == 30  # due 1 October, counted to the 31st
    html = reports.to_html(printed)
    assert f"{row.unit_name} — 9 hồ sơ quá hạn, 5 lâu nhất:" in html
    assert "ỦY BAN NHÂN DÂN THÀNH PHỐ ĐÀ NẴNG" in html and "1 tháng 10 năm 2026" in html  # province, dates in words
    assert "<td>birth-registration</td>" not in html  # procedures by their Vietnamese names
    assert oldest[-1].code in html and sorted(late, key=lambda d: d.due_on)[-1].code not in html
    with pytest.raises(ValueError, match="oldest"):  # a truncated list never goes out as the full one
        reports.to_xlsx(printed)
    with pytest.raises(ValueError):
        reports.to_overdue_csv(printed)


def test_report_formats(session, many_overdue):
    unit, _, late, _ = many_overdue
    rep = reports.monthly_report(session, Period.parse("2026-10"), D(2026, 11, 2))
    csv_text = reports.to_csv(rep).decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("unit_code,unit_name,received")
    assert csv_text.splitlines()[-1].startswith(",Tổng cộng,")
    overdue_rows = reports.to_overdue_csv(rep).decode("utf-8-sig").splitlines()
    assert overdue_rows[0] == ",".join(reports.OVERDUE_COLUMNS) and len(overdue_rows) == 11
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(reports.to_xlsx(rep)))
    assert wb.sheetnames == ["Theo đơn vị", "Hồ sơ quá hạn"]
    sheet = wb["Hồ sơ quá hạn"]
    assert sheet.max_row == 11
    first = [c.value for c in sheet[2]]
    assert first[0] == unit and first[2] == sorted(late, key=lambda d: (d.due_on, d.code))[0].code
    assert first[4].date() == D(2026, 9, 20) and first[5].date() == D(2026, 10, 1) and first[6] == 30
    units = wb["Theo đơn vị"]
    assert [c.value for c in units[2]][:3] == ["Mã đơn vị", "Đơn vị", "Tiếp nhận"] and units["A2"].font.b
    assert [c.value for c in units[units.max_row]][1:3] == ["Tổng cộng", rep.totals.received]
    pdf = reports.to_pdf(rep)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 2000
    # only the small local report font is embedded (a fallback to a full system font costs ~1 s a PDF)
    assert {name.split(b"+")[-1] for name in _embedded_fonts(pdf)} == {b"ChudongReport", b"ChudongReport-Bold"}


def _embedded_fonts(pdf: bytes) -> set[bytes]:
    import re
    import zlib

    names: set[bytes] = set()
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            names.update(re.findall(rb"/FontName\s*/([\w+-]+)", zlib.decompress(m.group(1))))
        except zlib.error:  # a stream that is not deflated (none here hold font names)
            continue
    return names


def test_report_for_a_period_without_data(session, clock):
    rep = reports.monthly_report(session, Period.parse("2031-01"), D(2026, 11, 2))
    assert rep.rows == [] and rep.totals.received == 0
    assert "Không có dữ liệu" in reports.to_html(rep)
    assert reports.to_pdf(rep).startswith(b"%PDF-")


def test_exact_forecast_equals_what_detection_creates(session, clock):
    """Passport expiries: the forecast for next month is exactly the events detection then creates."""
    from chudong.rules.catalogue import get_catalogue
    from chudong.rules.service import detect_range

    holders = [db.person(session, full_name=f"Người {i}", pid=f"04819500{i:04d}") for i in range(6)]
    for i, p in enumerate(holders):  # expiries spread over early 2027
        db.licence(session, p, kind="passport", expires_on=D(2027, 1, 10) + dt.timedelta(days=17 * i))
    session.flush()
    svc = get_catalogue().service("passport-expiry")
    start, end = D(2026, 12, 1), D(2027, 5, 31)
    predicted = fc.exact_forecast(session, svc, start, end)
    detect_range(session, start, end, service_id="passport-expiry")
    from sqlalchemy import func, select

    from chudong.rules.models import LifeEvent

    actual = dict(session.execute(select(LifeEvent.detected_on, func.count()).where(
        LifeEvent.service_id == "passport-expiry").group_by(LifeEvent.detected_on)).all())
    by_month: dict = {}
    for day, n in actual.items():
        by_month[fc.month_start(day)] = by_month.get(fc.month_start(day), 0) + n
    assert sum(predicted.by_month.values()) == 6
    assert predicted.by_month == by_month


def test_model_forecast_with_backtest(session, clock):
    from chudong.rules.models import LifeEvent
    from chudong.kit import clock as k

    # 12 months of deaths: 10, 11, ..., a steady trend
    for month in range(12):
        day = fc.add_months(D(2025, 11, 1), month)
        for i in range(10 + month):
            session.add(LifeEvent(key=f"death-registration:person:{month}-{i}:x", service_id="death-registration",
                                  subject_kind="person", occurrence="x", due_date=day, detected_on=day,
                                  reason={}, created_at=k.now()))
    session.flush()
    # today is 2 November 2026: October is the last complete month; November is forecast through
    out = fc.model_forecast(session, "death-registration", [D(2026, 12, 1), D(2027, 1, 1)],
                            history_until=D(2026, 11, 1))
    assert out.method == "model" and out.mape is not None and out.mape < 15
    assert 20 <= out.by_month[D(2026, 12, 1)] <= 26  # the trend: 21 in October, +1 a month
    assert out.by_month[D(2027, 1, 1)] >= out.by_month[D(2026, 12, 1)] - 1


def test_model_forecast_ignores_the_current_partial_month(session, clock):
    """Two days into November, its few events are not a collapse of demand."""
    from chudong.kit import clock as k
    from chudong.rules.models import LifeEvent

    for month in range(12):
        day = fc.add_months(D(2025, 11, 1), month)
        for i in range(20):
            session.add(LifeEvent(key=f"death-registration:person:{month}-{i}:x", service_id="death-registration",
                                  subject_kind="person", occurrence="x", due_date=day, detected_on=day,
                                  reason={}, created_at=k.now()))
    session.add(LifeEvent(key="death-registration:person:nov:x", service_id="death-registration",
                          subject_kind="person", occurrence="x", due_date=D(2026, 11, 1), detected_on=D(2026, 11, 1),
                          reason={}, created_at=k.now()))
    session.flush()
    f = fc.forecast(session, today=D(2026, 11, 2), months=3)
    deaths = next(s for s in f.services if s.service_id == "death-registration")
    assert all(18 <= deaths.by_month[m] <= 22 for m in f.months), deaths.by_month


def _day_by_day(session, svc, start, end):
    """The reference: the service's rule evaluated for every day, as detection runs it (first day per key)."""
    from chudong.rules.catalogue import get_catalogue
    from chudong.rules.engine import SCHEDULED, RuleContext
    from chudong.rules.service import horizon

    ctx, seen, day = RuleContext(session, get_catalogue()), {}, start
    while day <= end:
        for cand in SCHEDULED[svc.trigger["type"]](ctx, horizon(svc), day).candidates:
            seen.setdefault(cand.key, day)
        day += dt.timedelta(days=1)
    by_month: dict = {}
    for first in seen.values():
        by_month[fc.month_start(first)] = by_month.get(fc.month_start(first), 0) + 1
    return by_month


@pytest.fixture
def registry_due(session, clock):
    """People, cards and licences due in December 2026 – July 2027 through every lead and rule branch."""
    from chudong.registry.models import Licence

    p = db.person
    for birth in (D(2013, 1, 15), D(1966, 12, 10), D(2002, 6, 30), D(1987, 3, 3)):  # 14, 60 (second lead), 25, 40
        p(session, birth_date=birth)
    covered = p(session, birth_date=D(1987, 4, 4))  # reaches 40 but holds a card issued within the grace years
    session.add(Licence(kind="id_card", number="C-GRACE", person_id=covered.id, issued_on=D(2026, 1, 1),
                        issuing_agency="police"))
    dead = p(session, birth_date=D(1970, 1, 1))
    dead.death_date = D(2026, 5, 1)
    db.licence(session, dead, kind="passport", expires_on=D(2027, 2, 1))  # holder dead: never

    def adult():  # one holder per licence: a newer licence of the same kind renews the older
        return p(session, birth_date=D(1980, 1, 1))

    for expiry in (D(2027, 1, 10), D(2027, 6, 30), D(2028, 1, 20), D(2026, 12, 20)):
        db.licence(session, adult(), kind="passport", expires_on=expiry)
    session.add_all([
        # no expiry date in the feed: the child's is computed (5 years); no adult validity rule covered 2017
        Licence(kind="passport", number="P-NOEXP", person_id=adult().id, issued_on=D(2017, 3, 15), issuing_agency="x"),
        Licence(kind="passport", number="P-CHILD", person_id=p(session, birth_date=D(2012, 1, 1)).id,
                issued_on=D(2022, 5, 20), issuing_agency="x"),
        # class A1 has no term (Circular 12/2017 art. 17): the printed date is kept (and reported as contradicting it)
        Licence(kind="driving_licence", licence_class="A1", number="D-A1", person_id=adult().id,
                issued_on=D(2017, 2, 1), expires_on=D(2027, 2, 1), issuing_agency="x"),
    ])
    for cls, expiry in (("B", D(2027, 3, 5)), ("C", D(2027, 7, 20)), ("B", D(2026, 12, 3))):
        db.licence(session, adult(), kind="driving_licence", licence_class=cls, expires_on=expiry)
    for birth in (D(2021, 3, 1), D(2016, 9, 9)):  # grade 1 and grade 6 in 2027
        p(session, birth_date=birth)
    session.flush()


@pytest.mark.parametrize("service_id", ["passport-expiry", "driving-licence-renewal", "id-card-reissue",
                                        "school-admission"])
def test_exact_forecast_equals_the_day_by_day_rule(session, registry_due, service_id):
    """A month evaluated in one call with widened leads finds what every day's evaluation finds."""
    from chudong.rules.catalogue import get_catalogue

    svc = get_catalogue().service(service_id)
    start, end = D(2026, 12, 1), D(2027, 7, 31)
    expected = _day_by_day(session, svc, start, end)
    assert sum(expected.values()) >= {"passport-expiry": 4, "id-card-reissue": 4}.get(service_id, 2)
    assert fc.exact_forecast(session, svc, start, end).by_month == expected


def test_a_recorded_future_death_falls_back_to_day_by_day(session, registry_due):
    """A death dated inside a month stops events after it: that month is then evaluated day by day."""
    from chudong.rules.catalogue import get_catalogue

    holder = db.person(session, birth_date=D(1975, 5, 5))
    holder.death_date = D(2027, 1, 10)
    db.licence(session, holder, kind="passport", expires_on=D(2027, 4, 20))  # first due 20 January (90 days)
    session.flush()
    svc = get_catalogue().service("passport-expiry")
    start, end = D(2026, 12, 1), D(2027, 7, 31)
    out = fc.exact_forecast(session, svc, start, end)
    assert out.by_month == _day_by_day(session, svc, start, end)
    # January: the 2027-06-30 expiry (180 days ahead); the dead holder's is not there
    assert out.by_month[D(2027, 1, 1)] == 1


def test_mape_and_bad_horizon(session, clock):
    assert fc.mape([10, 0, 20], [11, 5, 18]) == pytest.approx(10.0)
    assert fc.mape([0, 0], [1, 1]) is None
    from chudong.kit.errors import Unprocessable

    with pytest.raises(Unprocessable):
        fc.forecast(session, today=D(2026, 11, 2), months=13)


def test_open_data_is_public_and_documented(client):
    r = client.get("/open-data/index.json?period=2026-10")
    assert r.status_code == 200
    body = r.json()
    assert body["schema"] == "chudong.index766/1" and len(body["indicators"]) == 17
    assert client.get("/open-data/index.csv?period=2026-10").text.startswith("period_start,")
    assert client.get("/open-data/index.json?period=2026-99").status_code == 422


def test_leader_pages_need_a_leader(client):
    r = client.get("/leader/index", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/staff/signin"
    assert client.get("/leader/reports/monthly.pdf", follow_redirects=False).status_code == 401


def test_leader_index_page_ranks_units_and_downloads_reports(client, session, units_and_dossiers):
    from tests.portal.helpers import staff_account, staff_signin

    unit, _ = units_and_dossiers
    staff_account(session, "leader", "leader")
    session.commit()
    staff_signin(client, "leader")
    r = client.get("/leader/index?period=2026-10", headers={"accept": "text/html"})
    assert r.status_code == 200
    assert 'id="unit-ranking"' in r.text and f"unit={unit}" in r.text
    r = client.get(f"/leader/index?period=2026-10&unit={unit}", headers={"accept": "text/html"})
    assert r.status_code == 200 and 'id="unit-ranking"' not in r.text  # one unit: no ranking
    pdf = client.get("/leader/reports/monthly.pdf?period=2026-10")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    csv_text = client.get("/leader/reports/monthly.csv?period=2026-10").content.decode("utf-8-sig")
    assert csv_text.splitlines()[1].startswith(unit + ",")


# ---------------------------------------------------------------- forecast snapshots


def _months(f):
    return {s.service_id: s.by_month for s in f.services}


def test_forecast_snapshot_is_reused_for_the_same_day_and_data(session, registry_due, monkeypatch):
    from chudong.analytics import forecast_cache as cache

    today = D(2026, 11, 2)
    first, at = cache.cached_forecast(session, today=today, months=12)
    monkeypatch.setattr(cache, "forecast", lambda *a, **k: pytest.fail("recomputed although nothing changed"))
    again, at_again = cache.cached_forecast(session, today=today, months=12)
    assert at_again == at and _months(again) == _months(first)
    # a shorter horizon is the prefix of the stored 12 months, staffing recomputed for it
    six, _ = cache.cached_forecast(session, today=today, months=6)
    direct = fc.forecast(session, today=today, months=6)
    assert _months(six) == _months(direct) and six.months == direct.months
    assert [(r.ward_code, r.monthly_dossiers, r.officers_needed) for r in six.staffing] == \
        [(r.ward_code, r.monthly_dossiers, r.officers_needed) for r in direct.staffing]


def test_forecast_snapshot_follows_the_data_and_the_day(session, registry_due):
    from chudong.analytics import forecast_cache as cache

    today = D(2026, 11, 2)
    before, _ = cache.cached_forecast(session, today=today, months=3)
    db.licence(session, db.person(session, birth_date=D(1980, 1, 1)), kind="passport", expires_on=D(2027, 6, 5))
    session.flush()  # a new registry row: a new data version (due 7 December: 180 days ahead)
    after, _ = cache.cached_forecast(session, today=today, months=3)
    passports = next(s for s in after.services if s.service_id == "passport-expiry").by_month
    assert passports.get(D(2026, 12, 1), 0) == _months(before)["passport-expiry"].get(D(2026, 12, 1), 0) + 1
    later, _ = cache.cached_forecast(session, today=D(2026, 12, 2), months=3)  # another day: its own forecast
    assert later.months[0] == D(2027, 1, 1)
    assert _months(later) == _months(fc.forecast(session, today=D(2026, 12, 2), months=3))


def test_forecast_job_computes_once_per_data_version(session, registry_due):
    from sqlalchemy import func, select

    from chudong.analytics import forecast_cache as cache
    from chudong.analytics.models import ForecastSnapshot
    from chudong.kit.jobs import registered_jobs

    assert "analytics.forecast" in registered_jobs()
    session.add(ForecastSnapshot(as_of=D(2026, 10, 1), data_version="old", months=12, computed_at=clock_now(),
                                 payload={}))
    assert cache.refresh(session, today=D(2026, 11, 2)) == 1
    assert cache.refresh(session, today=D(2026, 11, 2)) == 0
    assert session.scalars(select(ForecastSnapshot.as_of)).all() == [D(2026, 11, 2)]  # older days dropped
    assert session.scalar(select(func.count()).select_from(ForecastSnapshot)) == 1


def clock_now():
    from chudong.kit import clock as k

    return k.now()


def test_forecast_page_shows_when_it_was_computed(client, session, registry_due):
    from tests.portal.helpers import staff_account, staff_signin

    staff_account(session, "leader", "leader")
    session.commit()
    staff_signin(client, "leader")
    from sqlalchemy import func, select

    from chudong.analytics import forecast_cache as cache
    from chudong.analytics.models import ForecastSnapshot
    from chudong.rules.catalogue import get_catalogue

    r = client.get("/leader/forecast?months=3", headers={"accept": "text/html"})  # never computed on a request
    assert r.status_code == 200 and 'id="forecast-pending"' in r.text and 'id="computed-at"' not in r.text
    assert session.scalar(select(func.count()).select_from(ForecastSnapshot)) == 0
    assert cache.refresh(session, today=D(2026, 11, 2)) == 1  # the worker's job
    session.commit()
    again = client.get("/leader/forecast?months=3", headers={"accept": "text/html"})
    assert again.status_code == 200 and 'id="computed-at"' in again.text and again.text.count("02/11/2026") >= 1
    assert get_catalogue().service("passport-expiry").names.vi in again.text and "<td>passport-expiry" not in again.text
    assert 'id="chart-forecast"' in again.text and 'style="' not in again.text
