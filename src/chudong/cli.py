"""The ``chudong`` command line (Typer + Rich). Features add commands in ``<feature>/cli.py``."""

from __future__ import annotations

import logging
import sys
from typing import Annotated, Optional

import typer
from rich.console import Console
from sqlalchemy.exc import DBAPIError, OperationalError

from chudong.config import ConfigError, get_settings
from chudong.kit.errors import ChudongError
from chudong.kit import clock

console = Console()
err = Console(stderr=True, soft_wrap=True)

app = typer.Typer(
    help="chudong — proactive public administration: life events → pre-filled dossiers → notices → deadlines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema: migrations and status.", no_args_is_help=True)
app.add_typer(db_app, name="db")


class CliError(Exception):
    """A user-facing failure: printed as one line, exit code 2."""


@app.callback()
def main_options(
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Run as if today were this date (YYYY-MM-DD).")] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True,
                                         help="Log more (-v: INFO, -vv: DEBUG; personal data is redacted).")] = 0,
) -> None:
    """Global options."""
    from chudong.kit.logs import configure_logging

    configure_logging({0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG))
    if as_of:
        try:
            day = clock.parse_as_of(as_of)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        clock.set_process_clock(clock.FixedClock(day))


def engine():
    """Return the configured engine, turning configuration problems into CLI errors."""
    from chudong.db import get_engine

    return get_engine(get_settings().effective_database_url)


def require_migrated():
    """Return the engine, or fail with the command to run if migrations are pending."""
    from chudong.db import pending_migrations

    eng = engine()
    pending = pending_migrations(eng)
    if pending:
        raise CliError(f"the database is not migrated (missing {', '.join(pending)}); run `chudong db upgrade`")
    return eng


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "heads") -> None:
    """Apply database migrations (creates the SQLite file if needed)."""
    from chudong.db import upgrade

    eng = engine()
    upgrade(eng, revision)
    console.print(f"[green]database is at {revision}[/green] ({eng.url.render_as_string(hide_password=True)})")


@db_app.command("status")
def db_status() -> None:
    """Say whether the database schema is current."""
    from chudong.db import pending_migrations

    pending = pending_migrations(engine())
    if pending:
        console.print(f"[yellow]pending migrations: {', '.join(pending)}[/yellow] — run `chudong db upgrade`")
        raise typer.Exit(1)
    console.print("[green]database schema is current[/green]")


_AS_OF_ENV = "CHUDONG_SERVE_AS_OF"  # how `serve` hands --as-of to its worker processes


def default_workers() -> int:
    """Return the default number of web processes: one per CPU core (pages are CPU-bound Python)."""
    import os

    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def web_app():
    """Build the application in a web worker process (``serve --workers N`` imports this factory)."""
    import os

    as_of = os.environ.get(_AS_OF_ENV)
    if as_of:  # a spawned worker does not inherit the parent's --as-of clock
        clock.set_process_clock(clock.FixedClock(clock.parse_as_of(as_of)))
    from chudong.app import create_app

    return warm(create_app(get_settings()))


def warm(web):
    """Do a web process's one-off work before it takes requests (else its first pages pay ~2.8 s): compile the
    templates, read the catalogue and the translations, load the public-holiday calendar."""
    from chudong.kit.workdays import default_calendar
    from chudong.rules.catalogue import get_catalogue
    from chudong.web import i18n
    from chudong.web.templating import compile_all

    compile_all()
    get_catalogue()
    for lang in i18n.LANGUAGES:
        i18n.translations(lang)
    default_calendar().is_working_day(clock.today())
    return web


