"""`chudong serve` as production runs it: several worker processes, each with the command's clock."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bench.portal import wait_healthy
from chudong import cli
from chudong.config import get_settings
from chudong.kit import clock


def _children(pid: int) -> list[str]:
    """Return the command lines of a process's children (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            if entry.name.isdigit() and int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                found.append((entry / "cmdline").read_text().replace("\0", " "))
        except (OSError, ValueError):
            continue
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counts worker processes through /proc")
def test_serve_with_two_workers_answers_from_two_processes(tmp_path, sqlite_engine):
    env = {**os.environ, "CHUDONG_DATA_DIR": str(tmp_path),
           "CHUDONG_DATABASE_URL": sqlite_engine.url.render_as_string(hide_password=False)}  # migrated already
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "chudong.cli", "--as-of", "2026-10-01", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "2"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        workers = [c for c in _children(proc.pid) if "multiprocessing" in c and "resource_tracker" not in c]
        assert len(workers) == 2, _children(proc.pid)
        assert httpx.get(f"http://127.0.0.1:{port}/track", timeout=10).status_code == 200
    finally:
        proc.terminate()
        out, errors = proc.communicate(timeout=30)
    assert "2 worker processes" in out and "Traceback" not in errors, (out, errors)


def test_a_worker_process_takes_the_as_of_day_of_the_command(monkeypatch, sqlite_engine):
    monkeypatch.setenv("CHUDONG_DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv(cli._AS_OF_ENV, "2026-10-01")
    get_settings.cache_clear()
    try:
        app = cli.web_app()
        assert clock.today() == dt.date(2026, 10, 1)
        assert app.state.settings.effective_database_url == os.environ["CHUDONG_DATABASE_URL"]
    finally:
        clock.set_process_clock(clock.SystemClock())
        get_settings.cache_clear()


def test_default_workers_is_one_per_usable_core():
    assert cli.default_workers() == len(os.sched_getaffinity(0)) >= 1


def test_a_web_process_compiles_every_page_and_reads_the_catalogue_before_serving():
    from chudong.rules.catalogue import _cached
    from chudong.web.templating import environment

    _cached.cache_clear()
    app = object()
    assert cli.warm(app) is app
    env = environment()
    pages = env.list_templates(extensions=["html"])
    assert "portal/queue.html" in pages and "portal/dossier.html" in pages
    assert all(env.get_template(name) is env.get_template(name) for name in pages)  # compiled once, cached
    assert len(env.cache) >= len(pages) and _cached.cache_info().currsize == 1
