"""CLI: ``chudong dossiers ...`` for operators."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.table import Table


def register(app: typer.Typer) -> None:
    """Add the ``dossiers`` commands."""
    cmd = typer.Typer(help="Dossiers: open, list, process, tokens, units.", no_args_is_help=True)
    app.add_typer(cmd, name="dossiers")

    @cmd.command("seed-units")
    def seed(province: Annotated[int, typer.Option(help="Province code (default: configured).")] = 0) -> None:
        """Create the handling units of a province (idempotent)."""
        from chudong.cli import console, require_migrated
        from chudong.config import get_settings
        from chudong.db import unit_of_work
        from chudong.dossiers.units import seed_units

        with unit_of_work(require_migrated()) as session:
            n = seed_units(session, province or get_settings().province_code)
        console.print(f"{n} units added")

    @cmd.command("add-officer")
    def add(username: str, unit: str, full_name: Annotated[str, typer.Option(help="Full name.")] = "",
            role: Annotated[str, typer.Option(help="officer or unit_head.")] = "officer") -> None:
        """Create an officer of a unit."""
        from chudong.cli import console, require_migrated
        from chudong.db import unit_of_work
        from chudong.dossiers.units import add_officer

        with unit_of_work(require_migrated()) as session:
            o = add_officer(session, username=username, full_name=full_name or username, unit_code=unit, role=role)
        console.print(f"officer {o.username} (id {o.id}) of {o.unit_code}")

    @cmd.command("officer-token")
    def officer_token(username: str) -> None:
        """Print a bearer token for an officer (until the portals bring sign-in)."""
        from sqlalchemy import select

        from chudong.cli import CliError, console, require_migrated
        from chudong.config import get_settings
        from chudong.db import unit_of_work
        from chudong.dossiers.models import Officer
        from chudong.identity.principal import issue_officer_token

        with unit_of_work(require_migrated()) as session:
            oid = session.scalar(select(Officer.id).where(Officer.username == username))
        if oid is None:
            raise CliError(f"no officer {username!r}; create one with `chudong dossiers add-officer`")
        console.print(issue_officer_token(get_settings().secret_key, oid), soft_wrap=True)

    @cmd.command("citizen-token")
    def citizen_token(person_id: int) -> None:
        """Print a bearer token for a citizen by person id (until the portals bring sign-in)."""
        from chudong.cli import console
        from chudong.config import get_settings
        from chudong.identity.principal import issue_citizen_token

        console.print(issue_citizen_token(get_settings().secret_key, person_id), soft_wrap=True)

    @cmd.command("open-pending")
    def open_pending(limit: Annotated[int, typer.Option(help="At most this many.")] = 10_000) -> None:
        """Open dossiers for detected life events that have none yet."""
        from chudong.cli import console, require_migrated
        from chudong.db import unit_of_work
        from chudong.dossiers.service import open_pending as run

        with unit_of_work(require_migrated()) as session:
            r = run(session, limit)
        console.print(f"opened {r.opened} dossiers ({r.skipped} already open)")

    @cmd.command("list")
    def list_(status: Annotated[Optional[str], typer.Option(help="Only this status.")] = None,
              unit: Annotated[Optional[str], typer.Option(help="Only this handling unit.")] = None,
              limit: int = 50) -> None:
        """List dossiers, soonest deadline first."""
        from sqlalchemy import select

        from chudong.cli import console, require_migrated
        from chudong.db import unit_of_work
        from chudong.dossiers.models import Dossier
        from chudong.dossiers.service import calendar, deadline_status

        with unit_of_work(require_migrated()) as session:
            stmt = select(Dossier).order_by(Dossier.due_on.is_(None), Dossier.due_on, Dossier.id).limit(limit)
            if status:
                stmt = stmt.where(Dossier.status == status)
            if unit:
                stmt = stmt.where(Dossier.handling_unit_code == unit)
            cal = calendar(session)
            table = Table("code", "service", "status", "unit", "due", "deadline")
            for d in session.scalars(stmt):
                table.add_row(d.code, d.service_id, d.status, d.handling_unit_code or "",
                              str(d.due_on or ""), deadline_status(d, cal) or d.settlement_class or "")
        console.print(table)

    @cmd.command("show")
    def show(code: str) -> None:
        """Show a dossier's fields and timeline."""
        from chudong.cli import console, require_migrated
        from chudong.db import unit_of_work
        from chudong.dossiers import service

        with unit_of_work(require_migrated()) as session:
            d = service.get_by_code(session, code)
            console.print(f"[bold]{d.code}[/bold] {d.title.get('vi')} — {d.status} (v{d.version}), "
                          f"unit {d.handling_unit_code}, due {d.due_on}, pre-filled {d.prefill_share:.0%}")
            fields = Table("field", "value", "source", "verified")
            for k, f in d.fields.items():
                fields.add_row(k, str(f.get("value")), f"{f.get('source')} {f.get('agency') or ''}", str(f.get("verified")))
            console.print(fields)
            events = Table("#", "at", "event", "status", "actor")
            for e in service.timeline(session, d):
                events.add_row(str(e.seq), e.at.isoformat(timespec="seconds"), e.kind,
                               f"{e.from_status or ''}→{e.to_status or ''}", e.actor)
            console.print(events)

    @cmd.command("approve")
    def approve(code: str, officer: Annotated[str, typer.Option(help="Username of the approving officer.")]) -> None:
        """Approve a dossier as an officer of its handling unit."""
        from sqlalchemy import select

        from chudong.cli import CliError, console, require_migrated
        from chudong.db import unit_of_work
        from chudong.dossiers import service
        from chudong.dossiers.models import Officer
        from chudong.identity.principal import Principal
        from chudong.kit.errors import ChudongError

        try:
            with unit_of_work(require_migrated()) as session:
                o = session.scalar(select(Officer).where(Officer.username == officer))
                if o is None:
                    raise CliError(f"no officer {officer!r}")
                who = Principal(kind="officer", id=o.id, label=f"officer:{o.username}", unit_code=o.unit_code,
                                agency=o.agency, role=o.role)
                d = service.for_officer(session, who, code, "processing: approve (CLI)")
                service.approve(session, d, who, version=None)
                status = d.status
        except ChudongError as exc:
            raise CliError(exc.message) from None
        console.print(f"{code}: {status}")

    @cmd.command("deadlines")
    def deadlines() -> None:
        """Run the deadline pass now (expiry, lapsed supplements, escalation)."""
        from chudong.cli import console, require_migrated
        from chudong.db import unit_of_work
        from chudong.dossiers.service import run_deadlines

        with unit_of_work(require_migrated()) as session:
            r = run_deadlines(session)
        console.print(f"expired {r.expired}, lapsed supplements {r.lapsed_supplements}, escalated {r.escalated}")
