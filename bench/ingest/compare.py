#!/usr/bin/env python3
"""Checks that tapwater and pandas made the same table of gen_messy.py's file: row count, null counts per column,
sums of the numeric columns, min/max date. Prints one JSON object; exit 1 when they differ.

    compare.py TAPWATER.parquet PANDAS.parquet
"""
import json, sys

import pyarrow.compute as pc
import pyarrow.parquet as pq


def summary(path):
    t = pq.read_table(path)
    out = {"rows": t.num_rows, "nulls": {}, "sums": {}, "dates": {}}
    for name in ("發生日期", "行政區", "地址", "受傷人數", "死亡人數", "財損金額", "備註"):
        col = t.column(name)
        out["nulls"][name] = col.null_count
        if name in ("受傷人數", "死亡人數", "財損金額"):
            out["sums"][name] = int(pc.sum(col).as_py() or 0)
        if name == "發生日期":
            mm = pc.min_max(col).as_py()
            out["dates"] = {"min": str(mm["min"])[:10], "max": str(mm["max"])[:10]}
    return out


def main():
    a, b = summary(sys.argv[1]), summary(sys.argv[2])
    same = a == b
    print(json.dumps({"same": same, "tapwater": a, "pandas": b}, ensure_ascii=False))
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
