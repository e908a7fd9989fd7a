package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPipelinesExpand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("steps.yml", "parameters:\n- name: who\n  type: string\nsteps:\n- script: echo hello ${{ parameters.who }}\n")
	good := write("azure-pipelines.yml", `parameters:
- name: envs
  type: object
  default: [dev, prod]
- name: tag
  type: string
  default: none
jobs:
- ${{ each env in parameters.envs }}:
  - job: deploy_${{ env }}
    steps:
    - template: steps.yml
      parameters:
        who: ${{ env }}-${{ parameters.tag }}
`)
	bad := write("bad.yml", "steps:\n- script: echo\n  displayName: [unclosed\n")
	unknown := write("unknown.yml", "steps:\n- template: missing.yml\n")
	tests := []struct {
		name     string
		args     []string
		want     []string
		wantCode int
	}{
		{"each and step template", []string{"pipelines", "expand", "--file", good},
			[]string{"job: deploy_dev", "job: deploy_prod", "echo hello dev-none", "echo hello prod-none"}, 0},
		{"parameters", []string{"pipelines", "expand", "--file", good, "--parameters", "tag=v2"},
			[]string{"echo hello prod-v2"}, 0},
		{"bad yaml", []string{"pipelines", "expand", "--file", bad}, []string{"bad.yml:3:16: invalid YAML: '[' is never closed; expected a matching ']'"}, ExitUsage},
		{"missing template", []string{"pipelines", "expand", "--file", unknown}, []string{"unknown.yml:2:", "missing.yml"}, ExitUsage},
		{"missing file", []string{"pipelines", "expand", "--file", filepath.Join(dir, "nope.yml")}, []string{"nope.yml"}, ExitUsage},
		{"bad parameters", []string{"pipelines", "expand", "--file", good, "--parameters", "=x"}, []string{"not key=value"}, ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := setup(t).run(t, "", tt.args...)
			if res.code != tt.wantCode {
				t.Fatalf("exit %d, want %d: %v\n%s", res.code, tt.wantCode, res.err, res.stdout)
			}
			text := res.stdout
			if res.err != nil {
				text += res.err.Error()
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
		})
	}
}

func TestPipelinesAdminValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"pipelines", "pool", "update", "-w", "ws"}, "--parallel is required"},
		{[]string{"pipelines", "pool", "update", "-w", "ws", "--parallel", "65"}, "--parallel is required"},
		{[]string{"pipelines", "variable-group", "create", "-w", "ws", "--variables", "a=1"}, "--name is required"},
		{[]string{"pipelines", "variable-group", "create", "-w", "ws", "--name", "g", "--variables", "a=1", "novalue"}, `unexpected argument "novalue"`},
		{[]string{"pipelines", "variable-group", "show", "-w", "ws"}, "--name is required"},
	}
	for _, tt := range tests {
		res := setup(t).run(t, "", tt.args...)
		if res.code != ExitUsage || res.err == nil || !strings.Contains(res.err.Error(), tt.want) {
			t.Errorf("%v: exit %d, err %v; want usage error %q", tt.args, res.code, res.err, tt.want)
		}
	}
}
