#!/usr/bin/env bash
# Smoke test of `make run` from this clone: wait for the login page, log in as
# the printed demo user and fetch the catalog; then kill -9 the runner (as a
# crash would) and check that none of its children survived and that `make run`
# starts again; finally Ctrl-C it and check that it stopped everything.
# SMOKE_PORT, KINESIS_ENDPOINT_URL and VAR_DIR move it off the default ports/folder.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${SMOKE_PORT:-8000}
var_dir=${VAR_DIR:-var}
pid_file="$var_dir/run_local.pid"
log=$(mktemp)
runner=

start() {
  : >"$log"
  env -u DATABASE_URL -u CELERY_BROKER_URL PORT="$port" setsid make run >"$log" 2>&1 &
  runner=$!
  for _ in $(seq 1 180); do
    grep -q "Log in as" "$log" && break
    kill -0 "$runner" 2>/dev/null || { cat "$log"; echo "make run exited early"; exit 1; }
    sleep 1
  done
  grep -q "Log in as" "$log" || { cat "$log"; echo "make run did not come up"; exit 1; }
}
login() {
  credentials=$(grep -o "Log in as [^ ]* / [^ ]*" "$log" | head -1)
  username=$(echo "$credentials" | awk '{print $4}')
  password=$(echo "$credentials" | awk '{print $6}')
  .venv/bin/python .ci/smoke_login.py "http://127.0.0.1:$port" "$username" "$password"
}
recorded() {  # "runner" or "children": pids from run_local's pid file
  .venv/bin/python -c "import json, sys; r = json.load(open(sys.argv[1]))
print(' '.join(str(p['pid']) for p in ([r['runner']] if sys.argv[2] == 'runner' else r['children'])))" \
    "$pid_file" "$1"
}
living() {  # the given pids that still run (zombies count as gone)
  for pid in "$@"; do
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
    [ -n "$state" ] && [ "$state" != Z ] && echo "$pid"
  done
  return 0
}
cleanup() {
  [ -n "$runner" ] || return 0
  kill -INT -- "-$runner" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$runner" 2>/dev/null || break; sleep 1; done
  kill -KILL -- "-$runner" 2>/dev/null || true
}
trap cleanup EXIT

start
login
children=$(recorded children)
kill -KILL "$(recorded runner)"
for _ in $(seq 1 60); do [ -z "$(living $children)" ] && break; sleep 1; done
[ -z "$(living $children)" ] || { echo "smoke: children outlived a kill -9 of the runner: $(living $children)"; exit 1; }
kill -KILL -- "-$runner" 2>/dev/null || true  # make itself
wait "$runner" 2>/dev/null || true
echo "smoke: no child outlived kill -9 of the runner"

start
login
children=$(recorded children)
cleanup
trap - EXIT
sleep 1
[ -z "$(living $children)" ] || { echo "smoke: processes were left running after Ctrl-C: $(living $children)"; exit 1; }
echo "smoke: make run served the catalog, restarted after kill -9 and stopped cleanly"
