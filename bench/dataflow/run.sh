#!/usr/bin/env bash
# bench/dataflow: a Copy of a 10-column PostgreSQL table to a file through
# ciel, against psql's \copy (...) TO ... CSV, side by side in one run, at
# ROWS/5 and ROWS rows (default 1M and 5M): rows/s of each, the ratio
# (goal: >= 0.8x psql to CSV; >= 0.5x to Parquet once the Parquet sink
# lands), and ciel's peak RSS at both sizes (flat in the row count).
#
# Usage: bench/dataflow/run.sh          ROWS=500000 bench/dataflow/run.sh (smaller)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${ROWS:-5000000}
SMALL=$((ROWS / 5))
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ciel-bench-dataflow.XXXXXX")
trap 'scripts/postgres.sh stop "$WORK/pg"; rm -rf "$WORK"' EXIT
URL=$(scripts/postgres.sh start "$WORK/pg")
PORT=$(cat "$WORK/pg/port")
go build -o "$WORK/driver" ./bench/dataflow

echo "==> a 10-column table of $ROWS rows"
psql -q -v ON_ERROR_STOP=1 "$URL" <<SQL
CREATE UNLOGGED TABLE bench (id bigint PRIMARY KEY, qty integer, amount bigint, ratio double precision,
  price numeric(12,2), code text, name text, at timestamp, day date, ok boolean);
INSERT INTO bench SELECT i, i % 1000, i * 7919, i / 7.0, (i % 100000) / 100.0, 'C' || (i % 97),
  'customer name ' || i, timestamp '2026-01-01' + i * interval '1 second', date '2026-01-01' + (i % 365)::int, i % 2 = 0
FROM generate_series(1::bigint, $ROWS) i;
VACUUM ANALYZE bench;
SQL

now() { date +%s%N; }
for n in $SMALL $ROWS; do
  q="SELECT * FROM bench WHERE id <= $n"
  t=$(now); psql -q -v ON_ERROR_STOP=1 "$URL" -c "\\copy ($q) TO '$WORK/psql.csv' CSV"; p=$(( $(now) - t ))
  res=$("$WORK/driver" -port "$PORT" -query "$q" -out "$WORK/ciel.csv")
  got=$(wc -l <"$WORK/ciel.csv"); want=$(wc -l <"$WORK/psql.csv")
  [ "$got" = "$n" ] && [ "$want" = "$n" ] || { echo "ciel wrote $got lines, psql $want, want $n"; exit 1; }
  python3 - "$n" "$p" "$res" <<'PY'
import json, sys
n, p, res = int(sys.argv[1]), int(sys.argv[2]) / 1e9, json.loads(sys.argv[3])
c = res["seconds"]
print(f"{n:>9} rows  psql \\copy CSV {n/p:>10,.0f} rows/s   ciel -> CSV {n/c:>10,.0f} rows/s   "
      f"ratio {p/c:.2f} (goal >= 0.8)   ciel peak RSS {res['peakRSSKB']/1024:.0f} MB")
PY
  rm -f "$WORK/psql.csv" "$WORK/ciel.csv"
done
