#!/usr/bin/env bash
# npm packages (install scripts off: faiss-node's and tfjs-node's would download binaries from hosts
# this project does not use), then the reviewed patches and the two native builds.
STEP=npm
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

command -v node >/dev/null || die "Node.js 20 is required"
node -e 'process.exit(+process.versions.node.split(".")[0] === 20 ? 0 : 1)' \
  || die "Node.js 20 is required (found $(node --version))"

KEY="$(hash_files package-lock.json patches/*)"
if stamp_ok npm "$KEY" && [ -d node_modules ]; then
  say "node_modules up to date"
else
  stamp_clear npm; stamp_clear faiss-node; stamp_clear tfjs-node
  say "npm ci"
  run_logged npm-ci npm ci --ignore-scripts --no-audit --no-fund
  run_logged patch-package npx --no-install patch-package --error-on-fail
  stamp_write npm "$KEY"
fi

"$ROOT/scripts/install/faiss-node.sh"
"$ROOT/scripts/install/tfjs-node.sh"
