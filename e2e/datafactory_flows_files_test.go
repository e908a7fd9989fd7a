package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Factory flows on files and triggers: the file move, the tumbling window
// backfill, the storage event trigger and a Copy killed mid-write (see
// datafactory_flows_test.go for the fixture).

// TestDataFactoryFlowMoveFiles runs move_files: GetMetadata lists
// landing/incoming, Filter keeps the CSV files, ForEach copies each to
// Parquet in curated/events and deletes it; the other file stays.
func TestDataFactoryFlowMoveFiles(t *testing.T) {
	t.Parallel()
	f := newFlowEnv(t, newEnv(t), nil)
	in := filepath.Join(f.lake, "landing", "incoming")
	writeAt(t, filepath.Join(in, "day1.csv"), "id,event,at\n1,click,2026-11-01T10:00:00\n2,\"view, long\",2026-11-01T10:01:00\n")
	writeAt(t, filepath.Join(in, "day2.CSV"), "id,event,at\n3,buy,2026-11-02T08:00:00\n")
	writeAt(t, filepath.Join(in, "readme.txt"), "not a csv\n")
	writeAt(t, filepath.Join(in, "old", "nested.csv"), "id\n9\n") // a folder: not a File
	pr := f.runPipeline("move_files", "")

	if got := listFiles(t, in); !slices.Equal(got, []string{"old/nested.csv", "readme.txt"}) {
		t.Errorf("landing/incoming after the move: %v; want the CSV files gone, the rest kept", got)
	}
	events := filepath.Join(f.lake, "curated", "events")
	if got := listFiles(t, events); !slices.Equal(got, []string{"day1.parquet", "day2.parquet"}) {
		t.Errorf("curated/events: %v", got)
	}
	rows := parquetRows(t, filepath.Join(events, "day1.parquet"))
	if len(rows) != 2 || rows[1]["event"] != "view, long" || rows[0]["at"] != "2026-11-01T10:00:00" {
		t.Errorf("day1.parquet rows: %v", rows)
	}
	if rows := parquetRows(t, filepath.Join(events, "day2.parquet")); len(rows) != 1 || rows[0]["event"] != "buy" {
		t.Errorf("day2.parquet rows: %v", rows)
	}
	acts := f.activityRuns(pr.RunID)
	if acts["OnlyCsv"].Status != "Succeeded" || !strings.Contains(string(acts["OnlyCsv"].Output), `"ItemsCount": 4`) || !strings.Contains(string(acts["OnlyCsv"].Output), `"FilteredItemsCount": 2`) {
		t.Errorf("Filter output: %s", acts["OnlyCsv"].Output)
	}
}

