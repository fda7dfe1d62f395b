"""CLI: ``chudong report monthly``, ``chudong index`` and ``chudong forecast``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table


def register(app: typer.Typer) -> None:
    """Add the analytics commands."""
    report = typer.Typer(help="Reports for departments (PDF, XLSX, CSV).", no_args_is_help=True)
    app.add_typer(report, name="report")

    @report.command("monthly")
    def monthly(
        period: Annotated[str, typer.Option(help="Month (YYYY-MM), quarter (YYYY-Qn), year or DATE..DATE.")],
        out: Annotated[Path, typer.Option(help="Folder to write the files to.")] = Path("reports"),
        fmt: Annotated[str, typer.Option("--format", help="Comma-separated: pdf,xlsx,csv (csv: the table per unit "
                                                           "and the overdue list).")] = "pdf,xlsx,csv",
    ) -> None:
        """Write the monthly report on receiving and settling dossiers, per unit."""
        from chudong.analytics import reports
        from chudong.analytics.service import Period
        from chudong.cli import CliError, console, require_migrated
        from chudong.db import unit_of_work
        from chudong.kit import clock
        from chudong.kit.errors import ChudongError

        formats = [f.strip().lower() for f in fmt.split(",") if f.strip()]
        bad = sorted(set(formats) - {"pdf", "xlsx", "csv"})
        if bad:
            raise CliError(f"--format {bad[0]!r} is not pdf, xlsx or csv")
        try:
            p = Period.parse(period)
        except ChudongError as exc:
            raise CliError(exc.message) from None
        print_only = set(formats) <= {"pdf"}  # the spreadsheets need every overdue dossier, print only the oldest
        with unit_of_work(require_migrated()) as session:
            rep = reports.monthly_report(session, p, clock.today(),
                                         overdue_per_unit=reports.PDF_OVERDUE_PER_UNIT if print_only else None)
        out.mkdir(parents=True, exist_ok=True)
        stem = f"bao-cao-{p.start.isoformat()}_{p.end.isoformat()}"
        files = {"pdf": [(".pdf", reports.to_pdf)], "xlsx": [(".xlsx", reports.to_xlsx)],
                 "csv": [(".csv", reports.to_csv), ("-qua-han.csv", reports.to_overdue_csv)]}
        for f in formats:
            for suffix, writer in files[f]:
                path = out / f"{stem}{suffix}"
                path.write_bytes(writer(rep))
                console.print(f"wrote {path}")
        t = rep.totals
        console.print(f"{len(rep.rows)} units · received {t.received} · settled early {t.settled_early} / on time "
                      f"{t.settled_on_time} / late {t.settled_late} · in progress {t.in_progress} · overdue {t.overdue}"
                      + ("" if rep.rows else " — no data for this period"))

    @app.command("index")
    def index_cmd(
        period: Annotated[str, typer.Option(help="Month, quarter, year or DATE..DATE.")],
        unit: Annotated[Optional[str], typer.Option(help="Only this unit.")] = None,
        service: Annotated[Optional[str], typer.Option(help="Only this service.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Compute the Decision 766 service-quality index for a period."""
        from chudong.analytics.service import Period, Scope, compute_index
        from chudong.cli import CliError, console, require_migrated
        from chudong.db import unit_of_work
        from chudong.kit.errors import ChudongError

        try:
            p = Period.parse(period)
        except ChudongError as exc:
            raise CliError(exc.message) from None
        with unit_of_work(require_migrated()) as session:
            r = compute_index(session, p, Scope(unit_code=unit, service_id=service))
        if as_json:
            from chudong.analytics.opendata import index_json

            typer.echo(json.dumps(index_json(r, p, unit, service), ensure_ascii=False, indent=2))
            return
        table = Table("indicator", "group", "weight", "ratio", "points")
        for i in r.indicators:
            ratio = f"{i.ratio.numerator}/{i.ratio.denominator}" if i.ratio.denominator else "n/a"
            table.add_row(i.key, i.group, f"{i.weight:g}", ratio, "n/a" if i.points is None else f"{i.points:.2f}")
        console.print(table)
        if r.total is None:
            console.print("no data for this period and scope: no score")
        else:
            console.print(f"[bold]total {r.total}/100 ({r.band})[/bold]"
                          + (f"; not applicable: {', '.join(r.not_applicable)}" if r.not_applicable else ""))

    @app.command("kpis")
    def kpis_cmd(
        period: Annotated[str, typer.Option(help="Month, quarter, year or DATE..DATE.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Measure the pilot's targets (digitisation, officer time, productivity, satisfaction, ...)."""
        from dataclasses import asdict

        from chudong.analytics.kpi import non_take_up_by_service, pilot_kpis
        from chudong.analytics.service import Period
        from chudong.cli import CliError, console, require_migrated
        from chudong.db import unit_of_work
        from chudong.kit.errors import ChudongError

        try:
            p = Period.parse(period)
        except ChudongError as exc:
            raise CliError(exc.message) from None
        with unit_of_work(require_migrated()) as session:
            kpis = pilot_kpis(session, p)
            ntu = non_take_up_by_service(session, p.end)
        if as_json:
            typer.echo(json.dumps({"period": p.label(), "kpis": [asdict(k) | {"met": k.met} for k in kpis],
                                   "non_take_up": ntu}, ensure_ascii=False, indent=2, default=str))
            return
        table = Table("indicator", "value", "target", "counts", "met")
        for k in kpis:
            value = "no data" if k.value is None else f"{k.value:g} {k.unit}"
            counts = f"{k.numerator:g}/{k.denominator:g}" if k.numerator is not None and k.denominator else (k.note or "")
            table.add_row(k.label, value, f"{k.target} {k.unit}", counts, {True: "yes", False: "no", None: "—"}[k.met])
        console.print(table)
        console.print("non-take-up (eligible, no dossier): " + (", ".join(f"{s} {n}" for s, n in ntu.items()) or "none"))

    @app.command("forecast")
    def forecast_cmd(
        months: Annotated[int, typer.Option(help="Months ahead (1–12).")] = 6,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Forecast dossiers per service and ward for the coming months, and the officers needed."""
        from chudong.analytics.forecast import forecast
        from chudong.cli import CliError, console, require_migrated
        from chudong.db import unit_of_work
        from chudong.kit import clock
        from chudong.kit.errors import ChudongError

        with unit_of_work(require_migrated()) as session:
            try:
                with console.status("forecasting…"):
                    f = forecast(session, today=clock.today(), months=months)
            except ChudongError as exc:
                raise CliError(exc.message) from None
        if as_json:
            from chudong.analytics.opendata import forecast_json

            typer.echo(json.dumps(forecast_json(f), ensure_ascii=False, indent=2))
            return
        table = Table("service", "method", *[m.strftime("%m/%Y") for m in f.months], "MAPE %")
        for s in f.services:
            table.add_row(s.service_id, s.method, *[f"{s.by_month.get(m, 0):.0f}" for m in f.months],
                          "" if s.mape is None else f"{s.mape}")
        console.print(table)
        staff = Table("ward", "class", "dossiers/month", "officers needed")
        for row in f.staffing[:20]:
            staff.add_row(row.ward_name, row.area_class, f"{row.monthly_dossiers}", f"{row.officers_needed}")
        console.print(staff)
