#!/bin/sh
# Winnow's compiled core (src/winnow/_native.c, src/winnow/_pdq.c) is built at install time: it
# needs a C compiler and the headers of the Python that builds it. Installs them with apt-get on
# Debian/Ubuntu when they are missing; elsewhere, says what to install.
#
# Also, best effort: the English and Chinese fonts (DejaVu, WenQuanYi Zen Hei) that the OCR tests
# and `winnow eval images` draw their synthetic text images with. Without them those skip.
set -eu
PYTHON="${1:-python3}"
missing=""
command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || missing="$missing gcc"
include="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
[ -f "$include/Python.h" ] || missing="$missing python3-dev"
fonts=""
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || fonts="$fonts fonts-dejavu-core"
[ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || fonts="$fonts fonts-wqy-zenhei"
can_apt=false
command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && can_apt=true
if [ -n "$fonts" ] && $can_apt; then
    echo "installing fonts for the OCR tests:$fonts" >&2
    apt-get install -y -q --no-install-recommends $fonts >/dev/null || echo "fonts not installed; OCR tests on drawn text will skip" >&2
fi
[ -z "$missing" ] && exit 0
if $can_apt; then
    echo "installing build dependencies:$missing" >&2
    apt-get install -y --no-install-recommends $missing
    exit 0
fi
echo "Winnow needs a C compiler and Python's headers to build; missing:$missing" >&2
echo "On Debian/Ubuntu: sudo apt-get install$missing   (macOS: xcode-select --install)" >&2
exit 1
