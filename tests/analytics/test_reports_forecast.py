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
    out = fc.model_forecast(session, "death-registration", D(2026, 12, 1), [D(2026, 12, 1), D(2027, 1, 1)])
    assert out.method == "model" and out.mape is not None and out.mape < 15
    assert 15 <= out.by_month[D(2026, 12, 1)] <= 30


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
