#!/usr/bin/env bash
# Ingestion benchmark: tapwater and the pandas baseline clean the same agency-style file in the same run.
#
#   bash bench/ingest/run.sh            # 1.5M rows (~73 MB Big5); ROWS=300000 for a quick run
#
# Reports MB/s (and MB/s per core: tapwater's ingest is single-threaded, pandas too), the ratio to pandas, peak RSS,
# and whether both produced the same values (compare.py). Also UTF-8 CSV MB/s and XLSX rows/s. Results go to
# bench/results/ingest-<date>.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${ROWS:-1500000}
WORK=${WORK:-/tmp/tapwater-ingest-bench}
VENV=${INGEST_VENV:-/tmp/ingest-venv}
XLSX_ROWS=${XLSX_ROWS:-200000}
mkdir -p "$WORK" bench/results
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import pandas, pyarrow, openpyxl' 2>/dev/null; then
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q pandas pyarrow openpyxl
fi
PY="$VENV/bin/python"
BIG5="$WORK/messy_big5_$ROWS.csv"
UTF8="$WORK/messy_utf8_$ROWS.csv"
XLSX="$WORK/messy_$XLSX_ROWS.xlsx"
[ -s "$BIG5" ] || python3 bench/ingest/gen_messy.py "$BIG5" --rows "$ROWS"
[ -s "$UTF8" ] || iconv -f CP950 -t UTF-8 "$BIG5" > "$UTF8"
if [ ! -s "$XLSX" ]; then
  "$PY" - "$UTF8" "$XLSX" "$XLSX_ROWS" <<'PYEOF'
import csv, sys
from openpyxl import Workbook
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
wb = Workbook(write_only=True); ws = wb.create_sheet("data")
with open(src, encoding="utf-8", newline="") as f:
    for i, row in enumerate(csv.reader(f)):
        if i > n + 1: break
        ws.append(row)
wb.save(dst)
PYEOF
fi
cargo build -q --release -p tapwater-ingest --example ingest_bench
BIN=${CARGO_TARGET_DIR:-target}/release/examples/ingest_bench

# Runs a command, prints its stdout and keeps its peak RSS (KiB) in $RSS.
measure() {
  local err; err=$(mktemp)
  /usr/bin/time -f "%M" -o "$err.rss" "$@" > "$err.out"
  RSS=$(tail -1 "$err.rss"); cat "$err.out"; rm -f "$err" "$err.rss" "$err.out"
}

echo "== pandas (Big5 CSV, $ROWS rows)"
PANDAS_OUT=$(measure "$PY" bench/ingest/pandas_clean.py "$BIG5" "$WORK/pandas.parquet"); PANDAS_RSS=$RSS
echo "$PANDAS_OUT"
echo "== tapwater (Big5 CSV)"
TW_BIG5=$(measure "$BIN" "$BIG5" "$WORK/tapwater.parquet"); TW_BIG5_RSS=$RSS
echo "$TW_BIG5"
echo "== same values?"
SAME=$("$PY" bench/ingest/compare.py "$WORK/tapwater.parquet" "$WORK/pandas.parquet" || true)
echo "$SAME"
echo "== tapwater (UTF-8 CSV)"
TW_UTF8=$(measure "$BIN" "$UTF8" "$WORK/tapwater_utf8.parquet"); TW_UTF8_RSS=$RSS
echo "$TW_UTF8"
echo "== tapwater (XLSX, $XLSX_ROWS rows)"
TW_XLSX=$(measure "$BIN" "$XLSX" "$WORK/tapwater_xlsx.parquet"); TW_XLSX_RSS=$RSS
echo "$TW_XLSX"

OUT="bench/results/ingest-$(date -u +%Y%m%d-%H%M%S).json"
"$PY" - "$OUT" <<PYEOF
import json, re, sys
pandas_line = """$PANDAS_OUT"""
m = re.search(r"([0-9.]+) MB/s", pandas_line)
pandas_mbs = float(m.group(1)) if m else None
big5 = json.loads("""$TW_BIG5""")
utf8 = json.loads("""$TW_UTF8""")
xlsx = json.loads("""$TW_XLSX""")
same = json.loads("""$SAME""") if """$SAME""".strip() else {"same": False}
result = {
    "rows": $ROWS,
    "pandas": {"line": pandas_line.strip(), "mb_per_s": pandas_mbs, "peak_rss_mib": $PANDAS_RSS / 1024},
    "tapwater_big5": {**big5, "peak_rss_mib": $TW_BIG5_RSS / 1024},
    "tapwater_utf8": {**utf8, "peak_rss_mib": $TW_UTF8_RSS / 1024},
    "tapwater_xlsx": {**xlsx, "peak_rss_mib": $TW_XLSX_RSS / 1024},
    "ratio_big5_to_pandas": big5["mb_per_s"] / pandas_mbs if pandas_mbs else None,
    "same_values": same,
}
json.dump(result, open(sys.argv[1], "w"), ensure_ascii=False, indent=1)
print(f"tapwater Big5 {big5['mb_per_s']:.1f} MB/s vs pandas {pandas_mbs:.1f} MB/s = {result['ratio_big5_to_pandas']:.1f}x;"
      f" UTF-8 {utf8['mb_per_s']:.1f} MB/s; XLSX {xlsx['rows_per_s']:.0f} rows/s; same values: {same.get('same')};"
      f" peak RSS tapwater {result['tapwater_big5']['peak_rss_mib']:.0f} MiB, pandas {result['pandas']['peak_rss_mib']:.0f} MiB")
print("written", sys.argv[1])
PYEOF
