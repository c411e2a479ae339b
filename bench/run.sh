#!/usr/bin/env bash
# Side-by-side benchmark: timesheets (one `timesheets serve` process, the
# embedded issuer + the API on SQLite) against the reference peers of
# ../shared/peers (oauth2-mock-server issuer, express + express-jwt API,
# python cron), on one machine, on 127.0.0.1 only.
#
#   (a) POST /oauth/token req/s, form body and JSON body            wrk
#         ours vs the peer issuer
#   (b) POST /timesheets/upload req/s, one valid token              wrk
#         ours (SQLite, WAL, synchronous=FULL: every 201 is on disk)
#         vs the peer API with --fsync (the fair durable peer)
#         and the in-memory peer API (listed, not durable)
#   (c) import of ENTRIES entries, wall time incl. process start and token:
#         `timesheets import` (default --concurrency 4, and --concurrency 1)
#         vs `python3 cron.py` against the fsync peer API (and the in-memory one)
#   and each server's VmRSS / VmHWM from /proc/PID/status after each stage.
#
# Knobs (environment):
#   DURATION=10s THREADS=2 CONNECTIONS=32 (or CONNS) ENTRIES=2000
#   ROUNDS=1        repeat every measurement; the table shows the median
#                   (rounds alternate which side goes first)
#   SERVER_CPUS / LOAD_CPUS  optional taskset CPU lists (default: no pinning)
#   WORK            folder for logs and results (default: new /tmp/timesheets-bench.*)
#   PEERS_SRC       the peers (default ../shared/peers beside the repository, read-only)
#   PEERS_DIR       writable copy where npm ci runs (default /tmp/timesheets-bench-peers)
#   SKIP_BUILD=1    use target/release/timesheets as it is
#   TIMESHEETS_LOG  passed to our server (its default is info: one line per request)
#
# Every process it starts is stopped on exit, by PID.
set -euo pipefail

BENCH="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$BENCH/.." && pwd)"
BIN="$REPO/target/release/timesheets"
PEERS_SRC="${PEERS_SRC:-$REPO/../shared/peers}"
PEERS="${PEERS_DIR:-/tmp/timesheets-bench-peers}"
DURATION="${DURATION:-10s}"
THREADS="${THREADS:-2}"
CONNS="${CONNECTIONS:-${CONNS:-32}}"
ENTRIES="${ENTRIES:-2000}"
ROUNDS="${ROUNDS:-1}"
SERVER_CPUS="${SERVER_CPUS:-}"
LOAD_CPUS="${LOAD_CPUS:-}"
WORK="${WORK:-$(mktemp -d /tmp/timesheets-bench.XXXXXX)}"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
HOST=127.0.0.1
AUDIENCE="https://api.exampleco.com/timesheets"
PEER_CLIENT_ID="exampleco-timesheets-cron"
PEER_CLIENT_SECRET="cron-secret-change-me"
PEER_RO_ID="exampleco-readonly"
PEER_RO_SECRET="readonly-secret-change-me"
SUMMARY="$WORK/summary.txt"
RESULTS="$WORK/results.tsv"   # measure side round value p50 p99 non2xx sockerr
BODY='{"user_id":"007","date":"2017-05-10T17:40:20.095Z","project":"StoreZero","hours":5}'

case "$ROUNDS" in ''|*[!0-9]*) echo "ROUNDS must be a positive integer" >&2; exit 2;; esac
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 20 ] || { echo "ROUNDS must be 1..20" >&2; exit 2; }
case "$ENTRIES" in ''|*[!0-9]*) echo "ENTRIES must be a positive integer" >&2; exit 2;; esac

# wrk's -d in seconds, for the outer `timeout` (wrk's own -d is the real bound).
duration_secs() {
  local d="$1"
  case "$d" in
    *ms) echo 1 ;;
    *s) echo "${d%s}" ;;
    *m) echo $(( ${d%m} * 60 )) ;;
    *h) echo $(( ${d%h} * 3600 )) ;;
    *) echo "$d" ;;
  esac
}
WRK_SECS="$(duration_secs "$DURATION")"
case "$WRK_SECS" in ''|*[!0-9]*) echo "cannot read DURATION=$DURATION (use e.g. 10s, 1m)" >&2; exit 2;; esac
WRK_TIMEOUT=$(( WRK_SECS + 60 ))

