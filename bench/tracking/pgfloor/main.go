// Command pgfloor is the yardstick of bench/tracking/postgres.sh's (b)
// scenario: the essential work of a log_batch of 1,000 metrics, and
// nothing else (no HTTP, no JSON, no ciel), on each database: one
// transaction inserting the rows into a table keyed as ciel's metrics
// table, 64 rows a statement, through the same drivers (modernc SQLite in
// WAL with synchronous=FULL, pgx with synchronous commit), plus the upsert
// of each key's latest value that MLflow's stores keep, committed. It
// prints metrics/s for each and the PostgreSQL/SQLite ratio: the ceiling
// ciel's own ratio can reach on this machine. PostgreSQL is measured both
// ways it takes a batch (64-row INSERTs, and one INSERT ... SELECT FROM
// unnest of an array per column, which ciel uses) and the faster is its
// floor.
//
// Usage: pgfloor -pg postgres://... -sqlite /tmp/x.db [-calls 50] [-batch 1000] [-runs 3]
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

const rowsPerStatement = 64

func main() {
	pg := flag.String("pg", "", "PostgreSQL URL of an empty database")
	lite := flag.String("sqlite", "", "path of a new SQLite file")
	calls := flag.Int("calls", 50, "transactions (log_batch calls)")
	batch := flag.Int("batch", 1000, "metrics per transaction")
	runs := flag.Int("runs", 3, "runs per database, alternating")
	flag.Parse()
	if *pg == "" || *lite == "" {
		fmt.Fprintln(os.Stderr, "pgfloor: give -pg and -sqlite")
		os.Exit(2)
	}
	pdb, err := sql.Open("pgx", *pg)
	check(err)
	sdb, err := sql.Open("sqlite", "file:"+*lite+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)")
	check(err)
	sdb.SetMaxOpenConns(1)
	ddl := `CREATE TABLE metrics (run_id TEXT NOT NULL, key TEXT NOT NULL, step BIGINT NOT NULL, timestamp BIGINT NOT NULL,
		value DOUBLE PRECISION NOT NULL, is_nan BOOLEAN NOT NULL DEFAULT FALSE, PRIMARY KEY (run_id, key, step, timestamp, value, is_nan))`
	latest := `CREATE TABLE latest_metrics (run_id TEXT NOT NULL, key TEXT NOT NULL, step BIGINT NOT NULL, timestamp BIGINT NOT NULL,
		value DOUBLE PRECISION NOT NULL, PRIMARY KEY (run_id, key))`
	for _, db := range []*sql.DB{pdb, sdb} {
		for _, q := range []string{ddl, latest} {
			_, err := db.Exec(q)
			check(err)
		}
	}
	var pRates, aRates, sRates []float64
	for r := range *runs {
		sRates = append(sRates, ingest(sdb, r, *calls, *batch, false))
		pRates = append(pRates, ingest(pdb, r, *calls, *batch, true))
		aRates = append(aRates, ingestArrays(pdb, *runs+r, *calls, *batch))
	}
	s, p, a := median(sRates), median(pRates), median(aRates)
	fmt.Printf("floor (b): %d transactions x %d metrics, %d runs, medians\n", *calls, *batch, *runs)
	fmt.Printf("  sqlite, 64-row INSERTs     %9.0f metrics/s\n", s)
	fmt.Printf("  postgres, 64-row INSERTs   %9.0f metrics/s\n", p)
	fmt.Printf("  postgres, unnest arrays    %9.0f metrics/s\n", a)
	fmt.Printf("  pg/sqlite  %9.2fx\n", max(p, a)/s)
}

