package sweep

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Config is one trial's parameter values, keyed by search-space name.
type Config map[string]any

// Sampler draws trial configurations from a search space.
type Sampler interface {
	// Sample returns up to n configurations. It validates space first and
	// returns its error (wrapping *ParamError) when it is invalid.
	Sample(space SearchSpace, n int) ([]Config, error)
}

var (
	_ Sampler = Random{}
	_ Sampler = Grid{}
)

// ErrGridNeedsChoice is wrapped when a grid search meets a parameter that is
// not a choice: Azure ML's grid sampling only enumerates discrete values.
var ErrGridNeedsChoice = errors.New("grid sampling supports only choice")

func (s SearchSpace) names() []string {
	names := make([]string, 0, len(s))
	for name := range s {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Random is Azure ML's random sampling. The same Seed and search space give
// the same configurations: parameters are drawn in name order from one
// generator seeded by Seed.
type Random struct{ Seed int64 }

// Sample returns exactly n configurations (none when n is 0).
func (s Random) Sample(space SearchSpace, n int) ([]Config, error) {
	if n < 0 {
		return nil, fmt.Errorf("random sampling: trial count %d is negative", n)
	}
	if err := space.Validate(); err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(uint64(s.Seed), 0x5eed))
	names := space.names()
	configs := make([]Config, n)
	for i := range configs {
		c := make(Config, len(names))
		for _, name := range names {
			flatten(c, name, space[name].Sample(r))
		}
		configs[i] = c
	}
	return configs, nil
}

// Grid is Azure ML's grid sampling: the cartesian product of every choice,
// ordered with parameters in name order and the last name varying fastest.
// A nested mapping among a choice's values stands for every point of its
// own grid, in the same order.
type Grid struct{}

// Sample returns the first n configurations of the grid, or all of them when
// n <= 0 or the grid is smaller than n.
func (Grid) Sample(space SearchSpace, n int) ([]Config, error) {
	if err := space.Validate(); err != nil {
		return nil, err
	}
	names := space.names()
	choices := make([][]any, len(names))
	total := 1
	for i, name := range names {
		opts, err := gridOptions(name, space[name])
		if err != nil {
			return nil, err
		}
		choices[i] = opts
		if total > math.MaxInt/len(opts) {
			return nil, fmt.Errorf("grid sampling: the grid has more than %d points", math.MaxInt)
		}
		total *= len(opts)
	}
	if len(names) == 0 {
		total = 0
	}
	if n <= 0 || n > total {
		n = total
	}
	configs := make([]Config, n)
	idx := make([]int, len(names))
	for k := range configs {
		c := make(Config, len(names))
		for i, name := range names {
			flatten(c, name, choices[i][idx[i]])
		}
		configs[k] = c
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(choices[i]) {
				break
			}
			idx[i] = 0
		}
	}
	return configs, nil
}
