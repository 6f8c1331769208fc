#!/usr/bin/env bash
# fetch-debsrc.sh NAME CACHE_DIR: downloads Debian source package NAME into CACHE_DIR (once) and
# prints the path of its pristine upstream tarball (NAME_VERSION.orig.tar.*).
set -euo pipefail
name=${1:?usage: fetch-debsrc.sh NAME CACHE_DIR}
cache=${2:?usage: fetch-debsrc.sh NAME CACHE_DIR}
mkdir -p "$cache"
find_orig() { ls "$cache"/"${name}"_*.orig.tar.* 2>/dev/null | grep -v '\.asc$' | head -n1; }
if [ -z "$(find_orig)" ]; then
  (cd "$cache" && flock "$cache/.lock" apt-get source --download-only -q "$name" >"$cache/$name.fetch.log" 2>&1) || {
    echo "fetch-debsrc.sh: error: apt-get source $name failed (deb-src enabled? run \`make setup\`)" >&2
    exit 1
  }
fi
orig=$(find_orig)
[ -n "$orig" ] || { echo "fetch-debsrc.sh: error: no orig tarball for $name in $cache" >&2; exit 1; }
echo "$orig"
