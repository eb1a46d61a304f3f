#!/bin/sh
# Install Azurite (the local Table Storage emulator the ledger tests start) into node_modules.
#
# Idempotent: does nothing when node_modules/.bin/azurite-table exists and package-lock.json is
# the one it was installed from (a hash is kept in node_modules); otherwise `npm ci`, which
# installs exactly the pinned versions in package-lock.json.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
lock="$root/package-lock.json"
stamp="$root/node_modules/.package-lock.sha256"

command -v npm >/dev/null 2>&1 || { echo "install-azurite: npm is needed (Node.js 20 or later)" >&2; exit 1; }

wanted=$(sha256sum "$lock" | cut -d' ' -f1)
if [ -x "$root/node_modules/.bin/azurite-table" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    touch "$stamp"  # newer than the lock file, so make does not ask again
    echo "install-azurite: node_modules is up to date"
    exit 0
fi

echo "install-azurite: npm ci from package-lock.json"
(cd "$root" && npm ci --no-audit --no-fund)
echo "$wanted" > "$stamp"
echo "install-azurite: done (azurite-table $("$root/node_modules/.bin/azurite-table" --version 2>/dev/null || echo installed))"
