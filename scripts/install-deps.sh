#!/bin/sh
# Installs what imgaudit needs to build and run the whole test suite on
# Debian 12 or Ubuntu 22.04+: the libraries, the tools, and what the tests
# drive (Chromium for the browser test of the HTML reports).
# libjpeg-dev pulls libjpeg-turbo's headers on both (libjpeg62-turbo-dev on
# Debian, libjpeg-turbo8-dev on Ubuntu).
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  gcc meson ninja-build pkg-config \
  libjpeg-dev libpng-dev libssl-dev libsqlite3-dev \
  libjansson-dev libcsv-dev libxxhash-dev libexif-dev libcmocka-dev \
  libyaml-dev \
  python3 sqlite3 valgrind \
  chromium fonts-dejavu-core "$@"
