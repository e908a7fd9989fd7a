package sweep

import (
	"errors"
	"reflect"
	"testing"
)

func running(id string, values ...float64) TrialMetrics {
	return TrialMetrics{ID: id, Values: values}
}

func done(id string, values ...float64) TrialMetrics {
	return TrialMetrics{ID: id, Values: values, Done: true}
}

func TestSchedulePoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		interval, delay, n int
		want               int
		ok                 bool
	}{
		{1, 0, 0, 0, false},
		{1, 0, 1, 1, true},
		{0, 0, 3, 3, true}, // 0 means every interval
		{2, 0, 3, 2, true},
		{2, 0, 1, 0, false},
		{1, 5, 4, 0, false},
		{1, 5, 5, 5, true},
		{10, 15, 15, 0, false}, // 10 < 15 and 20 not reached
		{10, 15, 20, 20, true},
		{10, 15, 27, 20, true},
	}
	for _, tt := range tests {
		got, ok := schedule{tt.interval, tt.delay}.point(tt.n)
		if got != tt.want || ok != tt.ok {
			t.Errorf("schedule{%d,%d}.point(%d) = %d, %v; want %d, %v", tt.interval, tt.delay, tt.n, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    Policy
		ok   bool
	}{
		{"bandit factor", Bandit{SlackFactor: 0.1}, true},
		{"bandit amount", Bandit{SlackAmount: 0.2, EvaluationInterval: 2, DelayEvaluation: 4}, true},
		{"bandit both", Bandit{SlackFactor: 0.1, SlackAmount: 0.2}, false},
		{"bandit neither", Bandit{}, false},
		{"bandit negative slack", Bandit{SlackFactor: -1}, false},
		{"bandit negative interval", Bandit{SlackFactor: 0.1, EvaluationInterval: -1}, false},
		{"median", MedianStopping{EvaluationInterval: 1, DelayEvaluation: 5}, true},
		{"median negative delay", MedianStopping{DelayEvaluation: -1}, false},
		{"truncation", TruncationSelection{TruncationPercentage: 20}, true},
		{"truncation zero", TruncationSelection{}, false},
		{"truncation 100", TruncationSelection{TruncationPercentage: 100}, false},
		{"truncation negative interval", TruncationSelection{TruncationPercentage: 10, EvaluationInterval: -2}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.p.Validate()
			if tt.ok != (err == nil) {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("error %v does not wrap ErrInvalidPolicy", err)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		p      Policy
		goal   Goal
		trials []TrialMetrics
		want   []string
	}{
		// Azure ML's example: best run at 0.8, slack_factor 0.1 -> cancel below 0.8/1.1 = 0.727.
		{"bandit factor maximize", Bandit{SlackFactor: 0.1}, Maximize,
			[]TrialMetrics{running("best", 0.8), running("close", 0.75), running("far", 0.7)},
			[]string{"far"}},
		{"bandit amount maximize", Bandit{SlackAmount: 0.2}, Maximize,
			[]TrialMetrics{running("best", 0.8), running("edge", 0.6), running("far", 0.59)},
			[]string{"far"}},
		{"bandit factor minimize", Bandit{SlackFactor: 0.5}, Minimize,
			[]TrialMetrics{running("best", 1.0), running("close", 1.5), running("far", 1.6)},
			[]string{"far"}},
		{"bandit amount minimize", Bandit{SlackAmount: 0.1}, Minimize,
			[]TrialMetrics{running("best", 1.0), running("far", 1.2)},
			[]string{"far"}},
		{"bandit uses the trial's best so far", Bandit{SlackAmount: 0.1}, Maximize,
			[]TrialMetrics{running("a", 0.9, 0.9), running("b", 0.85, 0.1)},
			nil},
		{"bandit best run is best so far across intervals", Bandit{SlackAmount: 0.1}, Maximize,
			[]TrialMetrics{running("a", 0.9, 0.2), running("b", 0.5, 0.7)},
			[]string{"b"}},
		{"bandit compares only up to the trial's interval", Bandit{SlackAmount: 0.1}, Maximize,
			[]TrialMetrics{done("old", 0.5, 0.9), running("young", 0.45)},
			nil},
		{"bandit delay", Bandit{SlackAmount: 0.1, DelayEvaluation: 3}, Maximize,
			[]TrialMetrics{running("a", 0.9, 0.9), running("b", 0.1, 0.1)},
			nil},
		{"bandit interval skips", Bandit{SlackAmount: 0.1, EvaluationInterval: 2}, Maximize,
			[]TrialMetrics{running("a", 0.9), running("b", 0.1)},
			nil},
		{"bandit never cancels done", Bandit{SlackAmount: 0.1}, Maximize,
			[]TrialMetrics{running("a", 0.9), done("b", 0.1)},
			nil},
		{"bandit no metrics", Bandit{SlackAmount: 0.1}, Maximize,
			[]TrialMetrics{running("a"), running("b")},
			nil},

		// Running averages over 1..2: a=0.8, b=0.6, c=0.25 -> median 0.6. c's best 0.3 < 0.6.
		{"median maximize", MedianStopping{}, Maximize,
			[]TrialMetrics{running("a", 0.7, 0.9), running("b", 0.5, 0.7), running("c", 0.2, 0.3)},
			[]string{"c"}},
		{"median uses best not average", MedianStopping{}, Maximize,
			[]TrialMetrics{running("a", 0.7, 0.9), running("b", 0.5, 0.7), running("c", 0.1, 0.65)},
			nil},
		{"median minimize", MedianStopping{}, Minimize,
			[]TrialMetrics{running("a", 1, 1), running("b", 2, 2), running("c", 5, 4)},
			[]string{"c"}},
		{"median even count", MedianStopping{}, Maximize,
			[]TrialMetrics{done("a", 1), running("b", 0.4)},
			[]string{"b"}},
		{"median single trial", MedianStopping{}, Maximize,
			[]TrialMetrics{running("a", 0.1, 0.2)},
			nil},
		{"median only trials reaching N", MedianStopping{}, Maximize,
			[]TrialMetrics{running("young", 0.1), done("old", 0.05, 0.9, 0.9)},
			nil},
		{"median delay", MedianStopping{DelayEvaluation: 5}, Maximize,
			[]TrialMetrics{running("a", 0.7, 0.9), running("b", 0.5, 0.7), running("c", 0.2, 0.3)},
			nil},

		// Five trials at 20%: one cut, the worst at the current interval.
		{"truncation maximize", TruncationSelection{TruncationPercentage: 20}, Maximize,
			[]TrialMetrics{running("a", 0.5), running("b", 0.1), running("c", 0.9), running("d", 0.4), running("e", 0.6)},
			[]string{"b"}},
		{"truncation minimize", TruncationSelection{TruncationPercentage: 40}, Minimize,
			[]TrialMetrics{running("a", 0.5), running("b", 0.1), running("c", 0.9), running("d", 0.4), running("e", 0.6)},
			[]string{"c", "e"}},
		{"truncation rounds down", TruncationSelection{TruncationPercentage: 20}, Maximize,
			[]TrialMetrics{running("a", 0.5), running("b", 0.1), running("c", 0.9), running("d", 0.4)},
			nil},
		// Ranked on the best value up to the interval, not the value at it.
		{"truncation best so far", TruncationSelection{TruncationPercentage: 50}, Maximize,
			[]TrialMetrics{running("a", 0.9, 0.1), running("b", 0.1, 0.5)},
			[]string{"b"}},
		{"truncation young compared at its interval", TruncationSelection{TruncationPercentage: 50}, Maximize,
			[]TrialMetrics{done("old", 0.2, 0.95), running("young", 0.3)},
			nil},
		{"truncation done trial takes the cut", TruncationSelection{TruncationPercentage: 50}, Maximize,
			[]TrialMetrics{done("a", 0.1), running("b", 0.5)},
			nil},
		{"truncation ties keep input order", TruncationSelection{TruncationPercentage: 50}, Maximize,
			[]TrialMetrics{running("a", 0.5), running("b", 0.5)},
			[]string{"a"}},
		{"truncation delay and interval", TruncationSelection{TruncationPercentage: 50, EvaluationInterval: 2, DelayEvaluation: 2}, Maximize,
			[]TrialMetrics{running("a", 0.9), running("b", 0.1)},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.p.Validate(); err != nil {
				t.Fatalf("policy invalid: %v", err)
			}
			if got := tt.p.Decide(tt.goal, tt.trials); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decide() = %v, want %v", got, tt.want)
			}
		})
	}
}
