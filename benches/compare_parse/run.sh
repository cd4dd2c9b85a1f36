#!/usr/bin/env bash
# Parse + prepare throughput: mailroom beside Python's `email` package, same files, one run.
#
#   benches/compare_parse/run.sh [DATA_DIR] [REPEATS]
#
# DATA_DIR defaults to ../shared/data/spamassassin (never copied into the repository). Each side
# runs REPEATS times (default 3), interleaved, single-threaded, and the best time of each is
# compared, so a busy machine hurts both alike. mailroom: examples/parse_bench.rs (read, parse,
# prepare: quotes, signatures, normalisation, language, token budget). Python:
# parse_python.py (message_from_bytes with policy.default, get_body, get_content, HTML to text
# with html.parser, attachment list, whitespace normalisation).
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${1:-../shared/data/spamassassin}
REPEATS=${2:-3}
if [ ! -d "$DATA" ]; then
    echo "compare_parse: $DATA is absent; nothing measured" >&2
    exit 0
fi
cargo build --release --quiet --example parse_bench
list=$(mktemp)
results=$(mktemp)
trap 'rm -f "$list" "$results"' EXIT
# The same files mailroom's folder walk reads: no hidden files, no csv/json/md.
find "$DATA" -type f ! -name '.*' ! -name '*.csv' ! -name '*.json' ! -name '*.md' | sort > "$list"
for _ in $(seq "$REPEATS"); do
    echo "rust $(target/release/examples/parse_bench "$DATA")" >> "$results"
    echo "python $(python3 benches/compare_parse/parse_python.py < "$list")" >> "$results"
done
python3 - "$results" <<'PY'
import json, sys
best = {}
for line in open(sys.argv[1]):
    side, data = line.split(" ", 1)
    d = json.loads(data)
    if side not in best or d["seconds"] < best[side]["seconds"]:
        best[side] = d
r, p = best["rust"], best["python"]
if r["messages"] != p["messages"]:
    sys.exit(f"file sets differ: mailroom {r['messages']}, python {p['messages']}")
for name, d in (("mailroom", r), ("python email", p)):
    print(f"{name:13} {d['messages']} messages, {d['bytes']/1e6:.1f} MB, {d['seconds']:.3f} s: "
          f"{d['messages']/d['seconds']:8.0f} messages/s {d['bytes']/1e6/d['seconds']:7.1f} MB/s "
          f"({d['errors']} errors)")
print(f"mailroom split: read {r['read_s']:.3f} s, parse {r['parse_s']:.3f} s, "
      f"prepare {r['prepare_s']:.3f} s")
print(f"ratio: mailroom is {p['seconds']/r['seconds']:.1f}x faster than Python (target >= 10x)")
PY
