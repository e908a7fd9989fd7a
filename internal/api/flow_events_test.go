package api

import (
	"context"
	"errors"
	"testing"

	"github.com/ciel-mlops/ciel/internal/changefeed"
	"github.com/ciel-mlops/ciel/internal/cicd"
	"github.com/ciel-mlops/ciel/internal/dataflow/run"
)

// fakeCICDStore and fakeRunStore answer every write with err (nil:
// success); the feed stores embed them, so only the writes they wrap are
// called.
type fakeCICDStore struct {
	cicd.Store
	err error
}

func (f fakeCICDStore) CreateRun(_ context.Context, r cicd.Run) (cicd.Run, error) {
	r.ID = 7
	return r, f.err
}
func (f fakeCICDStore) UpdateRun(context.Context, cicd.Run) error { return f.err }

type fakeRunStore struct {
	run.Store
	err error
}

func (f fakeRunStore) CreatePipelineRun(context.Context, run.PipelineRun) error { return f.err }
func (f fakeRunStore) UpdatePipelineRun(context.Context, run.PipelineRun) error { return f.err }
func (f fakeRunStore) PutActivityRun(context.Context, run.ActivityRun) error    { return f.err }

// TestFeedStoresTellChanges: each write of a run the CI/CD and Data
// Factory stores make tells the feed which run changed, and a failed
// write tells nothing.
func TestFeedStoresTellChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	failed := errors.New("disk full")
	writes := []struct {
		name  string
		id    string
		write func(err error, feed *changefeed.Feed) error
	}{
		{"ci create", "ci/7", func(err error, f *changefeed.Feed) error {
			_, e := cicdFeedStore{Store: fakeCICDStore{err: err}, feed: f}.CreateRun(ctx, cicd.Run{Workspace: "ws"})
			return e
		}},
		{"ci update", "ci/7", func(err error, f *changefeed.Feed) error {
			return cicdFeedStore{Store: fakeCICDStore{err: err}, feed: f}.UpdateRun(ctx, cicd.Run{Workspace: "ws", ID: 7})
		}},
		{"df create", "df/r1", func(err error, f *changefeed.Feed) error {
			return factoryFeedStore{Store: fakeRunStore{err: err}, feed: f}.CreatePipelineRun(ctx, run.PipelineRun{Workspace: "ws", RunID: "r1"})
		}},
		{"df update", "df/r1", func(err error, f *changefeed.Feed) error {
			return factoryFeedStore{Store: fakeRunStore{err: err}, feed: f}.UpdatePipelineRun(ctx, run.PipelineRun{Workspace: "ws", RunID: "r1"})
		}},
		{"df activity", "df/r1", func(err error, f *changefeed.Feed) error {
			return factoryFeedStore{Store: fakeRunStore{err: err}, feed: f}.PutActivityRun(ctx, run.ActivityRun{Workspace: "ws", PipelineRunID: "r1"})
		}},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			for _, err := range []error{nil, failed} {
				feed := changefeed.New()
				sub, other := feed.Subscribe("ws", w.id), feed.Subscribe("ws", w.id+"x")
				if got := w.write(err, feed); !errors.Is(got, err) {
					t.Fatalf("write returned %v, want %v", got, err)
				}
				told := false
				select {
				case <-sub.C():
					told = true
				default:
				}
				if told != (err == nil) {
					t.Errorf("write with error %v: feed told = %v", err, told)
				}
				select {
				case <-other.C():
					t.Errorf("the change of %s was told to %sx's subscriber", w.id, w.id)
				default:
				}
				sub.Close()
				other.Close()
			}
		})
	}
}
