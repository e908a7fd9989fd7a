package sweep

import (
	"fmt"
	"math"
)

// Quantile maps u in [0, 1) to a value of the distribution: the value whose
// cumulative probability is u. Points spread evenly over the unit cube (a
// Sobol sequence) become configurations spread evenly over the search space.
type Quantile interface {
	Quantile(u float64) any
}

var (
	_ Quantile = Choice{}
	_ Quantile = RandInt{}
	_ Quantile = Uniform{}
	_ Quantile = LogUniform{}
	_ Quantile = Normal{}
	_ Quantile = LogNormal{}
	_ Quantile = QUniform{}
	_ Quantile = QLogUniform{}
	_ Quantile = QNormal{}
	_ Quantile = QLogNormal{}
)

// index is the cell of n equal cells of [0, 1) that u falls in.
func index(u float64, n int) int { return min(int(u*float64(n)), n-1) }

// normalQuantile is the inverse of the normal distribution's CDF. u is
// kept off 0 and 1, where it is infinite.
func normalQuantile(u, mu, sigma float64) float64 {
	const eps = 1e-12
	u = min(max(u, eps), 1-eps)
	return mu + sigma*math.Sqrt2*math.Erfinv(2*u-1)
}

func (d Choice) Quantile(u float64) any     { return d.Values[index(u, len(d.Values))] }
func (d RandInt) Quantile(u float64) any    { return index(u, d.Upper) }
func (d Uniform) Quantile(u float64) any    { return d.MinValue + u*(d.MaxValue-d.MinValue) }
func (d LogUniform) Quantile(u float64) any { return math.Exp(d.MinValue + u*(d.MaxValue-d.MinValue)) }
func (d Normal) Quantile(u float64) any     { return normalQuantile(u, d.Mu, d.Sigma) }
func (d LogNormal) Quantile(u float64) any  { return math.Exp(normalQuantile(u, d.Mu, d.Sigma)) }

func (d QUniform) Quantile(u float64) any {
	return quantize(d.MinValue+u*(d.MaxValue-d.MinValue), d.Q)
}

func (d QLogUniform) Quantile(u float64) any {
	return quantize(math.Exp(d.MinValue+u*(d.MaxValue-d.MinValue)), d.Q)
}

func (d QNormal) Quantile(u float64) any { return quantize(normalQuantile(u, d.Mu, d.Sigma), d.Q) }

func (d QLogNormal) Quantile(u float64) any {
	return quantize(math.Exp(normalQuantile(u, d.Mu, d.Sigma)), d.Q)
}

// FromUnit maps points of the unit cube to configurations through each
// distribution's quantile: one coordinate per parameter in name order, and
// after a choice with nested mappings, the coordinates of each mapping
// (space.Dims() in all). It is how a quasi-random sequence (Azure ML's
// random sampling with rule: sobol) becomes trials.
func FromUnit(space SearchSpace, points [][]float64) ([]Config, error) {
	if err := space.Validate(); err != nil {
		return nil, err
	}
	dims := space.Dims()
	configs := make([]Config, len(points))
	for i, p := range points {
		if len(p) != dims {
			return nil, fmt.Errorf("point %d has %d coordinates for %d parameters", i, len(p), dims)
		}
		tree, err := space.treeFromUnit(p)
		if err != nil {
			return nil, fmt.Errorf("point %d: %w", i, err)
		}
		c := make(Config, len(tree))
		for name, v := range tree {
			flatten(c, name, v)
		}
		configs[i] = c
	}
	return configs, nil
}
