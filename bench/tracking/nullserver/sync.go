package main

import (
	"fmt"
	"os"
	"syscall"
)

// ringSize is the preallocated size of the sync file. Writes go round it,
// so a sync never has to record a larger file (as SQLite's WAL, rewritten
// from its start after each checkpoint, mostly does not).
const ringSize = 16 << 20

// syncLog is the group commit of the durable floor.
type syncLog struct {
	f    *os.File
	off  int64
	reqs chan syncReq
}

type syncReq struct {
	body []byte
	done chan error
}

func openSyncLog(path string) (*syncLog, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sync file: %w", err)
	}
	zero := make([]byte, 1<<20)
	for i := 0; i < ringSize/len(zero); i++ {
		if _, err := f.Write(zero); err != nil {
			return nil, fmt.Errorf("preallocate sync file: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("sync file: %w", err)
	}
	return &syncLog{f: f, reqs: make(chan syncReq, 1024)}, nil
}

// write returns once body is on disk.
func (l *syncLog) write(body []byte) error {
	done := make(chan error, 1)
	l.reqs <- syncReq{body, done}
	return <-done
}

// loop writes each group of waiting bodies and syncs once for all of them.
func (l *syncLog) loop() {
	for first := range l.reqs {
		batch := []syncReq{first}
	drain:
		for {
			select {
			case r := <-l.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		var err error
		for _, r := range batch {
			if l.off+int64(len(r.body)) > ringSize {
				l.off = 0
			}
			if _, werr := l.f.WriteAt(r.body, l.off); werr != nil && err == nil {
				err = werr
			}
			l.off += int64(len(r.body))
		}
		if err == nil {
			err = syscall.Fdatasync(int(l.f.Fd()))
		}
		for _, r := range batch {
			r.done <- err
		}
	}
}
