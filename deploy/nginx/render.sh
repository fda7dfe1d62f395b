#!/usr/bin/env bash
# Fill deploy/nginx/chudong.conf's @NAME@ values from the environment; print the result.
#   CHUDONG_SERVER_NAME   dichvucong.example.gov.vn          (required)
#   CHUDONG_TLS_CERT      /etc/ssl/chudong/fullchain.pem      (required: the province's certificate chain)
#   CHUDONG_TLS_KEY       /etc/ssl/private/chudong.key        (required)
#   CHUDONG_UPSTREAMS     "10.0.0.11:8000 10.0.0.12:8000"     (required: the `chudong serve` processes)
#   CHUDONG_STATIC_ROOT   the installed chudong/web/static    (default: asked of the chudong on PATH's python)
#   CHUDONG_HTTPS_PORT    443    CHUDONG_HTTP_PORT 80    CHUDONG_NGINX_LOG_DIR /var/log/nginx
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
missing=()
for name in CHUDONG_SERVER_NAME CHUDONG_TLS_CERT CHUDONG_TLS_KEY CHUDONG_UPSTREAMS; do
  [ -n "${!name:-}" ] || missing+=("$name")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "render.sh: set ${missing[*]} (see the top of this script and docs/DEPLOY.md)" >&2
  exit 2
fi
static=${CHUDONG_STATIC_ROOT:-$(python3 -c 'import chudong, pathlib; print(pathlib.Path(chudong.__file__).parent / "web" / "static")')}
[ -f "$static/app.css" ] || { echo "render.sh: $static does not hold chudong's static files (app.css)" >&2; exit 2; }
https_port=${CHUDONG_HTTPS_PORT:-443}
suffix=""; [ "$https_port" = 443 ] || suffix=":$https_port"
servers=""
host_port='^[][A-Za-z0-9.:_-]+:[0-9]+$'
for u in $CHUDONG_UPSTREAMS; do
  [[ "$u" =~ $host_port ]] || { echo "render.sh: upstream '$u' is not host:port" >&2; exit 2; }
  servers+="server $u max_fails=3 fail_timeout=10s; "
done
esc() { printf '%s' "$1" | sed -e 's/[\/&|]/\\&/g'; }
sed -e "s|@UPSTREAM_SERVERS@|$(esc "$servers")|" \
    -e "s|@SERVER_NAME@|$(esc "$CHUDONG_SERVER_NAME")|g" \
    -e "s|@TLS_CERT@|$(esc "$CHUDONG_TLS_CERT")|" \
    -e "s|@TLS_KEY@|$(esc "$CHUDONG_TLS_KEY")|" \
    -e "s|@STATIC_ROOT@|$(esc "${static%/}")|" \
    -e "s|@HTTPS_PORT@|$https_port|" \
    -e "s|@HTTPS_PORT_SUFFIX@|$suffix|" \
    -e "s|@HTTP_PORT@|${CHUDONG_HTTP_PORT:-80}|" \
    -e "s|@LOG_DIR@|$(esc "${CHUDONG_NGINX_LOG_DIR:-/var/log/nginx}")|g" \
    "$here/chudong.conf"
