#!/bin/sh
# Installs what imgaudit needs to build and test on Debian 12 or Ubuntu 22.04+.
# The python3-* packages build and test the Python package (python/,
# docs/python.md): headers, meson-python, pytest, pandas, and torchvision
# for the ImageFolder test.
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
  python3 sqlite3 valgrind \
  python3-dev python3-mesonpy python3-pip python3-venv python3-pytest \
  python3-numpy python3-pandas python3-torchvision "$@"
