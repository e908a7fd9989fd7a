package engine

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestStepSlots(t *testing.T) {
	t.Parallel()
	par := func(workers, perInstance int) *PlanStep {
		return &PlanStep{Parallel: &ParallelConfig{Workers: workers, WorkersPerInstance: perInstance}}
	}
	tests := []struct {
		name     string
		ps       *PlanStep
		capacity int
		want     int
	}{
		{"command step", &PlanStep{}, 4, 1},
		{"parallel, 2 instances x 2 workers", par(4, 2), 4, 2},
		{"parallel, 3 instances x 1 worker", par(3, 1), 8, 3},
		{"parallel wider than the compute", par(8, 1), 2, 2},
		{"parallel on a compute of 1", par(4, 2), 1, 1},
	}
	for _, tt := range tests {
		if got := stepSlots(tt.ps, tt.capacity); got != tt.want {
			t.Errorf("%s: %d slots, want %d", tt.name, got, tt.want)
		}
	}
}

// Steps that need several slots gather them one at a time: two of them and
// a one-slot step on a compute of two all finish, none runs beside another
// when together they would need more than two slots, and a canceled wait
// leaves no slot taken.
func TestTakeSlots(t *testing.T) {
	t.Parallel()
	e := &Engine{gathering: make(chan struct{}, 1)}
	sem := make(chan struct{}, 2)
	var mu sync.Mutex
	held, most := 0, 0
	run := func(n int) {
		if !e.takeSlots(context.Background(), sem, n) {
			t.Error("takeSlots without cancel failed")
			return
		}
		mu.Lock()
		held += n
		most = max(most, held)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		held -= n
		mu.Unlock()
		for range n {
			<-sem
		}
	}
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() { run(2) })
		wg.Go(func() { run(1) })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("steps taking several slots deadlocked")
	}
	if most != 2 {
		t.Fatalf("at most %d slots held at once; the two-slot steps never ran", most)
	}

	sem <- struct{}{} // one slot busy: a two-slot step must wait
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if e.takeSlots(ctx, sem, 2) {
		t.Fatal("took two slots of a compute with one free")
	}
	if len(sem) != 1 {
		t.Fatalf("a canceled wait left %d slots taken, want the 1 busy before", len(sem))
	}
}
