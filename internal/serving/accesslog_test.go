package serving

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The front end's own access-log line is the line slog's text handler
// writes for the same record, so the server log reads the same whichever
// writes it.
func TestAccessLineMatchesSlog(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 6, 14, 8, 56, 123456789, time.FixedZone("CET", 3600))
	for _, a := range []access{
		{at: at, id: "0f8fad5b-d9cb-469f-a165-70867728950e", endpoint: "ep", deploy: "blue", status: 200, took: 4430 * time.Microsecond, bytes: 3, remote: "127.0.0.1:5555"},
		{at: at.UTC(), id: "req 42", endpoint: "ep", status: 401, code: "Unauthorized", instance: -1, took: 17 * time.Microsecond, bytes: 120, remote: "[::1]:80"},
		{at: at, id: `a="b"`, endpoint: "my-ep", deploy: "green", status: 503, code: "NoHealthyInstance", instance: -1, took: 2 * time.Second, remote: "10.0.0.1:1"},
		{at: at, id: "tab\there", endpoint: "ep", deploy: "d", status: 200, took: 0, remote: ""},
	} {
		var want bytes.Buffer
		rec := slog.NewRecord(a.at, slog.LevelInfo, "score", 0)
		rec.AddAttrs(a.attrs()...)
		if err := slog.NewTextHandler(&want, nil).Handle(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		if got := string(appendAccess(nil, &a)); got != want.String() {
			t.Errorf("line\n got %q\nwant %q", got, want.String())
		}
	}
}

// BenchmarkAccessLine compares one access-log line through slog's text
// handler with the front end's own formatting.
func BenchmarkAccessLine(b *testing.B) {
	a := access{at: time.Now(), id: "0f8fad5b-d9cb-469f-a165-70867728950e", endpoint: "ep", deploy: "blue",
		status: 200, took: 4430 * time.Microsecond, bytes: 3, remote: "127.0.0.1:5555"}
	b.Run("slog", func(b *testing.B) {
		h := slog.NewTextHandler(io.Discard, nil)
		b.ReportAllocs()
		for b.Loop() {
			rec := slog.NewRecord(a.at, slog.LevelInfo, "score", 0)
			rec.AddAttrs(a.attrs()...)
			_ = h.Handle(context.Background(), rec)
		}
	})
	b.Run("front-end", func(b *testing.B) {
		w := newAccessWriter(io.Discard)
		b.ReportAllocs()
		for b.Loop() {
			w.write(&a)
		}
	})
}

// readBody reads a declared, a chunked and an empty body whole, refuses one
// over maxRequestBody whether declared or sent, and fails a body shorter
// than its declared length.
func TestReadBody(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("a", 2<<20)
	tests := []struct {
		name    string
		body    io.Reader
		length  int64 // -1: chunked
		want    string
		tooBig  bool
		wantErr bool
	}{
		{"declared", strings.NewReader(`{"data":[[1]]}`), 14, `{"data":[[1]]}`, false, false},
		{"empty", strings.NewReader(""), 0, "", false, false},
		{"chunked", strings.NewReader("abc"), -1, "abc", false, false},
		{"declared over 1 MiB", strings.NewReader(big), int64(len(big)), big, false, false},
		{"declared over the limit", strings.NewReader("x"), maxRequestBody + 1, "", true, true},
		{"sent over the limit", io.LimitReader(zeros{}, maxRequestBody+1), -1, "", true, true},
		{"shorter than declared", strings.NewReader("ab"), 5, "", false, true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, "/endpoints/ep/score", tt.body)
		r.ContentLength = tt.length
		got, err := readBody(httptest.NewRecorder(), r)
		var mb *http.MaxBytesError
		switch {
		case tt.wantErr != (err != nil):
			t.Errorf("%s: err %v, want error %v", tt.name, err, tt.wantErr)
		case tt.tooBig != errors.As(err, &mb):
			t.Errorf("%s: err %v, want too big %v", tt.name, err, tt.tooBig)
		case err == nil && string(got) != tt.want:
			t.Errorf("%s: read %d bytes, want %d", tt.name, len(got), len(tt.want))
		}
	}
}

// zeros reads as endless zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
