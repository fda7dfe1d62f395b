"""The CLI's bad-input contract: one clear line, exit code 2, no traceback."""

import os
import subprocess
import sys

import pytest


def run(*args: str, env: dict[str, str] | None = None, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "chudong.cli", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--as-of", "2026-02-30", "db", "status"], {}, "is not a date; use YYYY-MM-DD"),
        (["db", "status"], {"CHUDONG_DATABASE_URL": "not a url"}, "is not a database URL"),
        (["db", "status"], {"CHUDONG_DATABASE_URL": "postgresql+psycopg://x@127.0.0.1:1/db"}, "cannot connect to the database"),
        (["db", "status"], {"CHUDONG_DATABASE_URL": "mysql://x@localhost/db"}, "not supported"),
        (["serve"], {"CHUDONG_DATABASE_URL": "sqlite:///{tmp}/empty.db"}, "run `chudong db upgrade`"),
        (["db", "status"], {"CHUDONG_ENV": "production"}, "CHUDONG_SECRET_KEY is the development default"),
    ],
)
def test_bad_input_one_line_exit_2(tmp_path, args, env, message):
    env = {k: v.format(tmp=tmp_path) for k, v in env.items()}
    env.setdefault("CHUDONG_DATA_DIR", str(tmp_path))
    r = run(*args, env=env)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_help_lists_commands():
    r = run("--help")
    assert r.returncode == 0
    for cmd in ("serve", "worker", "demo", "db"):
        assert cmd in r.stdout


def test_demo_no_serve_runs_the_cycle(tmp_path):
    env = {"CHUDONG_DATA_DIR": str(tmp_path)}
    r = run("demo", "--no-serve", "--people", "400", "--days", "6", env=env, timeout=900)
    assert r.returncode == 0, r.stderr
    assert "3321 wards" in r.stdout and "Ingestion" in r.stdout and "Proactive cycle" in r.stdout
    assert "lanhdao / demo-leader-2026" in r.stdout
    assert (tmp_path / "chudong.db").exists()
    status = run("db", "status", env={"CHUDONG_DATA_DIR": str(tmp_path)})
    assert status.returncode == 0 and "current" in status.stdout
