#!/usr/bin/env bash
# The OpenID provider of the national sign-in tests: node (Debian's package when missing) and the locked npm
# packages of tests/support/oidc-provider (`npm ci`). Nothing is started here — the test fixture starts it.
set -uo pipefail
project="$(cd "$(dirname "$0")/../.." && pwd)/tests/support/oidc-provider"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "ensure-services: installing nodejs and npm with apt-get" >&2
  apt-get update -qq >/dev/null 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null || echo "ensure-services: could not install node" >&2
fi
if [ ! -d "$project/node_modules/oidc-provider" ] || [ "$project/package-lock.json" -nt "$project/node_modules/.package-lock.json" ]; then
  echo "ensure-services: installing the OpenID provider's npm packages (npm ci in $project)" >&2
  (cd "$project" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || echo "ensure-services: npm ci failed in $project" >&2
fi
exit 0
