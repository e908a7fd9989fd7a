package sweep

import (
	"math"
	"strings"
	"testing"
)

func TestQuantile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		d    Quantile
		u    float64
		want any
	}{
		{"choice first cell", Choice{Values: []any{"a", "b", "c"}}, 0.1, "a"},
		{"choice middle cell", Choice{Values: []any{"a", "b", "c"}}, 0.5, "b"},
		{"choice at 1", Choice{Values: []any{"a", "b", "c"}}, 1, "c"},
		{"randint", RandInt{Upper: 4}, 0.99, 3},
		{"randint at 0", RandInt{Upper: 4}, 0, 0},
		{"uniform", Uniform{MinValue: 2, MaxValue: 10}, 0.25, 4.0},
		{"loguniform", LogUniform{MinValue: 0, MaxValue: 2}, 0.5, math.E},
		{"normal median", Normal{Mu: 3, Sigma: 2}, 0.5, 3.0},
		{"normal 97.5%", Normal{Mu: 0, Sigma: 1}, 0.975, 1.959963984540054},
		{"lognormal median", LogNormal{Mu: 1, Sigma: 5}, 0.5, math.E},
		{"quniform", QUniform{MinValue: 0, MaxValue: 10, Q: 3}, 0.5, 6.0},
		{"qloguniform", QLogUniform{MinValue: 0, MaxValue: 2, Q: 1}, 0.5, 3.0},
		{"qnormal", QNormal{Mu: 10, Sigma: 4, Q: 5}, 0.5, 10.0},
		{"qlognormal", QLogNormal{Mu: 0, Sigma: 1, Q: 2}, 0.5, 2.0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.d.Quantile(tt.u)
			if f, ok := tt.want.(float64); ok {
				if g, ok := got.(float64); !ok || math.Abs(g-f) > 1e-9 {
					t.Fatalf("Quantile(%g) = %v, want %g", tt.u, got, f)
				}
				return
			}
			if got != tt.want {
				t.Fatalf("Quantile(%g) = %v, want %v", tt.u, got, tt.want)
			}
		})
	}
}

func TestQuantileNormalEndsAreFinite(t *testing.T) {
	t.Parallel()
	for _, u := range []float64{0, 1} {
		if v := (Normal{Mu: 0, Sigma: 1}).Quantile(u).(float64); math.IsInf(v, 0) || math.IsNaN(v) {
			t.Errorf("Quantile(%g) = %g", u, v)
		}
	}
}

func TestFromUnit(t *testing.T) {
	t.Parallel()
	space := SearchSpace{"lr": Uniform{MinValue: 0, MaxValue: 1}, "depth": RandInt{Upper: 10}}
	// Coordinates are in name order: depth, then lr.
	configs, err := FromUnit(space, [][]float64{{0.05, 0.5}, {0.95, 0.25}})
	if err != nil {
		t.Fatal(err)
	}
	if configs[0]["depth"] != 0 || configs[0]["lr"] != 0.5 || configs[1]["depth"] != 9 || configs[1]["lr"] != 0.25 {
		t.Fatalf("configs %v", configs)
	}
	for _, bad := range []struct {
		points [][]float64
		want   string
	}{
		{[][]float64{{0.5}}, "1 coordinates for 2 parameters"},
		{[][]float64{{0.5, 1.5}}, "coordinate 1.5 of lr is outside [0, 1]"},
		{[][]float64{{math.NaN(), 0.5}}, "of depth is outside"},
	} {
		if _, err := FromUnit(space, bad.points); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("FromUnit(%v) = %v, want %q", bad.points, err, bad.want)
		}
	}
	if _, err := FromUnit(SearchSpace{"x": Uniform{MinValue: 1, MaxValue: 0}}, [][]float64{{0.5}}); err == nil {
		t.Error("an invalid space was mapped")
	}
}
