package sweep

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Goal says whether the primary metric is to be maximized or minimized.
type Goal string

// The goals of an Azure ML sweep objective.
const (
	Maximize Goal = "maximize"
	Minimize Goal = "minimize"
)

// Better reports whether a beats b under g.
func (g Goal) Better(a, b float64) bool { return g.better(a, b) }

// better reports whether a beats b under g.
func (g Goal) better(a, b float64) bool {
	if g == Minimize {
		return a < b
	}
	return a > b
}

// ErrInvalidPolicy is wrapped by every validation error of a Policy.
var ErrInvalidPolicy = errors.New("invalid early termination policy")

// TrialMetrics is what one trial reported of the primary metric so far:
// Values[i] is the value logged at interval i+1 (each log counts as one
// interval, as in Azure ML).
type TrialMetrics struct {
	ID     string
	Values []float64
	// Done marks a trial that finished: it still counts in comparisons but is
	// never cancelled.
	Done bool
}

// Policy is an Azure ML early termination policy as a pure function: given the
// metrics reported so far, it names the running trials to cancel. Calling
// Decide after each new report gives Azure ML's behaviour; it is safe to call
// repeatedly, a trial already cancelled is simply named again.
type Policy interface {
	// Validate reports an error wrapping ErrInvalidPolicy for settings Azure
	// ML rejects.
	Validate() error
	// Decide returns the IDs of the running trials to cancel, in input order.
	Decide(goal Goal, trials []TrialMetrics) []string
}

var (
	_ Policy = Bandit{}
	_ Policy = MedianStopping{}
	_ Policy = TruncationSelection{}
)

// schedule is the evaluation_interval / delay_evaluation pair all policies share.
type schedule struct{ interval, delay int }

func (s schedule) validate() error {
	if s.interval < 0 {
		return fmt.Errorf("%w: evaluation_interval %d is negative", ErrInvalidPolicy, s.interval)
	}
	if s.delay < 0 {
		return fmt.Errorf("%w: delay_evaluation %d is negative", ErrInvalidPolicy, s.delay)
	}
	return nil
}

// point returns the latest interval <= n at which the policy applies: a
// multiple of evaluation_interval (0 meaning 1) that is at least
// delay_evaluation. ok is false when there is none yet.
func (s schedule) point(n int) (int, bool) {
	every := max(s.interval, 1)
	p := n - n%every
	if p < 1 || p < s.delay {
		return 0, false
	}
	return p, true
}

// bestUpTo is the best of the first n values.
func bestUpTo(goal Goal, values []float64, n int) float64 {
	best := values[0]
	for _, v := range values[1:n] {
		if goal.better(v, best) {
			best = v
		}
	}
	return best
}

// Bandit cancels a trial whose best metric so far is not within the slack of
// the best metric any trial has reported up to the same interval. Exactly one
// of SlackFactor (a ratio) and SlackAmount (an absolute distance) is set.
//
// With goal maximize, a trial whose best value is Y is cancelled when
// Y*(1+SlackFactor) < best, or Y+SlackAmount < best (Azure ML's documented
// rule); with minimize, when Y > best*(1+SlackFactor), or Y-SlackAmount > best.
type Bandit struct {
	SlackFactor        float64
	SlackAmount        float64
	EvaluationInterval int
	DelayEvaluation    int
}

func (p Bandit) Validate() error {
	if err := (schedule{p.EvaluationInterval, p.DelayEvaluation}).validate(); err != nil {
		return fmt.Errorf("bandit: %w", err)
	}
	switch {
	case p.SlackFactor < 0 || p.SlackAmount < 0 || math.IsNaN(p.SlackFactor) || math.IsNaN(p.SlackAmount):
		return fmt.Errorf("bandit: %w: slack_factor and slack_amount must not be negative", ErrInvalidPolicy)
	case p.SlackFactor > 0 && p.SlackAmount > 0:
		return fmt.Errorf("bandit: %w: set slack_factor or slack_amount, not both", ErrInvalidPolicy)
	case p.SlackFactor == 0 && p.SlackAmount == 0:
		return fmt.Errorf("bandit: %w: one of slack_factor and slack_amount is required", ErrInvalidPolicy)
	}
	return nil
}

