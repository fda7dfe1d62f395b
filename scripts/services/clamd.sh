#!/usr/bin/env bash
# Install Debian's ClamAV daemon (clamd) if missing. The tests start their own clamd with a small local
# signature database that knows the EICAR test file (signatures cannot be downloaded here), so this script
# only makes sure the binary is there. With CI=true a missing clamd that cannot be installed is an error.
set -uo pipefail

if command -v clamd >/dev/null 2>&1 || [ -x /usr/sbin/clamd ]; then exit 0; fi
echo "ensure-services: installing clamav-daemon with apt-get (virus scan of uploaded documents)" >&2
if [ -z "${_APT_UPDATED:-}" ]; then apt-get update -qq >/dev/null 2>&1; fi
if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clamav-daemon >/dev/null; then
  # the package's own service would wait for freshclam's download; the tests run their own clamd
  exit 0
fi
echo "ensure-services: could not install clamav-daemon" >&2
if [ "${CI:-}" = "true" ]; then exit 1; fi
exit 0
