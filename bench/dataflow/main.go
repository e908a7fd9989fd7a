// Command dataflow is bench/dataflow's driver: it copies a PostgreSQL
// table to a CSV file through ciel's table source (internal/dataflow's
// PostgreSQL reader: streamed, decoded into typed rows), reading and
// writing at once as a Copy does, and prints rows, seconds and its peak
// RSS as one line of JSON.
//
// Until the file formats land (internal/dataflow's DelimitedText and
// Parquet sinks), the CSV is written with encoding/csv here.
package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/activity"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular/convert"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "dataflow:", err)
		os.Exit(1)
	}
}

func run() error {
	host := flag.String("host", "127.0.0.1", "PostgreSQL host")
	port := flag.Int("port", 5432, "PostgreSQL port")
	database := flag.String("db", "postgres", "database")
	user := flag.String("user", "postgres", "user")
	query := flag.String("query", "", "the query to copy")
	out := flag.String("out", "", "the CSV file to write")
	flag.Parse()
	ctx := context.Background()
	ds := activity.Dataset{Name: "bench", Type: "PostgreSqlV2Table", LinkedService: activity.LinkedService{
		Name: "pg", Type: "PostgreSqlV2",
		Properties: map[string]any{"server": *host, "port": *port, "database": *database, "username": *user, "sslMode": 0},
	}}
	start := time.Now()
	r, err := (&activity.Env{}).OpenSource(ctx, ds, map[string]any{"query": *query})
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	n, err := pump(ctx, r, csv.NewWriter(bw))
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"rows": n, "seconds": secs, "peakRSSKB": peakRSS()})
}

// pump reads batches in one goroutine and writes CSV in this one.
func pump(ctx context.Context, r tabular.Reader, w *csv.Writer) (int64, error) {
	schema := r.Schema()
	ch := make(chan [][]any, 1)
	errc := make(chan error, 1)
	go func() {
		defer close(ch)
		for {
			b, err := r.Next(ctx)
			if err != nil {
				if err != io.EOF {
					errc <- err
				}
				return
			}
			ch <- b
		}
	}()
	var n int64
	rec := make([]string, len(schema))
	for b := range ch {
		for _, row := range b {
			for i, v := range row {
				rec[i] = text(v, schema[i].Type)
			}
			if err := w.Write(rec); err != nil {
				return n, err
			}
			n++
		}
	}
	w.Flush()
	select {
	case err := <-errc:
		return n, err
	default:
	}
	return n, w.Error()
}

func text(v any, t tabular.Type) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		if x {
			return "t"
		}
		return "f"
	case time.Time:
		return convert.FormatTime(x, t, &convert.Default)
	}
	return fmt.Sprint(v)
}

// peakRSS is the process's high-water resident set, in KB (VmHWM).
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb
		}
	}
	return -1
}
