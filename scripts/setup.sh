#!/usr/bin/env bash
# Idempotent installer for everything unimig needs on Debian 12.
# Run as root (or via sudo). Safe to run repeatedly: it only installs what is missing.
set -euo pipefail

PKGS=(clang-19 lld-19 llvm-19-dev llvm-19-tools libclang-common-19-dev
      qemu-user musl-dev musl-dev:arm64 musl-tools gcc-aarch64-linux-gnu
      libc6-dev-arm64-cross libgcc-12-dev cmake make autoconf automake libtool pkg-config
      dpkg-dev file zlib1g-dev libzstd-dev libxml2-dev libffi-dev libncurses-dev
      time hyperfine bc python3 ca-certificates)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

need_update=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "unimig setup: adding the arm64 architecture (for musl-dev:arm64)"
  $SUDO dpkg --add-architecture arm64
  need_update=1
fi

# deb-src lets tests fetch real-world C programs with `apt-get source`.
SRC=/etc/apt/sources.list.d/debian.sources
if [ -f "$SRC" ] && ! grep -q "deb-src" "$SRC"; then
  echo "unimig setup: enabling deb-src in $SRC"
  $SUDO sed -i 's/^Types: deb$/Types: deb deb-src/' "$SRC"
  need_update=1
fi

if [ "${#missing[@]}" -eq 0 ] && [ "$need_update" = 0 ]; then
  echo "unimig setup: all packages present"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
if [ "${#missing[@]}" -gt 0 ]; then
  echo "unimig setup: installing ${missing[*]}"
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "unimig setup: done"
