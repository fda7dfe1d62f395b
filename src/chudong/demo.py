"""``chudong demo``: set up a province on the embedded database and serve it."""

from __future__ import annotations

from rich.console import Console

from chudong.config import get_settings
from chudong.db import get_engine, unit_of_work, upgrade


def run_demo(console: Console, serve: bool = True, port: int | None = None) -> None:
    """Migrate, load reference data, and serve the web application."""
    settings = get_settings()
    eng = get_engine(settings.effective_database_url)
    with console.status("applying database migrations…"):
        upgrade(eng)
    console.print(f"[green]✓[/green] database ready: {eng.url.render_as_string(hide_password=True)}")

    from chudong.geo.service import load_units

    with console.status("loading administrative units…"), unit_of_work(eng) as session:
        r = load_units(session, settings.ward_classes_file)
    if r.skipped:
        console.print("[green]✓[/green] administrative units already loaded")
    else:
        console.print(f"[green]✓[/green] loaded {r.provinces} provinces, {r.wards} wards, "
                      f"{r.legacy_wards} pre-2025 wards, {r.mappings} old→new mappings")

    if not serve:
        console.print("demo is set up; run `chudong serve` to open it")
        return
    import uvicorn

    from chudong.app import create_app

    web = create_app(settings, eng)
    p = port or settings.port
    console.print(f"[bold]chudong demo running at http://{settings.host}:{p}[/bold]  (Ctrl+C to stop)")
    uvicorn.run(web, host=settings.host, port=p, log_level="warning")
