#!/usr/bin/env bash
# faiss-node built with cmake-js against Debian's libfaiss-dev (see patches/faiss-node+*.patch).
STEP=faiss-node
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

PKG="$ROOT/node_modules/faiss-node"
KEY="$(cat "$STAMP_DIR/npm" 2>/dev/null)-$(dpkg-query -W -f='${Version}' libfaiss-dev 2>/dev/null)"
if stamp_ok faiss-node "$KEY" && [ -f "$PKG/build/Release/faiss-node.node" ]; then say "faiss-node built"; exit 0; fi

[ -f /usr/include/faiss/Index.h ] || die "libfaiss-dev is not installed (run scripts/install/apt.sh)"
stamp_clear faiss-node
say "building faiss-node against system Faiss"
rm -rf "$PKG/build"
(cd "$PKG" && run_logged build-faiss-node "$ROOT/node_modules/.bin/cmake-js" compile --log-level warn)
node -e "const f=require('faiss-node');const i=new f.IndexFlatIP(2);i.add([1,0,0,1]);
  const r=i.search([0.9,0.1],1);if(r.labels[0]!==0)throw new Error('faiss-node search is wrong')" \
  || die "faiss-node was built but does not load or search correctly"
stamp_write faiss-node "$KEY"
