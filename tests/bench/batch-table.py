#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Prints decode-throughput's JSON lines as a Markdown table: each
batch-size N row next to batch-size 1 at the same stream count.

    batch-table.py RESULTS.jsonl [ITEM]

ITEM names what was decoded (default "windows").
"""

import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1])]
item = sys.argv[2] if len(sys.argv) > 2 else "windows"
base = {r["streams"]: r for r in rows if r["batch"] == 1}
print("| streams | batch-size | %s/s | ratio | %s/CPU-s | ratio "
      "| ms per token step | ratio |" % (item, item))
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    b = base[r["streams"]]
    print("| %d | %d | %.2f | %.2f× | %.2f | %.2f× | %.1f | %.2f× |" % (
        r["streams"], r["batch"], r["items_per_s"],
        r["items_per_s"] / b["items_per_s"], r["items_per_cpu_s"],
        r["items_per_cpu_s"] / b["items_per_cpu_s"], r["ms_per_step"],
        b["ms_per_step"] / r["ms_per_step"]))
