#!/usr/bin/env bash
# System packages: Faiss and OpenBLAS for faiss-node, python3-faiss for cross-checking index files,
# the toolchain for the native builds.
STEP=apt
source "$(dirname "$0")/lib.sh"

missing=()
for p in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then say "system packages present"; exit 0; fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
  SUDO="sudo"
fi
say "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
run_logged apt-update $SUDO apt-get update
run_logged apt-install $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
