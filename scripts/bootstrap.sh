#!/usr/bin/env bash
# Create .venv with Python 3.12 and install the locked dependencies (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  for cand in python3.12 /usr/bin/python3.12 /usr/local/bin/python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python3.12; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
      command -v "$cand"; return 0
    fi
  done
  return 1
}

TOOLS=.cache/tools
if [ ! -x "$TOOLS/bin/uv" ]; then
  PY=$(find_python) || {
    echo "bootstrap: Python 3.12 not found; installing it with apt-get (python3.12, python3.12-venv)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.12 python3.12-venv >/dev/null
    PY=$(find_python)
  }
  echo "bootstrap: creating tool environment with $PY"
  "$PY" -m venv "$TOOLS"
  "$TOOLS/bin/pip" install -q --disable-pip-version-check uv==0.13.8
fi
PY=${PY:-$(find_python || true)}
export UV_PROJECT_ENVIRONMENT=.venv
"$TOOLS/bin/uv" sync --frozen --quiet ${PY:+--python "$PY"}
