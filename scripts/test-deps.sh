#!/usr/bin/env bash
# Installs the system tools the test-suite uses, through Debian's apt (the only package source
# besides npm that CI reaches). Idempotent: tools already present are not reinstalled.
#   promtool (package prometheus): lints the /metrics exposition.
set -euo pipefail

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)

bash "$(dirname "$0")/apt-install.sh" test-deps ${need[@]+"${need[@]}"}
command -v promtool >/dev/null