# Our binary reads TIMESHEETS_* and a .env in its working directory: run
# everything from WORK and drop inherited settings, except the log filter.
while IFS= read -r var; do
  [ "$var" = TIMESHEETS_LOG ] || unset "$var"
done < <(compgen -e | grep '^TIMESHEETS_' || true)
cd "$WORK"

log() { printf '%s\n' "$*" | tee -a "$SUMMARY"; }

# --- prerequisites --------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  echo "wrk not found; installing Debian's package" >&2
  apt-get update -qq && apt-get install -y -qq wrk >&2
fi
for tool in curl node npm python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is required" >&2; exit 1; }
done
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "building: cd $REPO && cargo build --release" >&2
  (cd "$REPO" && cargo build --release >&2)
fi
[ -x "$BIN" ] || { echo "no binary at $BIN" >&2; exit 1; }

# The peers are read-only where they live: copy them (without node_modules)
# to a writable folder and install their pinned dependencies there once.
mkdir -p "$PEERS"
(cd "$PEERS_SRC" && tar --exclude=node_modules --exclude=__pycache__ -cf - .) | (cd "$PEERS" && tar -xf -)
chmod -R u+w "$PEERS"
for dir in issuer node-api; do
  if [ ! -d "$PEERS/$dir/node_modules" ] || ! cmp -s "$PEERS/$dir/package-lock.json" "$PEERS/$dir/node_modules/.package-lock.json.bench"; then
    (cd "$PEERS/$dir" && npm ci --no-audit --no-fund >&2 && cp package-lock.json node_modules/.package-lock.json.bench)
  fi
done

# --- process bookkeeping: only what this script started, by PID -----------
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

on_cpus() {  # on_cpus LIST cmd...  run cmd in the foreground, optionally pinned
  local cpus="$1"; shift
  if [ -n "$cpus" ]; then taskset -c "$cpus" "$@"; else "$@"; fi
}

spawn() {  # spawn LOG cmd...  start cmd in the background; SPAWNED = its own PID
  local out="$1"; shift
  # The subshell execs the command (taskset execs too), so $! is the server's PID.
  if [ -n "$SERVER_CPUS" ]; then
    ( exec taskset -c "$SERVER_CPUS" "$@" > "$out" 2>&1 ) &
  else
    ( exec "$@" > "$out" 2>&1 ) &
  fi
  SPAWNED=$!
  PIDS+=("$SPAWNED")
}

# Four free high ports on 127.0.0.1, asked of the kernel all at once.
read -r OURS_PORT ISSUER_PORT API_PORT FSYNC_PORT < <(python3 - <<'EOF'
import socket
socks = []
for _ in range(4):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()
EOF
)
OURS="http://$HOST:$OURS_PORT"
OURS_TOKEN_URL="$OURS/oauth/token"
OURS_UPLOAD="$OURS/timesheets/upload"
ISSUER="http://$HOST:$ISSUER_PORT/"
API_URL="http://$HOST:$API_PORT/timesheets/upload"
FSYNC_URL="http://$HOST:$FSYNC_PORT/timesheets/upload"
JOURNAL="$WORK/peer-journal.jsonl"
DATA="$WORK/timesheets-data"

wait_for() {  # wait_for URL METHOD EXPECTED_CODE  (bounded: 100 tries, 0.1 s apart)
  local i code
  for i in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X "$2" "$1" || true)
    [ "$code" = "$3" ] && return 0
    sleep 0.1
  done
  echo "no $3 from $2 $1" >&2
  return 1
}

rss() {  # rss PID -> "peak X MiB, now Y MiB" (VmHWM, VmRSS)
  awk '/^VmHWM/ {h=$2} /^VmRSS/ {r=$2} END {printf "peak %.1f MiB, now %.1f MiB", h/1024, r/1024}' "/proc/$1/status"
}
rss_line() {  # rss_line LABEL
  log "  RSS $1: ours[$(rss "$OURS_PID")] issuer[$(rss "$ISSUER_PID")] api-mem[$(rss "$API_PID")] api-fsync[$(rss "$FSYNC_PID")]"
}
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# --- start the servers ----------------------------------------------------
: > "$SUMMARY"
: > "$RESULTS"
log "== timesheets vs peers $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, $(uname -r)"
log "   $("$BIN" --version), git $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet 2>/dev/null || echo ' (dirty tree)')"
log "   node $(node --version), python $(python3 -c 'import platform; print(platform.python_version())'), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
log "   wrk: -t$THREADS -c$CONNS -d$DURATION; rounds: $ROUNDS; entries: $ENTRIES; server cpus: ${SERVER_CPUS:-any}; load cpus: ${LOAD_CPUS:-any}"
log "   our server log filter: ${TIMESHEETS_LOG:-default (info)}"
log "   ports: ours $OURS_PORT, issuer $ISSUER_PORT, api-mem $API_PORT, api-fsync $FSYNC_PORT; work dir $WORK"

