package sweep

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestDistributionValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		d    Distribution
		want string // substring of the error; "" means valid
	}{
		{"choice", Choice{Values: []any{1, "a"}}, ""},
		{"choice empty", Choice{}, "at least one value"},
		{"randint", RandInt{Upper: 3}, ""},
		{"randint zero", RandInt{Upper: 0}, "upper 0 must be greater than 0"},
		{"uniform", Uniform{MinValue: 0, MaxValue: 1}, ""},
		{"uniform inverted", Uniform{MinValue: 2, MaxValue: 1}, "min_value 2 must be less than max_value 1"},
		{"uniform equal", Uniform{MinValue: 1, MaxValue: 1}, "must be less than"},
		{"uniform nan", Uniform{MinValue: math.NaN(), MaxValue: 1}, "finite"},
		{"loguniform inverted", LogUniform{MinValue: 0, MaxValue: -3}, "loguniform min_value"},
		{"normal", Normal{Mu: 0, Sigma: 1}, ""},
		{"normal sigma zero", Normal{Sigma: 0}, "sigma 0 must be greater than 0"},
		{"lognormal sigma negative", LogNormal{Sigma: -1}, "lognormal sigma -1"},
		{"quniform", QUniform{MinValue: 0, MaxValue: 10, Q: 2}, ""},
		{"quniform q zero", QUniform{MinValue: 0, MaxValue: 10}, "quniform q 0 must be greater than 0"},
		{"qloguniform q negative", QLogUniform{MinValue: 0, MaxValue: 1, Q: -1}, "q -1"},
		{"qnormal bad sigma", QNormal{Sigma: 0, Q: 1}, "qnormal sigma"},
		{"qlognormal bad q", QLogNormal{Sigma: 1, Q: 0}, "qlognormal q"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := SearchSpace{"lr": tt.d}.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want error containing %q", tt.want)
			}
			var pe *ParamError
			if !errors.As(err, &pe) || pe.Param != "lr" {
				t.Errorf("error %v does not name parameter lr", err)
			}
			if !errors.Is(err, ErrInvalidDistribution) {
				t.Errorf("error %v does not wrap ErrInvalidDistribution", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "search_space.lr: ") {
				t.Errorf("error %q, want prefix search_space.lr: and %q", err, tt.want)
			}
		})
	}
}

func TestSearchSpaceValidateNamesEveryBadParameter(t *testing.T) {
	t.Parallel()
	err := SearchSpace{
		"b":  Uniform{MinValue: 1, MaxValue: 0},
		"a":  Choice{},
		"ok": RandInt{Upper: 2},
		"z":  nil,
	}.Validate()
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	got := err.Error()
	for _, want := range []string{"search_space.a:", "search_space.b:", "search_space.z: "} {
		if !strings.Contains(got, want) {
			t.Errorf("error %q lacks %q", got, want)
		}
	}
	if strings.Index(got, "search_space.a") > strings.Index(got, "search_space.b") {
		t.Errorf("errors not in name order: %q", got)
	}
	if strings.Contains(got, "search_space.ok") {
		t.Errorf("valid parameter reported: %q", got)
	}
}

func TestDistributionSample(t *testing.T) {
	t.Parallel()
	isMultiple := func(v, q float64) bool {
		k := v / q
		return math.Abs(k-math.Round(k)) < 1e-9
	}
	tests := []struct {
		name  string
		d     Distribution
		check func(v any) bool
	}{
		{"choice", Choice{Values: []any{"a", 2, true}}, func(v any) bool { return v == "a" || v == 2 || v == true }},
		{"randint", RandInt{Upper: 3}, func(v any) bool { i, ok := v.(int); return ok && i >= 0 && i < 3 }},
		{"uniform", Uniform{MinValue: -1, MaxValue: 1}, func(v any) bool { f := v.(float64); return f >= -1 && f <= 1 }},
		{"loguniform", LogUniform{MinValue: -3, MaxValue: 0}, func(v any) bool {
			f := v.(float64)
			return f >= math.Exp(-3) && f <= 1
		}},
		{"normal", Normal{Mu: 100, Sigma: 1}, func(v any) bool { f := v.(float64); return f > 90 && f < 110 }},
		{"lognormal", LogNormal{Mu: 0, Sigma: 1}, func(v any) bool { return v.(float64) > 0 }},
		{"quniform", QUniform{MinValue: 0, MaxValue: 10, Q: 2.5}, func(v any) bool {
			f := v.(float64)
			return f >= 0 && f <= 10 && isMultiple(f, 2.5)
		}},
		{"qloguniform", QLogUniform{MinValue: 0, MaxValue: 4, Q: 1}, func(v any) bool {
			f := v.(float64)
			return f >= 1 && f <= math.Round(math.Exp(4)) && isMultiple(f, 1)
		}},
		{"qnormal", QNormal{Mu: 0, Sigma: 10, Q: 3}, func(v any) bool { return isMultiple(v.(float64), 3) }},
		{"qlognormal", QLogNormal{Mu: 2, Sigma: 0.5, Q: 0.5}, func(v any) bool {
			f := v.(float64)
			return f >= 0 && isMultiple(f, 0.5)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(1, 2))
			for range 500 {
				if v := tt.d.Sample(r); !tt.check(v) {
					t.Fatalf("Sample() = %v (%T), out of the distribution's support", v, v)
				}
			}
		})
	}
}

func TestLogUniformIsExpOfUniform(t *testing.T) {
	t.Parallel()
	r1 := rand.New(rand.NewPCG(7, 7))
	r2 := rand.New(rand.NewPCG(7, 7))
	u := Uniform{MinValue: -5, MaxValue: -1}
	l := LogUniform{MinValue: -5, MaxValue: -1}
	for range 20 {
		want := math.Exp(u.Sample(r1).(float64))
		if got := l.Sample(r2).(float64); math.Abs(got-want) > 1e-12 {
			t.Fatalf("loguniform = %v, want exp(uniform) = %v", got, want)
		}
	}
}
