#!/usr/bin/env bash
# tapwater peer. Same contract as the other peers:
#   prepare  publish $BENCH_DATA/accidents.csv and garbage_stops.csv with the release CLI into a fresh data dir
#            (everything tapwater needs before it can answer: type inference, Parquet, catalog) — timed in W5
#   start    serve that data dir on 127.0.0.1:$PORT pinned to $SERVER_CPU; print the server's PID last
#   stop     kill that PID
# TAPWATER_BIN: the release binary (default: target/release/tapwater of this repo, or $CARGO_TARGET_DIR's).
# TAPWATER_SERVE_ARGS: extra flags for `serve`, e.g. "--response-cache-mb 0" to measure without the response cache.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
DATA=${BENCH_DATA:-/tmp/tapwater-bench}
PORT=${PORT:-8103}
CPU=${SERVER_CPU:-1}
if [ -z "${TAPWATER_BIN:-}" ]; then
  for candidate in "${CARGO_TARGET_DIR:-$HERE/../target}/release/tapwater" "$HERE/../target/release/tapwater" \
                   /var/tmp/tapwater-target/release/tapwater; do
    if [ -x "$candidate" ]; then TAPWATER_BIN=$candidate; break; fi
  done
fi
BIN=${TAPWATER_BIN:?build it first: cargo build --release -p tapwater-cli}
DIR=$DATA/tapwater
PIDF=$DATA/tapwater.pid
A=${TAPWATER_ACCIDENTS_SLUG:-accidents}; S=${TAPWATER_STOPS_SLUG:-garbage_stops}
export TAPWATER_LOG=${TAPWATER_LOG:-warn}
case "${1:-}" in
  prepare)
    rm -rf "$DIR"; mkdir -p "$DIR"
    taskset -c "$CPU" "$BIN" --data-dir "$DIR" publish "$DATA/accidents.csv" --dataset "$A" --quiet >&2
    taskset -c "$CPU" "$BIN" --data-dir "$DIR" publish "$DATA/garbage_stops.csv" --dataset "$S" --quiet >&2
    ;;
  start)
    # Rate limits are lifted: the load generator is one client on one address, far above any fair-use limit.
    # shellcheck disable=SC2086
    nohup taskset -c "$CPU" "$BIN" --data-dir "$DIR" serve --addr "127.0.0.1:$PORT" --rate-limit false ${TAPWATER_SERVE_ARGS:-} \
      > "$DATA/tapwater.log" 2>&1 &
    echo $! > "$PIDF"; echo $!
    ;;
  stop)
    [ -f "$PIDF" ] && kill "$(cat "$PIDF")" 2>/dev/null || true; rm -f "$PIDF"
    ;;
  *) echo "usage: $0 prepare|start|stop" >&2; exit 2 ;;
esac
