package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// BenchmarkWidePipeline runs 500 independent `true` steps on a compute of
// concurrency 2, the shape bench/overhead measures end to end.
func BenchmarkWidePipeline(b *testing.B) {
	e, tb := setupB(b)
	ctx := context.Background()
	tb.localCompute(b, "two", 2)
	var y strings.Builder
	y.WriteString("type: pipeline\nsettings: {default_compute: two, force_rerun: true}\njobs:\n")
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&y, "  s%d: {type: command, command: 'true'}\n", i)
	}
	job, err := spec.ParseJob("bench.yml", []byte(y.String()), spec.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j, err := e.Submit(ctx, "ws", job)
		if err != nil {
			b.Fatal(err)
		}
		e.Wait("ws", j.Name)
	}
}

// localCompute adds a local compute of workspace "ws" running n steps at once.
func (tb *testBundle) localCompute(t testing.TB, name string, n int) {
	t.Helper()
	c, _ := json.Marshal(spec.Compute{Name: name, Type: "local", MaxConcurrency: n})
	a := store.Asset{Workspace: "ws", Kind: store.KindCompute, Name: name, Spec: c, CreatedAt: time.Now()}
	if err := tb.st.PutAsset(context.Background(), a, true); err != nil {
		t.Fatal(err)
	}
}
