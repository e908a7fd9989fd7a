package blob_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/ciel-mlops/ciel/internal/blob"
)

// memStore is a blob.Store in memory, without LocalPath, for tests that
// should not touch the disk or should exercise the streaming paths.
type memStore struct {
	mu    sync.Mutex
	blobs map[string][]byte
	limit int64 // the largest blob Put accepts; 0 means no limit
}

var _ blob.Store = (*memStore)(nil)

func newMemStore() *memStore { return &memStore{blobs: make(map[string][]byte)} }

func (m *memStore) Put(ctx context.Context, r io.Reader) (string, int64, error) {
	if m.limit > 0 {
		r = io.LimitReader(r, m.limit+1)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", 0, err
	}
	if m.limit > 0 && int64(len(b)) > m.limit {
		return "", 0, fmt.Errorf("blob over %d bytes", m.limit)
	}
	if err := ctx.Err(); err != nil {
		return "", 0, err
	}
	d := blob.Digest(b)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blobs[d] = b
	return d, int64(len(b)), nil
}

func (m *memStore) Open(ctx context.Context, d string) (io.ReadCloser, error) {
	if _, err := blob.ParseDigest(d); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[d]
	if !ok {
		return nil, fmt.Errorf("open blob %s: %w", d, blob.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m *memStore) Has(ctx context.Context, d string) (bool, error) {
	if _, err := blob.ParseDigest(d); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.blobs[d]
	return ok, nil
}

func (m *memStore) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.blobs)
}
