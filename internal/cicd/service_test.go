package cicd

import (
	"testing"

	"github.com/ciel-mlops/ciel/internal/cicd/agent"
	"github.com/ciel-mlops/ciel/internal/cicd/azp"
)

func TestTriggerMatches(t *testing.T) {
	t.Parallel()
	inc := func(in ...string) *azp.Trigger { return &azp.Trigger{Branches: azp.Filter{Include: in}} }
	tests := []struct {
		name    string
		trigger *azp.Trigger
		ref     string
		want    bool
	}{
		{"no trigger key: every branch", nil, "refs/heads/feature", true},
		{"trigger: none", &azp.Trigger{None: true}, "refs/heads/main", false},
		{"include main, push main", inc("main"), "refs/heads/main", true},
		{"include main, push feature", inc("main"), "refs/heads/feature", false},
		{"include with refs/heads", inc("refs/heads/main"), "refs/heads/main", true},
		{"wildcard", inc("releases/*"), "refs/heads/releases/2026.1", true},
		{"wildcard does not match the prefix alone", inc("releases/*"), "refs/heads/release", false},
		{"case-insensitive", inc("Main"), "refs/heads/main", true},
		{"exclude wins", &azp.Trigger{Branches: azp.Filter{Include: []string{"*"}, Exclude: []string{"wip/*"}}}, "refs/heads/wip/x", false},
		{"exclude only", &azp.Trigger{Branches: azp.Filter{Exclude: []string{"wip/*"}}}, "refs/heads/main", true},
		{"middle wildcard", inc("feature/*/ml"), "refs/heads/feature/a/b/ml", true},
	}
	for _, tt := range tests {
		if got := TriggerMatches(tt.trigger, tt.ref); got != tt.want {
			t.Errorf("%s: TriggerMatches(%s) = %v, want %v", tt.name, tt.ref, got, tt.want)
		}
	}
}

func TestOverall(t *testing.T) {
	t.Parallel()
	tests := []struct {
		results  []string
		canceled bool
		want     string
	}{
		{nil, false, ResultSucceeded},
		{[]string{agent.StatusSucceeded, agent.StatusSkipped}, false, ResultSucceeded},
		{[]string{agent.StatusSucceeded, agent.StatusSucceededWithIssues}, false, ResultPartiallySucceeded},
		{[]string{agent.StatusSucceededWithIssues, agent.StatusFailed}, false, ResultFailed},
		{[]string{agent.StatusCanceled}, false, ResultCanceled},
		{[]string{agent.StatusSucceeded}, true, ResultCanceled},
	}
	for _, tt := range tests {
		if got := overall(tt.results, tt.canceled); got != tt.want {
			t.Errorf("overall(%v, %v) = %s, want %s", tt.results, tt.canceled, got, tt.want)
		}
	}
}
