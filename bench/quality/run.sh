#!/usr/bin/env bash
# Quality checks on the 1M-row benchmark table: how long tapwater's checks of a new version take, beside the standard
# validator (frictionless validate) on the same CSV.
#
#   bench/quality/run.sh [TAPWATER_BIN]     (default target/release/tapwater; build it with cargo build --release)
#
# Needs $BENCH_DATA/accidents.csv (bench/gen.py) and, for the peer, a venv with frictionless at $TAPWATER_VENV
# (default /var/tmp/tapwater-venv; .ci/run makes it). Prints one line per measurement and writes
# bench/results/quality-YYYYmmdd-HHMMSS.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="${1:-target/release/tapwater}"
BENCH_DATA="${BENCH_DATA:-/tmp/tapwater-bench}"
VENV="${TAPWATER_VENV:-/var/tmp/tapwater-venv}"
CSV="$BENCH_DATA/accidents.csv"
[ -f "$CSV" ] || python3 bench/gen.py --out "$BENCH_DATA"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

now() { date +%s.%N; }
# Publish (the CLI runs the checks after the commit, before it exits) and read the checks' own time from the log.
start=$(now)
TAPWATER_LOG=info "$BIN" --data-dir "$WORK/data" publish "$CSV" --dataset accidents --quiet 2> "$WORK/publish.log" >/dev/null
publish_s=$(echo "$(now) - $start" | bc)
check_ms=$(grep -o 'quality checked.*' "$WORK/publish.log" | grep -o 'ms=[0-9]*' | head -1 | cut -d= -f2)
echo "publish incl. checks: ${publish_s}s; checks after commit: ${check_ms} ms"

# Re-checks (a fresh process each: open the catalog, read the Parquet file, run every check, store the report).
recheck=()
for i in 1 2 3; do
  start=$(now)
  "$BIN" --data-dir "$WORK/data" quality accidents --recheck --json > "$WORK/report.json" 2>/dev/null || true
  recheck+=("$(echo "$(now) - $start" | bc)")
done
echo "tapwater quality --recheck (3 runs): ${recheck[*]} s"
findings=$(python3 -c "import json;r=json.load(open('$WORK/report.json'));print(len(r['findings']), r['score'], r['stars']['stars'])")
echo "findings, score, stars: $findings"

peer_s=null
if [ -x "$VENV/bin/frictionless" ]; then
  start=$(now)
  # frictionless refuses absolute paths ("not safe"): validate from the data directory.
  (cd "$BENCH_DATA" && "$VENV/bin/frictionless" validate --json accidents.csv) > "$WORK/frictionless.json" 2>/dev/null || true
  peer_s=$(echo "$(now) - $start" | bc)
  echo "frictionless validate (same CSV): ${peer_s}s; $(python3 -c "import json;r=json.load(open('$WORK/frictionless.json'));t=r['tasks'][0];print('valid', r['valid'], 'rows', t['stats'].get('rows'), 'errors', t['stats']['errors'])")"
fi

mkdir -p bench/results
out="bench/results/quality-$(date +%Y%m%d-%H%M%S).json"
python3 - "$out" "$publish_s" "$check_ms" "$peer_s" "${recheck[@]}" <<'PY'
import json, sys
out, publish, check_ms, peer, *recheck = sys.argv[1:]
json.dump({
    "rows": 1_000_000, "publish_s": float(publish), "checks_after_commit_ms": int(check_ms),
    "recheck_s": [float(r) for r in recheck],
    "frictionless_validate_s": None if peer == "null" else float(peer),
}, open(out, "w"), indent=2)
print("wrote", out)
PY
