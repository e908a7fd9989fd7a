package cicd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// DefaultParallel is the agent pool's size until it is set: how many jobs,
// of all runs together, run at once.
const DefaultParallel = 2

// maxParallel bounds the pool's size; each job is processes and a
// virtualenv.
const maxParallel = 64

// Pool is the agent pool's settings, kept in Dir/pool.json.
type Pool struct {
	Parallel int `json:"parallel"`
}

// agentPool hands out job slots; its size can change while jobs wait.
type agentPool struct {
	mu   sync.Mutex
	size int
	busy int
	wake chan struct{} // closed and replaced when a slot frees or the size changes
}

func newAgentPool(size int) *agentPool {
	return &agentPool{size: size, wake: make(chan struct{})}
}

// acquire waits for a slot; an error when ctx ends first.
func (p *agentPool) acquire(ctx context.Context) error {
	for {
		p.mu.Lock()
		if p.busy < p.size {
			p.busy++
			p.mu.Unlock()
			return nil
		}
		w := p.wake
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w:
		}
	}
}

// release frees a slot acquire handed out.
func (p *agentPool) release() {
	p.mu.Lock()
	p.busy--
	p.broadcast()
	p.mu.Unlock()
}

func (p *agentPool) resize(n int) {
	p.mu.Lock()
	p.size = n
	p.broadcast()
	p.mu.Unlock()
}

func (p *agentPool) broadcast() {
	close(p.wake)
	p.wake = make(chan struct{})
}

func (s *Service) poolPath() string { return filepath.Join(s.cfg.Dir, "pool.json") }

// loadPool reads Dir/pool.json; its absence means the defaults.
func loadPool(path string) (Pool, error) {
	p := Pool{Parallel: DefaultParallel}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("read the agent pool's settings: %w", err)
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return p, fmt.Errorf("read the agent pool's settings %s: %w", path, err)
	}
	if p.Parallel < 1 || p.Parallel > maxParallel {
		p.Parallel = DefaultParallel
	}
	return p, nil
}

// Pool returns the agent pool's settings.
func (s *Service) Pool() Pool {
	s.pool.mu.Lock()
	defer s.pool.mu.Unlock()
	return Pool{Parallel: s.pool.size}
}

// SetPool changes the agent pool's settings, durably; jobs waiting for a
// slot see the new size at once.
func (s *Service) SetPool(p Pool) (Pool, error) {
	if p.Parallel < 1 || p.Parallel > maxParallel {
		return s.Pool(), fmt.Errorf("%w: parallel %d: expected 1 to %d", ErrInvalid, p.Parallel, maxParallel)
	}
	data, err := json.Marshal(p)
	if err != nil {
		return s.Pool(), err
	}
	tmp := s.poolPath() + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return s.Pool(), fmt.Errorf("save the agent pool's settings: %w", err)
	}
	if err := os.Rename(tmp, s.poolPath()); err != nil {
		return s.Pool(), fmt.Errorf("save the agent pool's settings: %w", err)
	}
	s.pool.resize(p.Parallel)
	return p, nil
}
