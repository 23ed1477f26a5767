#!/usr/bin/env bash
# The time-sensitive tests again under night-time clocks in India: 23:30 and 03:00 Asia/Kolkata
# (18:00 and 21:30 UTC today). `make test-night` runs this inside `python -m docos.embedded`.
#
# libfaketime fakes the clock of pytest and of every process it starts (the Celery worker of the
# worker tests); PostgreSQL and Redis keep the real clock. The `faketime` wrapper turns the given
# moment into an offset from the real clock, so every process agrees on the time and it ticks. (A
# FAKETIME="@..." start-at moment does not do for this: each child process restarts the clock at
# that moment, and parses it in its own TZ, which Django sets to Asia/Kolkata for the worker.)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v faketime >/dev/null 2>&1; then
  echo "[docos] test-night: faketime is missing. Install it (Debian: apt-get install -y faketime, or run" \
       "scripts/system-deps.sh as root); the night-time run cannot be skipped." >&2
  exit 1
fi
[ $# -gt 0 ] || { echo "usage: scripts/test-night.sh PYTEST_TARGET..." >&2; exit 2; }

PY="${VENV:-.venv}/bin/python"
day=$(date -u +%F)
for pair in "18:00:00 23" "21:30:00 03"; do
  utc=${pair% *}
  india_hour=${pair#* }
  moment="$day $utc UTC"
  # Fail loudly if the fake clock is not in effect, in this process or in a child with Django's TZ.
  seen=$(faketime -m "$moment" "$PY" -c '
import datetime as dt, os, subprocess, sys, zoneinfo
os.environ["TZ"] = "Asia/Kolkata"
print(dt.datetime.now(zoneinfo.ZoneInfo("Asia/Kolkata")).strftime("%H"), end=" ")
child = "import datetime as dt, zoneinfo; print(dt.datetime.now(zoneinfo.ZoneInfo(\"Asia/Kolkata\")).strftime(\"%H\"))"
sys.stdout.flush()
subprocess.run([sys.executable, "-c", child], check=True)
')
  if [ "$seen" != "$india_hour $india_hour" ]; then
    echo "[docos] test-night: the fake clock is not in effect (hours seen in India: '$seen', wanted" \
         "'$india_hour $india_hour')" >&2
    exit 1
  fi
  echo "--- night-time tests at $moment ($india_hour:xx in India): $*"
  faketime -m "$moment" "$PY" -m pytest -q "$@"
done
