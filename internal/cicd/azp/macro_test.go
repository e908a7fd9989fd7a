package azp

import "testing"

func TestExpandMacros(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"Build.SourcesDirectory": "/w/s", "name": "churn", "nested": "$(name)", "empty": ""}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	tests := []struct{ in, want string }{
		{"cd $(Build.SourcesDirectory)", "cd /w/s"},
		{"$(name)-$(name)", "churn-churn"},
		{"echo $(undefined)", "echo $(undefined)"},
		{"$(nested)", "$(name)"}, // not expanded twice
		{"x$(empty)y", "xy"},
		{"$(", "$("},
		{"$(name", "$(name"},
		{"$(bad name!)", "$(bad name!)"},
		{"$($(name))", "$(churn)"},
		{"$[ variables.x ] and ${{ x }}", "$[ variables.x ] and ${{ x }}"},
		{"no macros", "no macros"},
	}
	for _, tt := range tests {
		if got := ExpandMacros(tt.in, lookup); got != tt.want {
			t.Errorf("ExpandMacros(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEnvName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Build.SourcesDirectory":         "BUILD_SOURCESDIRECTORY",
		"Build.ArtifactStagingDirectory": "BUILD_ARTIFACTSTAGINGDIRECTORY",
		"System.DefaultWorkingDirectory": "SYSTEM_DEFAULTWORKINGDIRECTORY",
		"my var":                         "MY_VAR",
		"python.version":                 "PYTHON_VERSION",
	} {
		if got := EnvName(in); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", in, got, want)
		}
	}
}
