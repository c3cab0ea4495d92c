# Shared helpers for the install steps. Each step records a stamp only after it succeeded,
# so a failed install is retried by the next run and a finished one is skipped.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../versions.env
source "$ROOT/scripts/versions.env"
TOOLS_DIR="${CURIO_TOOLS_DIR:-$ROOT/.tools}"
# Downloads and builds that a fresh clone on the same machine may reuse.
CACHE_DIR="${CURIO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/curio}"
STAMP_DIR="$TOOLS_DIR/stamps"
LOG_DIR="$TOOLS_DIR/logs"
mkdir -p "$TOOLS_DIR" "$CACHE_DIR" "$STAMP_DIR" "$LOG_DIR"

say() { printf '\033[1m[install:%s]\033[0m %s\n' "${STEP:-curio}" "$*"; }
die() { printf '\033[31m[install:%s] FAILED:\033[0m %s\n' "${STEP:-curio}" "$*" >&2; exit 1; }

# stamp_ok NAME KEY: true when step NAME already succeeded with the same KEY (inputs fingerprint).
stamp_ok() { [ -f "$STAMP_DIR/$1" ] && [ "$(cat "$STAMP_DIR/$1")" = "$2" ]; }
stamp_write() { printf '%s' "$2" > "$STAMP_DIR/$1.tmp" && mv "$STAMP_DIR/$1.tmp" "$STAMP_DIR/$1"; }
stamp_clear() { rm -f "$STAMP_DIR/$1"; }

# run_logged LOGNAME CMD...: runs CMD with output in a log file; on failure shows its tail and names it.
run_logged() {
  local log="$LOG_DIR/$1.log"; shift
  if ! "$@" >"$log" 2>&1; then
    tail -n 30 "$log" >&2 || true
    die "'$*' failed; full log: $log"
  fi
}

hash_files() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }
