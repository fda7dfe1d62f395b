#!/usr/bin/env bash
# nginx for the deployment tests (tests/deploy): Debian's package, installed when missing. Nothing is started
# here — each test run starts its own nginx on free ports with deploy/nginx/chudong.conf.
set -uo pipefail
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  echo "ensure-services: installing nginx with apt-get" >&2
  apt-get update -qq >/dev/null 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null || echo "ensure-services: could not install nginx" >&2
fi
exit 0
