#!/usr/bin/env bash
# Prints the bin folder of a supported Node.js (the 22 and 24 LTS lines), installing one when the
# machine's own node is older. berth needs Node.js 22 or later; Node 20 reached its end of life on
# 2026-04-30.
#
#   export PATH="$(bash scripts/node.sh)":$PATH     # the machine's node if supported, else Node 24
#   export PATH="$(bash scripts/node.sh 22)":$PATH  # exactly the 22 line (installed if not there)
#
# Installs come from the npm registry (the only package source besides Debian's that CI reaches):
# the package node-linux-<arch>@<line> holds the official binary and has no install script. It goes
# to $BERTH_NODE_DIR (default ~/.cache/berth/node) and is reused. Progress goes to standard error.
set -euo pipefail

want=${1:-}
dir=${BERTH_NODE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/berth/node}

major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ -z "$want" ] && command -v node >/dev/null 2>&1; then
  have=$(major node)
  if [ "$have" -ge 22 ]; then
    dirname "$(command -v node)"
    exit 0
  fi
  echo "node.sh: the machine's node is $(node --version), which is end-of-life; using Node 24" >&2
fi
line=${want:-24}
case "$line" in
  22 | 24) ;;
  *)
    echo "node.sh: expected 22 or 24, got \"$line\"" >&2
    exit 2
    ;;
esac
if command -v node >/dev/null 2>&1 && [ "$(major node)" = "$line" ]; then
  dirname "$(command -v node)"
  exit 0
fi

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *)
    echo "node.sh: no Node.js package for $(uname -m)" >&2
    exit 1
    ;;
esac
prefix="$dir/$line"
bin="$prefix/node_modules/node-linux-$arch/bin"
if [ ! -x "$bin/node" ] || [ "$(major "$bin/node")" != "$line" ]; then
  echo "node.sh: installing node-linux-$arch@$line from the npm registry into $prefix" >&2
  mkdir -p "$prefix"
  # Its own folder, so no project's .npmrc or package.json is involved.
  (cd "$prefix" && npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    --prefix "$prefix" "node-linux-$arch@$line" >&2)
  # The package's binary carries debug information (about 25 MB) that nothing here uses.
  if command -v strip >/dev/null 2>&1; then strip --strip-debug "$bin/node" 2>/dev/null || true; fi
fi
echo "node.sh: using node $("$bin/node" --version) from $bin" >&2
echo "$bin"
