package logbatch

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the flusher and the test.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) String() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String(), s.writes
}

func TestBatchesInfoAndFlushesWarnings(t *testing.T) {
	out := &syncBuffer{}
	w := New(out)
	defer w.Close()
	log := slog.New(Handler{Handler: slog.NewTextHandler(w, nil), W: w})
	for i := range 100 {
		log.Info("score", "i", i)
	}
	if got, writes := out.String(); got != "" || writes != 0 {
		t.Fatalf("info lines written at once (%d writes): %q", writes, got)
	}
	log.Warn("worker died")
	got, writes := out.String()
	if writes != 1 || strings.Count(got, "\n") != 101 || !strings.HasSuffix(got, "msg=\"worker died\"\n") {
		t.Fatalf("after a warning: %d writes, %q", writes, got)
	}
	log.Info("later")
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if got, _ := out.String(); strings.Contains(got, "msg=later") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("an info line was not flushed by the ticker")
}

func TestCloseFlushesAndLinesStayWhole(t *testing.T) {
	out := &syncBuffer{}
	w := New(out)
	line := strings.Repeat("x", 1000) + "\n"
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				_, _ = w.Write([]byte(line))
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := out.String()
	if got != strings.Repeat(line, 800) {
		t.Fatalf("got %d bytes, want %d whole lines", len(got), 800)
	}
}
