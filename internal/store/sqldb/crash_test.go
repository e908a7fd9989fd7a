package sqldb

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/store"
)

// crashDBEnv names the database TestHelperWriter writes to; when it is unset
// TestHelperWriter is skipped, so it runs only as TestCrashDurability's child.
const crashDBEnv = "CIEL_SQLITE_CRASH_DB"

const (
	crashWriters = 8   // goroutines writing steps in the child
	crashAcks    = 300 // acknowledgements to see before the kill
)

// TestHelperWriter is the child process of TestCrashDurability. It writes
// steps (and asset versions) in a loop from several goroutines and prints
// "ack <what> <n>" after each write Open's store has acknowledged, until it
// is killed or a minute has passed.
func TestHelperWriter(t *testing.T) {
	path := os.Getenv(crashDBEnv)
	if path == "" {
		t.Skip("helper process for TestCrashDurability")
	}
	s, err := Open(context.Background(), childConfig(path))
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "write:", err)
		os.Exit(2)
	}
	var wg sync.WaitGroup
	for g := range crashWriters {
		wg.Go(func() {
			name := crashStep(g)
			for n := 1; ctx.Err() == nil; n++ {
				if err := s.UpdateSteps(ctx, store.Step{Workspace: "ws", Job: "crash", Name: name,
					Status: "Running", Attempt: n}); err != nil {
					fail(err)
				}
				fmt.Printf("ack %s %d\n", name, n) // one write(2): lines never interleave
			}
		})
	}
	wg.Go(func() {
		for n := 1; ctx.Err() == nil; n++ {
			v := strconv.Itoa(n)
			if err := s.PutAsset(ctx, store.Asset{Workspace: "ws", Kind: store.KindData, Name: "d", Version: v,
				Spec: json.RawMessage(`{"n":` + v + `}`)}, false); err != nil {
				fail(err)
			}
			fmt.Printf("ack asset %d\n", n)
		}
	})
	wg.Wait()
}

func crashStep(g int) string { return fmt.Sprintf("s%02d", g) }

// TestCrashDurability kills a writing process with SIGKILL and checks that
// every write it acknowledged is in the database afterwards.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "crash.db")
	s, err := Open(t.Context(), testConfig(t, path))
	if err != nil {
		t.Fatal(err)
	}
	steps := make([]store.Step, crashWriters)
	for g := range steps {
		steps[g] = store.Step{Name: crashStep(g), Status: "NotStarted"}
	}
	if err := s.CreateWorkspace(t.Context(), store.Workspace{Name: "ws"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateJob(t.Context(), store.Job{Workspace: "ws", Name: "crash", Status: "Running"}, steps); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	acked, total := runCrashChild(t, path)
	if total < crashAcks {
		t.Fatalf("child acknowledged only %d writes", total)
	}
	t.Logf("child acknowledged %d writes before SIGKILL", total)

	s = openTest(t, path)
	got, err := s.ListSteps(t.Context(), "ws", "crash")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range got {
		if st.Attempt < acked[st.Name] {
			t.Errorf("step %s: attempt %d stored, %d acknowledged", st.Name, st.Attempt, acked[st.Name])
		}
	}
	for n := 1; n <= acked["asset"]; n++ {
		v := strconv.Itoa(n)
		a, err := s.GetAsset(t.Context(), "ws", store.KindData, "d", v)
		if err != nil {
			t.Errorf("acknowledged asset version %s: %v", v, err)
		} else if string(a.Spec) != `{"n":`+v+`}` {
			t.Errorf("asset version %s: spec %s", v, a.Spec)
		}
	}
}

// runCrashChild runs TestHelperWriter against path, kills it with SIGKILL
// after crashAcks acknowledgements, and returns the highest acknowledged
// number for each writer and how many acknowledgements it read in all.
func runCrashChild(t *testing.T, path string) (acked map[string]int, total int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDBEnv+"="+where(testConfig(t, path)))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Never hang on a child that stopped acknowledging.
	watchdog := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()

	acked = map[string]int{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		// Lines written before the kill are still in the pipe: read them
		// all, they were acknowledged too.
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "ack" {
			continue
		}
		n, err := strconv.Atoi(f[2])
		if err != nil {
			t.Fatalf("bad ack line %q", sc.Text())
		}
		acked[f[1]] = max(acked[f[1]], n)
		if total++; total == crashAcks {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred code, no Close
				t.Fatal(err)
			}
		}
	}
	err = cmd.Wait()
	if total >= crashAcks && !strings.Contains(fmt.Sprint(err), "killed") {
		t.Errorf("child did not die by the kill: %v\n%s", err, stderr.Bytes())
	}
	if total < crashAcks {
		t.Logf("child stderr:\n%s", stderr.Bytes())
	}
	return acked, total
}
