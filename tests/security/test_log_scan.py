"""Logs never contain personal data: a whole demo run and a browsing session, scanned for every identifier.

- ``test_demo_run_logs_no_personal_data`` runs ``chudong -vv demo --no-serve`` (400 people, 6 days)
  with **every** logger at DEBUG (SQLAlchemy and uvicorn included) and scans three outputs for
  the ID number, phone (``+84…``, ``84…``, ``0…``) and e-mail of every person the demo
  generated: the console (stdout), the production log (stderr, through ``RedactingFilter``)
  and a raw log written by a handler *without* the filter — so a leak at the source fails
  even though the filter would hide it. The one exception is the demo citizen's ID number
  on the "Demo accounts" line: it is how the tester signs in (synthetic data), and exactly
  that one occurrence is allowed.
- ``test_access_log_of_a_browsing_session`` serves the app with uvicorn's access log at DEBUG
  while a citizen signs in and browses, the public looks a dossier up and an officer works
  on it: no URL carries an identifier.
- The filter itself is tested on messages, arguments, tracebacks and uvicorn's access record.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from chudong.kit.logs import RedactingFilter, configure_logging
from chudong.kit.redact import redact

PEOPLE, DAYS = 400, 6
# the subprocess: the CLI's real logging set-up at its most verbose (-vv), every library logger
# forced to DEBUG on top of it, and one extra handler without the filter (what the code itself logs)
WRAPPER = '''
import logging, sys

RAW = sys.argv[1]


def configure(level):
    real(logging.DEBUG)
    for name in ("", "chudong", "sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool", "sqlalchemy.orm",
                 "uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpcore", "alembic", "splink", "duckdb"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    raw = logging.FileHandler(RAW, encoding="utf-8")
    raw.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    # SQLAlchemy's DEBUG echo prints result rows by design: only the filter can cover those
    # (checked on stderr); every other record reaches this file unredacted
    raw.addFilter(lambda r: not (r.name.startswith("sqlalchemy.engine") and r.msg == "Row %r"))
    logging.getLogger().addHandler(raw)


if __name__ == "__main__":  # the generator's worker processes re-import this file
    from chudong.kit import logs

    real = logs.configure_logging
    logs.configure_logging = configure
    sys.argv = ["chudong", "-vv", *sys.argv[2:]]
    from chudong.cli import main

    main()
'''


def phone_forms(phone: str) -> set[str]:
    """Return a phone number as E.164 (+84…), with the 84 prefix only and nationally (0…)."""
    digits = re.sub(r"\D", "", phone)
    national = "0" + digits[2:] if digits.startswith("84") and len(digits) in (11, 12) else digits
    return {national, "+84" + national[1:], "84" + national[1:]}


def identifiers(feeds: Path, engine=None) -> dict[str, str]:
    """Return every ID number, phone (all forms) and e-mail of the generated people → its kind."""
    pids, phones, emails = set(), set(), set()
    for path in feeds.glob("*.csv"):
        for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))):
            for column, value in row.items():
                value = (value or "").strip()
                if not value or column is None:
                    continue
                if "pid" in column:
                    pids.add(value)
                elif "phone" in column:
                    phones.add(value)
                elif "email" in column:
                    emails.add(value)
    if engine is not None:  # what the database holds (newborns, people added by the simulation)
        from chudong.db import session_factory
        from chudong.registry.models import Person

        with session_factory(engine)() as s:
            for pid, phone, email in s.execute(select(Person.pid, Person.phone, Person.email)):
                pids.update([pid] if pid else [])
                phones.update([phone] if phone else [])
                emails.update([email] if email else [])
    found = {p: "ID number" for p in pids if re.fullmatch(r"\d{12}", p)}
    found |= {f: "phone" for p in phones for f in phone_forms(p) if len(re.sub(r"\D", "", f)) >= 9}
    found |= {e: "e-mail" for e in emails} | {e.lower(): "e-mail" for e in emails}
    return found


def leaks(text: str, needles: dict[str, str], limit: int = 10) -> list[str]:
    """Return up to ``limit`` lines of ``text`` quoting an identifier (whole tokens only)."""
    pattern = re.compile(r"(?<![\w@.+])(" + "|".join(map(re.escape, sorted(needles, key=len, reverse=True)))
                         + r")(?![\w])")
    out = []
    for line in text.splitlines():
        m = pattern.search(line)
        if m:
            out.append(f"{needles[m.group(1)]} {m.group(1)!r} in: {line.strip()[:220]}")
            if len(out) >= limit:
                break
    return out


def test_demo_run_logs_no_personal_data(tmp_path):
    from chudong.db import make_engine
    from chudong.dossiers.models import Dossier
    from chudong.registry.models import Person

    wrapper, raw_log = tmp_path / "wrapper.py", tmp_path / "raw.log"
    wrapper.write_text(WRAPPER, encoding="utf-8")
    env = {**os.environ, "COLUMNS": "200", "CHUDONG_DATA_DIR": str(tmp_path / "data")}
    env.pop("CHUDONG_DATABASE_URL", None)
    r = subprocess.run([sys.executable, str(wrapper), str(raw_log), "demo", "--no-serve", "--people", str(PEOPLE),
                        "--days", str(DAYS)], capture_output=True, text=True, env=env, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    raw = raw_log.read_text(encoding="utf-8")
    # the scan means something: every SQL statement and every result row was logged
    assert "INSERT INTO person" in raw and "Row (" in r.stderr

    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'chudong.db'}")
    try:
        needles = identifiers(tmp_path / "data" / "demo" / "feeds", engine)
        shown = re.findall(r"dossier ([^\s)]+)\).*?personal ID (\d{12})", r.stdout)
        assert shown, "the demo no longer prints its citizens; update the allowed occurrences below"
        from chudong.db import session_factory

        with session_factory(engine)() as s:  # each printed number is its demo citizen's, nobody else's
            for code, pid in shown:
                person_id = s.scalar(select(Dossier.person_id).where(Dossier.code == code))
                assert s.get(Person, person_id).pid == pid
    finally:
        engine.dispose()
    assert len([n for n in needles.values() if n == "ID number"]) >= PEOPLE
    assert sum(n == "phone" for n in needles.values()) > 100 and "e-mail" in needles.values()
    # one occurrence of each demo citizen's number is allowed: their sign-in line
    stdout = r.stdout
    for _, pid in shown:
        stdout = stdout.replace(f"personal ID {pid}", "personal ID <demo citizen>", 1)
    found = {"console": leaks(stdout, needles), "log (stderr)": leaks(r.stderr, needles),
             "raw log": leaks(raw, needles)}
    assert not any(found.values()), "\n".join(f"{where}: {line}" for where, lines in found.items() for line in lines)
    # ... the parameters were hidden by the engine, and rows full of ID numbers were redacted by the filter
    assert "SQL parameters hidden" in raw and "[pid]" in r.stderr


class _Capture(logging.Handler):
    """Collect the formatted lines of uvicorn's loggers and the app's (no redaction: what the code logs)."""

    def __init__(self, formatter: logging.Formatter | None = None) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(formatter or logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def live(sqlite_engine, settings):
    """The app under a real uvicorn with its access log at DEBUG, every line captured."""
    import uvicorn

    from chudong.app import create_app
    from tests.browser.conftest import _free_port
    from tests.conftest import _empty_tables

    app = create_app(settings, sqlite_engine)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="debug", access_log=True)
    # uvicorn's configure_logging (in Config) replaced its handlers; capture after it
    access_fmt = next(h.formatter for h in logging.getLogger("uvicorn.access").handlers)
    capture, access = _Capture(), _Capture(access_fmt)
    loggers = {name: logging.getLogger(name) for name in ("uvicorn.access", "uvicorn.error", "uvicorn", "chudong")}
    saved = {name: (lg.level, lg.filters[:]) for name, lg in loggers.items()}
    for lg in loggers.values():  # no redaction: the test looks at what the code itself logs
        lg.filters = [f for f in lg.filters if not isinstance(f, RedactingFilter)]
    loggers["uvicorn.access"].addHandler(access)
    loggers["uvicorn.error"].addHandler(capture)
    loggers["chudong"].addHandler(capture)  # every chudong.* logger propagates through it
    loggers["chudong"].setLevel(logging.DEBUG)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", access.lines, capture.lines
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        loggers["uvicorn.access"].removeHandler(access)
        for name in ("uvicorn.error", "chudong"):
            loggers[name].removeHandler(capture)
        for name, (level, filters) in saved.items():
            loggers[name].setLevel(level)
            loggers[name].filters = filters
        _empty_tables(sqlite_engine)


def test_access_log_of_a_browsing_session(live, sqlite_engine, settings, clock):
    from chudong.db import session_factory
    from chudong.dossiers import service as dossiers
    from chudong.identity.principal import issue_citizen_token, issue_officer_token
    from tests.dossiers import builders as b
    from tests.portal import helpers as h

    base, access, app_lines = live
    with session_factory(sqlite_engine)() as s:
        b.units(s)
        mother = b.person(s, full_name="Võ Thị Riêng Tư", pid="048195333444")
        mother.email = "rieng.tu@example.vn"
        ev = b.life_event(s, "birth-registration", person=mother, vital=b.vital_event(s, mother=mother))
        code = dossiers.open_dossiers(s, [ev.id]).codes[0]
        officer = b.officer(s, dossiers.get_by_code(s, code).handling_unit_code, username="cb.access")
        h.staff_account(s, "cb.access", "officer", unit_code=officer.unit_code, agency=officer.agency)
        s.commit()
        pid, phone, person_id, officer_id = mother.pid, mother.phone, mother.id, officer.id
    needles = {pid: "ID number", "rieng.tu@example.vn": "e-mail"} | dict.fromkeys(phone_forms(phone), "phone")

    with httpx.Client(base_url=base) as citizen, session_factory(sqlite_engine)() as s:
        citizen.get("/", params={"lang": "vi"})
        r = h.post(citizen, "/signin", {"pid": pid})
        assert r.status_code == 200, r.text
        r = h.post(citizen, "/signin/code", {"pid": pid, "code": h.last_code(s, person_id)}, form_page="/signin")
        assert r.status_code == 303 and r.headers["location"] == "/me"
        for path in ("/me", f"/me/dossiers/{code}", "/me/inbox", "/me/settings", "/me/access"):
            assert citizen.get(path, headers={"accept": "text/html"}).status_code == 200, path
        token = issue_citizen_token(settings.secret_key, person_id)
        assert citizen.get("/api/v1/dossiers/mine", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with httpx.Client(base_url=base) as public:
        r = h.post(public, "/track", {"code": code, "phone_last4": phone[-4:]})
        assert r.status_code == 200, r.text
        assert public.get(f"/api/v1/dossiers/track/{code}").status_code == 200
    with httpx.Client(base_url=base) as staff:
        h.staff_signin(staff, "cb.access")
        for path in ("/officer/queue", "/officer/queue?status=confirmed", f"/officer/dossiers/{code}"):
            assert staff.get(path, headers={"accept": "text/html"}).status_code == 200, path
        bearer = {"Authorization": f"Bearer {issue_officer_token(settings.secret_key, officer_id)}"}
        assert staff.get(f"/api/v1/dossiers/{code}", params={"purpose": "kiểm tra"}, headers=bearer).status_code == 200
        assert staff.get("/api/v1/dossiers/queue", headers=bearer).status_code == 200
    time.sleep(0.2)  # the access log line is written after the response

    assert any('POST /signin/code' in line for line in access) and any("/officer/queue?status=confirmed" in line
                                                                        for line in access)
    found = leaks("\n".join(access), needles) + leaks("\n".join(app_lines), needles)
    assert not found, "\n".join(found)


def _record(msg, *args, exc_info=None, name="chudong.test") -> logging.LogRecord:
    return logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args or None, exc_info)


def test_redacting_filter_hides_identifiers_in_message_arguments_and_traceback():
    f, fmt = RedactingFilter(), logging.Formatter("%(message)s")
    try:
        raise ValueError("duplicate key (pid)=(048195777001) for +84905123456")
    except ValueError:
        record = _record("person %s phone %r mail %s", "048195777001", "0905 123 456", {"e": "a.b@example.vn"},
                         exc_info=sys.exc_info())
    out = fmt.format(f.filter(record))
    assert "048195777001" not in out and "0905 123 456" not in out and "+84905123456" not in out
    assert "a.b@example.vn" not in out and "person [pid] phone '[phone]'" in out and "[email]" in out
    assert "Traceback" in out and "ValueError" in out  # the traceback is kept, redacted
    assert record.args[0] == "048195777001", "the original record is not changed (other handlers see it)"


def test_redacting_filter_keeps_uvicorn_access_records_usable():
    from uvicorn.logging import AccessFormatter

    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/x?pid=048195777001&phone=84905123456", "1.1", 200), None)
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False).format(
        RedactingFilter().filter(record))
    assert line == '127.0.0.1:5000 - "GET /x?pid=[pid]&phone=[phone] HTTP/1.1" 200 OK'


@pytest.mark.parametrize(("text", "expected"), [
    ("pid 048195777001.", "pid [pid]."),
    ("call 0905.123.456 or +84 905 123 456", "call [phone] or [phone]"),
    ("landline 02363822123", "landline [phone]"),
    ("mail Lan.Nguyen+x@so-tp.danang.gov.vn", "mail [email]"),
    ("code 48-HN-261116-973Q9DK4, 13 digits 0481957770012, hash 0481957770013abc", None),
    ("took 0.0123 s at 2026-11-02 09:00:00, 50000 people, 12 dossiers", None),
])
def test_redact(text, expected):
    assert redact(text) == (expected if expected is not None else text)


def test_cli_logging_redacts_and_keeps_sql_quiet(capsys):
    root = logging.getLogger()
    before = list(root.handlers), root.level, logging.getLogger("sqlalchemy").level
    try:
        configure_logging(logging.DEBUG)
        configure_logging(logging.DEBUG)  # idempotent: one handler
        ours = [h for h in root.handlers if any(isinstance(f, RedactingFilter) for f in h.filters)]
        assert len(ours) == 1
        assert logging.getLogger("sqlalchemy.engine").getEffectiveLevel() == logging.WARNING
        assert any(isinstance(f, RedactingFilter) for f in logging.getLogger("uvicorn.access").filters)
        logging.getLogger("chudong.test").warning("sending to %s", "+84905123456")
        assert "[phone]" in capsys.readouterr().err
    finally:
        for handler in root.handlers[:]:
            if handler not in before[0]:
                root.removeHandler(handler)
        root.setLevel(before[1])
        logging.getLogger("sqlalchemy").setLevel(before[2])


def test_engines_hide_bound_parameters(tmp_path):
    from chudong.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    capture = _Capture()
    logger = logging.getLogger("sqlalchemy.engine.Engine")
    old = logger.level
    logger.addHandler(capture)
    logger.setLevel(logging.INFO)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT ? AS pid", ("048195777001",))
            with pytest.raises(Exception) as failed:
                conn.exec_driver_sql("SELECT * FROM nowhere WHERE pid = ?", ("048195777001",))
    finally:
        logger.removeHandler(capture)
        logger.setLevel(old)
        engine.dispose()
    assert capture.lines and not any("048195777001" in line for line in capture.lines)
    assert "048195777001" not in str(failed.value)  # error messages (and tracebacks in logs) too
