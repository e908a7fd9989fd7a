// Package sweep holds the pure building blocks of Azure ML sweep jobs: the
// search-space distributions, the random and grid samplers, and the early
// termination policies (bandit, median stopping, truncation selection).
//
// It is not a scheduler: it starts no trials, reads no YAML and talks to no
// store. The engine feeds it a search space and the metrics its trials
// reported, and acts on the configurations and cancellations it returns.
package sweep

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// ParamError reports an invalid distribution, naming the search-space
// parameter it belongs to so the user can find it in the job file.
type ParamError struct {
	Param string
	Err   error
}

func (e *ParamError) Error() string { return fmt.Sprintf("search_space.%s: %v", e.Param, e.Err) }

func (e *ParamError) Unwrap() error { return e.Err }

// ErrInvalidDistribution is wrapped by every validation error of a Distribution.
var ErrInvalidDistribution = errors.New("invalid distribution")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidDistribution, fmt.Sprintf(format, args...))
}

// Distribution is one search-space parameter, with Azure ML's semantics.
// Sample must only be called on a Distribution whose Validate returned nil.
type Distribution interface {
	// Type is the Azure ML name of the distribution ("choice", "uniform", ...).
	Type() string
	// Validate reports an error wrapping ErrInvalidDistribution when the
	// parameters cannot be sampled.
	Validate() error
	// Sample draws one value from r: an element of the values for choice, an
	// int for randint, a float64 otherwise.
	Sample(r *rand.Rand) any
}

// Choice picks uniformly one of Values: numbers, strings, booleans, or a
// nested SearchSpace (see IsNested).
type Choice struct{ Values []any }

// RandInt picks an integer uniformly in [0, Upper).
type RandInt struct{ Upper int }

// Uniform picks a float uniformly in [MinValue, MaxValue].
type Uniform struct{ MinValue, MaxValue float64 }

// LogUniform returns exp(uniform(MinValue, MaxValue)): the bounds are exponents.
type LogUniform struct{ MinValue, MaxValue float64 }

// Normal picks a float from the normal distribution of mean Mu and deviation Sigma.
type Normal struct{ Mu, Sigma float64 }

// LogNormal returns exp(normal(Mu, Sigma)).
type LogNormal struct{ Mu, Sigma float64 }

// QUniform returns round(uniform(MinValue, MaxValue) / Q) * Q.
type QUniform struct{ MinValue, MaxValue, Q float64 }

// QLogUniform returns round(exp(uniform(MinValue, MaxValue)) / Q) * Q.
type QLogUniform struct{ MinValue, MaxValue, Q float64 }

// QNormal returns round(normal(Mu, Sigma) / Q) * Q.
type QNormal struct{ Mu, Sigma, Q float64 }

// QLogNormal returns round(exp(normal(Mu, Sigma)) / Q) * Q.
type QLogNormal struct{ Mu, Sigma, Q float64 }

var (
	_ Distribution = Choice{}
	_ Distribution = RandInt{}
	_ Distribution = Uniform{}
	_ Distribution = LogUniform{}
	_ Distribution = Normal{}
	_ Distribution = LogNormal{}
	_ Distribution = QUniform{}
	_ Distribution = QLogUniform{}
	_ Distribution = QNormal{}
	_ Distribution = QLogNormal{}
)

func (Choice) Type() string      { return "choice" }
func (RandInt) Type() string     { return "randint" }
func (Uniform) Type() string     { return "uniform" }
func (LogUniform) Type() string  { return "loguniform" }
func (Normal) Type() string      { return "normal" }
func (LogNormal) Type() string   { return "lognormal" }
func (QUniform) Type() string    { return "quniform" }
func (QLogUniform) Type() string { return "qloguniform" }
func (QNormal) Type() string     { return "qnormal" }
func (QLogNormal) Type() string  { return "qlognormal" }

// Validate checks the choice itself; the nested search spaces among its
// values are checked by the SearchSpace that holds it.
func (d Choice) Validate() error {
	if len(d.Values) == 0 {
		return invalid("choice needs at least one value")
	}
	for i, v := range d.Values {
		if b, ok := v.(SearchSpace); ok && len(b) == 0 {
			return invalid("values[%d] is an empty mapping", i)
		}
	}
	return nil
}

