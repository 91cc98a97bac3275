#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (ENGINEERING.md: playwright-core with /usr/bin/chromium),
# because Playwright's own browser downloads are not available everywhere we run.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Chromium is missing: installing Debian's chromium package for the browser tests…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y chromium
  [ -x "$CHROMIUM" ] && exit 0
fi

cat >&2 <<MSG
error: the browser tests need Chromium at $CHROMIUM, and it is not installed.
Install Debian's package as root, then run the tests again:
    sudo apt-get update && sudo apt-get install -y chromium
MSG
exit 1
