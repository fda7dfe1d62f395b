"""CLI: ``chudong detect``, ``chudong rules list|check``, ``chudong non-take-up``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table


def _day(value: str | None, option: str) -> dt.date | None:
    from chudong.cli import CliError

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise CliError(f"{option} {value!r} is not a date; use YYYY-MM-DD, e.g. 2026-10-01") from None


def register(app: typer.Typer) -> None:
    """Add the detection, catalogue and non-take-up commands."""
    rules = typer.Typer(help="The service catalogue (rules as data).", no_args_is_help=True)
    app.add_typer(rules, name="rules")

    @app.command("detect")
    def detect_cmd(
        as_of: Annotated[Optional[str], typer.Option("--as-of", help="Day to evaluate (YYYY-MM-DD; default: today).")] = None,
        from_: Annotated[Optional[str], typer.Option("--from", help="Catch-up: first day to evaluate.")] = None,
        to: Annotated[Optional[str], typer.Option("--to", help="Catch-up: last day to evaluate (inclusive).")] = None,
        service: Annotated[Optional[str], typer.Option("--service", help="Only this service id.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the events detected as a JSON array.")] = False,
    ) -> None:
        """Detect life events for a day (or a range of missed days) and record them."""
        from chudong.cli import CliError, console, require_migrated
        from chudong.db import unit_of_work
        from chudong.kit import clock
        from chudong.kit.errors import ChudongError
        from chudong.rules.service import detect_range, event_json, events_by_key, events_detected

        day = _day(as_of, "--as-of")
        start, end = _day(from_, "--from"), _day(to, "--to")
        if (start is None) != (end is None):
            raise CliError("give both --from and --to for a catch-up run")
        if start is None:
            start = end = day or clock.today()
        elif day is not None:
            raise CliError("give either --as-of or --from/--to, not both")
        assert start is not None and end is not None
        try:
            with unit_of_work(require_migrated()) as session:
                result = detect_range(session, start, end, service_id=service)
                # everyone due within the horizon (offered now or before), and whatever was detected on the days
                found = {e.key: e for e in events_detected(session, start, end)}
                found.update({e.key: e for e in events_by_key(session, result.keys)})
                events = sorted(found.values(), key=lambda e: (e.detected_on, e.service_id, e.key))
                payload = [event_json(e) for e in events if service is None or e.service_id == service]
        except ChudongError as exc:
            raise CliError(exc.message) from None
        for warning in result.skipped:
            typer.echo(f"warning: {warning}", err=True)
        if as_json:
            typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
            return
        table = Table("service", "subject", "due", "reason")
        for item in payload:
            table.add_row(item["service"], f"{item['subject_kind']} {item['subject_id']}", item["due_date"],
                          item["reason"]["text_en"])
        console.print(table)
        console.print(f"{start}..{end}: {len(result.created)} new life events, {result.existing} already recorded, "
                      f"{result.quality_issues} new data-quality issues")

    @app.command("non-take-up")
    def non_take_up_cmd(
        service: Annotated[Optional[str], typer.Option("--service", help="Only this service id.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """List eligible people and households with no dossier, per service and ward."""
        from dataclasses import asdict

        from chudong.cli import CliError, console, require_migrated
        from chudong.db import unit_of_work
        from chudong.kit import clock
        from chudong.kit.errors import ChudongError
        from chudong.rules.service import non_take_up

        try:
            with unit_of_work(require_migrated()) as session:
                rows = non_take_up(session, as_of=clock.today(), service_id=service)
        except ChudongError as exc:
            raise CliError(exc.message) from None
        if as_json:
            typer.echo(json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=2))
            return
        table = Table("service", "ward", "without dossier", "past due")
        for r in rows:
            table.add_row(r.service_id, f"{r.ward_code or '-'} {r.ward_name or ''}", str(r.count), str(r.overdue))
        console.print(table)

    @rules.command("list")
    def list_cmd() -> None:
        """List the services of the catalogue with their lead agency and legal basis."""
        from chudong.cli import CliError, console
        from chudong.rules.catalogue import CatalogueError, get_catalogue

        try:
            cat = get_catalogue()
        except CatalogueError as exc:
            raise CliError(exc.message) from None
        table = Table("id", "kind", "lead agency", "trigger", "notice days", "legal basis")
        for sid in sorted(cat.services):
            s = cat.services[sid]
            table.add_row(sid, s.kind, s.lead_agency, s.trigger["type"], ", ".join(map(str, s.notice_lead_days)),
                          "; ".join(f"{b.document} art. {b.article}" for b in s.legal_basis))
        console.print(table)

    @rules.command("check")
    def check_cmd(
        folder: Annotated[Optional[Path], typer.Argument(help="Extra catalogue folder to validate with the built-in one.")] = None,
    ) -> None:
        """Validate the catalogue (built-in plus FOLDER or CHUDONG_CATALOGUE_DIR); exit 2 with every problem."""
        from chudong.cli import CliError, console
        from chudong.rules.catalogue import BUILTIN_DIR, CatalogueError, catalogue_folders, load_catalogue

        folders = [BUILTIN_DIR, folder] if folder is not None else catalogue_folders()
        try:
            cat = load_catalogue(*folders)
        except CatalogueError as exc:
            raise CliError(exc.message) from None
        console.print(f"[green]catalogue valid[/green]: {len(cat.services)} services, "
                      f"{len(cat.parameters)} parameters, {len(cat.templates)} templates "
                      f"({', '.join(str(f) for f in folders)})")
