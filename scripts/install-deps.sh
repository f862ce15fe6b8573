#!/bin/sh
# Installs what imgaudit needs to build and test on Debian 12 or Ubuntu 22.04+.
# libjpeg-dev pulls libjpeg-turbo's headers on both (libjpeg62-turbo-dev on
# Debian, libjpeg-turbo8-dev on Ubuntu). python3-pil, -numpy, -torchvision
# and -opencv are the real training loaders the loaders test runs
# (tests/loaders, docs/loaders.md); torchvision pulls torch (about 1 GB).
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  gcc meson ninja-build pkg-config \
  libjpeg-dev libpng-dev libssl-dev libsqlite3-dev \
  libjansson-dev libcsv-dev libxxhash-dev libexif-dev libcmocka-dev \
  python3 sqlite3 valgrind \
  python3-pil python3-numpy python3-torchvision python3-opencv "$@"
