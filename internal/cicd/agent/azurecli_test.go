package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeCiel writes a stand-in for the ciel executable that prints its
// arguments, and an az shim in a tools folder pointing at it. The real
// `ciel az` is tested in internal/cli.
func fakeCiel(t *testing.T) (toolsDir string) {
	t.Helper()
	dir := t.TempDir()
	exe := filepath.Join(dir, "fake ciel") // a space, to test the shim's quoting
	if err := os.WriteFile(exe, []byte("#!/bin/sh\necho \"fake-ciel $*\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	toolsDir = filepath.Join(dir, "tools")
	if err := WriteAzShim(toolsDir, exe, nil); err != nil {
		t.Fatal(err)
	}
	return toolsDir
}

func TestWriteAzShim(t *testing.T) {
	t.Parallel()
	if err := WriteAzShim("", "ciel", nil); err == nil {
		t.Error("no folder: want an error")
	}
	tools := fakeCiel(t)
	info, err := os.Stat(filepath.Join(tools, "az"))
	if err != nil || info.Mode().Perm()&0o111 == 0 {
		t.Fatalf("az shim: %v %v", info, err)
	}
	raw, _ := os.ReadFile(filepath.Join(tools, "az"))
	if !strings.HasPrefix(string(raw), "#!/bin/sh\nexec '") || !strings.HasSuffix(string(raw), `' az "$@"`+"\n") {
		t.Errorf("shim:\n%s", raw)
	}
}

func TestAzOnStepPath(t *testing.T) {
	tests := []struct {
		name   string
		yaml   string
		status string
		want   []string // in the log
		not    []string // not in the log
	}{{
		name: "a script step runs ciel's az",
		yaml: `
steps:
  - script: az version --query '"azure-cli"' -o tsv`,
		status: StatusSucceeded,
		want:   []string{`fake-ciel az version --query "azure-cli" -o tsv`},
	}, {
		name: "ToolsDir wins over an az the step installs in the venv",
		yaml: `
steps:
  - script: |
      printf '#!/bin/sh\necho venv-az\n' > "$VIRTUAL_ENV/bin/az"
      chmod +x "$VIRTUAL_ENV/bin/az"
      echo "##vso[task.prependpath]$VIRTUAL_ENV/bin"
  - script: az ml job list`,
		status: StatusSucceeded,
		want:   []string{"fake-ciel az ml job list"},
		not:    []string{"venv-az"},
	}, {
		name: "AzureCLI@2 inline script",
		yaml: `
steps:
  - task: AzureCLI@2
    inputs:
      azureSubscription: my-connection
      scriptType: bash
      scriptLocation: inlineScript
      addSpnToEnvironment: true
      inlineScript: |
        set -e
        id=$(az ml job create -f pipeline.yml --set inputs.lr=0.1 --query name -o tsv)
        echo "job=$id"
        echo "args=$1"
      arguments: first`,
		status: StatusSucceeded,
		want: []string{`Azure subscription "my-connection"`,
			"job=fake-ciel az ml job create -f pipeline.yml --set inputs.lr=0.1 --query name -o tsv", "args=first"},
	}, {
		name: "AzureCLI@1 script path with arguments and working directory",
		yaml: `
steps:
  - script: |
      mkdir -p sub
      printf 'az account show --query id -o tsv\necho "in $(basename "$PWD") with $1 $2"\n' > sub/deploy.sh
  - task: AzureCLI@1
    inputs:
      azureSubscription: conn
      scriptLocation: scriptPath
      scriptPath: sub/deploy.sh
      arguments: "a 'b c'"
      workingDirectory: sub`,
		status: StatusSucceeded,
		want:   []string{"fake-ciel az account show --query id -o tsv", "in sub with a b c"},
	}, {
		name: "AzureCLI@2 failOnStandardError",
		yaml: `
steps:
  - task: AzureCLI@2
    inputs:
      scriptType: bash
      scriptLocation: inlineScript
      inlineScript: echo oops >&2
      failOnStandardError: true`,
		status: StatusFailed,
	}, {
		name: "AzureCLI@2 PowerShell is refused clearly",
		yaml: `
steps:
  - task: AzureCLI@2
    inputs:
      scriptType: pscore
      scriptLocation: inlineScript
      inlineScript: az version`,
		status: StatusFailed,
		want:   []string{`scriptType "pscore" is not supported by this agent`},
		not:    []string{"fake-ciel"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := setup(t, Config{ToolsDir: fakeCiel(t)})
			res := tb.run(t, t.Context(), Job{}, tt.yaml)
			log := tb.log.String()
			if res.Status != tt.status {
				t.Errorf("status %s, want %s", res.Status, tt.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(log, w) {
					t.Errorf("log lacks %q", w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(log, n) {
					t.Errorf("log has %q", n)
				}
			}
			if t.Failed() {
				t.Logf("log:\n%s", log)
			}
		})
	}
}
