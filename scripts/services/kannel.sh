#!/usr/bin/env bash
# Kannel for the SMS tests: bearerbox + smsbox (Debian's `kannel`) with a fake SMSC (`kannel-extras`'s
# fakesmsc, which acknowledges every message and reports it delivered). sendsms on 127.0.0.1:13013,
# user chudong / chudong-test. Installs the packages with apt-get if missing; idempotent.
# With CI=true a Kannel that cannot be started is an error (exit 1), never a silent skip.
set -uo pipefail

DIR=${CHUDONG_KANNEL_DIR:-/tmp/chudong-kannel}
SENDSMS_PORT=${CHUDONG_TEST_KANNEL_PORT:-13013}
ADMIN_PORT=$((SENDSMS_PORT - 13)); BOX_PORT=$((SENDSMS_PORT - 12)); SMSC_PORT=$((SENDSMS_PORT - 11))
FAKESMSC=/usr/lib/kannel/test/fakesmsc

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
fail() { echo "kannel.sh: $*" >&2; if [ "${CI:-}" = "true" ]; then exit 1; fi; exit 0; }

if port_open "$SENDSMS_PORT"; then exit 0; fi
if ! command -v bearerbox >/dev/null 2>&1 && [ ! -x /usr/sbin/bearerbox ] || [ ! -x "$FAKESMSC" ]; then
  echo "kannel.sh: installing kannel kannel-extras with apt-get" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kannel kannel-extras; } >/dev/null 2>&1 \
    || fail "could not install kannel / kannel-extras"
fi
mkdir -p "$DIR"
cat > "$DIR/kannel.conf" <<CONF
group = core
admin-port = $ADMIN_PORT
admin-password = chudong-test-admin
admin-allow-ip = "127.0.0.1"
smsbox-port = $BOX_PORT
box-allow-ip = "127.0.0.1"
dlr-storage = internal
log-file = "$DIR/bearerbox.log"
log-level = 1

group = smsc
smsc = fake
smsc-id = fake
port = $SMSC_PORT
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = $BOX_PORT
sendsms-port = $SENDSMS_PORT
sendsms-interface = 127.0.0.1
log-file = "$DIR/smsbox.log"
log-level = 1

group = sendsms-user
username = chudong
password = chudong-test
max-messages = 10
concatenation = true

group = sms-service
keyword = default
catch-all = true
text = "Tin nhan nay khong nhan tra loi."
CONF
start() { start-stop-daemon --start --background --make-pidfile --pidfile "$DIR/$1.pid" --exec "$2" -- "${@:3}"; }
start bearerbox /usr/sbin/bearerbox "$DIR/kannel.conf"
for _ in $(seq 1 20); do port_open "$BOX_PORT" && break; sleep 0.25; done
start smsbox /usr/sbin/smsbox "$DIR/kannel.conf"
# the fake SMSC: connects to bearerbox, sends no messages of its own (-m 0), prints what it receives
start-stop-daemon --start --background --make-pidfile --pidfile "$DIR/fakesmsc.pid" --startas /bin/sh -- \
  -c "exec $FAKESMSC -H 127.0.0.1 -r $SMSC_PORT -m 0 'x y text nop' >$DIR/fakesmsc.log 2>&1"
for _ in $(seq 1 40); do port_open "$SENDSMS_PORT" && break; sleep 0.25; done
port_open "$SENDSMS_PORT" || fail "Kannel did not start (see $DIR/*.log)"
echo "kannel.sh: Kannel sendsms on 127.0.0.1:$SENDSMS_PORT (logs in $DIR)" >&2
exit 0
