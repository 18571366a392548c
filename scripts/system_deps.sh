#!/usr/bin/env bash
# Install the Debian packages the project needs, or say in one line which are missing and how to get them.
# Usage: scripts/system_deps.sh PKG...
set -u
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  echo "installing system packages: ${missing[*]}"
  if DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 &&
     DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
    exit 0
  fi
  echo "error: apt-get could not install: ${missing[*]} (try: apt-get update && apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "error: missing system packages: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
exit 1
