#!/bin/sh
# Winnow's compiled core (src/winnow/_native.c) is built at install time: it needs a C compiler
# and the headers of the Python that builds it. Installs them with apt-get on Debian/Ubuntu when
# they are missing; elsewhere, says what to install.
set -eu
PYTHON="${1:-python3}"
missing=""
command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || missing="$missing gcc"
include="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
[ -f "$include/Python.h" ] || missing="$missing python3-dev"
[ -z "$missing" ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing build dependencies:$missing" >&2
    apt-get install -y --no-install-recommends $missing
    exit 0
fi
echo "Winnow needs a C compiler and Python's headers to build; missing:$missing" >&2
echo "On Debian/Ubuntu: sudo apt-get install$missing   (macOS: xcode-select --install)" >&2
exit 1
