package sqldb

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ciel-mlops/ciel/internal/store"
)

const benchSteps = 500

// benchStore returns a store holding workspace "ws" with job "p" of
// benchSteps steps, and the steps' names.
func benchStore(b *testing.B) (*Store, []string) {
	b.Helper()
	s := openTest(b, filepath.Join(b.TempDir(), "bench.db"))
	ctx := context.Background()
	if err := s.CreateWorkspace(ctx, store.Workspace{Name: "ws"}); err != nil {
		b.Fatal(err)
	}
	names := make([]string, benchSteps)
	steps := make([]store.Step, benchSteps)
	for i := range steps {
		names[i] = fmt.Sprintf("step-%03d", i)
		steps[i] = store.Step{Name: names[i], Status: "NotStarted"}
	}
	if err := s.CreateJob(ctx, store.Job{Workspace: "ws", Name: "p", Status: "Running"}, steps); err != nil {
		b.Fatal(err)
	}
	return s, names
}

var benchStatuses = [...]string{"Queued", "Running", "Completed"}

func benchUpdate(ctx context.Context, s *Store, names []string, i int) error {
	return s.UpdateSteps(ctx, store.Step{Workspace: "ws", Job: "p", Name: names[i%len(names)],
		Status: benchStatuses[i%len(benchStatuses)], Attempt: 1, PID: 4242,
		Outputs: map[string]string{"model": "sha256:0123456789abcdef"}})
}

// BenchmarkUpdateStepsSerial is one caller changing one step at a time: one
// commit, one fsync, per operation.
func BenchmarkUpdateStepsSerial(b *testing.B) {
	s, names := benchStore(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if err := benchUpdate(ctx, s, names, i); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportBatching(b, s)
}

// BenchmarkUpdateStepsParallel is many step goroutines (16 per GOMAXPROCS)
// changing steps at once, as the engine does; group commit lets them share
// fsyncs.
func BenchmarkUpdateStepsParallel(b *testing.B) {
	s, names := benchStore(b)
	ctx := context.Background()
	var next atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := benchUpdate(ctx, s, names, int(next.Add(1))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportBatching(b, s)
}

// reportBatching reports how many writes shared each commit.
func reportBatching(b *testing.B, s *Store) {
	if c := s.w.commits.Load(); c > 0 {
		b.ReportMetric(float64(s.w.writes.Load())/float64(c), "writes/commit")
	}
}

// BenchmarkPipeline500 records what the engine records for a 500-step
// pipeline, three changes a step (Queued, Running, Completed), with `width`
// steps in flight at once; one op is the whole pipeline. A width of 1 is a
// chain, where nothing can share a commit.
func BenchmarkPipeline500(b *testing.B) {
	for _, width := range []int{1, 16, 500} {
		b.Run(fmt.Sprintf("width=%d", width), func(b *testing.B) {
			s, names := benchStore(b)
			ctx := context.Background()
			for b.Loop() {
				var next atomic.Int64
				var wg sync.WaitGroup
				for range width {
					wg.Go(func() {
						for i := int(next.Add(1)) - 1; i < len(names); i = int(next.Add(1)) - 1 {
							for _, status := range benchStatuses {
								if err := s.UpdateSteps(ctx, store.Step{Workspace: "ws", Job: "p",
									Name: names[i], Status: status, Attempt: 1}); err != nil {
									b.Error(err)
									return
								}
							}
						}
					})
				}
				wg.Wait()
			}
			reportBatching(b, s)
		})
	}
}
