#!/usr/bin/env bash
# Installs the system libraries and tools Tessera builds and tests with (Debian 12). Idempotent:
# does nothing when everything is present. Needs root (or sudo) only when something is missing.
set -euo pipefail
packages=(libzmq3-dev libsqlite3-dev libraw-dev libraw-bin libtiff-dev libturbojpeg0-dev libjpeg62-turbo-dev libpng-dev
          liblcms2-dev libdeflate-dev pkg-config tmux)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v swift >/dev/null 2>&1; then
  echo "error: the Swift toolchain (6.0 or newer) is not on PATH; install it from swift.org" >&2
  exit 1
fi
