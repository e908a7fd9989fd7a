package sqldb

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/store"
)

func TestJobLeases(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ciel.db")
	s := openTest(t, path)
	ctx := t.Context()
	if err := s.CreateWorkspace(ctx, store.Workspace{Name: "ws"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	live, ended := now.Add(time.Minute), now.Add(-time.Second)
	for _, j := range []store.Job{
		{Name: "a-live", Status: "Running", Owner: "a", LeaseUntil: &live},
		{Name: "a-ended", Status: "Running", Owner: "a", LeaseUntil: &ended},
		{Name: "none", Status: "Queued"}, // from a server alone: no lease
		{Name: "done", Status: "Completed", Owner: "a", LeaseUntil: &ended},
	} {
		j.Workspace = "ws"
		if err := s.CreateJob(ctx, j, nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetJob(ctx, "ws", "a-live")
	if err != nil || got.Owner != "a" || got.LeaseUntil == nil || got.LeaseUntil.UnixNano() != live.UnixNano() {
		t.Fatalf("a-live: %+v, %v", got, err)
	}

	claimed, err := s.ClaimJobs(ctx, "b", false, now, now.Add(time.Minute), 10)
	if err != nil {
		t.Fatal(err)
	}
	if names := jobNames(claimed); fmt.Sprint(names) != "[a-ended none]" {
		t.Fatalf("b claimed %v, want the unfinished jobs whose lease ended: [a-ended none]", names)
	}
	for _, j := range claimed {
		if j.Owner != "b" {
			t.Errorf("%s: owner %q after the claim", j.Name, j.Owner)
		}
	}
	// a renews: it keeps a-live only; b holds the two it claimed.
	if held, err := s.RenewLeases(ctx, "a", now.Add(2*time.Minute)); err != nil || fmt.Sprint(jobNames(held)) != "[a-live]" {
		t.Fatalf("a renewed %v, %v; want [a-live]", jobNames(held), err)
	}
	if held, err := s.RenewLeases(ctx, "b", now.Add(2*time.Minute)); err != nil || len(held) != 2 {
		t.Fatalf("b renewed %v, %v; want 2 jobs", jobNames(held), err)
	}
	// Nothing is left to claim until a lease ends; then a cancel asked
	// meanwhile comes with the renewal.
	if again, err := s.ClaimJobs(ctx, "c", false, now, now.Add(time.Minute), 10); err != nil || len(again) != 0 {
		t.Fatalf("c claimed %v, %v; want none", jobNames(again), err)
	}
	// A server starting again takes its own back at once.
	if mine, err := s.ClaimJobs(ctx, "a", true, now, now.Add(3*time.Minute), 10); err != nil || fmt.Sprint(jobNames(mine)) != "[a-live]" {
		t.Fatalf("a took back %v, %v; want [a-live]", jobNames(mine), err)
	}
	got.CancelRequested = true
	if err := s.UpdateJob(ctx, got); err != nil {
		t.Fatal(err)
	}
	held, err := s.RenewLeases(ctx, "a", now.Add(3*time.Minute))
	if err != nil || len(held) != 1 || !held[0].CancelRequested || held[0].Owner != "a" {
		t.Fatalf("a renewed %+v, %v; want a-live with its cancel and owner kept by UpdateJob", held, err)
	}
}

// TestJobLeasesRace has servers claim at once: every job is claimed once.
func TestJobLeasesRace(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ciel.db")
	first := openTest(t, path)
	ctx := t.Context()
	if err := first.CreateWorkspace(ctx, store.Workspace{Name: "ws"}); err != nil {
		t.Fatal(err)
	}
	const jobs, servers = 60, 4
	for i := range jobs {
		if err := first.CreateJob(ctx, store.Job{Workspace: "ws", Name: fmt.Sprintf("j%02d", i), Status: "Queued"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	stores := []*Store{first}
	for range servers - 1 {
		stores = append(stores, openTest(t, path))
	}
	var (
		mu    sync.Mutex
		owner = map[string]string{}
		wg    sync.WaitGroup
	)
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			me := fmt.Sprintf("server%d", i)
			for {
				got, err := s.ClaimJobs(ctx, me, false, time.Now(), time.Now().Add(time.Hour), 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, j := range got {
					if was, ok := owner[j.Name]; ok {
						t.Errorf("%s claimed by %s and %s", j.Name, was, me)
					}
					owner[j.Name] = me
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(owner) != jobs {
		t.Fatalf("%d of %d jobs claimed", len(owner), jobs)
	}
}

func jobNames(js []store.Job) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.Name
	}
	return out
}
