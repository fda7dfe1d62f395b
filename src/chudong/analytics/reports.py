"""The monthly report on receiving and settling dossiers, per unit, as PDF, XLSX and CSV.

The printed report (PDF) is what a leader reads: the table per unit, with each unit's
longest overdue, and the few oldest overdue dossiers of each unit. The spreadsheets carry
the full list of overdue dossiers (XLSX sheet, and its own CSV). WeasyPrint's cost grows
with pages and table cells, so the printed list is short; the fonts are a small local
Vietnamese subset of DejaVu Sans (``fonts/``), set up once per process.
"""

from __future__ import annotations

import atexit
import csv
import datetime as dt
import io
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from chudong.analytics.service import Period
from chudong.dossiers.models import Dossier, Unit

COLUMNS = ("unit_code", "unit_name", "received", "settled_early", "settled_on_time", "settled_late",
           "in_progress", "overdue")
HEADERS_VI = ("Mã đơn vị", "Đơn vị", "Tiếp nhận", "Giải quyết trước hạn", "Giải quyết đúng hạn",
              "Giải quyết quá hạn", "Đang giải quyết", "Quá hạn")
OVERDUE_COLUMNS = ("unit_code", "unit_name", "code", "service_id", "received_on", "due_on", "days_late")
OVERDUE_HEADERS_VI = ("Mã đơn vị", "Đơn vị", "Mã hồ sơ", "Thủ tục", "Ngày tiếp nhận", "Hạn giải quyết",
                      "Số ngày quá hạn")
PDF_OVERDUE_PER_UNIT = 5  # the printed report lists each unit's oldest; XLSX and CSV have them all


@dataclass
class UnitRow:
    """One unit's line of the report."""

    unit_code: str
    unit_name: str
    received: int = 0
    settled_early: int = 0
    settled_on_time: int = 0
    settled_late: int = 0
    in_progress: int = 0
    overdue: int = 0
    longest_overdue_days: int | None = None  # the oldest overdue dossier's days past its deadline

    def values(self) -> list:
        """Return the values in column order."""
        return [getattr(self, c) for c in COLUMNS]


@dataclass
class MonthlyReport:
    """The report for one period.

    ``overdue`` holds every overdue dossier, or only each unit's oldest when the report was
    built for print (``overdue_complete`` False).
    """

    period: Period
    generated_on: dt.date
    rows: list[UnitRow] = field(default_factory=list)
    overdue: list[dict] = field(default_factory=list)
    overdue_complete: bool = True

    @property
    def totals(self) -> UnitRow:
        """Return the province total."""
        t = UnitRow("", "Tổng cộng")
        for r in self.rows:
            for c in COLUMNS[2:]:
                setattr(t, c, getattr(t, c) + getattr(r, c))
        longest = [r.longest_overdue_days for r in self.rows if r.longest_overdue_days is not None]
        t.longest_overdue_days = max(longest) if longest else None
        return t


def monthly_report(session: Session, period: Period, generated_on: dt.date, *,
                   overdue_per_unit: int | None = None) -> MonthlyReport:
    """Count per unit: received in the period, settled in it by class, in progress and overdue at its end.

    The overdue list has every overdue dossier, ordered by unit and deadline; with
    ``overdue_per_unit`` only each unit's oldest (what the printed report shows).
    """
    start, end = period.start, period.end
    received = and_(Dossier.received_on >= start, Dossier.received_on <= end)
    settled = and_(Dossier.settled_on >= start, Dossier.settled_on <= end)
    open_at_end = and_(Dossier.received_on <= end, or_(Dossier.settled_on.is_(None), Dossier.settled_on > end),
                       Dossier.status.not_in(("declined", "expired", "acted_on")))
    overdue = and_(open_at_end, Dossier.due_on < end)

    def n(*conds):
        return func.count().filter(and_(*conds))

    report = MonthlyReport(period, generated_on, overdue_complete=overdue_per_unit is None)
    rows = session.execute(
        select(Unit.code, Unit.name, n(received), n(settled, Dossier.settlement_class == "early"),
               n(settled, Dossier.settlement_class == "on_time"), n(settled, Dossier.settlement_class == "late"),
               n(open_at_end), n(overdue), func.min(Dossier.due_on).filter(overdue))
        .select_from(Dossier).join(Unit, Unit.code == Dossier.handling_unit_code)
        .where(Dossier.received_on.is_not(None), Dossier.received_on <= end,
               or_(Dossier.settled_on.is_(None), Dossier.settled_on >= start))
        .group_by(Unit.code, Unit.name).order_by(Unit.name, Unit.code)
    ).all()
    for code, name, *counts, oldest_due in rows:
        report.rows.append(UnitRow(code, name, *(int(c or 0) for c in counts),
                                   longest_overdue_days=(end - oldest_due).days if oldest_due else None))

    listed = (Dossier.handling_unit_code, Dossier.code, Dossier.service_id, Dossier.received_on, Dossier.due_on)
    if overdue_per_unit is None:
        found = select(*listed).where(overdue).subquery()
    else:
        ranked = select(*listed, func.row_number().over(
            partition_by=Dossier.handling_unit_code, order_by=(Dossier.due_on, Dossier.code)).label("rank")
        ).where(overdue).subquery()
        found = select(*(ranked.c[c.key] for c in listed)).where(ranked.c.rank <= overdue_per_unit).subquery()
    report.overdue = [
        {"unit_code": r.handling_unit_code, "unit": r.name, "code": r.code, "service": r.service_id,
         "received_on": r.received_on, "due_on": r.due_on, "days_late": (end - r.due_on).days}
        for r in session.execute(
            select(Unit.name, found).join(Unit, Unit.code == found.c.handling_unit_code)
            .order_by(Unit.name, found.c.handling_unit_code, found.c.due_on, found.c.code))
    ]
    return report


