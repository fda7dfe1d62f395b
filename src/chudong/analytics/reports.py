"""The monthly report on receiving and settling dossiers, per unit, as PDF, XLSX and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from chudong.analytics.service import Period
from chudong.dossiers.models import Dossier, Unit

COLUMNS = ("unit_code", "unit_name", "received", "settled_early", "settled_on_time", "settled_late",
           "in_progress", "overdue")
HEADERS_VI = ("Mã đơn vị", "Đơn vị", "Tiếp nhận", "Giải quyết trước hạn", "Giải quyết đúng hạn",
              "Giải quyết quá hạn", "Đang giải quyết", "Quá hạn")


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

    def values(self) -> list:
        """Return the values in column order."""
        return [getattr(self, c) for c in COLUMNS]


@dataclass
class MonthlyReport:
    """The report for one period."""

    period: Period
    generated_on: dt.date
    rows: list[UnitRow] = field(default_factory=list)
    overdue: list[dict] = field(default_factory=list)

    @property
    def totals(self) -> UnitRow:
        """Return the province total."""
        t = UnitRow("", "Tổng cộng")
        for r in self.rows:
            for c in COLUMNS[2:]:
                setattr(t, c, getattr(t, c) + getattr(r, c))
        return t


def monthly_report(session: Session, period: Period, generated_on: dt.date) -> MonthlyReport:
    """Count per unit: received in the period, settled in it by class, in progress and overdue at its end."""
    start, end = period.start, period.end
    received = and_(Dossier.received_on >= start, Dossier.received_on <= end)
    settled = and_(Dossier.settled_on >= start, Dossier.settled_on <= end)
    open_at_end = and_(Dossier.received_on <= end, or_(Dossier.settled_on.is_(None), Dossier.settled_on > end),
                       Dossier.status.not_in(("declined", "expired", "acted_on")))
    report = MonthlyReport(period, generated_on)
    rows = session.execute(
        select(Unit.code, Unit.name,
               func.sum(case((received, 1), else_=0)),
               func.sum(case((and_(settled, Dossier.settlement_class == "early"), 1), else_=0)),
               func.sum(case((and_(settled, Dossier.settlement_class == "on_time"), 1), else_=0)),
               func.sum(case((and_(settled, Dossier.settlement_class == "late"), 1), else_=0)),
               func.sum(case((open_at_end, 1), else_=0)),
               func.sum(case((and_(open_at_end, Dossier.due_on < end), 1), else_=0)))
        .select_from(Dossier).join(Unit, Unit.code == Dossier.handling_unit_code)
        .where(Dossier.received_on.is_not(None), Dossier.received_on <= end,
               or_(Dossier.settled_on.is_(None), Dossier.settled_on >= start))
        .group_by(Unit.code, Unit.name).order_by(Unit.name)
    ).all()
    for code, name, *counts in rows:
        report.rows.append(UnitRow(code, name, *(int(c or 0) for c in counts)))
    overdue = session.execute(
        select(Unit.name, Dossier.code, Dossier.service_id, Dossier.received_on, Dossier.due_on)
        .select_from(Dossier).join(Unit, Unit.code == Dossier.handling_unit_code)
        .where(open_at_end, Dossier.due_on < end).order_by(Unit.name, Dossier.due_on).limit(100_000)
    ).all()
    report.overdue = [{"unit": r.name, "code": r.code, "service": r.service_id, "received_on": r.received_on,
                       "due_on": r.due_on, "days_late": (end - r.due_on).days} for r in overdue]
    return report


def to_csv(report: MonthlyReport) -> bytes:
    """Return the per-unit table as UTF-8 CSV (with BOM so spreadsheet tools read Vietnamese)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for r in [*report.rows, report.totals]:
        w.writerow(r.values())
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(report: MonthlyReport) -> bytes:
    """Return the report as an XLSX workbook: the per-unit sheet and the overdue list."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Theo đơn vị"
    ws.append([f"Báo cáo tình hình tiếp nhận, giải quyết hồ sơ {report.period.label()}"])
    ws.append(list(HEADERS_VI))
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for r in [*report.rows, report.totals]:
        ws.append(r.values())
    ov = wb.create_sheet("Hồ sơ quá hạn")
    ov.append(["Đơn vị", "Mã hồ sơ", "Thủ tục", "Ngày tiếp nhận", "Hạn giải quyết", "Số ngày quá hạn"])
    for o in report.overdue:
        ov.append([o["unit"], o["code"], o["service"], o["received_on"], o["due_on"], o["days_late"]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


PDF_OVERDUE_PER_UNIT = 10  # the printed report lists the oldest per unit; XLSX and CSV have them all


def to_html(report: MonthlyReport) -> str:
    """Return the printable HTML of the report (Vietnamese)."""
    from chudong.web.templating import environment

    shown: list[dict] = []
    more: dict[str, int] = {}
    per_unit: dict[str, int] = {}
    for o in report.overdue:  # already ordered by unit, then due date
        per_unit[o["unit"]] = per_unit.get(o["unit"], 0) + 1
        if per_unit[o["unit"]] <= PDF_OVERDUE_PER_UNIT:
            shown.append(o)
        else:
            more[o["unit"]] = more.get(o["unit"], 0) + 1
    return environment().get_template("analytics/monthly_report.html").render(
        report=report, headers=HEADERS_VI, totals=report.totals, overdue=shown, more=more)


def to_pdf(report: MonthlyReport) -> bytes:
    """Return the report as PDF (WeasyPrint)."""
    from weasyprint import HTML

    return HTML(string=to_html(report)).write_pdf()
