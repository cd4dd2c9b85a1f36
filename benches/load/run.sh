#!/usr/bin/env bash
# Load check of `mailroom serve` with wrk (Debian: `apt-get install wrk`), against 127.0.0.1 only.
#
#   benches/load/run.sh [CLASSIFY_SECONDS [TRIAGE_SECONDS]]      (defaults 10 and 30)
#
# Starts the release binary on a free loopback port with the default models, waits for /readyz,
# then drives POST /v1/classify and POST /v1/triage at 1, 8 and 64 concurrent connections, each
# run bounded in time. For every run it prints throughput, p50/p95/p99 latency, answers by status,
# socket errors and the server's RSS (peak during the run), and writes them all as JSON lines to
# target/load/results.jsonl. Extra server flags can go in MAILROOM_SERVE_ARGS.
set -euo pipefail

CLASSIFY_SECS=${1:-10}
TRIAGE_SECS=${2:-30}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${MAILROOM_BIN:-$ROOT/target/release/mailroom}
OUT=$ROOT/target/load
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: > "$RESULTS"

command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 2; }
[ -x "$BIN" ] || { echo "$BIN not found: cargo build --release" >&2; exit 2; }

LOG=$OUT/server.log
# shellcheck disable=SC2086
"$BIN" serve --bind 127.0.0.1 --port 0 ${MAILROOM_SERVE_ARGS:-} 2> "$LOG" &
PID=$!
cleanup() { kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
trap cleanup EXIT

PORT=
for _ in $(seq 1 600); do
  PORT=$(sed -n 's#^mailroom: listening on http://127\.0\.0\.1:\([0-9]*\)$#\1#p' "$LOG" | head -1)
  [ -n "$PORT" ] && break
  kill -0 "$PID" 2>/dev/null || { cat "$LOG" >&2; exit 2; }
  sleep 0.1
done
[ -n "$PORT" ] || { echo "the server never printed its port" >&2; exit 2; }
BASE=http://127.0.0.1:$PORT
for _ in $(seq 1 600); do
  curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
  kill -0 "$PID" 2>/dev/null || { cat "$LOG" >&2; exit 2; }
  sleep 0.5
done
curl -fsS "$BASE/readyz" >/dev/null || { echo "the server never became ready" >&2; exit 2; }

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$PID/status"; }
echo "server pid $PID on $BASE; RSS when ready $(( $(rss_kb) / 1024 )) MiB; $(nproc) cores"
printf '%-10s %5s %8s %9s %9s %9s %7s %9s  %s\n' route conns req/s p50_ms p95_ms p99_ms non2xx peak_MiB statuses

for route in classify triage; do
  secs=$CLASSIFY_SECS
  [ "$route" = triage ] && secs=$TRIAGE_SECS
  for c in 1 8 64; do
    threads=$(( c < 2 ? 1 : 2 ))
    peak_file=$OUT/peak.$route.$c
    echo 0 > "$peak_file"
    ( peak=0; while kill -0 "$PID" 2>/dev/null; do
        r=$(rss_kb || echo 0); [ "${r:-0}" -gt "$peak" ] && peak=$r && echo "$peak" > "$peak_file"
        sleep 0.2; done ) &
    SAMPLER=$!
    line=$(wrk -t"$threads" -c"$c" -d"${secs}s" --timeout 120s -s "$ROOT/benches/load/post.lua" \
      "$BASE/v1/$route" | grep '^{"requests"')
    kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true
    peak=$(cat "$peak_file")
    rm -f "$peak_file"
    echo "{\"route\":\"/v1/$route\",\"connections\":$c,\"peak_rss_mib\":$(( peak / 1024 )),\"result\":$line}" >> "$RESULTS"
    python3 - "$route" "$c" "$peak" "$line" <<'PY'
import json, sys
route, c, peak, line = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
st = line["statuses"]
non2xx = sum(v for k, v in st.items() if not k.startswith("2"))
print(f'{route:<10} {c:>5} {line["rps"]:>8.1f} {line["p50_ms"]:>9.0f} {line["p95_ms"]:>9.0f} '
      f'{line["p99_ms"]:>9.0f} {non2xx:>7} {peak // 1024:>9}  {json.dumps(st, sort_keys=True)} '
      f'socket_errors={json.dumps(line["socket_errors"])}')
PY
    # Let the queues drain before the next run.
    for _ in $(seq 1 240); do
      curl -fsS "$BASE/metrics" | grep -q '^mailroom_queue_depth{lane="generator"} 0$' && break
      sleep 0.5
    done
  done
done

echo "metrics after the runs:"
curl -fsS "$BASE/metrics" | grep -E '^mailroom_(overloaded_total|generated_tokens_total|review_rate|messages_total)'
echo "results: $RESULTS"
