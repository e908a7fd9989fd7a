package authlimit

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func request(addr string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = addr
	return r
}

// step is one thing a client does, at an offset from the start.
type step struct {
	at     time.Duration
	client string
	fail   bool          // record a failure (after the check)
	ok     bool          // the check's answer
	wait   time.Duration // its retryAfter when refused
}

func TestLimiter(t *testing.T) {
	const a, b = "192.0.2.1:1000", "192.0.2.2:1000"
	tests := []struct {
		name  string
		steps []step
	}{
		{"burst then refused", []step{
			{0, a, true, true, 0}, {0, a, true, true, 0}, {0, a, true, true, 0},
			{0, a, false, false, time.Minute},
		}},
		{"same host, other port", []step{
			{0, a, true, true, 0}, {0, a, true, true, 0}, {0, a, true, true, 0},
			{0, "192.0.2.1:2000", false, false, time.Minute},
		}},
		{"other client unaffected", []step{
			{0, a, true, true, 0}, {0, a, true, true, 0}, {0, a, true, true, 0},
			{0, b, false, true, 0},
		}},
		{"one attempt a window", []step{
			{0, a, true, true, 0}, {0, a, true, true, 0}, {0, a, true, true, 0},
			{30 * time.Second, a, false, false, 30 * time.Second},
			{time.Minute, a, true, true, 0},
			{time.Minute, a, false, false, time.Minute},
		}},
		{"refills to the burst, no further", []step{
			{0, a, true, true, 0},
			{time.Hour, a, true, true, 0}, {time.Hour, a, true, true, 0}, {time.Hour, a, true, true, 0},
			{time.Hour, a, false, false, time.Minute},
		}},
		{"no failures, no limit", []step{
			{0, a, false, true, 0}, {0, a, false, true, 0}, {0, a, false, true, 0}, {0, a, false, true, 0},
		}},
		{"IPv6 by its /64", []step{
			{0, "[2001:db8::1]:1", true, true, 0}, {0, "[2001:db8::2]:1", true, true, 0}, {0, "[2001:db8::ffff:1]:1", true, true, 0},
			{0, "[2001:db8::3]:1", false, false, time.Minute},
			{0, "[2001:db8:0:1::1]:1", false, true, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			now := start
			l := New(Config{Burst: 3, Every: time.Minute, Now: func() time.Time { return now }})
			for i, s := range tt.steps {
				now = start.Add(s.at)
				r := request(s.client)
				wait, ok := l.Check(r)
				if ok != s.ok || wait != s.wait {
					t.Fatalf("step %d (%s at %v): Check = %v, %v; want %v, %v", i, s.client, s.at, wait, ok, s.wait, s.ok)
				}
				if s.fail {
					l.Fail(r)
				}
			}
		})
	}
}

// TestLimiterBoundsClients: beyond MaxClients, new addresses share one
// bucket (so many addresses neither grow memory nor escape the limit),
// and clients whose buckets refilled are forgotten to make room.
func TestLimiterBoundsClients(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := New(Config{Burst: 2, Every: time.Minute, MaxClients: 4, Now: func() time.Time { return now }})
	for i := range 4 {
		l.Fail(request(fmt.Sprintf("192.0.2.%d:1", i)))
	}
	// The table is full: two new addresses share the overflow bucket.
	l.Fail(request("198.51.100.1:1"))
	l.Fail(request("198.51.100.2:1"))
	if _, ok := l.Check(request("198.51.100.3:1")); ok {
		t.Error("a third new address was not limited by the shared bucket")
	}
	if len(l.clients) > 5 {
		t.Errorf("%d buckets, want at most 5", len(l.clients))
	}
	// Once the buckets refill, their clients are forgotten and a new
	// address has one of its own.
	now = now.Add(2 * time.Minute)
	l.Fail(request("198.51.100.9:1"))
	if _, ok := l.clients["198.51.100.9"]; !ok {
		t.Errorf("a new address got no bucket of its own after the others refilled: %v", l.clients)
	}
}

func TestNilLimiterLimitsNothing(t *testing.T) {
	var l *Limiter
	l.Fail(request("192.0.2.1:1"))
	if _, ok := l.Check(request("192.0.2.1:1")); !ok {
		t.Error("nil limiter refused")
	}
}

// FuzzClientKey: any RemoteAddr gives a key without panicking, and
// addresses of one IPv4 host share it whatever the port.
func FuzzClientKey(f *testing.F) {
	for _, s := range []string{"192.0.2.1:80", "[2001:db8::1]:443", "", "garbage", "[::1]", "1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		r := request(addr)
		_ = clientKey(r)
		r.RemoteAddr = "192.0.2.7:1"
		k1 := clientKey(r)
		r.RemoteAddr = "192.0.2.7:2"
		if clientKey(r) != k1 {
			t.Fatal("ports split a host")
		}
	})
}
