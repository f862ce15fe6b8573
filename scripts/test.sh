#!/bin/sh
# Builds imgaudit and runs the whole test suite (unit + integration).
# Usage: scripts/test.sh [BUILDDIR] [extra meson setup options...]
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build}
[ $# -gt 0 ] && shift
if [ -d "$dir" ]; then
  meson setup --reconfigure "$dir" "$@" >/dev/null
else
  meson setup "$dir" "$@" >/dev/null
fi
meson compile -C "$dir"
meson test -C "$dir" --print-errorlogs
