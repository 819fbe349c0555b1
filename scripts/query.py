#!/usr/bin/env python3
"""Shows what jwas wrote: row counts per log type and each table's column types, read
back with DuckDB (Hive partitions, union by name); or, given SQL, its result.
Usage: query.py OUT_DIR [SQL]"""
import glob as g
import os
import signal
import sys

import duckdb

# `query.sh out | head` ends quietly.
signal.signal(signal.SIGPIPE, signal.SIG_DFL)

out = sys.argv[1] if len(sys.argv) > 1 else "out"
con = duckdb.connect()
if len(sys.argv) > 2:
    con.sql(sys.argv[2]).show(max_width=200)
    sys.exit(0)
# Any partition level (--partition hour, day or month): every Parquet file of a table.
glob = f"{out}/juniper_*/**/*.parquet"
print(f"-- SELECT p_log_type, count(*) FROM read_parquet('{glob}', hive_partitioning=true, union_by_name=true) GROUP BY 1")
for row in con.sql(
    f"SELECT p_log_type, count(*) AS events FROM read_parquet('{glob}', hive_partitioning=true, union_by_name=true) "
    "GROUP BY 1 ORDER BY 1"
).fetchall():
    print(f"{row[0]:<20} {row[1]:>8}")
tables = sorted({os.path.relpath(p, out).split(os.sep)[0] for p in g.glob(glob, recursive=True)})
for t in tables:
    print(f"\n-- DESCRIBE {t}")
    for name, typ, *_ in con.sql(
        f"DESCRIBE SELECT * FROM read_parquet('{out}/{t}/**/*.parquet', hive_partitioning=true)"
    ).fetchall():
        print(f"  {name:<22} {typ}")
