package sqldb

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/tracking/trackingtest"
)

func TestTrackingStore(t *testing.T) {
	t.Parallel()
	trackingtest.Run(t, func(t *testing.T) trackingtest.Harness {
		s := openTest(t, filepath.Join(t.TempDir(), "ciel.db"))
		var n atomic.Int32
		return trackingtest.Harness{Store: s, NewWorkspace: func(t *testing.T) string {
			name := fmt.Sprintf("ws%d", n.Add(1))
			if err := s.CreateWorkspace(context.Background(), store.Workspace{Name: name}); err != nil {
				t.Fatal(err)
			}
			return name
		}}
	})
}
