package tracking_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/ciel-mlops/ciel/internal/tracking"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGoldenJSON pins the MLflow JSON of a run and an experiment as ciel
// answers them (the shapes the mlflow client parses). Run with -update to
// rewrite testdata/ after an intended change.
func TestGoldenJSON(t *testing.T) {
	t.Parallel()
	b := setup(t, "")
	ctx := context.Background()
	const id = "0123456789abcdef0123456789abcdef"
	if _, err := b.st.CreateRun(ctx, "ws", tracking.RunInfo{RunID: id, ExperimentID: "0", RunName: "golden",
		UserID: "ana", Status: tracking.StatusRunning, StartTime: 1700000000000},
		[]tracking.Tag{{Key: tracking.TagRunName, Value: "golden"}, {Key: "team", Value: "vision"}}); err != nil {
		t.Fatal(err)
	}
	if err := b.st.LogBatch(ctx, "ws", id, tracking.Batch{
		Params:  []tracking.Param{{Key: "lr", Value: "0.1"}},
		Metrics: []tracking.Metric{{Key: "loss", Value: 0.25, Timestamp: 1700000000100, Step: 3}, {Key: "nan", Value: math.NaN(), Timestamp: 1}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.st.LogInputs(ctx, "ws", id, []tracking.DatasetInput{{Tags: []tracking.Tag{{Key: tracking.TagDataContext, Value: "train"}},
		Dataset: tracking.Dataset{Name: "iris", Digest: "abc123", SourceType: "code", Source: "{}"}}}, nil); err != nil {
		t.Fatal(err)
	}
	end, finished := int64(1700000000200), tracking.StatusFinished
	if _, err := b.st.UpdateRun(ctx, "ws", id, tracking.RunUpdate{Status: &finished, EndTime: &end}); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"run.json": "runs/get?run_id=" + id,
	} {
		resp, err := http.Get(b.srv.URL + "/ws/ws/api/2.0/mlflow/" + path)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, raw, "", "  "); err != nil {
			t.Fatalf("%s: %v: %s", name, err, raw)
		}
		golden := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if !bytes.Equal(pretty.Bytes(), want) {
			t.Errorf("%s differs from %s:\n%s", path, golden, pretty.Bytes())
		}
	}
}
