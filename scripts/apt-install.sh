#!/usr/bin/env bash
# Installs Debian packages with apt (as root, or through sudo), quietly; nothing when none are named.
# Shared by test-deps.sh and bench-deps.sh.
#   scripts/apt-install.sh LABEL [PACKAGE...]
set -euo pipefail

label=$1
shift
if [ $# -eq 0 ]; then
  echo "$label: all present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "$label: installing $*"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
echo "$label: done"