// TestDataFactoryFlowTumblingWindow starts hourly_window (startTime three
// hours back, endTime the last hour boundary): the scheduler backfills the
// three windows through window_copy, each window's Parquet file holding
// exactly the orders of its hour, and no fourth window runs.
func TestDataFactoryFlowTumblingWindow(t *testing.T) {
	t.Parallel()
	hour := time.Now().UTC().Truncate(time.Hour)
	start := hour.Add(-3 * time.Hour)
	f := newFlowEnv(t, newEnv(t), map[string]string{"START": start.Format(time.RFC3339), "END": hour.Format(time.RFC3339)})
	f.sql(ordersTables()...)
	// Two orders per window, one on each edge case: the window's first
	// instant (in) and its end (the next window's); one before and one
	// after the trigger's range.
	stmt := "INSERT INTO orders VALUES "
	at := func(d time.Duration) string { return "'" + start.Add(d).Format("2006-01-02 15:04:05.999999") + "'" }
	stmt += "(1, 'before', 1, " + at(-time.Second) + "), "
	stmt += "(10, 'w0', 1, " + at(0) + "), (11, 'w0', 1, " + at(59*time.Minute+59*time.Second+999999*time.Microsecond) + "), "
	stmt += "(20, 'w1', 1, " + at(time.Hour) + "), (21, 'w1', 1, " + at(90*time.Minute) + "), "
	stmt += "(30, 'w2', 1, " + at(2*time.Hour) + "), (31, 'w2', 1, " + at(150*time.Minute) + "), "
	stmt += "(40, 'after', 1, " + at(3*time.Hour) + ")"
	f.sql(stmt)
	f.ok("data-factory", "trigger", "start", "--name", "hourly_window")
	defer f.ok("data-factory", "trigger", "stop", "--name", "hourly_window")

	type window struct {
		Start  time.Time `json:"windowStartTime"`
		Status string    `json:"status"`
		RunID  string    `json:"runId"`
	}
	var ws []window
	waitFor(t, "three windows to succeed", 90*time.Second, func() bool {
		ws = nil
		mustJSON(t, f.ok("data-factory", "trigger", "windows", "--name", "hourly_window", "-o", "json").out, &ws)
		n := 0
		for _, w := range ws {
			if w.Status == "Failed" {
				t.Fatalf("window %v failed: %s", w.Start, f.activityDump(w.RunID))
			}
			if w.Status == "Succeeded" {
				n++
			}
		}
		return n == 3
	})
	if len(ws) != 3 {
		t.Fatalf("windows: %+v; want three", ws)
	}
	for i, w := range ws {
		if !w.Start.Equal(start.Add(time.Duration(i) * time.Hour)) {
			t.Errorf("window %d starts %v", i, w.Start)
		}
		p := filepath.Join(f.lake, "curated", "windows", "orders-"+w.Start.UTC().Format("2006010215")+".parquet")
		want := []int{10 + 10*i, 11 + 10*i}
		if got := ids(parquetRows(t, p)); !slices.Equal(got, want) {
			t.Errorf("window %d (%s): ids %v, want %v", i, p, got, want)
		}
		r := f.factoryRun(w.RunID)
		if r.InvokedBy.InvokedByType != "TumblingWindowTrigger" || r.Parameters["windowStart"] == nil {
			t.Errorf("window %d's run: %+v", i, r)
		}
	}
	if files := listFiles(t, filepath.Join(f.lake, "curated", "windows")); len(files) != 3 {
		t.Errorf("windows folder: %v", files)
	}
}

// TestDataFactoryFlowStorageEvent starts on_landing: a CSV dropped into
// landing/incoming afterwards runs ingest_file once, with the file's name
// from @triggerBody().fileName; a CSV there before the start, and a file
// of another kind, run nothing.
func TestDataFactoryFlowStorageEvent(t *testing.T) {
	t.Parallel()
	f := newFlowEnv(t, newEnv(t), nil)
	in := filepath.Join(f.lake, "landing", "incoming")
	writeAt(t, filepath.Join(in, "before.csv"), "id,name\n1,old\n")
	f.ok("data-factory", "trigger", "start", "--name", "on_landing")
	defer f.ok("data-factory", "trigger", "stop", "--name", "on_landing")
	time.Sleep(2 * time.Second) // let the trigger take its first listing
	writeAt(t, filepath.Join(in, "skip.txt"), "not csv\n")
	// Written under another name and renamed, as an upload completes: the
	// trigger sees the whole file.
	writeAt(t, filepath.Join(in, ".tmp-after"), "id,name\n2,new\n3,\"x, y\"\n")
	if err := os.Rename(filepath.Join(in, ".tmp-after"), filepath.Join(in, "after.csv")); err != nil {
		t.Fatal(err)
	}

	type runs struct {
		Value []factoryRun `json:"value"`
	}
	var got runs
	waitFor(t, "ingest_file to run for after.csv", 60*time.Second, func() bool {
		mustJSON(t, f.ok("data-factory", "pipeline-run", "query", "--pipeline-name", "ingest_file", "-o", "json").out, &got)
		return len(got.Value) > 0 && got.Value[0].Status != "InProgress" && got.Value[0].Status != "Queued"
	})
	time.Sleep(3 * time.Second) // time for a wrong second run to show
	mustJSON(t, f.ok("data-factory", "pipeline-run", "query", "--pipeline-name", "ingest_file", "-o", "json").out, &got)
	if len(got.Value) != 1 {
		t.Fatalf("ingest_file runs: %+v; want one", got.Value)
	}
	r := got.Value[0]
	if r.Status != "Succeeded" || r.Parameters["fileName"] != "after.csv" || r.InvokedBy.InvokedByType != "BlobEventsTrigger" {
		t.Errorf("the run: %+v\n%s", r, f.activityDump(r.RunID))
	}
	rows := parquetRows(t, filepath.Join(f.lake, "curated", "ingested", "after.parquet"))
	if len(rows) != 2 || rows[1]["name"] != "x, y" {
		t.Errorf("after.parquet: %v", rows)
	}
	if files := listFiles(t, filepath.Join(f.lake, "curated", "ingested")); len(files) != 1 {
		t.Errorf("ingested: %v; want after.parquet only", files)
	}
	tr := f.ok("data-factory", "trigger-run", "query", "--trigger-name", "on_landing", "--query", "length(value)", "-o", "tsv")
	if strings.TrimSpace(tr.out) != "1" {
		t.Errorf("trigger runs: %s", tr.out)
	}
}

