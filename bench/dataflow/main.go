// Command dataflow is bench/dataflow's driver: it runs ciel's real Copy
// activity (activity.For("Copy")) from a PostgreSQL query to a Parquet
// or a DelimitedText dataset in a local-folder datastore, and prints
// rows, seconds and its peak RSS as one line of JSON.
//
// With -bare it runs a yardstick instead: only the essential work, no
// activity layer (-sink csv: pgx COPY TO STDOUT piped into the file;
// -sink parquet: pgx rows decoded straight into arrow column builders
// and a pqarrow writer), so the Copy's cost over the bare minimum shows.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/activity"
	"github.com/ciel-mlops/ciel/internal/datastore"
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
	folder := flag.String("folder", "", "the local datastore's folder")
	file := flag.String("file", "", "the file name to write in it")
	sink := flag.String("sink", "csv", "csv or parquet")
	bare := flag.Bool("bare", false, "run the yardstick, not ciel's Copy")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile here")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()
	start := time.Now()
	var rows int64
	var err error
	if *bare {
		url := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", *user, *host, *port, *database)
		rows, err = runBare(ctx, url, *query, *folder+"/"+*file, *sink)
	} else {
		ls := activity.LinkedService{Name: "pg", Type: "PostgreSqlV2",
			Properties: map[string]any{"server": *host, "port": *port, "database": *database, "username": *user, "sslMode": 0}}
		rows, err = runCopy(ctx, ls, *query, *folder, *file, *sink)
	}
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"rows": rows, "seconds": secs, "peakRSSKB": peakRSS()})
}

// runCopy runs the Copy activity as a pipeline would.
func runCopy(ctx context.Context, pg activity.LinkedService, query, folder, file, sink string) (int64, error) {
	store := datastore.Datastore{Workspace: "bench", Name: "benchstore", Type: datastore.TypeLocal, Path: folder}
	env := &activity.Env{Workspace: "bench", Datastores: stores{store}}
	blob := activity.LinkedService{Name: "benchstore", Type: "AzureBlobStorage", Properties: map[string]any{}}
	loc := map[string]any{"type": "AzureBlobStorageLocation", "fileName": file}
	out := activity.Dataset{Name: "out", LinkedService: blob, Properties: map[string]any{"location": loc}}
	sinkType := ""
	switch sink {
	case "csv":
		out.Type, sinkType = "DelimitedText", "DelimitedTextSink"
		out.Properties["columnDelimiter"] = ","
		out.Properties["firstRowAsHeader"] = false
	case "parquet":
		out.Type, sinkType = "Parquet", "ParquetSink"
	default:
		return 0, fmt.Errorf("-sink %q: expected csv or parquet", sink)
	}
	copyFn, _ := activity.For("Copy")
	res, err := copyFn(ctx, env, activity.Call{Name: "bench", Type: "Copy",
		TypeProperties: map[string]any{
			"source": map[string]any{"type": "PostgreSqlV2Source", "query": query},
			"sink":   map[string]any{"type": sinkType},
		},
		Inputs:  []activity.Dataset{{Name: "in", Type: "PostgreSqlV2Table", LinkedService: pg, Properties: map[string]any{}}},
		Outputs: []activity.Dataset{out},
	})
	if err != nil {
		return 0, err
	}
	n, _ := res["rowsCopied"].(int64)
	return n, nil
}

// stores is the one datastore the bench writes to.
type stores []datastore.Datastore

func (s stores) Get(_ context.Context, _, name string) (datastore.Datastore, error) {
	for _, d := range s {
		if d.Name == name {
			return d, nil
		}
	}
	return datastore.Datastore{}, errors.New("no datastore " + name)
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
