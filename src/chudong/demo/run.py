"""``chudong demo``: generate a province, ingest it, link it, run the proactive cycle, serve it.

Everything runs on the embedded SQLite database by default. Re-running keeps what is
already there (generation, ingestion and detection are idempotent) and only moves the
simulation forward to today.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select

from chudong.config import get_settings
from chudong.db import get_engine, unit_of_work, upgrade
from chudong.kit import clock

DEMO_AGENCIES = (  # code, name, kind, feeds it sends
    ("dancu-48", "Cơ sở dữ liệu quốc gia về dân cư (Đà Nẵng)", "population", ("persons", "households")),
    ("congan-48", "Công an thành phố Đà Nẵng", "police", ("licences",)),
    ("giaoduc-48", "Sở Giáo dục và Đào tạo", "education", ("schools",)),
    ("dienluc-48", "Công ty Điện lực Đà Nẵng", "electricity", ("utilities",)),
    ("xaydung-48", "Sở Xây dựng", "construction", ("building_plans",)),
    ("bvpsn-48", "Bệnh viện Phụ sản – Nhi Đà Nẵng", "hospital", ("births", "deaths")),
)
FEED_FILES = (("persons", "persons.csv"), ("households", "households.csv"), ("licences", "licences.csv"),
              ("schools", "schools.csv"), ("utilities", "utilities.csv"), ("building_plans", "building_plans.csv"),
              ("births", "births.ndjson"), ("deaths", "deaths.ndjson"))
# records that are themselves events arrive day by day during the simulated period
DAILY_FEEDS = ("building_plans", "births", "deaths")
DEMO_PASSWORDS = {"officer": "demo-officer-2026", "leader": "demo-leader-2026", "steward": "demo-steward-2026"}
SIMULATED_DAYS = 45


def _generate(console: Console, people: int, seed: int, out: Path) -> dict:
    from chudong.synth.generator import GeneratorConfig, generate

    manifest_path = out / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("seed") == seed and manifest.get("people") == people:
            console.print(f"[green]✓[/green] synthetic province already generated in {out}")
            return manifest
    cfg = GeneratorConfig(people=people, seed=seed, as_of=clock.today(), province_code=get_settings().province_code)
    with Progress(TextColumn("generating province"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("people", total=people)
        m = generate(cfg, out, workers=2, on_chunk=lambda n: bar.advance(task, n))
    console.print(f"[green]✓[/green] generated {people:,} people of {m.province_name} (seed {seed}) in {out}")
    return json.loads(manifest_path.read_text(encoding="utf-8"))


def _agencies(session) -> dict[str, object]:
    from chudong.registry.models import Agency
    from chudong.registry.service import add_agency

    by_feed = {}
    for code, name, kind, feeds in DEMO_AGENCIES:
        agency = session.get(Agency, code) or add_agency(session, code, name, kind)[0]
        for f in feeds:
            by_feed[f] = agency
    return by_feed


def _event_day(feed: str, line: bytes) -> dt.date | None:
    """Return the date of the event a feed line reports (birth, death, declared plan)."""
    if feed == "building_plans":
        import csv

        row = next(csv.reader([line.decode("utf-8")]))
        return dt.date.fromisoformat(row[7]) if len(row) > 7 and row[7][:4].isdigit() else None
    bundle = json.loads(line)
    dates = []
    for entry in bundle.get("entry", []):
        res = entry.get("resource", {})
        if res.get("resourceType") != "Patient":
            continue
        if feed == "births" and res.get("birthDate") and not res.get("link"):
            dates.append(res["birthDate"][:10])
        if feed == "deaths" and res.get("deceasedDateTime"):
            dates.append(res["deceasedDateTime"][:10])
    return dt.date.fromisoformat(max(dates)) if dates else None


def split_daily(folder: Path, start: dt.date) -> tuple[dict[str, list[bytes]], dict[dt.date, dict[str, list[bytes]]]]:
    """Split the event feeds into what had arrived by ``start`` and what arrives on each later day."""
    initial: dict[str, list[bytes]] = {}
    daily: dict[dt.date, dict[str, list[bytes]]] = {}
    for feed, name in FEED_FILES:
        if feed not in DAILY_FEEDS or not (folder / name).exists():
            continue
        lines = (folder / name).read_bytes().splitlines(keepends=True)
        header = [lines.pop(0)] if name.endswith(".csv") and lines else []
        initial[feed] = list(header)
        for line in lines:
            if not line.strip():
                continue
            day = _event_day(feed, line)
            if day is None or day <= start:
                initial[feed].append(line)
            else:
                daily.setdefault(day, {}).setdefault(feed, list(header)).append(line)
    return initial, daily


def ingest_lines(engine, feed: str, lines: list[bytes], name: str):
    """Ingest some lines of a feed (the day's births, deaths or plans) and detect their life events."""
    import io

    from chudong.ingest.pipeline import ingest_csv
    from chudong.ingest.vital import ingest_fhir
    from chudong.rules.streaming import on_run

    with unit_of_work(engine) as s:
        agency = s.merge(_agencies(s)[feed])
        if name.endswith(".csv"):
            r = ingest_csv(s, feed, agency, io.BytesIO(b"".join(lines)), file_name=name)
        else:
            r = ingest_fhir(s, feed, agency, lines=iter(lines), file_name=name)
        events = on_run(s, r.run_id, feed) if r.status != "rejected" else {}
    return r, events


def _ingest(console: Console, engine, folder: Path, initial: dict[str, list[bytes]]) -> Table:
    from chudong.ingest.pipeline import ingest_csv
    from chudong.ingest.vital import ingest_fhir
    from chudong.rules.streaming import on_run

    table = Table("feed", "accepted", "updated", "unchanged", "rejected", "life events", title="Ingestion")
    with unit_of_work(engine) as s:
        agencies = _agencies(s)
    for feed, name in FEED_FILES:
        path = folder / name
        if not path.exists():
            continue
        if feed in DAILY_FEEDS:
            r, events = ingest_lines(engine, feed, initial.get(feed, []), name)
            table.add_row(feed + " (until the period)", f"{r.accepted:,}", f"{r.updated:,}", f"{r.unchanged:,}",
                          f"{r.rejected:,}", f"{sum(events.values()):,}" if events else "")
            continue
        with unit_of_work(engine) as s, Progress(TextColumn(f"ingesting {feed:<15}"), BarColumn(),
                                                MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                                                transient=True) as bar:
            agency = s.merge(agencies[feed])
            if name.endswith(".csv"):
                task = bar.add_task(feed, total=path.stat().st_size)
                with path.open("rb") as fh:
                    r = ingest_csv(s, feed, agency, fh, file_name=name, progress=lambda n: bar.advance(task, n))
            else:
                task = bar.add_task(feed, total=None)
                with path.open("rb") as fh:
                    r = ingest_fhir(s, feed, agency, lines=fh, file_name=name)
            events = on_run(s, r.run_id, feed) if r.status != "rejected" else {}
        table.add_row(feed, f"{r.accepted:,}", f"{r.updated:,}", f"{r.unchanged:,}", f"{r.rejected:,}",
                      f"{sum(events.values()):,}" if events else "")
    return table


def _staff(engine) -> None:
    """Seed units, officers for every unit with dossiers, and the demo staff accounts."""
    from chudong.auth.models import StaffAccount
    from chudong.auth.service import create_staff
    from chudong.dossiers.models import Officer, Unit
    from chudong.dossiers.units import add_officer, seed_units

    province = get_settings().province_code
    with unit_of_work(engine) as s:
        seed_units(s, province)
        have = set(s.scalars(select(Officer.unit_code)))
        for unit in (s.scalars(select(Unit).where(Unit.province_code == province).order_by(Unit.code))):
            if unit.code not in have:
                add_officer(s, username=f"cb.{unit.code.lower()}", full_name=f"Cán bộ {unit.name}"[:120],
                            unit_code=unit.code)
                add_officer(s, username=f"tp.{unit.code.lower()}", full_name=f"Trưởng {unit.name}"[:120],
                            unit_code=unit.code, role="unit_head")
        if s.scalar(select(StaffAccount.id).where(StaffAccount.username == "lanhdao")) is None:
            create_staff(s, username="lanhdao", full_name="Lãnh đạo UBND thành phố", role="leader",
                         password=DEMO_PASSWORDS["leader"])
            create_staff(s, username="dulieu", full_name="Cán bộ quản lý dữ liệu dân cư", role="data_steward",
                         password=DEMO_PASSWORDS["steward"], agency="dancu-48")


def _officer_account(s, unit_code: str | None) -> str | None:
    """Give the first officer of a unit a demo sign-in (once) and return the username."""
    from chudong.auth.models import StaffAccount
    from chudong.auth.service import create_staff
    from chudong.dossiers.models import Officer

    officer = s.scalar(select(Officer).where(Officer.unit_code == unit_code, Officer.role == "officer")
                       .order_by(Officer.id).limit(1))
    if officer is None:
        return None
    if s.scalar(select(StaffAccount.id).where(StaffAccount.username == officer.username)) is None:
        create_staff(s, username=officer.username, full_name=officer.full_name, role="officer",
                     password=DEMO_PASSWORDS["officer"], unit_code=officer.unit_code, agency=officer.agency)
    return officer.username


def demo_citizens(engine) -> dict[str, dict]:
    """Pick a citizen with an offer waiting and one with a supplement to answer, with their officers' sign-ins.

    Returns ``{"offer": {...}, "supplement": {...}}`` (a key is missing when the province has no such dossier).
    """
    from chudong.dossiers.models import Dossier
    from chudong.registry.models import Person

    found: dict[str, dict] = {}
    with unit_of_work(engine) as s:
        for key, status in (("offer", "offered"), ("supplement", "supplement_requested")):
            q = select(Dossier).where(Dossier.status == status, Dossier.kind == "dossier",
                                      Dossier.parent_id.is_(None), Dossier.person_id.is_not(None))
            d = (s.scalar(q.where(Dossier.service_id == "birth-registration").order_by(Dossier.id.desc()).limit(1))
                 or s.scalar(q.order_by(Dossier.id.desc()).limit(1)))
            if d is None:
                continue
            person = s.get(Person, d.person_id)
            found[key] = {"pid": person.pid, "name": person.full_name, "code": d.code,
                          "officer": _officer_account(s, d.handling_unit_code)}
    return found


def account_lines(url: str, citizens: dict[str, dict]) -> list[str]:
    """Return the demo's sign-ins, one a line, with full addresses (never cut to the terminal's width)."""
    lines = []
    what = {"offer": "an offer waiting", "supplement": "a supplement to answer"}
    for key, c in citizens.items():
        lines.append(f"citizen {c['name']} ({what[key]}: dossier {c['code']}): sign in at {url}/signin with "
                     f"personal ID {c['pid']}, the one-time code arrives at {url}/notifications/viewer; "
                     f"then {url}/me/dossiers/{c['code']}")
    for username in dict.fromkeys(c["officer"] for c in citizens.values() if c["officer"]):
        codes = ", ".join(c["code"] for c in citizens.values() if c["officer"] == username)
        lines.append(f"officer {username} / {DEMO_PASSWORDS['officer']} (handles {codes}): sign in at "
                     f"{url}/staff/signin, then {url}/officer/queue")
    lines.append(f"leader lanhdao / {DEMO_PASSWORDS['leader']}: sign in at {url}/staff/signin, then {url}/leader")
    lines.append(f"data steward dulieu / {DEMO_PASSWORDS['steward']}: sign in at {url}/staff/signin, "
                 f"then {url}/steward/quality")
    lines.append(f"open data: {url}/open-data — API reference: {url}/docs")
    return lines


def _counts(engine) -> Table:
    from chudong.dossiers.models import Dossier
    from chudong.rules.models import LifeEvent

    table = Table("service", "life events", "dossiers", "settled", "in progress", "overdue", title="Proactive cycle")
    today = clock.today()
    with unit_of_work(engine) as s:
        events = dict(s.execute(select(LifeEvent.service_id, func.count()).group_by(LifeEvent.service_id)).all())
        for sid in sorted(events):
            q = select(func.count()).select_from(Dossier).where(Dossier.service_id == sid, Dossier.parent_id.is_(None))
            total = s.scalar(q)
            settled = s.scalar(q.where(Dossier.settled_on.is_not(None)))
            open_ = s.scalar(q.where(Dossier.status.in_(("confirmed", "in_processing", "supplement_requested"))))
            late = s.scalar(q.where(Dossier.status.in_(("confirmed", "in_processing", "supplement_requested")),
                                    Dossier.due_on < today))
            table.add_row(sid, f"{events[sid]:,}", f"{total:,}", f"{settled:,}", f"{open_:,}", f"{late:,}")
    return table


def run_demo(console: Console, serve: bool = True, port: int | None = None, people: int = 50_000,
             seed: int = 1, days: int = SIMULATED_DAYS) -> None:
    """Run the whole proactive cycle on a synthetic province and serve the portals."""
    settings = get_settings()
    engine = get_engine(settings.effective_database_url)
    with console.status("applying database migrations…"):
        upgrade(engine)
    console.print(f"[green]✓[/green] database ready: {engine.url.render_as_string(hide_password=True)}")

    from chudong.geo.service import load_units

    with console.status("loading administrative units…"), unit_of_work(engine) as s:
        r = load_units(s, settings.ward_classes_file)
    if not r.skipped:
        console.print(f"[green]✓[/green] loaded {r.provinces} provinces, {r.wards} wards, "
                      f"{r.legacy_wards} pre-2025 wards, {r.mappings} old→new mappings")

    folder = settings.data_dir / "demo" / "feeds"
    today = clock.today()
    start = today - dt.timedelta(days=days)
    # the province is generated and ingested as it stood when the simulated period starts
    _generate(console, people, seed, folder)
    initial, daily = split_daily(folder, start)
    with clock.use_clock(clock.FixedClock(start)):
        console.print(_ingest(console, engine, folder, initial))
    _staff(engine)

    def morning(day: dt.date) -> None:  # the hospitals' and the one-stop desk's records of the day
        for feed, lines in sorted(daily.get(day, {}).items()):
            suffix = ".csv" if feed == "building_plans" else ".ndjson"
            ingest_lines(engine, feed, lines, f"{feed}-{day.isoformat()}{suffix}")

    from chudong.demo.simulate import simulate

    with unit_of_work(engine) as s:
        from chudong.dossiers.models import Dossier

        last = s.scalar(select(func.max(Dossier.opened_at)))
    first_day = start if last is None else max(start, last.astimezone(clock.VN_TZ).date() + dt.timedelta(days=1))
    if first_day <= today:
        with Progress(TextColumn("simulating days"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task("days", total=(today - first_day).days + 1)
            res = simulate(engine, first_day, today, seed=seed, on_day=lambda _d: bar.advance(task),
                           on_morning=morning)
        console.print(f"[green]✓[/green] simulated {res.days} days: {sum(res.events.values()):,} life events, "
                      f"{res.opened:,} dossiers opened, {res.confirmed:,} confirmed by citizens, "
                      f"{res.settled:,} settled, {res.supplements} supplements requested, {res.rejected} rejected")
    console.print(_counts(engine))
    from chudong.analytics.tasks import forecast_snapshot

    with console.status("computing the demand forecast (the worker's job; pages never compute it)…"):
        forecast_snapshot(engine)

    from chudong.notifications.demo import deliver_and_show

    deliver_and_show(console, engine, limit=8)
    url = f"http://{settings.host}:{port or settings.port}"
    console.print("[bold]Demo accounts[/bold]")
    for line in account_lines(url, demo_citizens(engine)):
        console.print(line, soft_wrap=True, highlight=False, markup=False)
    if not serve:
        console.print("demo is set up; run `chudong demo` again to serve it (what is there is kept) — "
                      "`chudong serve` serves it without the message viewer")
        return
    import uvicorn

    from chudong.app import create_app

    web = create_app(settings, engine)
    web.state.demo_mode = True  # the message viewer shows the synthetic citizens' sign-in codes
    console.print(f"[bold]chudong demo running at {url}[/bold]  (Ctrl+C to stop)")
    uvicorn.run(web, host=settings.host, port=port or settings.port, log_level="warning")