def parse_trusted_proxies(value: str) -> list[str]:
    """Return the proxy addresses/networks of a comma-separated list, refusing anything that is not one."""
    import ipaddress

    trusted = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        if item == "*":
            raise CliError("--forwarded-allow-ips '*' would let any client choose its own address (and dodge the "
                           "rate limits); list the proxy's addresses instead")
        try:
            trusted.append(str(ipaddress.ip_network(item, strict=False)) if "/" in item else str(ipaddress.ip_address(item)))
        except ValueError:
            raise CliError(f"--forwarded-allow-ips: {item!r} is not an IP address or network (e.g. 10.0.0.5 or "
                           "10.0.0.0/24)") from None
    return trusted


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Address to listen on.")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[Optional[int], typer.Option(
        min=1, help="Web worker processes (default: one per CPU core).")] = None,
    forwarded_allow_ips: Annotated[Optional[str], typer.Option(
        "--forwarded-allow-ips",
        help="Addresses or networks of the reverse proxy, comma-separated (e.g. 127.0.0.1 or 10.0.0.5,10.0.1.0/24): "
             "X-Forwarded-For/-Proto are believed only from them, so rate limits see the citizen's address. "
             "Default: CHUDONG_FORWARDED_ALLOW_IPS; empty trusts no one (the peer's address is used).")] = None,
) -> None:
    """Serve the web application and API (behind nginx in production: docs/DEPLOY.md)."""
    import os

    import uvicorn

    from chudong.app import MigrationsPending, create_app

    settings = get_settings()
    workers = workers or default_workers()
    trusted = parse_trusted_proxies(settings.forwarded_allow_ips if forwarded_allow_ips is None else forwarded_allow_ips)
    try:
        web = create_app(settings, require_migrated())  # fail here, once, if the schema is behind
    except MigrationsPending as exc:
        raise CliError(str(exc)) from None
    console.print(f"chudong listening on http://{host or settings.host}:{port or settings.port} "
                  f"({workers} worker process{'es' if workers > 1 else ''})")
    # uvicorn trusts 127.0.0.1 by default; chudong trusts exactly the proxies it is told of, or no one
    options = {"host": host or settings.host, "port": port or settings.port, "log_level": "warning",
               "proxy_headers": bool(trusted), "forwarded_allow_ips": ",".join(trusted) or None}
    if trusted:
        console.print(f"forwarded headers trusted from: {', '.join(trusted)}")
    if workers == 1:
        uvicorn.run(warm(web), **options)
        return
    fixed = clock.current_clock()
    if isinstance(fixed, clock.FixedClock):
        os.environ[_AS_OF_ENV] = fixed.now().date().isoformat()
    web.state.engine.dispose()  # the workers open their own connections
    uvicorn.run("chudong.cli:web_app", factory=True, workers=workers, **options)


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Run every job once and exit.")] = False,
    job: Annotated[Optional[list[str]], typer.Option("--job", help="Run only this job (repeatable).")] = None,
) -> None:
    """Run background jobs (notification dispatch, detection, deadlines) until stopped."""
    from chudong.worker import Worker

    try:
        w = Worker(require_migrated(), only=job)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if not w.jobs:
        console.print("no jobs are registered")
        return
    if once:
        for name, did in w.run_once().items():
            console.print(f"{name}: {did}")
        return
    console.print(f"worker running jobs: {', '.join(j.name for j in w.jobs)} (Ctrl+C to stop)")
    w.run_forever()


@app.command()
def demo(
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Set up the demo and exit without serving.")] = False,
    port: Annotated[Optional[int], typer.Option(help="Port to serve on.")] = None,
    people: Annotated[int, typer.Option(help="Residents of the synthetic province.")] = 50_000,
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic province.")] = 1,
    days: Annotated[int, typer.Option(help="Days of the proactive cycle to simulate up to today.")] = 45,
) -> None:
    """Run the whole proactive cycle on a synthetic province and serve it at http://127.0.0.1:8000."""
    from chudong.demo import run_demo

    if people < 100:
        raise CliError("--people must be at least 100")
    if not 1 <= days <= 366:
        raise CliError("--days must be between 1 and 366")
    run_demo(console, serve=not no_serve, port=port, people=people, seed=seed, days=days)


def _register_features() -> None:
    from chudong.features import feature_modules

    for module in feature_modules("cli"):
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


def main() -> None:
    """Entry point: run the CLI, printing user errors as one line with exit code 2."""
    try:
        _register_features()
        app()
    except CliError as exc:
        err.print(f"[red]error:[/red] {exc}")
        sys.exit(2)
    except ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        sys.exit(2)
    except ChudongError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        sys.exit(2)
    except DBAPIError as exc:
        from chudong.db import describe_connection_error, unavailable

        fault = unavailable(exc)
        if fault is not None and fault.kind != "unavailable":  # read-only, full, busy: one line, no traceback
            err.print(f"[red]error:[/red] {fault.message} ({fault.reason}); the command's changes were rolled back, "
                      "nothing was stored — run it again once the fault is fixed")
            sys.exit(2)
        if not isinstance(exc, OperationalError) and fault is None:
            raise
        err.print(f"[red]error:[/red] {describe_connection_error(get_settings().effective_database_url, exc)}")
        sys.exit(2)


if __name__ == "__main__":
    # run through the imported module so feature commands and main() share one CliError class
    from chudong.cli import main as _main

    _main()
