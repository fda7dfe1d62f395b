#!/usr/bin/env bash
# A streaming hot standby of the local PostgreSQL (127.0.0.1:5432) for the read-replica tests:
# cluster "<version> standby" on 127.0.0.1:${CHUDONG_TEST_REPLICA_PORT:-5433}, made with pg_basebackup -R,
# trust auth for local TCP (like the test primary). Allows replication from 127.0.0.1 in the primary's
# pg_hba.conf. Idempotent. With CI=true a standby that cannot be started is an error (exit 1).
set -uo pipefail

PORT=${CHUDONG_TEST_REPLICA_PORT:-5433}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
fail() { echo "pg-standby.sh: $*" >&2; if [ "${CI:-}" = "true" ]; then exit 1; fi; exit 0; }

port_open "$PORT" && exit 0
port_open 5432 || fail "the primary PostgreSQL is not running on 127.0.0.1:5432"
VER=$(ls /etc/postgresql | sort -V | tail -1)
[ -n "$VER" ] || fail "no PostgreSQL cluster configured in /etc/postgresql"
PRIMARY_HBA=/etc/postgresql/$VER/main/pg_hba.conf
if ! grep -qE '^host\s+replication\s+all\s+127\.0\.0\.1/32\s+trust' "$PRIMARY_HBA"; then
  echo "host replication all 127.0.0.1/32 trust  # chudong read-replica tests" >> "$PRIMARY_HBA"
  pg_ctlcluster --skip-systemctl-redirect "$VER" main reload 2>/dev/null || pg_ctlcluster "$VER" main reload \
    || fail "could not reload the primary after allowing replication"
fi
DATA=/var/lib/postgresql/$VER/standby
if [ ! -f "$DATA/standby.signal" ]; then
  echo "pg-standby.sh: creating the standby cluster $VER/standby on port $PORT (pg_basebackup -R)" >&2
  pg_lsclusters -h | awk '{print $2}' | grep -qx standby || pg_createcluster "$VER" standby -p "$PORT" >/dev/null \
    || fail "pg_createcluster failed"
  rm -rf "$DATA" && install -d -o postgres -g postgres -m 700 "$DATA"
  su postgres -c "pg_basebackup -h 127.0.0.1 -p 5432 -U postgres -D '$DATA' -R -X stream" \
    || fail "pg_basebackup from 127.0.0.1:5432 failed"
  HBA=/etc/postgresql/$VER/standby/pg_hba.conf
  sed -i 's/^\(host\s\+all\s\+all\s\+127.0.0.1\/32\s\+\).*/\1trust/' "$HBA"
  sed -i "s/^#\?port = .*/port = $PORT/" "/etc/postgresql/$VER/standby/postgresql.conf"
fi
pg_ctlcluster --skip-systemctl-redirect "$VER" standby start 2>/dev/null || pg_ctlcluster "$VER" standby start 2>/dev/null
for _ in $(seq 1 30); do port_open "$PORT" && break; sleep 0.5; done
port_open "$PORT" || fail "the standby did not start (see /var/log/postgresql/postgresql-$VER-standby.log)"
echo "pg-standby.sh: hot standby of 127.0.0.1:5432 on 127.0.0.1:$PORT" >&2
exit 0