// ingest inserts calls transactions of batch rows for run r and returns
// metrics/s.
func ingest(db *sql.DB, r, calls, batch int, dollar bool) float64 {
	q := insertSQL(rowsPerStatement, dollar)
	ctx := context.Background()
	start := time.Now()
	for c := range calls {
		tx, err := db.BeginTx(ctx, nil)
		check(err)
		st, err := tx.PrepareContext(ctx, q)
		check(err)
		args := make([]any, 0, 6*rowsPerStatement)
		for i := 0; i < batch; i += rowsPerStatement {
			n := min(rowsPerStatement, batch-i)
			args = args[:0]
			for j := range n {
				args = append(args, fmt.Sprintf("run-%d", r), fmt.Sprintf("m%d", j%10), int64(c*batch+i+j), int64(1700000000000+c), float64(i+j), false)
			}
			if n == rowsPerStatement {
				_, err = st.ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, insertSQL(n, dollar), args...)
			}
			check(err)
		}
		check(st.Close())
		// The latest value of each of the batch's 10 keys.
		args = args[:0]
		for j := range 10 {
			args = append(args, fmt.Sprintf("run-%d", r), fmt.Sprintf("m%d", j), int64(c*batch+batch-10+j), int64(1700000000000+c), float64(j))
		}
		_, err = tx.ExecContext(ctx, latestSQL(dollar), args...)
		check(err)
		check(tx.Commit())
	}
	return float64(calls*batch) / time.Since(start).Seconds()
}

// ingestArrays is ingest on PostgreSQL with one statement per
// transaction for the rows and one for the latest values, each column an
// array unnested by the server.
func ingestArrays(db *sql.DB, r, calls, batch int) float64 {
	const rows = `INSERT INTO metrics (run_id, key, step, timestamp, value, is_nan)
		SELECT $1::text, u.* FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::float8[], $6::bool[]) u ON CONFLICT DO NOTHING`
	latest := `INSERT INTO latest_metrics (run_id, key, step, timestamp, value)
		SELECT $1::text, u.* FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::float8[]) u` +
		latestSQL(true)[strings.Index(latestSQL(true), " ON CONFLICT"):]
	ctx := context.Background()
	run := fmt.Sprintf("run-%d", r)
	start := time.Now()
	for c := range calls {
		keys, steps, times, values, nans := make([]string, batch), make([]int64, batch), make([]int64, batch), make([]float64, batch), make([]bool, batch)
		for j := range batch {
			keys[j], steps[j], times[j], values[j] = fmt.Sprintf("m%d", j%10), int64(c*batch+j), int64(1700000000000+c), float64(j)
		}
		tx, err := db.BeginTx(ctx, nil)
		check(err)
		_, err = tx.ExecContext(ctx, rows, run, keys, steps, times, values, nans)
		check(err)
		n := min(10, batch)
		_, err = tx.ExecContext(ctx, latest, run, keys[batch-n:], steps[batch-n:], times[batch-n:], values[batch-n:])
		check(err)
		check(tx.Commit())
	}
	return float64(calls*batch) / time.Since(start).Seconds()
}

// insertSQL is a rows-row INSERT with ? or $N placeholders.
func insertSQL(rows int, dollar bool) string {
	var b strings.Builder
	b.WriteString("INSERT INTO metrics (run_id, key, step, timestamp, value, is_nan) VALUES ")
	n := 0
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := range 6 {
			if j > 0 {
				b.WriteByte(',')
			}
			n++
			if dollar {
				fmt.Fprintf(&b, "$%d", n)
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
	}
	b.WriteString(" ON CONFLICT DO NOTHING")
	return b.String()
}

// latestSQL upserts 10 keys' latest values.
func latestSQL(dollar bool) string {
	var b strings.Builder
	b.WriteString("INSERT INTO latest_metrics (run_id, key, step, timestamp, value) VALUES ")
	for i := range 10 {
		if i > 0 {
			b.WriteByte(',')
		}
		if dollar {
			fmt.Fprintf(&b, "($%d,$%d,$%d,$%d,$%d)", 5*i+1, 5*i+2, 5*i+3, 5*i+4, 5*i+5)
		} else {
			b.WriteString("(?,?,?,?,?)")
		}
	}
	b.WriteString(` ON CONFLICT (run_id, key) DO UPDATE SET step = excluded.step, timestamp = excluded.timestamp, value = excluded.value
		WHERE (excluded.step, excluded.timestamp, excluded.value) >= (latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)`)
	return b.String()
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgfloor:", err)
		os.Exit(1)
	}
}