def _csv(rows: list[list]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: spreadsheet tools then read Vietnamese


def to_csv(report: MonthlyReport) -> bytes:
    """Return the per-unit table as UTF-8 CSV, the province total last."""
    return _csv([list(COLUMNS), *(r.values() for r in [*report.rows, report.totals])])


def _overdue_values(o: dict) -> list:
    return [o["unit_code"], o["unit"], o["code"], o["service"], o["received_on"], o["due_on"], o["days_late"]]


def _require_full_list(report: MonthlyReport) -> None:
    if not report.overdue_complete:
        raise ValueError("this report holds only each unit's oldest overdue dossiers (built for print); "
                         "build it with overdue_per_unit=None for the spreadsheets")


def to_overdue_csv(report: MonthlyReport) -> bytes:
    """Return every overdue dossier as UTF-8 CSV, ordered by unit and deadline."""
    _require_full_list(report)
    return _csv([list(OVERDUE_COLUMNS), *(_overdue_values(o) for o in report.overdue)])


def to_xlsx(report: MonthlyReport) -> bytes:
    """Return the report as an XLSX workbook: the per-unit sheet and the overdue list."""
    from chudong.analytics import xlsx

    _require_full_list(report)
    units = xlsx.Sheet("Theo đơn vị")
    units.append([f"Báo cáo tình hình tiếp nhận, giải quyết hồ sơ {report.period.label()}"])
    units.append([*HEADERS_VI, "Quá hạn lâu nhất (ngày)"], bold=True)
    for r in report.rows:
        units.append([*r.values(), r.longest_overdue_days])
    t = report.totals
    units.append([*t.values(), t.longest_overdue_days], bold=True)
    late = xlsx.Sheet("Hồ sơ quá hạn")
    late.append(list(OVERDUE_HEADERS_VI), bold=True)
    for o in report.overdue:
        late.append(_overdue_values(o))
    return xlsx.write([units, late])


def to_html(report: MonthlyReport) -> str:
    """Return the printable HTML of the report (Vietnamese): each unit's oldest overdue dossiers."""
    from chudong.web.templating import environment

    groups: dict[str, list[dict]] = {}
    for o in report.overdue:  # already ordered by unit, then deadline
        shown = groups.setdefault(o["unit_code"], [])
        if len(shown) < PDF_OVERDUE_PER_UNIT:
            shown.append(o)
    overdue = [(r, groups[r.unit_code]) for r in report.rows if groups.get(r.unit_code)]
    from chudong.portal.dashboard import service_names
    from chudong.web.templating import long_date

    return environment().get_template("analytics/monthly_report.html").render(
        report=report, headers=HEADERS_VI, totals=report.totals, overdue=overdue, per_unit=PDF_OVERDUE_PER_UNIT,
        province=province_name(), service_vi=lambda sid: service_names(sid).get("vi") or sid,
        day=lambda d: long_date(d, "vi"))


def province_name(code: int | None = None) -> str:
    """Return the configured province's name ("Thành phố Đà Nẵng"), or "" when the code is unknown."""
    import vietnam_provinces as vp

    from chudong.config import get_settings

    code = get_settings().province_code if code is None else code
    return next((p.name for p in vp.Province.iter_all() if int(p.code) == int(code)), "")


FONTS = Path(__file__).parent / "fonts"
_FONT_FACES = """
@font-face { font-family: ChudongReport; font-weight: normal; src: url("%(dir)s/DejaVuSans-vi.ttf"); }
@font-face { font-family: ChudongReport; font-weight: bold; src: url("%(dir)s/DejaVuSans-Bold-vi.ttf"); }
"""
_pdf_lock = threading.Lock()
_pdf_setup: tuple | None = None


def _pdf_fonts() -> tuple:
    """Return the process's WeasyPrint font configuration and the stylesheet declaring the report fonts."""
    global _pdf_setup
    if _pdf_setup is None:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        config = FontConfiguration()
        _pdf_setup = (config, CSS(string=_FONT_FACES % {"dir": FONTS.as_uri()}, font_config=config))
        atexit.register(_drop_pdf_fonts)  # its temporary folder is removed while the interpreter still can
    return _pdf_setup


def _drop_pdf_fonts() -> None:
    global _pdf_setup
    _pdf_setup = None


def to_pdf(report: MonthlyReport) -> bytes:
    """Return the report as PDF (WeasyPrint; one render at a time, the font set-up shared)."""
    from weasyprint import HTML

    html = to_html(report)
    with _pdf_lock:  # the shared font configuration (Pango/fontconfig) is not for concurrent use
        config, fonts = _pdf_fonts()
        return HTML(string=html).write_pdf(font_config=config, stylesheets=[fonts])