spawn "$WORK/ours.log" "$BIN" serve --listen "$HOST:$OURS_PORT" --data "$DATA" --audience "$AUDIENCE"
OURS_PID=$SPAWNED
spawn "$WORK/issuer.log" env ISSUER_PORT="$ISSUER_PORT" node "$PEERS/issuer/server.mjs"
ISSUER_PID=$SPAWNED
wait_for "$OURS/.well-known/jwks.json" GET 200
wait_for "${ISSUER}.well-known/jwks.json" GET 200

spawn "$WORK/api-mem.log" env API_PORT="$API_PORT" AUTH_ISSUER="$ISSUER" AUTH_AUDIENCE="$AUDIENCE" \
  node "$PEERS/node-api/server.js"
API_PID=$SPAWNED
spawn "$WORK/api-fsync.log" env API_PORT="$FSYNC_PORT" AUTH_ISSUER="$ISSUER" AUTH_AUDIENCE="$AUDIENCE" \
  node "$PEERS/node-api/server.js" "--fsync=$JOURNAL"
FSYNC_PID=$SPAWNED
wait_for "$OURS_UPLOAD" POST 401
wait_for "$API_URL" POST 401
wait_for "$FSYNC_URL" POST 401
[ "$(cat "/proc/$OURS_PID/comm")" = timesheets ] || { echo "PID $OURS_PID is not timesheets" >&2; exit 1; }
for pid in "$ISSUER_PID" "$API_PID" "$FSYNC_PID"; do
  [ "$(cat "/proc/$pid/comm")" = node ] || { echo "PID $pid is not node" >&2; exit 1; }
done
log "   pids: ours $OURS_PID, issuer $ISSUER_PID, api-mem $API_PID, api-fsync $FSYNC_PID"

# Our clients: one with batch:upload, one with only read:timesheets (for 403).
json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
"$BIN" clients create --data "$DATA" --audience "$AUDIENCE" --name "bench import job" \
  --scope batch:upload --json > "$WORK/client-upload.json"
"$BIN" clients create --data "$DATA" --audience "$AUDIENCE" --name "bench read-only" \
  --scope read:timesheets --json > "$WORK/client-readonly.json"
chmod 600 "$WORK"/client-*.json
OURS_CLIENT_ID=$(json_field client_id < "$WORK/client-upload.json")
OURS_CLIENT_SECRET=$(json_field client_secret < "$WORK/client-upload.json")
OURS_RO_ID=$(json_field client_id < "$WORK/client-readonly.json")
OURS_RO_SECRET=$(json_field client_secret < "$WORK/client-readonly.json")

rss_line "idle"

# --- smoke checks: both sides answer as the scenario says ------------------
token_for() {  # token_for TOKEN_URL CLIENT_ID SECRET
  curl -s -X POST "$1" \
    --data-urlencode "client_id=$2" --data-urlencode "client_secret=$3" \
    --data-urlencode "audience=$AUDIENCE" --data-urlencode grant_type=client_credentials |
    json_field access_token
}
OURS_TOKEN=$(token_for "$OURS_TOKEN_URL" "$OURS_CLIENT_ID" "$OURS_CLIENT_SECRET")
OURS_RO_TOKEN=$(token_for "$OURS_TOKEN_URL" "$OURS_RO_ID" "$OURS_RO_SECRET")
PEER_TOKEN=$(token_for "${ISSUER}oauth/token" "$PEER_CLIENT_ID" "$PEER_CLIENT_SECRET")
PEER_RO_TOKEN=$(token_for "${ISSUER}oauth/token" "$PEER_RO_ID" "$PEER_RO_SECRET")

