package sqldb

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/tracking"
)

// refRun is what the reference search knows of a run.
type refRun struct {
	id      string
	start   int64
	deleted bool
	metrics map[string]float64 // NaN kept as NaN
	params  map[string]string
	tags    map[string]string
}

// keysetFixture makes n runs with random values drawn from small sets (so
// values, NaNs, missing keys and start times tie often) in a new
// experiment of ws, some of them deleted, plus runs with the same keys in
// another experiment and another workspace that no search of it may
// return.
func keysetFixture(t *testing.T, s *Store, n int) (string, []refRun) {
	ctx := context.Background()
	for _, ws := range []string{"ws", "other"} {
		if err := s.CreateWorkspace(ctx, store.Workspace{Name: ws}); err != nil {
			t.Fatal(err)
		}
	}
	exp, err := s.CreateExperiment(ctx, "ws", tracking.Experiment{Name: "keyset"})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	metricVals := []float64{-1, 0, 0.5, 2, math.Inf(1), math.Inf(-1), math.NaN()}
	var runs []refRun
	for i := range n + 40 {
		ws, e := "ws", exp.ID
		switch {
		case i >= n+20:
			ws, e = "other", "0"
		case i >= n:
			e = "0"
		}
		r := refRun{id: fmt.Sprintf("%032x", rng.Uint64()), start: int64(rng.IntN(n / 4)),
			metrics: map[string]float64{}, params: map[string]string{}, tags: map[string]string{}}
		var b tracking.Batch
		for _, k := range []string{"x", "m"} {
			if rng.IntN(5) > 0 {
				v := metricVals[rng.IntN(len(metricVals))]
				r.metrics[k] = v
				// An older value first: the latest one is what searches see.
				b.Metrics = append(b.Metrics, tracking.Metric{Key: k, Value: 99, Step: 0},
					tracking.Metric{Key: k, Value: v, Step: 1})
			}
		}
		if rng.IntN(6) > 0 {
			r.params["p"] = []string{"a", "b", "B", "c", ""}[rng.IntN(5)]
			b.Params = append(b.Params, tracking.Param{Key: "p", Value: r.params["p"]})
		}
		var tags []tracking.Tag
		if rng.IntN(4) > 0 {
			r.tags["t"] = []string{"x", "y", "z"}[rng.IntN(3)]
			tags = append(tags, tracking.Tag{Key: "t", Value: r.tags["t"]})
		}
		if _, err := s.CreateRun(ctx, ws, tracking.RunInfo{RunID: r.id, ExperimentID: e, Status: tracking.StatusRunning,
			StartTime: r.start}, tags); err != nil {
			t.Fatal(err)
		}
		if err := s.LogBatch(ctx, ws, r.id, b); err != nil {
			t.Fatal(err)
		}
		if rng.IntN(10) == 0 {
			r.deleted = true
			if err := s.SetRunStage(ctx, ws, r.id, tracking.StageDeleted); err != nil {
				t.Fatal(err)
			}
		}
		if ws == "ws" && e == exp.ID {
			runs = append(runs, r)
		}
	}
	return exp.ID, runs
}

// refOrder is MLflow's order of runs by one key: runs with a value by it,
// then (metrics) NaN, then runs without it; ties by start_time DESC, then
// run_id.
func refOrder(o tracking.OrderBy) func(a, b refRun) int {
	seg := func(r refRun) (int, float64, string) {
		switch o.Kind {
		case tracking.KindMetric:
			v, ok := r.metrics[o.Key]
			switch {
			case !ok:
				return 2, 0, ""
			case math.IsNaN(v):
				return 1, 0, ""
			}
			return 0, v, ""
		case tracking.KindParam, tracking.KindTag:
			m := r.params
			if o.Kind == tracking.KindTag {
				m = r.tags
			}
			v, ok := m[o.Key]
			if !ok {
				return 2, 0, ""
			}
			return 0, 0, v
		}
		return 0, 0, ""
	}
	return func(a, b refRun) int {
		sa, fa, ta := seg(a)
		sb, fb, tb := seg(b)
		c := cmp.Compare(sa, sb)
		if c == 0 && o.Kind != tracking.KindAttribute {
			c = cmp.Or(cmp.Compare(fa, fb), cmp.Compare(ta, tb))
			if !o.Asc {
				c = -c
			}
		}
		if c == 0 && o.Kind == tracking.KindAttribute && o.Asc {
			c = cmp.Compare(a.start, b.start)
		}
		return cmp.Or(c, cmp.Compare(b.start, a.start), cmp.Compare(a.id, b.id))
	}
}

