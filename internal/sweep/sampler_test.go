package sweep

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestRandomDeterministic(t *testing.T) {
	t.Parallel()
	space := SearchSpace{
		"lr":     LogUniform{MinValue: -6, MaxValue: -1},
		"layers": RandInt{Upper: 5},
		"opt":    Choice{Values: []any{"adam", "sgd"}},
	}
	a, err := Random{Seed: 42}.Sample(space, 10)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Random{Seed: 42}.Sample(space, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("same seed gave different configurations:\n%v\n%v", a, b)
	}
	c, err := Random{Seed: 43}.Sample(space, 10)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a, c) {
		t.Error("different seeds gave the same configurations")
	}
	for _, cfg := range a {
		if len(cfg) != 3 {
			t.Errorf("config %v lacks parameters", cfg)
		}
	}
}

func TestRandomSample(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		space   SearchSpace
		n       int
		wantLen int
		wantErr string
	}{
		{"zero trials", SearchSpace{"x": RandInt{Upper: 2}}, 0, 0, ""},
		{"some trials", SearchSpace{"x": RandInt{Upper: 2}}, 7, 7, ""},
		{"negative", SearchSpace{"x": RandInt{Upper: 2}}, -1, 0, "negative"},
		{"invalid space", SearchSpace{"x": Uniform{MinValue: 1, MaxValue: 0}}, 3, 0, "search_space.x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Random{Seed: 1}.Sample(tt.space, tt.n)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.wantLen {
				t.Errorf("len = %d, want %d", len(got), tt.wantLen)
			}
		})
	}
}

func TestGridSample(t *testing.T) {
	t.Parallel()
	space := SearchSpace{
		"b": Choice{Values: []any{1, 2}},
		"a": Choice{Values: []any{"x", "y", "z"}},
	}
	all := []Config{
		{"a": "x", "b": 1}, {"a": "x", "b": 2},
		{"a": "y", "b": 1}, {"a": "y", "b": 2},
		{"a": "z", "b": 1}, {"a": "z", "b": 2},
	}
	tests := []struct {
		name    string
		space   SearchSpace
		n       int
		want    []Config
		wantErr error
		param   string
	}{
		{"all", space, 0, all, nil, ""},
		{"more than grid", space, 100, all, nil, ""},
		{"first three", space, 3, all[:3], nil, ""},
		{"single", SearchSpace{"k": Choice{Values: []any{0.1}}}, 0, []Config{{"k": 0.1}}, nil, ""},
		{"empty space", SearchSpace{}, 0, []Config{}, nil, ""},
		{"non choice", SearchSpace{"a": Choice{Values: []any{1}}, "lr": Uniform{MinValue: 0, MaxValue: 1}}, 0, nil, ErrGridNeedsChoice, "lr"},
		{"invalid choice", SearchSpace{"c": Choice{}}, 0, nil, ErrInvalidDistribution, "c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Grid{}.Sample(tt.space, tt.n)
			if tt.wantErr != nil {
				var pe *ParamError
				if !errors.Is(err, tt.wantErr) || !errors.As(err, &pe) || pe.Param != tt.param {
					t.Fatalf("err = %v, want %v naming %q", err, tt.wantErr, tt.param)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Sample() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGridTooLarge(t *testing.T) {
	t.Parallel()
	values := make([]any, 1<<16)
	space := SearchSpace{}
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		space[name] = Choice{Values: values}
	}
	if _, err := (Grid{}).Sample(space, 1); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("err = %v, want grid size error", err)
	}
}
