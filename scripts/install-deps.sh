#!/bin/sh
# Installs what imgaudit needs to build and run the whole test suite on
# Debian 12 or Ubuntu 22.04+: the libraries, the tools, and what the tests
# drive (Chromium for the browser test of the HTML reports).
# The python3-* packages build and test the Python package (python/,
# docs/python.md): headers, meson-python, pytest, pandas, and torchvision
# for the ImageFolder test.
# libjpeg-dev pulls libjpeg-turbo's headers on both (libjpeg62-turbo-dev on
# Debian, libjpeg-turbo8-dev on Ubuntu). libarchive reads archives in place
# (docs/archives.md); its pkg-config file names -lacl and -llz4 for a
# static link (tests/install), whose -dev packages it does not pull; zstd
# makes the .tar.zst fixtures of tests/integration/test_archives.py.
# libnuma-dev: libheif's static link line (pkg-config --static, the
# install test) names x265's -lnuma.
# python3-torchvision and -opencv (with -pil, -numpy) are the real training
# loaders the loaders test runs (tests/loaders, docs/loaders.md);
# torchvision pulls torch (about 1 GB).
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
  libnuma-dev libarchive-dev libacl1-dev liblz4-dev zstd libyaml-dev \
  python3 sqlite3 valgrind \
  python3-dev python3-mesonpy python3-pip python3-venv python3-pytest \
  python3-numpy python3-pandas python3-pil python3-torchvision python3-opencv \
  chromium fonts-dejavu-core "$@"
