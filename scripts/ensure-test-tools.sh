#!/usr/bin/env bash
# Tools the tests drive from Debian's packages:
# - Chromium for the browser tests (ENGINEERING.md: playwright-core with /usr/bin/chromium), because
#   Playwright's own browser downloads are not available everywhere we run;
# - poppler-utils (pdfsig, pdftotext): the portal's signed PDFs are checked with the standard tool.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/pdfsig ] && [ -x /usr/bin/pdftotext ] || missing+=(poppler-utils)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian packages the tests need: ${missing[*]}…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y "${missing[@]}"
  [ -x /usr/bin/chromium ] && [ -x /usr/bin/pdfsig ] && [ -x /usr/bin/pdftotext ] && exit 0
fi

cat >&2 <<MSG
error: the tests need these Debian packages, which are not installed: ${missing[*]}
Install them as root, then run the tests again:
    sudo apt-get update && sudo apt-get install -y ${missing[*]}
MSG
exit 1
