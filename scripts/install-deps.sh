#!/bin/sh
# Installs what imgaudit needs to build and test on Debian 12 or Ubuntu 22.04+.
# libjpeg-dev pulls libjpeg-turbo's headers on both (libjpeg62-turbo-dev on
# Debian, libjpeg-turbo8-dev on Ubuntu). libnuma-dev: libheif's static
# link line (pkg-config --static, the install test) names x265's -lnuma.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  gcc meson ninja-build pkg-config \
  libjpeg-dev libpng-dev libssl-dev libsqlite3-dev \
  libjansson-dev libcsv-dev libxxhash-dev libexif-dev libcmocka-dev \
  libwebp-dev libgif-dev libtiff-dev libavif-dev libheif-dev libjxl-dev \
  libnuma-dev \
  python3 python3-pil python3-numpy sqlite3 valgrind "$@"
