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

# Runs a command; its stdout goes to $WORK/NAME.out and its peak RSS (KiB) to $WORK/NAME.rss.
measure() {
  local name=$1; shift
  /usr/bin/time -f "%M" -o "$WORK/$name.rss" "$@" > "$WORK/$name.out"
  cat "$WORK/$name.out"
}

echo "== pandas (Big5 CSV, $ROWS rows)"
measure pandas "$PY" bench/ingest/pandas_clean.py "$BIG5" "$WORK/pandas.parquet"
echo "== tapwater (Big5 CSV)"
measure tw_big5 "$BIN" "$BIG5" "$WORK/tapwater.parquet"
echo "== same values?"
"$PY" bench/ingest/compare.py "$WORK/tapwater.parquet" "$WORK/pandas.parquet" > "$WORK/same.out" || true
cat "$WORK/same.out"
echo "== tapwater (UTF-8 CSV)"
measure tw_utf8 "$BIN" "$UTF8" "$WORK/tapwater_utf8.parquet"
echo "== tapwater (XLSX, $XLSX_ROWS rows)"
measure tw_xlsx "$BIN" "$XLSX" "$WORK/tapwater_xlsx.parquet"

OUT="bench/results/ingest-$(date -u +%Y%m%d-%H%M%S).json"
"$PY" - "$OUT" "$WORK" "$ROWS" <<'PYEOF'
import json, re, sys
out, work, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
read = lambda name: open(f"{work}/{name}.out").read().strip()
rss = lambda name: int(open(f"{work}/{name}.rss").read().split()[-1]) / 1024
pandas_line = read("pandas")
m = re.search(r"([0-9.]+) MB/s", pandas_line)
pandas_mbs = float(m.group(1)) if m else None
big5, utf8, xlsx = (json.loads(read(n)) for n in ("tw_big5", "tw_utf8", "tw_xlsx"))
same_text = read("same")
same = json.loads(same_text) if same_text else {"same": False}
result = {
    "rows": rows,
    "pandas": {"line": pandas_line, "mb_per_s": pandas_mbs, "peak_rss_mib": rss("pandas")},
    "tapwater_big5": {**big5, "peak_rss_mib": rss("tw_big5")},
    "tapwater_utf8": {**utf8, "peak_rss_mib": rss("tw_utf8")},
    "tapwater_xlsx": {**xlsx, "peak_rss_mib": rss("tw_xlsx")},
    "ratio_big5_to_pandas": big5["mb_per_s"] / pandas_mbs if pandas_mbs else None,
    "same_values": same,
}
json.dump(result, open(out, "w"), ensure_ascii=False, indent=1)
print(f"tapwater Big5 {big5['mb_per_s']:.1f} MB/s vs pandas {pandas_mbs:.1f} MB/s = {result['ratio_big5_to_pandas']:.1f}x;"
      f" UTF-8 {utf8['mb_per_s']:.1f} MB/s; XLSX {xlsx['rows_per_s']:.0f} rows/s; same values: {same.get('same')};"
      f" peak RSS tapwater {result['tapwater_big5']['peak_rss_mib']:.0f} MiB, pandas {result['pandas']['peak_rss_mib']:.0f} MiB")
print("written", out)
PYEOF
