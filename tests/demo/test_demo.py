"""``chudong demo`` end to end: re-runnable on the same data directory, and it names accounts a visitor can use."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chudong.geo.service import DEFAULT_CLASSES_FILE, units_version

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, **env: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, **env}, cwd=ROOT)
    return out.stdout.strip()


def test_units_version_is_the_same_in_every_process():
    code = "from chudong.geo.service import units_version; print(units_version())"
    seen = {_python(code, PYTHONHASHSEED=str(seed)) for seed in (1, 2)}
    assert seen == {units_version(DEFAULT_CLASSES_FILE)}


def test_units_version_changes_with_the_classes_file(tmp_path):
    f = tmp_path / "ward_classes.yaml"
    f.write_bytes(DEFAULT_CLASSES_FILE.read_bytes())
    before = units_version(f)
    f.write_text(f.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert units_version(f) != before


def _demo(data_dir: Path) -> str:
    env = {**os.environ, "CHUDONG_DATA_DIR": str(data_dir), "COLUMNS": "80", "PYTHONHASHSEED": "random"}
    r = subprocess.run([sys.executable, "-m", "chudong.cli", "demo", "--no-serve", "--people", "2000"],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout


@pytest.mark.slow
def test_demo_runs_twice_and_prints_whole_accounts(tmp_path):
    first = _demo(tmp_path)
    second = _demo(tmp_path)  # same data directory: nothing is reloaded, nothing crashes
    assert "administrative units" not in second and "pre-2025 wards" not in second
    for out in (first, second):
        lines = out.splitlines()
        offer = [x for x in lines if x.startswith("citizen ") and "an offer waiting" in x]
        supplement = [x for x in lines if x.startswith("citizen ") and "a supplement to answer" in x]
        assert offer and supplement, out[-3000:]
        # a whole address on one line although the terminal is 80 columns wide
        assert re.search(r"http://\S+/me/dossiers/48-[A-Z]+-\d{6}-[A-Z0-9]+$", offer[0]), offer[0]
        assert any(x.startswith("officer ") and "/officer/queue" in x for x in lines)
        assert any(x.startswith("leader lanhdao") and x.endswith("/leader") for x in lines)
