#!/usr/bin/env bash
# System packages DocOS needs beyond Python: Pango (WeasyPrint PDFs), HarfBuzz subsetting (fast
# font embedding), Noto fonts (Devanagari), gettext (compilemessages for locale/), faketime
# (libfaketime: `make test-night` runs the time-sensitive tests under night-time clocks) and Chromium
# (the Playwright browser tests drive Debian's build; Playwright never downloads one) and Node.js with
# npm (`make frontend` bundles the browser viewer's npm packages with esbuild). Installs them
# when run as root on Debian/Ubuntu, otherwise prints the command to run.
set -euo pipefail
PKGS=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-noto-core fonts-noto-ui-core shared-mime-info
      gettext faketime chromium)
command -v dpkg-query >/dev/null 2>&1 || { echo "[docos] not a Debian-like system: install Pango, Noto fonts and libfaketime yourself"; exit 0; }
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js: any build with npm will do (Debian's nodejs + npm, or one that bundles npm).
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "[docos] installing system packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "[docos] please install: sudo apt-get install -y ${missing[*]}"
fi
