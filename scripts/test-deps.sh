#!/usr/bin/env bash
# Installs the system tools the test-suite uses, through Debian's apt (the only package source
# besides npm that CI reaches). Idempotent: tools already present are not reinstalled.
#   promtool (package prometheus): lints the /metrics exposition.
set -euo pipefail

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)

if [ ${#need[@]} -eq 0 ]; then
  echo "test-deps: all present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "test-deps: installing ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
command -v promtool >/dev/null
echo "test-deps: done"
