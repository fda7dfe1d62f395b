#!/usr/bin/env bash
# Copy the browser assets chudong serves itself (Swagger UI for /docs) from the npm registry, pinned by
# scripts/vendor/package-lock.json, into src/chudong/web/static/. The copies are committed, so neither the
# app nor its tests need npm or the network; run this only to change the pinned version.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/../src/chudong/web/static/swagger-ui"
cd "$here/vendor"
npm ci --ignore-scripts --no-audit --no-fund   # install scripts off: swagger-ui-dist's dependency only reports usage
mkdir -p "$dest"
for f in swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE; do
  cp "node_modules/swagger-ui-dist/$f" "$dest/$f"
done
version="$(node -p "require('./node_modules/swagger-ui-dist/package.json').version")"
echo "swagger-ui-dist $version (npm), copied by scripts/vendor-assets.sh" > "$dest/VERSION"
rm -rf node_modules
echo "vendored swagger-ui-dist $version into $dest"
