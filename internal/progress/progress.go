// Package progress shows how far a long transfer has got on a terminal: a
// byte counter redrawn in place at most ten times a second, and a closing
// line with the total. Where the output is not a terminal it stays silent,
// so logs and tests see only the commands' own output.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Meter counts bytes through a reader and redraws a status line.
type Meter struct {
	r     io.Reader
	w     io.Writer
	label string
	start time.Time

	mu    sync.Mutex
	n     int64
	drawn time.Time
	done  bool
}

// Reader wraps r so reads advance a meter labelled label on w. A nil w (or
// one that is not a terminal, see Terminal) gives a meter that draws
// nothing.
func Reader(r io.Reader, w io.Writer, label string) *Meter {
	return &Meter{r: r, w: w, label: label, start: time.Now()}
}

// Terminal returns os.Stderr when it is a terminal, nil otherwise.
func Terminal() io.Writer {
	fi, err := os.Stderr.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return os.Stderr
}

// Read implements io.Reader.
func (m *Meter) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	m.mu.Lock()
	m.n += int64(n)
	if m.w != nil && time.Since(m.drawn) >= 100*time.Millisecond {
		m.drawn = time.Now()
		fmt.Fprintf(m.w, "\r%s: %s", m.label, Bytes(m.n))
	}
	m.mu.Unlock()
	return n, err
}

// Done draws the closing line once.
func (m *Meter) Done() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.w == nil || m.done {
		return
	}
	m.done = true
	fmt.Fprintf(m.w, "\r%s: %s in %.1fs\n", m.label, Bytes(m.n), time.Since(m.start).Seconds())
}

// Count returns the bytes read so far.
func (m *Meter) Count() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n
}

// Bytes formats a byte count for people.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