// TestSearchByKeyMatchesReference compares every order a search can be
// keyset-paged in, under several filters and views, with a brute-force
// search over the same runs: the whole answer and the same answer read
// page by page through cursors; with filters both read in the sort key's
// order and started from a selective clause.
func TestSearchByKeyMatchesReference(t *testing.T) {
	t.Parallel()
	for _, noDrive := range []bool{false, true} {
		t.Run(fmt.Sprintf("noDrive=%v", noDrive), func(t *testing.T) {
			t.Parallel()
			s := openTest(t, filepath.Join(t.TempDir(), "ciel.db"))
			s.noDrive = noDrive
			checkSearchByKey(t, s)
		})
	}
}

func checkSearchByKey(t *testing.T, s *Store) {
	exp, runs := keysetFixture(t, s, 300)
	metricIs := func(k string, ok func(float64) bool) func(refRun) bool {
		return func(r refRun) bool { v, has := r.metrics[k]; return has && !math.IsNaN(v) && ok(v) }
	}
	filters := []struct {
		filter string
		keep   func(refRun) bool
	}{
		{"", func(refRun) bool { return true }},
		{"params.p = 'b'", func(r refRun) bool { v, ok := r.params["p"]; return ok && v == "b" }},
		{"metrics.m > 0", metricIs("m", func(v float64) bool { return v > 0 })},
		{"tags.t != 'x' AND metrics.x <= 2", func(r refRun) bool {
			v, ok := r.tags["t"]
			return ok && v != "x" && metricIs("x", func(v float64) bool { return v <= 2 })(r)
		}},
		{"params.p IS NULL", func(r refRun) bool { _, ok := r.params["p"]; return !ok }},
	}
	var orders [][]tracking.OrderBy
	orders = append(orders, nil, []tracking.OrderBy{{Kind: tracking.KindAttribute, Key: "start_time", Asc: true}})
	for _, kind := range []string{tracking.KindMetric, tracking.KindParam, tracking.KindTag} {
		key := map[string]string{tracking.KindMetric: "x", tracking.KindParam: "p", tracking.KindTag: "t"}[kind]
		for _, asc := range []bool{true, false} {
			orders = append(orders, []tracking.OrderBy{{Kind: kind, Key: key, Asc: asc}})
		}
	}
	views := map[string]func(refRun) bool{
		tracking.ViewActiveOnly:  func(r refRun) bool { return !r.deleted },
		tracking.ViewDeletedOnly: func(r refRun) bool { return r.deleted },
		tracking.ViewAll:         func(refRun) bool { return true },
	}
	ctx := context.Background()
	for _, f := range filters {
		clauses, err := tracking.ParseRunFilter(f.filter)
		if err != nil {
			t.Fatal(err)
		}
		for _, order := range orders {
			for view, inView := range views {
				o := tracking.OrderBy{Kind: tracking.KindAttribute, Key: "start_time"}
				if len(order) == 1 {
					o = order[0]
				}
				var want []string
				sorted := slices.Clone(runs)
				slices.SortFunc(sorted, refOrder(o))
				for _, r := range sorted {
					if inView(r) && f.keep(r) {
						want = append(want, r.id)
					}
				}
				name := fmt.Sprintf("filter %q order %v view %s", f.filter, order, view)
				q := tracking.RunQuery{ExperimentIDs: []string{exp}, Filter: clauses, OrderBy: order, ViewType: view,
					Page: tracking.Page{Limit: 1000}}
				all, err := s.SearchRuns(ctx, "ws", q)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got := trackingRunIDs(all); !slices.Equal(got, want) {
					t.Errorf("%s:\n got %v\nwant %v", name, got, want)
					continue
				}
				for _, size := range []int{1, 7, 50} {
					if got := pageThrough(t, s, q, size); !slices.Equal(got, want) {
						t.Errorf("%s, pages of %d:\n got %v\nwant %v", name, size, got, want)
					}
				}
			}
		}
	}
}

