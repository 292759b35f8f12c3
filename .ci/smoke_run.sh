#!/usr/bin/env bash
# Smoke test of `make run` from this clone: wait for the login page, log in as
# the printed demo user, fetch the catalog, then stop everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
port=${SMOKE_PORT:-8000}
env -u DATABASE_URL -u CELERY_BROKER_URL PORT="$port" setsid make run >"$log" 2>&1 &
runner=$!
cleanup() {
  kill -INT -- "-$runner" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$runner" 2>/dev/null || break; sleep 1; done
  kill -KILL -- "-$runner" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 180); do
  grep -q "Log in as" "$log" && break
  kill -0 "$runner" 2>/dev/null || { cat "$log"; echo "make run exited early"; exit 1; }
  sleep 1
done
grep -q "Log in as" "$log" || { cat "$log"; echo "make run did not come up"; exit 1; }
credentials=$(grep -o "Log in as [^ ]* / [^ ]*" "$log" | head -1)
username=$(echo "$credentials" | awk '{print $4}')
password=$(echo "$credentials" | awk '{print $6}')
.venv/bin/python .ci/smoke_login.py "http://127.0.0.1:$port" "$username" "$password"
cleanup
trap - EXIT
sleep 1
if pgrep -f "moto.server -H 127.0.0.1" >/dev/null || pgrep -f "celery -A config" >/dev/null; then
  echo "smoke: processes were left running after Ctrl-C"; exit 1
fi
echo "smoke: make run served the catalog and stopped cleanly"
