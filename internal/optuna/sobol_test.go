package optuna

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// venvPython is the repository's test environment (scripts/setup.sh), which
// has scipy through scikit-learn.
func venvPython(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", ".venv", "bin", "python"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no test environment: %v (scripts/setup.sh builds it)", err)
		}
		t.Skipf("no test environment: %v (run scripts/setup.sh)", err)
	}
	return p
}

func TestSobol(t *testing.T) {
	t.Parallel()
	py := venvPython(t)
	points, err := Sobol(t.Context(), py, 2, 16, 42)
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 16 {
		t.Fatalf("%d points", len(points))
	}
	// A Sobol sequence of 2^m points puts exactly one in each of the 2^m
	// equal slices of every axis; independent draws almost never do.
	for dim := range 2 {
		seen := make([]int, 16)
		for _, p := range points {
			if len(p) != 2 || p[dim] < 0 || p[dim] >= 1 {
				t.Fatalf("point %v", p)
			}
			seen[int(p[dim]*16)]++
		}
		for cell, n := range seen {
			if n != 1 {
				t.Fatalf("axis %d: slice %d holds %d points: %v", dim, cell, n, points)
			}
		}
	}
	again, err := Sobol(t.Context(), py, 2, 16, 42)
	if err != nil || !reflect.DeepEqual(again, points) {
		t.Fatalf("same seed, other points (%v)", err)
	}
	other, err := Sobol(t.Context(), py, 2, 16, 43)
	if err != nil || reflect.DeepEqual(other, points) {
		t.Fatalf("another seed, same points (%v)", err)
	}
	if _, err := Sobol(t.Context(), py, 0, 4, 1); err == nil {
		t.Error("0 dimensions accepted")
	}
}
