"""CLI: ``chudong ingest``, ``chudong agencies add/list/rotate-key``, ``chudong quality report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table


def register(app: typer.Typer) -> None:
    """Add the ingestion, agency and data-quality commands."""
    agencies = typer.Typer(help="Agencies that send feeds, and their API keys.", no_args_is_help=True)
    quality = typer.Typer(help="Data quality: conflicts between agencies, completeness.", no_args_is_help=True)
    app.add_typer(agencies, name="agencies")
    app.add_typer(quality, name="quality")

    @app.command("ingest")
    def ingest(
        feed: Annotated[str, typer.Argument(help="persons, households, licences, schools, utilities, "
                                                 "building_plans, births, deaths")],
        file: Annotated[Path, typer.Argument(help="CSV file (births/deaths: a Bundle .json or .ndjson).",
                                             exists=True, dir_okay=False, readable=True)],
        agency: Annotated[str, typer.Option("--agency", "-a", help="Code of the sending agency.")],
        rejections: Annotated[Optional[Path], typer.Option(help="Write the rejection report here (.csv or .json).")] = None,
        no_link: Annotated[bool, typer.Option("--no-link", help="Skip probabilistic linkage after the run.")] = False,
    ) -> None:
        """Ingest a feed file: validate every record, store the good ones, report the rejected."""
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

        from chudong.cli import CliError, console, require_migrated
        from chudong.db import unit_of_work
        from chudong.ingest.feeds import CSV_FEEDS
        from chudong.ingest.pipeline import get_agency, ingest_csv
        from chudong.ingest.vital import ingest_fhir
        from chudong.kit.errors import ChudongError

        try:
            with unit_of_work(require_migrated()) as session:
                ag = get_agency(session, agency)
                if feed in CSV_FEEDS:
                    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                                  TransferSpeedColumn(), TimeRemainingColumn(), console=console,
                                  transient=True) as bar:
                        task = bar.add_task(f"{feed} ← {file.name}", total=file.stat().st_size)
                        with file.open("rb") as fh:
                            result = ingest_csv(session, feed, ag, fh, file_name=file.name, link=not no_link,
                                                progress=lambda n: bar.advance(task, n))
                elif file.suffix.lower() == ".ndjson":
                    with file.open("rb") as fh:
                        result = ingest_fhir(session, feed, ag, lines=fh, file_name=file.name, link=not no_link)
                else:
                    result = ingest_fhir(session, feed, ag, body=file.read_bytes(), file_name=file.name,
                                         link=not no_link)
                if result.status != "rejected":
                    from chudong.rules.streaming import on_run

                    events = on_run(session, result.run_id, feed)
                    if events:
                        console.print("life events detected: " + ", ".join(f"{k} {v}" for k, v in sorted(events.items())))
        except ChudongError as exc:
            raise CliError(exc.message) from None
        _print_result(result, rejections)
        if result.status == "rejected":
            raise typer.Exit(1)

    @agencies.command("add")
    def agencies_add(
        code: Annotated[str, typer.Argument(help="Short code, e.g. hospital-dn-c.")],
        name: Annotated[str, typer.Option(help="Full name of the agency.")],
        kind: Annotated[str, typer.Option(help="population, hospital, health, police, education, tourism, "
                                               "agriculture, construction, electricity, water, commune, ...")],
    ) -> None:
        """Register an agency and print its API key (shown once; only a hash is stored)."""
        from chudong.cli import CliError, console, require_migrated
        from chudong.db import unit_of_work
        from chudong.kit.errors import ChudongError
        from chudong.registry.service import add_agency

        try:
            with unit_of_work(require_migrated()) as session:
                agency, key = add_agency(session, code, name, kind)
        except ChudongError as exc:
            raise CliError(exc.message) from None
        console.print(f"agency [bold]{agency.code}[/bold] ({agency.kind}) added. API key (shown once, keep it secret):")
        console.print(key, markup=False, highlight=False)

    @agencies.command("rotate-key")
    def agencies_rotate(code: Annotated[str, typer.Argument(help="Agency code.")]) -> None:
        """Give an agency a new API key; the old key stops working."""
        from chudong.cli import CliError, console, require_migrated
        from chudong.db import unit_of_work
        from chudong.kit.errors import ChudongError
        from chudong.registry.service import rotate_key

        try:
            with unit_of_work(require_migrated()) as session:
                key = rotate_key(session, code)
        except ChudongError as exc:
            raise CliError(exc.message) from None
        console.print(key, markup=False, highlight=False)

    @agencies.command("list")
    def agencies_list() -> None:
        """List the agencies."""
        from chudong.cli import console, require_migrated
        from chudong.db import unit_of_work
        from chudong.registry.service import list_agencies

        with unit_of_work(require_migrated()) as session:
            rows = list_agencies(session)
        table = Table("code", "name", "kind", "API key")
        for a in rows:
            table.add_row(a.code, a.name, a.kind, "set" if a.api_key_hash else "-")
        console.print(table)

    @quality.command("report")
    def quality_report(
        agency: Annotated[Optional[str], typer.Option(help="Only this agency's issues.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Print open conflicts per agency and completeness per feed and field."""
        from chudong.cli import console, require_migrated
        from chudong.db import unit_of_work
        from chudong.registry.service import dumps, quality_report as build

        with unit_of_work(require_migrated()) as session:
            report = build(session, agency)
        if as_json:
            print(dumps(report))
            return
        if not report["issues"]:
            console.print("no open data-quality issues")
        for code, issues in report["issues"].items():
            table = Table("id", "kind", "person", "field", "registry value", "agency value", "agency record",
                          title=f"{code}: {len(issues)} open issue(s)")
            for q in issues:
                table.add_row(str(q["id"]), q["kind"], str(q["person_id"] or ""), q["field"],
                              q["registry_value"] or "", q["agency_value"] or "", q["agency_source"] or "")
            console.print(table)
        table = Table("feed", "field", "filled", "total", "completeness", title="Completeness per feed and field")
        for c in report["completeness"]:
            table.add_row(c["feed"], c["field"], str(c["filled"]), str(c["total"]), f"{c['ratio']:.1%}")
        console.print(table)


def _print_result(result, rejections: Path | None) -> None:
    import csv
    import json

    from chudong.cli import console

    colour = "green" if result.status == "done" and not result.rejected else "yellow"
    if result.status == "rejected":
        console.print(f"[red]file rejected:[/red] {result.file_error} (run {result.run_id}); nothing was stored")
        return
    console.print(f"[{colour}]run {result.run_id}[/{colour}] {result.feed}: accepted {result.accepted}, "
                  f"updated {result.updated}, unchanged {result.unchanged}, rejected {result.rejected}")
    for r in result.rejections[:20]:
        console.print(f"  line {r.line}: {r.source_key or '-'} {r.field}: {r.reason}", markup=False, highlight=False)
    if len(result.rejections) > 20:
        console.print(f"  … {len(result.rejections) - 20} more")
    if rejections is not None:
        rows = [{"line": r.line, "source_key": r.source_key, "field": r.field, "reason": r.reason,
                 "record": r.record} for r in result.rejections]
        if rejections.suffix.lower() == ".json":
            rejections.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
        else:
            with rejections.open("w", encoding="utf-8", newline="") as fh:
                w = csv.DictWriter(fh, ["line", "source_key", "field", "reason", "record"])
                w.writeheader()
                w.writerows(rows)
        console.print(f"rejection report written to {rejections}")