func (d RandInt) Validate() error {
	if d.Upper <= 0 {
		return invalid("randint upper %d must be greater than 0", d.Upper)
	}
	return nil
}

func validateRange(typ string, lo, hi float64) error {
	if !finite(lo) || !finite(hi) {
		return invalid("%s bounds must be finite numbers", typ)
	}
	if lo >= hi {
		return invalid("%s min_value %g must be less than max_value %g", typ, lo, hi)
	}
	return nil
}

func validateSigma(typ string, mu, sigma float64) error {
	if !finite(mu) || !finite(sigma) {
		return invalid("%s mu and sigma must be finite numbers", typ)
	}
	if sigma <= 0 {
		return invalid("%s sigma %g must be greater than 0", typ, sigma)
	}
	return nil
}

func validateQ(typ string, q float64) error {
	if !finite(q) || q <= 0 {
		return invalid("%s q %g must be greater than 0", typ, q)
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func (d Uniform) Validate() error    { return validateRange(d.Type(), d.MinValue, d.MaxValue) }
func (d LogUniform) Validate() error { return validateRange(d.Type(), d.MinValue, d.MaxValue) }
func (d Normal) Validate() error     { return validateSigma(d.Type(), d.Mu, d.Sigma) }
func (d LogNormal) Validate() error  { return validateSigma(d.Type(), d.Mu, d.Sigma) }

func (d QUniform) Validate() error {
	return errors.Join(validateRange(d.Type(), d.MinValue, d.MaxValue), validateQ(d.Type(), d.Q))
}

func (d QLogUniform) Validate() error {
	return errors.Join(validateRange(d.Type(), d.MinValue, d.MaxValue), validateQ(d.Type(), d.Q))
}

func (d QNormal) Validate() error {
	return errors.Join(validateSigma(d.Type(), d.Mu, d.Sigma), validateQ(d.Type(), d.Q))
}

func (d QLogNormal) Validate() error {
	return errors.Join(validateSigma(d.Type(), d.Mu, d.Sigma), validateQ(d.Type(), d.Q))
}

func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + r.Float64()*(hi-lo) }

func normal(r *rand.Rand, mu, sigma float64) float64 { return mu + sigma*r.NormFloat64() }

func quantize(v, q float64) float64 { return math.Round(v/q) * q }

// Sample returns the picked value; a picked nested search space comes back
// drawn, as a Config.
func (d Choice) Sample(r *rand.Rand) any {
	v := d.Values[r.IntN(len(d.Values))]
	if b, ok := v.(SearchSpace); ok {
		return b.sampleTree(r)
	}
	return v
}

func (d RandInt) Sample(r *rand.Rand) any    { return r.IntN(d.Upper) }
func (d Uniform) Sample(r *rand.Rand) any    { return uniform(r, d.MinValue, d.MaxValue) }
func (d LogUniform) Sample(r *rand.Rand) any { return math.Exp(uniform(r, d.MinValue, d.MaxValue)) }
func (d Normal) Sample(r *rand.Rand) any     { return normal(r, d.Mu, d.Sigma) }
func (d LogNormal) Sample(r *rand.Rand) any  { return math.Exp(normal(r, d.Mu, d.Sigma)) }

func (d QUniform) Sample(r *rand.Rand) any {
	return quantize(uniform(r, d.MinValue, d.MaxValue), d.Q)
}

func (d QLogUniform) Sample(r *rand.Rand) any {
	return quantize(math.Exp(uniform(r, d.MinValue, d.MaxValue)), d.Q)
}

func (d QNormal) Sample(r *rand.Rand) any { return quantize(normal(r, d.Mu, d.Sigma), d.Q) }

func (d QLogNormal) Sample(r *rand.Rand) any {
	return quantize(math.Exp(normal(r, d.Mu, d.Sigma)), d.Q)
}

// SearchSpace maps each parameter name (as used in ${{search_space.NAME}}) to
// its distribution.
type SearchSpace map[string]Distribution

// Validate checks every parameter in name order, nested ones after their
// choice, and returns the errors joined, each a *ParamError naming its
// parameter by its path (search_space.model.values[1].lr).
func (s SearchSpace) Validate() error {
	return errors.Join(s.validate("")...)
}