// pageThrough reads every page of q, size runs at a time, each after the
// cursor of the page before.
func pageThrough(t *testing.T, s *Store, q tracking.RunQuery, size int) []string {
	q.Limit = size
	var got []string
	for range 1000 {
		page, err := s.SearchRuns(context.Background(), "ws", q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, trackingRunIDs(page)...)
		if len(page) < size {
			return got
		}
		c := q.CursorAt(page[len(page)-1])
		q.After = &c
	}
	t.Fatal("paging did not end")
	return nil
}

func trackingRunIDs(runs []tracking.Run) []string {
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.Info.RunID)
	}
	return ids
}

// TestSearchIndexMigration turns a database back into what it was before
// migration 0017 (no scope columns, no search indexes), runs the migration
// on reopening, and checks that it filled every row's scope from its run
// and that searches by key answer as before.
func TestSearchIndexMigration(t *testing.T) {
	t.Parallel()
	sqliteOnly(t) // replays SQLite's migration 0017
	path := filepath.Join(t.TempDir(), "ciel.db")
	s := openTest(t, path)
	exp, runs := keysetFixture(t, s, 60)
	q := tracking.RunQuery{ExperimentIDs: []string{exp}, OrderBy: []tracking.OrderBy{{Kind: tracking.KindMetric, Key: "x"}},
		ViewType: tracking.ViewAll, Page: tracking.Page{Limit: 1000}}
	before, err := s.SearchRuns(context.Background(), "ws", q)
	if err != nil || len(before) != len(runs) {
		t.Fatalf("search before: %d runs, %v", len(before), err)
	}
	// Back to before 0017: its and every later migration undone.
	undo := []string{`DELETE FROM schema_migrations WHERE version >= 17`,
		`ALTER TABLE jobs DROP COLUMN owner`, `ALTER TABLE jobs DROP COLUMN lease_until`, // 0019
		`DROP TABLE replicas`, `ALTER TABLE cicd_runs DROP COLUMN owner`, `ALTER TABLE dataflow_pipeline_runs DROP COLUMN owner`, // 0020
		`ALTER TABLE steps DROP COLUMN log`} // 0021 (the replicas table's address goes with it)
	for _, table := range []string{"latest_metrics", "run_params", "run_tags"} {
		undo = append(undo, `DROP INDEX `+table+`_asc`, `DROP INDEX IF EXISTS `+table+`_desc`)
		for _, col := range []string{"workspace", "experiment_id", "start_time"} {
			undo = append(undo, `ALTER TABLE `+table+` DROP COLUMN `+col)
		}
	}
	for _, stmt := range undo {
		if _, err := s.wdb.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, path)
	for _, table := range []string{"latest_metrics", "run_params", "run_tags"} {
		var rows, wrong int
		err := s.rdb.QueryRow(`SELECT COUNT(*), COALESCE(SUM(x.workspace IS NOT r.workspace OR x.experiment_id IS NOT r.experiment_id
			OR x.start_time IS NOT r.start_time), 0) FROM `+table+` x JOIN runs r ON r.run_id = x.run_id`).Scan(&rows, &wrong)
		if err != nil {
			t.Fatal(err)
		}
		if rows == 0 || wrong != 0 {
			t.Errorf("%s: %d of %d rows without their run's scope after the migration", table, wrong, rows)
		}
	}
	after, err := s.SearchRuns(context.Background(), "ws", q)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(trackingRunIDs(after), trackingRunIDs(before)) {
		t.Errorf("search after the migration:\n got %v\nwant %v", trackingRunIDs(after), trackingRunIDs(before))
	}
}
