// Package enginetest builds a real engine for tests: a SQLite store, a
// local blob store, environments, the local executor and a datastore
// service over folders, all under one temporary home with a workspace
// "ws". Packages that drive the engine (engine's own tests, Data
// Factory's ML jobs) set up from it rather than each keeping a copy.
package enginetest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/blob"
	bloblocal "github.com/ciel-mlops/ciel/internal/blob/local"
	"github.com/ciel-mlops/ciel/internal/compute/local"
	"github.com/ciel-mlops/ciel/internal/datastore"
	"github.com/ciel-mlops/ciel/internal/datastore/folder"
	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/envs"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/store/sqldb"
)

// Stack is an engine and what it runs on.
type Stack struct {
	Home   string
	Store  store.Store
	Blobs  blob.Store
	Data   *datastore.Service
	Engine *engine.Engine
}

// New builds a Stack in a temporary home, closed when the test ends.
func New(t testing.TB) *Stack {
	t.Helper()
	return NewWith(t, nil)
}

// NewWith is New with the engine's Config changed by adjust (when not nil)
// before the engine is made: a test's own remote executors, say.
func NewWith(t testing.TB, adjust func(*engine.Config)) *Stack {
	t.Helper()
	ctx := context.Background()
	home := t.TempDir()
	st, err := sqldb.Open(ctx, sqldb.Config{Path: filepath.Join(home, "ciel.db")})
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := bloblocal.Open(bloblocal.Config{Dir: filepath.Join(home, "blobs")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := envs.New(envs.Config{Dir: filepath.Join(home, "envs")})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateWorkspace(ctx, store.Workspace{Name: "ws", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	data := datastore.New(datastore.Config{Store: st, Blobs: blobs, DefaultRoot: filepath.Join(home, "datastores"), Home: home,
		Open: func(ds datastore.Datastore) (datastore.Backend, error) { return folder.New(ds.Path) }})
	cfg := engine.Config{Home: home, Store: st, Blobs: blobs, Envs: b, Executor: local.Executor{}, Data: data}
	if adjust != nil {
		adjust(&cfg)
	}
	e := engine.New(cfg)
	t.Cleanup(func() {
		e.Close()
		st.Close()
	})
	return &Stack{Home: home, Store: st, Blobs: blobs, Data: data, Engine: e}
}