func (p Bandit) Decide(goal Goal, trials []TrialMetrics) []string {
	return dueTrials(schedule{p.EvaluationInterval, p.DelayEvaluation}, trials, func(_ int, t TrialMetrics, n int) bool {
		best := math.NaN()
		for _, o := range trials {
			if len(o.Values) == 0 {
				continue
			}
			b := bestUpTo(goal, o.Values, min(n, len(o.Values)))
			if math.IsNaN(best) || goal.better(b, best) {
				best = b
			}
		}
		return p.outside(goal, bestUpTo(goal, t.Values, n), best)
	})
}

func (p Bandit) outside(goal Goal, y, best float64) bool {
	if goal == Minimize {
		if p.SlackAmount > 0 {
			return y-p.SlackAmount > best
		}
		return y > best*(1+p.SlackFactor)
	}
	if p.SlackAmount > 0 {
		return y+p.SlackAmount < best
	}
	return y*(1+p.SlackFactor) < best
}

// MedianStopping cancels a trial at interval N when its best metric up to N
// is worse than the median of the running averages over intervals 1..N of
// all trials (itself included) that have reported at least N values.
type MedianStopping struct {
	EvaluationInterval int
	DelayEvaluation    int
}

func (p MedianStopping) Validate() error {
	if err := (schedule{p.EvaluationInterval, p.DelayEvaluation}).validate(); err != nil {
		return fmt.Errorf("median_stopping: %w", err)
	}
	return nil
}

func (p MedianStopping) Decide(goal Goal, trials []TrialMetrics) []string {
	return dueTrials(schedule{p.EvaluationInterval, p.DelayEvaluation}, trials, func(_ int, t TrialMetrics, n int) bool {
		var averages []float64
		for _, o := range trials {
			if len(o.Values) < n {
				continue
			}
			sum := 0.0
			for _, v := range o.Values[:n] {
				sum += v
			}
			averages = append(averages, sum/float64(n))
		}
		return goal.better(median(averages), bestUpTo(goal, t.Values, n))
	})
}

// median of a non-empty slice; it sorts xs.
func median(xs []float64) float64 {
	slices.Sort(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return (xs[m-1] + xs[m]) / 2
}

// TruncationSelection cancels, at each evaluation interval N, the trials in
// the lowest TruncationPercentage percent of those that have reported at
// least N values, ranked by their best value up to interval N: Azure ML
// ranks a young trial against "the corresponding (and earlier) performance"
// of older ones, so none loses for having trained less. The count cut is floor(m*TruncationPercentage/100) of m trials; ties
// rank in input order, earlier trials first; a finished trial in the cut
// takes its place without being cancelled.
type TruncationSelection struct {
	TruncationPercentage int
	EvaluationInterval   int
	DelayEvaluation      int
}

func (p TruncationSelection) Validate() error {
	if err := (schedule{p.EvaluationInterval, p.DelayEvaluation}).validate(); err != nil {
		return fmt.Errorf("truncation_selection: %w", err)
	}
	if p.TruncationPercentage < 1 || p.TruncationPercentage > 99 {
		return fmt.Errorf("truncation_selection: %w: truncation_percentage %d must be between 1 and 99",
			ErrInvalidPolicy, p.TruncationPercentage)
	}
	return nil
}

func (p TruncationSelection) Decide(goal Goal, trials []TrialMetrics) []string {
	return dueTrials(schedule{p.EvaluationInterval, p.DelayEvaluation}, trials, func(i int, _ TrialMetrics, n int) bool {
		var cohort []int
		for j, o := range trials {
			if len(o.Values) >= n {
				cohort = append(cohort, j)
			}
		}
		// Worst first; stable so that ties keep input order.
		sort.SliceStable(cohort, func(a, b int) bool {
			return goal.better(bestUpTo(goal, trials[cohort[b]].Values, n), bestUpTo(goal, trials[cohort[a]].Values, n))
		})
		cut := len(cohort) * p.TruncationPercentage / 100
		return slices.Contains(cohort[:cut], i)
	})
}

// dueTrials returns, in input order, the IDs of the unfinished trials that
// have reached an evaluation point of sched and that cancel, given the
// trial's index, the trial and that point N, says to stop.
func dueTrials(sched schedule, trials []TrialMetrics, cancel func(i int, t TrialMetrics, n int) bool) []string {
	var out []string
	for i, t := range trials {
		if t.Done {
			continue
		}
		if n, ok := sched.point(len(t.Values)); ok && cancel(i, t, n) {
			out = append(out, t.ID)
		}
	}
	return out
}
