#!/usr/bin/env bash
# Make sure the services the test suite needs are running; start or install them if not.
# PostgreSQL (127.0.0.1:5432), NATS with JetStream (127.0.0.1:4222), Debian's chromium.
set -uo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
apt_install() {
  echo "ensure-services: installing $* with apt-get" >&2
  if [ -z "${_APT_UPDATED:-}" ]; then apt-get update -qq >/dev/null 2>&1; _APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# PostgreSQL
if [ -z "${CHUDONG_TEST_POSTGRES_URL:-}" ] && ! port_open 5432; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then apt_install postgresql; fi
  echo "ensure-services: starting PostgreSQL" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start 2>/dev/null \
    || pg_ctlcluster "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  for _ in $(seq 1 30); do port_open 5432 && break; sleep 1; done
  # trust auth for local TCP test connections
  if ! psql -h 127.0.0.1 -U postgres -c 'select 1' >/dev/null 2>&1; then
    hba=$(ls /etc/postgresql/*/main/pg_hba.conf | tail -1)
    sed -i 's/^\(host\s\+all\s\+all\s\+127.0.0.1\/32\s\+\).*/\1trust/' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main reload 2>/dev/null || true
  fi
fi

# NATS with JetStream
if ! port_open 4222; then
  command -v nats-server >/dev/null 2>&1 || apt_install nats-server
  echo "ensure-services: starting nats-server with JetStream" >&2
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec "$(command -v nats-server)" -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  for _ in $(seq 1 20); do port_open 4222 && break; sleep 0.5; done
fi

# Chromium for the browser tests (Playwright drives it with executable_path)
if [ ! -x /usr/bin/chromium ]; then apt_install chromium fonts-dejavu-core; fi

# ClamAV's daemon for the virus scan of uploaded documents (the tests start their own with a local signature)
_APT_UPDATED="${_APT_UPDATED:-}" bash "$(dirname "$0")/services/clamd.sh" || exit 1
bash "$(dirname "$0")/services/nginx.sh"  # nginx for tests/deploy (issue #20)
bash "$(dirname "$0")/services/oidc.sh"  # OpenID provider for tests/auth/test_oidc* (issue #20)
bash "$(dirname "$0")/services/kannel.sh"  # Kannel (bearerbox + smsbox) + fake SMSC for tests/adapters/test_kannel.py (issue #20)
bash "$(dirname "$0")/services/pg-standby.sh"  # PostgreSQL hot standby on 127.0.0.1:5433 for tests/replica (issue #20)
exit 0
