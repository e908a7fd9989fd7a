package cicd

import (
	"testing"

	"github.com/ciel-mlops/ciel/internal/cicd/azp"
)

func TestPathsMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		include, exclude []string
		files            []string
		want             bool
	}{
		{"no filter", nil, nil, []string{"docs/a.md"}, true},
		{"folder include, docs only", []string{"src"}, nil, []string{"docs/a.md", "README.md"}, false},
		{"folder include, src touched", []string{"src"}, nil, []string{"docs/a.md", "src/main.go"}, true},
		{"trailing slash", []string{"src/"}, nil, []string{"src/x/y.go"}, true},
		{"leading slash", []string{"/src"}, nil, []string{"src/y.go"}, true},
		{"prefix is a folder, not a string prefix", []string{"src"}, nil, []string{"srcs/a.go"}, false},
		{"file include", []string{"go.mod"}, nil, []string{"go.mod"}, true},
		{"case-sensitive", []string{"Src"}, nil, []string{"src/a.go"}, false},
		{"exclude only", nil, []string{"docs"}, []string{"docs/a.md"}, false},
		{"exclude only, other file", nil, []string{"docs"}, []string{"docs/a.md", "src/a.go"}, true},
		{"exclude deeper than include", []string{"src"}, []string{"src/generated"}, []string{"src/generated/x.go"}, false},
		{"star within a segment", []string{"src/*.go"}, nil, []string{"src/a.go"}, true},
		{"star does not cross folders", []string{"*.md"}, nil, []string{"docs/a.md"}, false},
		{"double star crosses folders", []string{"**/*.md"}, nil, []string{"docs/x/a.md"}, true},
		{"double star folder", []string{"src/**"}, nil, []string{"src/a/b/c.go"}, true},
		{"wildcard folder matches below it", []string{"services/*"}, nil, []string{"services/api/main.go"}, true},
		{"question mark", []string{"v?.txt"}, nil, []string{"v1.txt"}, true},
		{"star include", []string{"*"}, []string{"docs"}, []string{"docs/a.md"}, false},
		{"no files changed", []string{"src"}, nil, nil, false},
	}
	for _, tt := range tests {
		f := azp.Filter{Include: tt.include, Exclude: tt.exclude}
		if got := PathsMatch(f, tt.files); got != tt.want {
			t.Errorf("%s: PathsMatch(%+v, %v) = %v, want %v", tt.name, f, tt.files, got, tt.want)
		}
	}
}

func TestTriggerMatchesTags(t *testing.T) {
	t.Parallel()
	tags := func(in, ex []string) *azp.Trigger { return &azp.Trigger{Tags: azp.Filter{Include: in, Exclude: ex}} }
	tests := []struct {
		name    string
		trigger *azp.Trigger
		ref     string
		want    bool
	}{
		{"no trigger key: tags start nothing", nil, "refs/tags/v1", false},
		{"branches only: tags start nothing", &azp.Trigger{Branches: azp.Filter{Include: []string{"*"}}}, "refs/tags/v1", false},
		{"trigger: none", &azp.Trigger{None: true, Tags: azp.Filter{Include: []string{"*"}}}, "refs/tags/v1", false},
		{"tag include", tags([]string{"v*"}, nil), "refs/tags/v1.2", true},
		{"tag include miss", tags([]string{"v*"}, nil), "refs/tags/release-1", false},
		{"tag include with refs/tags", tags([]string{"refs/tags/v*"}, nil), "refs/tags/v1", true},
		{"tag exclude wins", tags([]string{"*"}, []string{"*-rc*"}), "refs/tags/v2-rc1", false},
		{"tag exclude only", tags(nil, []string{"tmp*"}), "refs/tags/v2", true},
		{"tag exclude only, excluded", tags(nil, []string{"tmp*"}), "refs/tags/tmp1", false},
		{"refs/tags in branches include", &azp.Trigger{Branches: azp.Filter{Include: []string{"main", "refs/tags/v*"}}}, "refs/tags/v3", true},
		{"tag filters leave branches alone", tags([]string{"v*"}, nil), "refs/heads/main", true},
		{"refs/tags include is no branch", &azp.Trigger{Branches: azp.Filter{Include: []string{"refs/tags/*"}}}, "refs/heads/main", false},
		{"other refs", nil, "refs/notes/x", false},
	}
	for _, tt := range tests {
		if got := TriggerMatches(tt.trigger, tt.ref); got != tt.want {
			t.Errorf("%s: TriggerMatches(%s) = %v, want %v", tt.name, tt.ref, got, tt.want)
		}
	}
}