check() {  # check EXPECTED_CODE BODY_PATTERN URL [curl args...]  (POSTs $BODY as JSON)
  local want="$1" pattern="$2" url="$3"; shift 3
  local got
  got=$(curl -s -o "$WORK/check.body" -w '%{http_code}' -X POST "$url" -H 'Content-Type: application/json' -d "$BODY" "$@")
  if [ "$got" != "$want" ] || ! grep -qE "$pattern" "$WORK/check.body"; then
    echo "smoke check failed: $url wanted $want /$pattern/ got $got: $(cat "$WORK/check.body")" >&2
    exit 1
  fi
}
check_token() {  # check_token EXPECTED_CODE BODY_PATTERN TOKEN_URL ID SECRET
  local got
  got=$(curl -s -o "$WORK/check.body" -w '%{http_code}' -X POST "$3" \
    --data-urlencode "client_id=$4" --data-urlencode "client_secret=$5" \
    --data-urlencode "audience=$AUDIENCE" --data-urlencode grant_type=client_credentials)
  if [ "$got" != "$1" ] || ! grep -qE "$2" "$WORK/check.body"; then
    echo "smoke check failed: token $3 wanted $1 /$2/ got $got: $(cat "$WORK/check.body")" >&2
    exit 1
  fi
}
check_token 200 '"access_token":"[^"]+".*"token_type":"Bearer"' "$OURS_TOKEN_URL" "$OURS_CLIENT_ID" "$OURS_CLIENT_SECRET"
check_token 401 '"error":"invalid_client"' "$OURS_TOKEN_URL" "$OURS_CLIENT_ID" "${OURS_CLIENT_SECRET}x"
check_token 200 '"access_token":"[^"]+"' "${ISSUER}oauth/token" "$PEER_CLIENT_ID" "$PEER_CLIENT_SECRET"
check_token 401 '"error":"access_denied"' "${ISSUER}oauth/token" "$PEER_CLIENT_ID" "${PEER_CLIENT_SECRET}x"
check_upload_api() {  # check_upload_api URL TOKEN READONLY_TOKEN
  check 201 '"id":[0-9]+' "$1" -H "Authorization: Bearer $2"
  grep -qE '"user_id":"007"' "$WORK/check.body" || { echo "smoke check failed: $1 201 body $(cat "$WORK/check.body")" >&2; exit 1; }
  check 401 '^\{"message":"Missing or invalid token"\}$' "$1"
  check 401 '^\{"message":"Missing or invalid token"\}$' "$1" -H "Authorization: Bearer ${2}x"
  check 403 '^\{"message":"Forbidden"\}$' "$1" -H "Authorization: Bearer $3"
}
check_upload_api "$OURS_UPLOAD" "$OURS_TOKEN" "$OURS_RO_TOKEN"
check_upload_api "$API_URL" "$PEER_TOKEN" "$PEER_RO_TOKEN"
check_upload_api "$FSYNC_URL" "$PEER_TOKEN" "$PEER_RO_TOKEN"
log "   smoke checks passed (token 200 / 401 wrong secret; upload 201 with token, 401 without / tampered, 403 without batch:upload)"

# --- measurements -----------------------------------------------------------
slug() { printf '%s' "$1" | tr -cs 'A-Za-z0-9' '-'; }

