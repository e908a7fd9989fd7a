package serving

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// maxLogSize is the size at which a deployment's log is rotated to .1.
const maxLogSize = 16 << 20

// logSink is a deployment's log file: what its workers print, prefixed by
// instance, and what ciel did (environment builds, restarts). It is what
// `ciel online-deployment get-logs` reads. Safe for concurrent use.
type logSink struct {
	path string
	// w, when set, takes the lines instead of a file: a pod's output.
	w    io.Writer
	mu   sync.Mutex
	f    *os.File
	size int64
	// subs are told (without blocking) that the log grew.
	subs map[chan struct{}]struct{}
}

// openLog opens (appending) the log at path, rotating it when large.
func openLog(path string) (*logSink, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open deployment log: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > maxLogSize {
		_ = os.Rename(path, path+".1")
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open deployment log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open deployment log: %w", err)
	}
	return &logSink{path: path, f: f, size: fi.Size()}, nil
}

// write appends whole lines.
func (s *logSink) write(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w != nil {
		_, _ = s.w.Write(b)
		return
	}
	if s.f == nil {
		return
	}
	n, _ := s.f.Write(b)
	s.size += int64(n)
	if s.size > 2*maxLogSize {
		// A chatty model: start over rather than fill the disk.
		_ = s.f.Truncate(0)
		s.size = 0
	}
	for c := range s.subs {
		select {
		case c <- struct{}{}:
		default: // already told
		}
	}
}

// subscribe returns a channel that receives a value after writes to the
// log (several writes may share one), and a function that ends it.
func (s *logSink) subscribe() (<-chan struct{}, func()) {
	c := make(chan struct{}, 1)
	s.mu.Lock()
	if s.subs == nil {
		s.subs = map[chan struct{}]struct{}{}
	}
	s.subs[c] = struct{}{}
	s.mu.Unlock()
	return c, func() {
		s.mu.Lock()
		delete(s.subs, c)
		s.mu.Unlock()
	}
}

// printf appends one timestamped line.
func (s *logSink) printf(format string, args ...any) {
	line := time.Now().UTC().Format(time.RFC3339) + " " + fmt.Sprintf(format, args...)
	if line[len(line)-1] != '\n' {
		line += "\n"
	}
	s.write([]byte(line))
}

// writer returns a writer that prefixes each line with prefix.
func (s *logSink) writer(prefix string) io.Writer {
	return &lineWriter{sink: s, prefix: []byte(prefix)}
}

// close closes the file; later writes are dropped.
func (s *logSink) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// lineWriter buffers a partial line until its newline. One per process
// stream; exec copies each stream from its own goroutine.
type lineWriter struct {
	sink    *logSink
	prefix  []byte
	mu      sync.Mutex
	partial []byte
}

// Write appends the complete lines of b to the log, keeping a partial
// last line for the next call.
func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(b)
	var out []byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			w.partial = append(w.partial, b...)
			if len(w.partial) > 64<<10 { // a line without end: cut it
				out = append(append(append(out, w.prefix...), w.partial...), '\n')
				w.partial = w.partial[:0]
			}
			break
		}
		out = append(out, w.prefix...)
		out = append(out, w.partial...)
		out = append(out, b[:i+1]...)
		w.partial = w.partial[:0]
		b = b[i+1:]
	}
	if len(out) > 0 {
		w.sink.write(out)
	}
	return n, nil
}

// tailFile returns the last n lines of the file at path ("" when it does
// not exist).
func tailFile(path string, n int) (string, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	return tailAt(f, fi.Size(), n)
}

// tailAt returns the last n lines of f's first size bytes.
func tailAt(f io.ReaderAt, size int64, n int) (string, error) {
	const chunk = 64 << 10
	var buf []byte
	for off := size; off > 0; {
		step := min(int64(chunk), off)
		off -= step
		b := make([]byte, step)
		if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
			return "", err
		}
		buf = append(b, buf...)
		if bytes.Count(buf, []byte{'\n'}) > n {
			break
		}
	}
	lines := bytes.SplitAfter(buf, []byte{'\n'})
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, nil)), nil
}
