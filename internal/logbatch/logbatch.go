// Package logbatch writes a server's log lines in batches: a line is
// appended to a buffer and the buffer goes to the file at most every
// Interval, so a busy path (the scoring listener logs every request) costs
// no write system call per line. Warnings and errors are written at once,
// with whatever came before them, so what explains a failure is on disk
// when the failure is.
package logbatch

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Interval is how long a line may wait in the buffer.
const Interval = 50 * time.Millisecond

// maxBuffered is where a Write flushes by itself rather than grow further.
const maxBuffered = 256 << 10

// Writer batches whole writes (each slog record is one) to w. It never
// splits a write across two flushes, so lines stay whole however several
// processes append to the same file.
type Writer struct {
	w    io.Writer
	mu   sync.Mutex
	buf  []byte
	err  error
	done chan struct{}
	wg   sync.WaitGroup
}

// New starts a Writer over w; Close stops it and flushes.
func New(w io.Writer) *Writer {
	b := &Writer{w: w, done: make(chan struct{})}
	b.wg.Add(1)
	go b.loop()
	return b
}

// Write buffers p, writing the buffer out first when it is full.
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf)+len(p) > maxBuffered {
		b.flushLocked()
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// Flush writes what is buffered now. It returns the first write error the
// Writer met, if any.
func (b *Writer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
	return b.err
}

func (b *Writer) flushLocked() {
	if len(b.buf) == 0 {
		return
	}
	if _, err := b.w.Write(b.buf); err != nil && b.err == nil {
		b.err = err
	}
	b.buf = b.buf[:0]
}

func (b *Writer) loop() {
	defer b.wg.Done()
	t := time.NewTicker(Interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = b.Flush()
		case <-b.done:
			return
		}
	}
}

// Close stops the background flushes and writes what is left.
func (b *Writer) Close() error {
	select {
	case <-b.done:
	default:
		close(b.done)
	}
	b.wg.Wait()
	return b.Flush()
}

// Handler wraps a handler that writes to a Writer, flushing the Writer
// after every record at Warn or above.
type Handler struct {
	slog.Handler
	W *Writer
}

// Handle implements slog.Handler.
func (h Handler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := h.W.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

// WithAttrs implements slog.Handler.
func (h Handler) WithAttrs(as []slog.Attr) slog.Handler {
	return Handler{Handler: h.Handler.WithAttrs(as), W: h.W}
}

// WithGroup implements slog.Handler.
func (h Handler) WithGroup(name string) slog.Handler {
	return Handler{Handler: h.Handler.WithGroup(name), W: h.W}
}
