#!/usr/bin/env bash
# The real Temporal CLI (dev server + Web UI), built through the Go module proxy.
STEP=temporal
source "$(dirname "$0")/lib.sh"

BIN="$TOOLS_DIR/bin/temporal"
KEY="$TEMPORAL_CLI_MODULE@$TEMPORAL_CLI_VERSION"
if stamp_ok temporal "$KEY" && [ -x "$BIN" ]; then say "temporal $TEMPORAL_CLI_VERSION present"; exit 0; fi

command -v go >/dev/null || die "Go is required to build the Temporal CLI (go install $KEY); install Go >= 1.23"
stamp_clear temporal
mkdir -p "$TOOLS_DIR/bin"
say "go install $KEY (first build takes several minutes; the Go build cache makes later ones fast)"
GOBIN="$TOOLS_DIR/bin" GOFLAGS=-mod=mod run_logged go-install-temporal go install "$KEY"
"$BIN" --version >/dev/null || die "built $BIN does not run"
stamp_write temporal "$KEY"
say "temporal built: $("$BIN" --version)"
