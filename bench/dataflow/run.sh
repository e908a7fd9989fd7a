#!/usr/bin/env bash
# bench/dataflow: ciel's real Copy activity (activity.For("Copy")) from a
# 10-column PostgreSQL table to a DelimitedText and to a Parquet dataset
# in a local-folder datastore, against psql's \copy (...) TO ... CSV, side
# by side in one run, at ROWS/5 and ROWS rows (default 1M and 5M): rows/s
# of each, the ratios (goals: >= 0.8x psql to CSV, >= 0.5x psql to
# Parquet), the ratio to a yardstick doing only the essential work
# (bench/dataflow -bare: pgx COPY TO STDOUT into the file; pgx rows into
# arrow builders and a Parquet writer), and ciel's peak RSS at both sizes
# (flat in the row count). Each figure is the median of REPS runs.
#
# Usage: bench/dataflow/run.sh      ROWS=1000000 REPS=3 bench/dataflow/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${ROWS:-5000000}
REPS=${REPS:-1}
SMALL=$((ROWS / 5))
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ciel-bench-dataflow.XXXXXX")
chmod 755 "$WORK"
trap 'scripts/postgres.sh stop "$WORK/pg" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
URL=$(scripts/postgres.sh start "$WORK/pg")
PORT=$(cat "$WORK/pg/port")
go build -o "$WORK/driver" ./bench/dataflow
mkdir -p "$WORK/store"

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
  results=()
  for rep in $(seq "$REPS"); do
    t=$(now); psql -q -v ON_ERROR_STOP=1 "$URL" -c "\\copy ($q) TO '$WORK/psql.csv' CSV"; p=$(( $(now) - t ))
    want=$(wc -l <"$WORK/psql.csv"); rm -f "$WORK/psql.csv"
    [ "$want" = "$n" ] || { echo "psql wrote $want lines, want $n"; exit 1; }
    r="{\"psql\": $p"
    for mode in csv parquet bare-csv bare-parquet; do
      sink=${mode#bare-}; bare=false; [ "$mode" = "$sink" ] || bare=true
      res=$("$WORK/driver" -port "$PORT" -query "$q" -folder "$WORK/store" -file "out.$sink" -sink "$sink" -bare=$bare)
      if [ "$sink" = csv ]; then got=$(wc -l <"$WORK/store/out.csv"); else
        got=$(python3 -c 'import sys, pyarrow.parquet as pq; print(pq.ParquetFile(sys.argv[1]).metadata.num_rows)' \
          "$WORK/store/out.parquet" 2>/dev/null || echo "$res" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"])'); fi
      [ "$got" = "$n" ] || { echo "$mode wrote $got rows, want $n"; exit 1; }
      rm -f "$WORK/store/out.$sink"
      r+=", \"$mode\": $res"
    done
    results+=("$r}")
  done
  printf '%s\n' "${results[@]}" | python3 -c '
import json, statistics, sys
n = int(sys.argv[1])
runs = [json.loads(l) for l in sys.stdin if l.strip()]
med = lambda f: statistics.median(f(r) for r in runs)
p = med(lambda r: r["psql"] / 1e9)
s = {m: med(lambda r: r[m]["seconds"]) for m in ("csv", "parquet", "bare-csv", "bare-parquet")}
rss = {m: max(r[m]["peakRSSKB"] for r in runs) / 1024 for m in ("csv", "parquet")}
print(f"{n:>9} rows (median of {len(runs)}): psql \\copy CSV {n/p:>10,.0f} rows/s")
for m, goal in (("csv", 0.8), ("parquet", 0.5)):
    b = s["bare-" + m]
    print(f"   ciel Copy -> {m:<8} {n/s[m]:>10,.0f} rows/s  ratio to psql {p/s[m]:.2f} (goal >= {goal})  "
          f"to bare {b/s[m]:.2f} (bare {n/b:,.0f} rows/s)  peak RSS {rss[m]:.0f} MB")
' "$n"
done
