#!/usr/bin/env bash
# install.sh STAGE PREFIX: copies a built stage (make build) to PREFIX: PREFIX/bin/{unimig-cc,
# ld.unimig,unimig} and PREFIX/lib/unimig/sysroots. The tools find their sysroots relative to
# their own path, so the installation works from anywhere without environment variables.
set -euo pipefail
STAGE=${1:?usage: install.sh STAGE PREFIX}
PREFIX=${2:?usage: install.sh STAGE PREFIX}
mkdir -p "$PREFIX/bin" "$PREFIX/lib/unimig"
for tool in unimig-cc ld.unimig unimig; do
  install -m 755 "$STAGE/bin/$tool" "$PREFIX/bin/$tool"
done
rm -rf "$PREFIX/lib/unimig/sysroots.new"
cp -a "$STAGE/lib/unimig/sysroots" "$PREFIX/lib/unimig/sysroots.new"
rm -rf "$PREFIX/lib/unimig/sysroots"
mv "$PREFIX/lib/unimig/sysroots.new" "$PREFIX/lib/unimig/sysroots"
echo "installed unimig in $PREFIX"
