package serving

import (
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// access is one scoring request as the access log records it.
type access struct {
	at                   time.Time
	id, endpoint, deploy string
	status               int
	code                 string
	instance             int
	took                 time.Duration
	bytes                int
	remote               string
}

// attrs are the record's attributes, in the line's order.
func (a *access) attrs() []slog.Attr {
	return []slog.Attr{
		slog.String("request_id", a.id), slog.String("endpoint", a.endpoint), slog.String("deployment", a.deploy),
		slog.Int("status", a.status), slog.String("error", a.code), slog.Int("instance", a.instance),
		slog.Float64("ms", a.ms()), slog.Int("bytes", a.bytes), slog.String("remote", a.remote),
	}
}

// ms is how long the request took, in milliseconds to the microsecond.
func (a *access) ms() float64 { return float64(a.took.Microseconds()) / 1000 }

// accessWriter writes access-log lines to w in slog's text format (what
// slog.NewTextHandler writes for the same record), formatted here: on the
// scoring path slog's generic record and handler cost more than the rest
// of the front end's own work together (BenchmarkAccessLine), and the
// access log is written once per request.
type accessWriter struct {
	w    io.Writer
	pool sync.Pool // *[]byte
}

func newAccessWriter(w io.Writer) *accessWriter {
	return &accessWriter{w: w, pool: sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}}
}

// write writes one line. w's errors are the log's, as with slog's handler:
// a request is answered whether or not its line could be written.
func (l *accessWriter) write(a *access) {
	bp := l.pool.Get().(*[]byte)
	b := appendAccess((*bp)[:0], a)
	_, _ = l.w.Write(b)
	*bp = b
	l.pool.Put(bp)
}

// appendAccess appends a's line to b.
func appendAccess(b []byte, a *access) []byte {
	b = append(b, "time="...)
	b = a.at.AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, " level=INFO msg=score request_id="...)
	b = appendValue(b, a.id)
	b = append(b, " endpoint="...)
	b = appendValue(b, a.endpoint)
	b = append(b, " deployment="...)
	b = appendValue(b, a.deploy)
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(a.status), 10)
	b = append(b, " error="...)
	b = appendValue(b, a.code)
	b = append(b, " instance="...)
	b = strconv.AppendInt(b, int64(a.instance), 10)
	b = append(b, " ms="...)
	b = strconv.AppendFloat(b, a.ms(), 'g', -1, 64)
	b = append(b, " bytes="...)
	b = strconv.AppendInt(b, int64(a.bytes), 10)
	b = append(b, " remote="...)
	b = appendValue(b, a.remote)
	return append(b, '\n')
}

// appendValue appends s bare when slog's text handler would, else quoted
// as it quotes: empty, or holding a space, '=', '"', a control or a
// non-ASCII byte (the last quoted a little more often than slog does, which
// reads the same).
func appendValue(b []byte, s string) []byte {
	if s == "" {
		return append(b, `""`...)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == '=' || c == '"' || c >= 0x7f {
			return strconv.AppendQuote(b, s)
		}
	}
	return append(b, s...)
}
