package serving

import (
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/spec"
)

func testPools(names ...string) map[string]*pool {
	m := newMetricsRegistry()
	out := map[string]*pool{}
	for _, n := range names {
		out[n] = newPool("ep", n, m.get("ep", n))
	}
	return out
}

func TestRouteSplitIsExactPerHundred(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		traffic map[string]int
		want    map[string]int // per 100 requests
	}{
		{"all to one", map[string]int{"blue": 100}, map[string]int{"blue": 100}},
		{"ninety ten", map[string]int{"blue": 90, "green": 10}, map[string]int{"blue": 90, "green": 10}},
		{"three ways", map[string]int{"a": 33, "b": 33, "c": 34}, map[string]int{"a": 33, "b": 33, "c": 34}},
		{"zero share", map[string]int{"blue": 100, "green": 0}, map[string]int{"blue": 100}},
		{"one percent", map[string]int{"blue": 99, "green": 1}, map[string]int{"blue": 99, "green": 1}},
		{"no traffic", map[string]int{}, map[string]int{"": 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := newRouteTable(tt.traffic, nil, testPools("a", "b", "c", "blue", "green"))
			for start := uint64(1); start < 1000; start += 337 { // any window of 100
				got := map[string]int{}
				for n := start; n < start+100; n++ {
					name := ""
					if p := rt.pick(n); p != nil {
						name = p.name
					}
					got[name]++
				}
				for k, v := range tt.want {
					if got[k] != v {
						t.Fatalf("window at %d: %s got %d of 100, want %d (all: %v)", start, k, got[k], v, got)
					}
				}
			}
		})
	}
}

func TestRouteSplitIsSpread(t *testing.T) {
	t.Parallel()
	rt := newRouteTable(map[string]int{"blue": 90, "green": 10}, nil, testPools("blue", "green"))
	run := 0
	for n := uint64(1); n <= 100; n++ {
		if rt.pick(n).name == "green" {
			if run++; run > 1 {
				t.Fatalf("green got requests %d in a row: a 10%% share should be spread", run)
			}
		} else {
			run = 0
		}
	}
}

func TestMirrorShare(t *testing.T) {
	t.Parallel()
	rt := newRouteTable(map[string]int{"blue": 100}, map[string]int{"green": 10}, testPools("blue", "green"))
	copies := 0
	for n := uint64(1); n <= 1000; n++ {
		rt.mirrors(n, func(p *pool) {
			if p.name != "green" {
				t.Fatalf("mirrored to %s", p.name)
			}
			copies++
		})
	}
	if copies != 100 {
		t.Fatalf("mirrored %d of 1000, want 100", copies)
	}
}

func TestCheckTraffic(t *testing.T) {
	t.Parallel()
	exists := func(d string) bool { return d == "blue" || d == "green" }
	tests := []struct {
		name            string
		traffic, mirror map[string]int
		want            string // "" for valid
	}{
		{"valid", map[string]int{"blue": 90, "green": 10}, nil, ""},
		{"all zero", map[string]int{"blue": 0}, nil, ""},
		{"empty", nil, nil, ""},
		{"mirror", map[string]int{"blue": 100}, map[string]int{"green": 20}, ""},
		{"sum short", map[string]int{"blue": 80, "green": 10}, nil, "adds up to 90"},
		{"negative", map[string]int{"blue": -10, "green": 110}, nil, "expected a percent"},
		{"unknown", map[string]int{"red": 100}, nil, "does not have"},
		{"mirror too much", map[string]int{"blue": 100}, map[string]int{"green": 60}, "expected a percent from 0 to 50"},
		{"mirror live", map[string]int{"blue": 50, "green": 50}, map[string]int{"green": 10}, "gets live traffic"},
		{"mirror unknown", map[string]int{"blue": 100}, map[string]int{"red": 10}, "does not have"},
	}
	for _, tt := range tests {
		err := checkTraffic(tt.traffic, tt.mirror, exists)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

func TestAuthCheck(t *testing.T) {
	t.Parallel()
	now := time.Now()
	keyed := &auth{mode: spec.AuthKey, keys: [2][]byte{[]byte("primary"), []byte("secondary")}}
	secret := []byte("s3cret")
	tokened := &auth{mode: spec.AuthAMLToken, tokenSecret: secret}
	good := signToken(secret, "ep", now.Add(time.Hour))
	tests := []struct {
		name   string
		a      *auth
		header string
		want   bool
	}{
		{"primary key", keyed, "Bearer primary", true},
		{"secondary key", keyed, "Bearer secondary", true},
		{"lower-case scheme", keyed, "bearer primary", true},
		{"wrong key", keyed, "Bearer nope", false},
		{"no header", keyed, "", false},
		{"empty key", &auth{mode: spec.AuthKey}, "Bearer ", false},
		{"basic scheme", keyed, "Basic primary", false},
		{"token", tokened, "Bearer " + good, true},
		{"key on a token endpoint", tokened, "Bearer primary", false},
		{"token of another endpoint", tokened, "Bearer " + signToken(secret, "other", now.Add(time.Hour)), false},
		{"expired token", tokened, "Bearer " + signToken(secret, "ep", now.Add(-time.Second)), false},
		{"token signed elsewhere", tokened, "Bearer " + signToken([]byte("x"), "ep", now.Add(time.Hour)), false},
		{"tampered token", tokened, "Bearer " + strings.Replace(good, good[:3], "eyJ", 1) + "x", false},
		{"token on a key endpoint", keyed, "Bearer " + good, false},
	}
	for _, tt := range tests {
		if got := tt.a.check(tt.header, "ep", now); got != tt.want {
			t.Errorf("%s: check = %v, want %v", tt.name, got, tt.want)
		}
	}
}
