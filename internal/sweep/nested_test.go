package sweep

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// optimizers is a conditional space: momentum only with sgd, beta only
// with adam, lr always.
func optimizers() SearchSpace {
	return SearchSpace{
		"lr": Uniform{MinValue: 0.01, MaxValue: 0.1},
		"optimizer": Choice{Values: []any{
			SearchSpace{"name": Choice{Values: []any{"sgd"}}, "momentum": Uniform{MinValue: 0.5, MaxValue: 0.9}},
			SearchSpace{"name": Choice{Values: []any{"adam"}}, "beta": QUniform{MinValue: 0.8, MaxValue: 0.99, Q: 0.01}},
		}},
	}
}

func TestRandomNested(t *testing.T) {
	t.Parallel()
	configs, err := Random{Seed: 3}.Sample(optimizers(), 200)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[any]int{}
	for _, c := range configs {
		seen[c["name"]]++
		var picked map[string]any
		if err := json.Unmarshal([]byte(c["optimizer"].(string)), &picked); err != nil {
			t.Fatalf("optimizer %q is not JSON: %v", c["optimizer"], err)
		}
		if picked["name"] != c["name"] {
			t.Errorf("optimizer %v does not match name %v", picked, c["name"])
		}
		_, hasM := c["momentum"]
		_, hasB := c["beta"]
		switch c["name"] {
		case "sgd":
			if !hasM || hasB || math.Abs(picked["momentum"].(float64)-c["momentum"].(float64)) > 1e-12 {
				t.Errorf("sgd trial %v", c)
			}
		case "adam":
			if hasM || !hasB {
				t.Errorf("adam trial %v", c)
			}
		default:
			t.Errorf("trial without a picked optimizer: %v", c)
		}
		if lr, ok := c["lr"].(float64); !ok || lr < 0.01 || lr > 0.1 {
			t.Errorf("lr %v", c["lr"])
		}
	}
	if seen["sgd"] < 50 || seen["adam"] < 50 {
		t.Errorf("branches picked %v times of 200", seen)
	}
	again, _ := Random{Seed: 3}.Sample(optimizers(), 200)
	if !reflect.DeepEqual(configs, again) {
		t.Error("the same seed drew a different nested sweep")
	}
}

func TestGridNested(t *testing.T) {
	t.Parallel()
	space := SearchSpace{
		"model": Choice{Values: []any{"linear", SearchSpace{"depth": Choice{Values: []any{1, 2}}}}},
		"x":     Choice{Values: []any{10, 20}},
	}
	got, err := Grid{}.Sample(space, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Config{
		{"model": "linear", "x": 10},
		{"model": "linear", "x": 20},
		{"model": `{"depth":1}`, "depth": 1, "x": 10},
		{"model": `{"depth":1}`, "depth": 1, "x": 20},
		{"model": `{"depth":2}`, "depth": 2, "x": 10},
		{"model": `{"depth":2}`, "depth": 2, "x": 20},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("grid\n got %v\nwant %v", got, want)
	}
	space["model"] = Choice{Values: []any{SearchSpace{"lr": Uniform{MinValue: 0, MaxValue: 1}}}}
	_, err = Grid{}.Sample(space, 0)
	var pe *ParamError
	if !errors.Is(err, ErrGridNeedsChoice) || !errors.As(err, &pe) || pe.Param != "model.values[0].lr" {
		t.Errorf("grid over a nested uniform: %v", err)
	}
}

func TestValidateNested(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		space SearchSpace
		want  string // "" means valid
	}{
		{"alternatives share names", optimizers(), ""},
		{"nested name clashes with a top-level one", SearchSpace{
			"a": Choice{Values: []any{SearchSpace{"b": Uniform{MinValue: 0, MaxValue: 1}}}},
			"b": Uniform{MinValue: 0, MaxValue: 1},
		}, `search_space.b: invalid distribution: b and a both give a trial "b"`},
		{"nested name is its choice's", SearchSpace{
			"a": Choice{Values: []any{SearchSpace{"a": Uniform{MinValue: 0, MaxValue: 1}}}},
		}, `values[0] gives "a" again`},
		{"bad nested distribution", SearchSpace{
			"model": Choice{Values: []any{"x", SearchSpace{"lr": Uniform{MinValue: 1, MaxValue: 0}}}},
		}, "search_space.model.values[1].lr: invalid distribution: uniform min_value 1"},
		{"empty mapping", SearchSpace{"model": Choice{Values: []any{SearchSpace{}}}}, "values[0] is an empty mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.space.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestNamesAndAlways(t *testing.T) {
	t.Parallel()
	s := optimizers()
	if got, want := s.Names(), []string{"beta", "lr", "momentum", "name", "optimizer"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	if got, want := s.Always(), map[string]bool{"lr": true, "name": true, "optimizer": true}; !reflect.DeepEqual(got, want) {
		t.Errorf("Always() = %v, want %v (name is in every value, momentum and beta in one)", got, want)
	}
	s["optimizer"] = Choice{Values: append(s["optimizer"].(Choice).Values, "none")}
	if got := s.Always(); got["name"] {
		t.Errorf("Always() = %v: a scalar value gives no name", got)
	}
	if !s.IsNested() || (SearchSpace{"x": Choice{Values: []any{1}}}).IsNested() {
		t.Error("IsNested")
	}
}

func TestFromUnitNested(t *testing.T) {
	t.Parallel()
	s := optimizers()
	if d := s.Dims(); d != 6 {
		t.Fatalf("Dims() = %d, want 6 (lr, optimizer, its two mappings' two each)", d)
	}
	// Coordinates: lr; optimizer; sgd's momentum, name; adam's beta, name.
	configs, err := FromUnit(s, [][]float64{{0.5, 0.9, 0.5, 0, 0.5, 0}, {0, 0.1, 0.5, 0, 0.5, 0}})
	if err != nil {
		t.Fatal(err)
	}
	if c := configs[0]; c["name"] != "adam" || c["beta"] != 0.9 || c["momentum"] != nil || math.Abs(c["lr"].(float64)-0.055) > 1e-12 {
		t.Errorf("adam point: %v", c)
	}
	if c := configs[1]; c["name"] != "sgd" || c["momentum"] != 0.7 || c["optimizer"] != `{"momentum":0.7,"name":"sgd"}` {
		t.Errorf("sgd point: %v", c)
	}
	if _, err := FromUnit(s, [][]float64{{0.5, 0.5}}); err == nil || !strings.Contains(err.Error(), "2 coordinates for 6") {
		t.Errorf("short point: %v", err)
	}
}

func TestGridNestedTooLarge(t *testing.T) {
	t.Parallel()
	values := make([]any, 300)
	for i := range values {
		values[i] = i
	}
	wide := Choice{Values: values}
	space := SearchSpace{"m": Choice{Values: []any{SearchSpace{"a": wide, "b": wide}}}}
	_, err := Grid{}.Sample(space, 1)
	if err == nil || !strings.Contains(err.Error(), "search_space.m.values[0]: the nested grid has more than 65536 points") {
		t.Fatalf("Sample() = %v", err)
	}
}