// TestDataFactoryFlowKillDuringCopy kills the server with SIGKILL while a
// Copy streams a slow query into Parquet: the sink path holds no file,
// half written or not (what was being written has a hidden temporary name
// that readers skip), the next server records the run Failed, and a rerun
// from the failure writes the whole file.
func TestDataFactoryFlowKillDuringCopy(t *testing.T) {
	t.Parallel()
	f := newFlowEnv(t, newEnv(t), nil)
	f.sql(ordersTables()...)
	f.sql(`INSERT INTO orders (id, customer, amount, updated_at)
		SELECT g, 'c' || g, g, '2026-11-01'::timestamp + g * interval '1 second' FROM generate_series(1, 12000) g`,
		"CREATE TABLE knob (delay float8)", "INSERT INTO knob VALUES (0.0007)",
		`CREATE FUNCTION slowly(i int) RETURNS int LANGUAGE plpgsql AS $$
		BEGIN PERFORM pg_sleep((SELECT delay FROM knob)); RETURN i; END $$`)
	f.write("slow_copy.json", `{"name": "slow_copy", "properties": {"activities": [{"name": "CopySlowly", "type": "Copy",
		"inputs": [{"referenceName": "warehouse_table", "type": "DatasetReference", "parameters": {"table": "orders"}}],
		"outputs": [{"referenceName": "lake_parquet", "type": "DatasetReference", "parameters": {"folder": "slow", "file": "orders.parquet"}}],
		"typeProperties": {"source": {"type": "PostgreSqlV2Source", "query": "SELECT slowly(id) AS id, customer, amount FROM orders"},
			"sink": {"type": "ParquetSink"}}}]}}`)
	f.ok("data-factory", "pipeline", "create", "--file", "slow_copy.json")
	id := strings.TrimSpace(f.ok("data-factory", "pipeline", "create-run", "--name", "slow_copy", "--query", "runId", "-o", "tsv").out)
	dir := filepath.Join(f.lake, "curated", "slow")
	waitFor(t, "the Copy to write", 60*time.Second, func() bool {
		return f.activityRuns(id)["CopySlowly"].Status == "InProgress" && len(listFiles(t, dir)) > 0
	})
	time.Sleep(time.Second)
	during := listFiles(t, dir)
	_, pid := f.server()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the server to die", 10*time.Second, func() bool { return !alive(pid) })
	left := listFiles(t, dir)
	t.Logf("sink folder while copying: %v; after the kill: %v", during, left)
	for _, n := range append(during, left...) {
		if n == "orders.parquet" || !strings.HasPrefix(n, ".") {
			t.Errorf("a visible file %q at the sink before the Copy finished", n)
		}
	}

	// The next server (any command starts it) records the run Failed.
	if r := f.factoryRun(id); r.Status != "Failed" {
		t.Fatalf("the killed run after the restart: %+v", r)
	}
	f.sql("UPDATE knob SET delay = 0")
	re := strings.TrimSpace(f.ok("data-factory", "pipeline-run", "rerun", "--run-id", id, "--from-failure", "--query", "runId", "-o", "tsv").out)
	waitFor(t, "the rerun", 60*time.Second, func() bool {
		s := f.factoryRun(re).Status
		return s != "Queued" && s != "InProgress"
	})
	if r := f.factoryRun(re); r.Status != "Succeeded" {
		t.Fatalf("the rerun: %+v\n%s", r, f.activityDump(re))
	}
	// pyarrow reads the folder as a data set (hidden files skipped): the
	// whole table, once.
	if rows := parquetRows(t, dir); len(rows) != 12000 {
		t.Errorf("the sink folder holds %d rows after the rerun; want 12000", len(rows))
	}
	t.Logf("sink folder after the rerun: %v", listFiles(t, dir))
}
