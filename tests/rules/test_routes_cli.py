"""The public catalogue API and the ``chudong detect --json`` contract."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from tests.rules import builders as b


def test_catalogue_api_lists_and_shows_services(client):
    r = client.get("/api/v1/services")
    assert r.status_code == 200
    ids = [s["id"] for s in r.json()]
    assert len(ids) == 13 and "people-id-card-replacement" in ids
    one = client.get("/api/v1/services/birth-registration").json()
    assert one["settlement"]["working_days"] == 3 and "source_file" not in one
    missing = client.get("/api/v1/services/nope")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_detect_json_is_stable_and_idempotent(engine, session):
    holder = b.person(session, full_name="Phạm Minh")
    b.licence(session, "tour_guide_card", holder, dt.date(2021, 12, 2), dt.date(2026, 12, 2), number="HDV-9")
    session.commit()
    env = {**os.environ, "CHUDONG_DATABASE_URL": engine.url.render_as_string(hide_password=False), "COLUMNS": "200"}
    runs = [subprocess.run([sys.executable, "-m", "chudong.cli", "detect", "--as-of", "2026-09-03", "--json"],
                           capture_output=True, text=True, env=env, timeout=120) for _ in range(2)]
    assert runs[0].returncode == 0, runs[0].stderr
    first, second = (json.loads(r.stdout) for r in runs)
    assert first == second
    [item] = first
    assert item["service"] == "tour-guide-card-renewal" and item["subject_kind"] == "person"
    assert item["subject_id"] == holder.id and item["person_id"] == holder.id
    assert item["due_date"] == "2026-12-02" and item["occurrence"].startswith("2026-12-02")
    assert "HDV-9" in item["reason"]["text_en"]
    bad = subprocess.run([sys.executable, "-m", "chudong.cli", "detect", "--from", "2026-09-03"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and "give both --from and --to" in bad.stderr


def test_detect_before_2025_runs_and_json_lists_everyone_due_whatever_the_lead_days(engine, session):
    holder = b.person(session, full_name="Lê Văn Tám", birth_date=dt.date(1975, 1, 1))
    # an old B2 licence due in 40 days (between the 90- and 30-day notice days), issued before 2025
    b.licence(session, "driving_licence", holder, dt.date(2015, 1, 10), dt.date(2025, 1, 10), licence_class="B2",
              number="790000000001")
    session.commit()
    env = {**os.environ, "CHUDONG_DATABASE_URL": engine.url.render_as_string(hide_password=False), "COLUMNS": "200"}

    def run(day: str) -> list[dict]:
        r = subprocess.run([sys.executable, "-m", "chudong.cli", "detect", "--as-of", day, "--json"],
                           capture_output=True, text=True, env=env, timeout=120)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    [item] = run("2024-12-01")
    assert item["service"] == "driving-licence-renewal" and item["due_date"] == "2025-01-10"
    assert item["reason"]["facts"]["renewal_class"]["to"] == "C1"
    [again] = run("2024-12-02")  # already offered: still listed as due, not offered twice
    assert again["key"] == item["key"] and again["detected_on"] == "2024-12-01"