run_wrk() {  # run_wrk MEASURE SIDE ROUND SCRIPT URL [VAR=value...]  (env for the lua script)
  local measure="$1" side="$2" round="$3" script="$4" url="$5"; shift 5
  local out="$WORK/wrk-$(slug "$measure-$side")-r$round.txt"
  sleep 1
  on_cpus "$LOAD_CPUS" env "$@" timeout "$WRK_TIMEOUT" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency \
    -s "$PEERS/bench/$script" "$url" > "$out" 2>&1 || echo "wrk failed for $measure $side (see $out)" >&2
  local rps p50 p99 non2xx errs
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p50=$(awk '$1=="50%" {print $2}' "$out")
  p99=$(awk '$1=="99%" {print $2}' "$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
  errs=$(grep -m1 'Socket errors' "$out" | sed 's/^ *Socket errors: //; s/, /,/g' || true)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$measure" "$side" "$round" "${rps:-0}" "${p50:--}" "${p99:--}" "${non2xx:-0}" "${errs:--}" >> "$RESULTS"
  log "$(printf '  %-14s %-26s r%s %10s req/s   p50 %8s   p99 %8s   non-2xx %s   socket errors %s' \
    "$measure" "$side" "$round" "${rps:-?}" "${p50:--}" "${p99:--}" "${non2xx:-0}" "${errs:-none}")"
}

# run_job MEASURE SIDE ROUND cmd...  time a whole import process from outside
run_job() {
  local measure="$1" side="$2" round="$3"; shift 3
  local base="$WORK/$(slug "$measure-$side")-r$round"
  sleep 1
  local t0 t1 rc=0 created
  t0=$(date +%s.%N)
  on_cpus "$LOAD_CPUS" timeout 600 "$@" > "$base.out" 2> "$base.err" || rc=$?
  t1=$(date +%s.%N)
  created=$(grep -c '^Created timesheet ' "$base.out" || true)
  local rate secs
  read -r rate secs < <(python3 -c 'import sys; n,a,b=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]); print("%.1f %.2f" % (n/(b-a), b-a))' "$ENTRIES" "$t0" "$t1")
  [ "$created" = "$ENTRIES" ] && [ "$rc" = 0 ] || echo "WARNING: $measure $side round $round: $created/$ENTRIES created, exit $rc (see $base.err)" >&2
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$measure" "$side" "$round" "$rate" "-" "-" "$(( ENTRIES - created ))" "exit=$rc" >> "$RESULTS"
  log "$(printf '  %-14s %-26s r%s %10s entries/s  (%s/%s created, exit %s, %s s wall incl. process start and token)' \
    "$measure" "$side" "$round" "$rate" "$created" "$ENTRIES" "$rc" "$secs")"
  log "      its own summary: $(cat "$base.out" "$base.err" | grep -v '^Created timesheet ' | tail -1)"
}

# pair ROUND cmdA... -- cmdB...: run two measurement commands, order alternating per round
pair() {
  local round="$1"; shift
  local a=() b=()
  while [ "$1" != -- ]; do a+=("$1"); shift; done; shift
  b=("$@")
  if [ $(( round % 2 )) = 1 ]; then "${a[@]}"; "${b[@]}"; else "${b[@]}"; "${a[@]}"; fi
}

log ""
log "(a) token endpoint, POST /oauth/token (client_credentials, secret in the body)"
for r in $(seq 1 "$ROUNDS"); do
  for kind in form json; do
    pair "$r" \
      run_wrk "token-$kind" ours "$r" "token-$kind.lua" "$OURS_TOKEN_URL" \
        CLIENT_ID="$OURS_CLIENT_ID" CLIENT_SECRET="$OURS_CLIENT_SECRET" AUDIENCE="$AUDIENCE" -- \
      run_wrk "token-$kind" peer-issuer "$r" "token-$kind.lua" "${ISSUER}oauth/token" \
        CLIENT_ID="$PEER_CLIENT_ID" CLIENT_SECRET="$PEER_CLIENT_SECRET" AUDIENCE="$AUDIENCE"
  done
done
rss_line "after (a)"

log ""
log "(c) import job, $ENTRIES entries from python-cron/make_entries.py (JSON lines)"
python3 "$PEERS/python-cron/make_entries.py" "$ENTRIES" > "$WORK/entries.jsonl"
# Our NDJSON reader takes the API's fields (user_id, date, project, hours,
# description, task, billable) and refuses unknown ones: check the generated
# lines, and keep only known fields if the generator ever writes others.
python3 - "$WORK/entries.jsonl" "$WORK/entries-ours.ndjson" <<'EOF' | tee -a "$SUMMARY"
import json, sys, datetime
known = {"user_id", "date", "project", "hours", "description", "task", "billable"}
required = {"user_id", "date", "project", "hours"}
src, dst = sys.argv[1], sys.argv[2]
n = dropped = 0
extra = set()
with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
    for line in f:
        if not line.strip():
            continue
        e = json.loads(line)
        assert isinstance(e, dict), "not an object: %r" % line
        missing = required - e.keys()
        assert not missing, "line %d lacks %s" % (n + 1, sorted(missing))
        datetime.datetime.fromisoformat(e["date"].replace("Z", "+00:00"))
        assert isinstance(e["hours"], (int, float)) and 0 < e["hours"] <= 24, e
        if e.keys() - known:
            extra |= e.keys() - known
            dropped += 1
            e = {k: v for k, v in e.items() if k in known}
        out.write(json.dumps(e) + "\n")
        n += 1
if extra:
    print("   entries: %d lines; dropped unknown fields %s from %d lines for our import" % (n, sorted(extra), dropped))
else:
    print("   entries: %d lines, fields %s only: our NDJSON reader takes them as they are (same bytes)" % (n, sorted(required)))
EOF
for r in $(seq 1 "$ROUNDS"); do
  pair "$r" \
    run_job import ours-c4 "$r" env TIMESHEETS_CLIENT_SECRET="$OURS_CLIENT_SECRET" \
      "$BIN" import --api-url "$OURS" --token-url "$OURS_TOKEN_URL" --client-id "$OURS_CLIENT_ID" \
      --audience "$AUDIENCE" --format ndjson --tz UTC "$WORK/entries-ours.ndjson" -- \
    run_job import peer-cron-fsync "$r" python3 "$PEERS/python-cron/cron.py" "$WORK/entries.jsonl" \
      --issuer "$ISSUER" --audience "$AUDIENCE" --client-id "$PEER_CLIENT_ID" \
      --client-secret "$PEER_CLIENT_SECRET" --api-url "$FSYNC_URL"
  pair "$r" \
    run_job import-serial ours-c1 "$r" env TIMESHEETS_CLIENT_SECRET="$OURS_CLIENT_SECRET" \
      "$BIN" import --api-url "$OURS" --token-url "$OURS_TOKEN_URL" --client-id "$OURS_CLIENT_ID" \
      --audience "$AUDIENCE" --format ndjson --tz UTC --concurrency 1 "$WORK/entries-ours.ndjson" -- \
    run_job import-serial peer-cron-fsync "$r" python3 "$PEERS/python-cron/cron.py" "$WORK/entries.jsonl" \
      --issuer "$ISSUER" --audience "$AUDIENCE" --client-id "$PEER_CLIENT_ID" \
      --client-secret "$PEER_CLIENT_SECRET" --api-url "$FSYNC_URL"
  run_job import peer-cron-mem "$r" python3 "$PEERS/python-cron/cron.py" "$WORK/entries.jsonl" \
    --issuer "$ISSUER" --audience "$AUDIENCE" --client-id "$PEER_CLIENT_ID" \
    --client-secret "$PEER_CLIENT_SECRET" --api-url "$API_URL"
done
rss_line "after (c)"

log ""
log "(b) POST /timesheets/upload, one valid token, the seed entry"
for r in $(seq 1 "$ROUNDS"); do
  pair "$r" \
    run_wrk upload ours "$r" upload.lua "$OURS_UPLOAD" ACCESS_TOKEN="$OURS_TOKEN" -- \
    run_wrk upload peer-api-fsync "$r" upload.lua "$FSYNC_URL" ACCESS_TOKEN="$PEER_TOKEN"
  run_wrk upload peer-api-mem "$r" upload.lua "$API_URL" ACCESS_TOKEN="$PEER_TOKEN"
done
rss_line "after (b)"

for pid in "$OURS_PID" "$ISSUER_PID" "$API_PID" "$FSYNC_PID"; do
  kill -0 "$pid" 2>/dev/null || { echo "server $pid died during the run" >&2; exit 1; }
done
ROWS=$(python3 -c 'import sqlite3, sys; c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True); print(c.execute("select count(*) from timesheets").fetchone()[0])' "$DATA/timesheets.sqlite" 2>/dev/null || echo '?')
log "   rows in our timesheets.sqlite: $ROWS; lines in the peer's fsync journal: $(wc -l < "$JOURNAL")"
log "   our server log: $(wc -l < "$WORK/ours.log") lines, $(grep -c ' WARN \| ERROR ' "$WORK/ours.log" || true) WARN/ERROR (slow statements: $(grep -c 'slow statement' "$WORK/ours.log" || true))"

OURS_HWM=$(hwm_kib "$OURS_PID"); ISSUER_HWM=$(hwm_kib "$ISSUER_PID")
API_HWM=$(hwm_kib "$API_PID"); FSYNC_HWM=$(hwm_kib "$FSYNC_PID")

# --- the table ----------------------------------------------------------------
log ""
python3 - "$RESULTS" "$OURS_HWM" "$ISSUER_HWM" "$API_HWM" "$FSYNC_HWM" "$ROUNDS" <<'EOF' | tee -a "$SUMMARY"
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
ours_hwm, issuer_hwm, api_hwm, fsync_hwm = (int(x) / 1024 for x in sys.argv[2:6])
rounds = int(sys.argv[6])

def ms(s):
    if s in ("-", ""):
        return None
    for suf, f in (("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60000.0)):
        if s.endswith(suf):
            return float(s[: -len(suf)]) * f
    return float(s)

def get(measure, side):
    rs = [r for r in rows if r[0] == measure and r[1] == side]
    if not rs:
        return None
    vals = [float(r[3]) for r in rs]
    med = statistics.median(vals)
    p99s = [ms(r[5]) for r in rs if ms(r[5]) is not None]
    bad = sum(int(r[6]) for r in rs if r[6].isdigit())
    errs = [r[7] for r in rs if r[7] not in ("-", "exit=0")]
    return med, (statistics.median(p99s) if p99s else None), vals, bad, errs

lines = [
    ("(a) token, form body", "req/s", "token-form", "ours", "peer-issuer", "issuer"),
    ("(a) token, JSON body", "req/s", "token-json", "ours", "peer-issuer", "issuer"),
    ("(b) upload, durable", "req/s", "upload", "ours", "peer-api-fsync", "api --fsync"),
    ("(b) upload, vs in-memory", "req/s", "upload", "ours", "peer-api-mem", "api in-memory (not durable)"),
    ("(c) import, ours -c4 (default)", "entries/s", "import", "ours-c4", "peer-cron-fsync", "cron -> api --fsync"),
    ("(c) import, ours -c1 (serial)", "entries/s", "import-serial", "ours-c1", "peer-cron-fsync", "cron -> api --fsync"),
    ("(c) import, ours -c4 vs in-mem", "entries/s", "import", "ours-c4", "peer-cron-mem", "cron -> api in-memory (not durable)"),
]
hdr = "%-32s %10s %10s %7s  %-9s %9s %9s  %s" % ("measure", "ours", "peer", "ratio", "unit", "ours p99", "peer p99", "peer")
print("== summary%s (ratio = ours / peer; above 1 means ours is faster)" % (", median of %d rounds" % rounds if rounds > 1 else ""))
print(hdr)
print("-" * len(hdr))
notes = []
for label, unit, measure, ours_side, peer_side, peer_name in lines:
    o, p = get(measure, ours_side), get(measure, peer_side)
    if o is None or p is None:
        continue
    ratio = o[0] / p[0] if p[0] else float("nan")
    f = lambda v: "-" if v is None else ("%.1f ms" % v)
    print("%-32s %10.1f %10.1f %7.2f  %-9s %9s %9s  %s" % (label, o[0], p[0], ratio, unit, f(o[1]), f(p[1]), peer_name))
    for side, res in ((ours_side, o), (peer_side, p)):
        if res[3] or res[4]:
            notes.append("   %s %s: %d non-2xx / failed, %s" % (measure, side, res[3], ", ".join(res[4]) or "no socket errors"))
    if ratio < 1:
        notes.append("   %s: ours is SLOWER than %s (%.2fx)" % (label.strip(), peer_name, ratio))
print("%-32s %10.1f %10.1f %7.2f  %-9s %9s %9s  %s" % ("peak RSS (VmHWM)", ours_hwm, issuer_hwm + fsync_hwm, ours_hwm / (issuer_hwm + fsync_hwm), "MiB", "", "", "issuer + api --fsync (sum of peaks)"))
print("   VmHWM: ours %.1f MiB (issuer and API in one process); issuer %.1f, api --fsync %.1f, api in-memory %.1f MiB" % (ours_hwm, issuer_hwm, fsync_hwm, api_hwm))
if rounds > 1:
    for measure, side in sorted({(r[0], r[1]) for r in rows}):
        print("   rounds %s %s: %s" % (measure, side, " ".join(r[3] for r in rows if r[0] == measure and r[1] == side)))
for n in notes:
    print(n)
EOF
log "logs, raw wrk output and results.tsv: $WORK"
