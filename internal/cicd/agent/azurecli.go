package agent

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ciel-mlops/ciel/internal/cicd/azp"
)

// WriteAzShim writes dir/az and dir/ciel, scripts that run `<cielExe> az
// "$@"` and `<cielExe> "$@"` with env exported first, so that with dir as
// Config.ToolsDir every step's `az` and `ciel` are the server's, reaching
// it (CIEL_URL, CIEL_TOKEN) whatever the step's environment says. It
// creates dir (0700: env may hold the server's token) when missing and
// replaces scripts already there atomically.
func WriteAzShim(dir, cielExe string, env map[string]string) error {
	if dir == "" || cielExe == "" {
		return errors.New("write az shim: the folder and the ciel executable are required")
	}
	exe, err := filepath.Abs(cielExe)
	if err != nil {
		return fmt.Errorf("write az shim: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write az shim: %w", err)
	}
	var exports strings.Builder
	for _, k := range slices.Sorted(maps.Keys(env)) {
		exports.WriteString("export " + k + "=" + shellQuote(env[k]) + "\n")
	}
	for name, args := range map[string]string{"az": " az", "ciel": ""} {
		script := "#!/bin/sh\n" + exports.String() + "exec " + shellQuote(exe) + args + " \"$@\"\n"
		if err := writeScript(dir, name, script); err != nil {
			return fmt.Errorf("write %s shim: %w", name, err)
		}
	}
	return nil
}

// writeScript replaces dir/name with an executable script, whole: a step
// running it never sees half of one.
func writeScript(dir, name, script string) error {
	tmp, err := os.CreateTemp(dir, "."+name+"-*")
	if err != nil {
		return err
	}
	_, werr := tmp.WriteString(script)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o700)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	if werr != nil {
		_ = os.Remove(tmp.Name())
	}
	return werr
}

// shellQuote quotes s for sh in single quotes.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// azureCLI runs AzureCLI@2 (and @1): a bash script, inline or from a file,
// with `az` on PATH (the agent's ToolsDir). The service connection
// (azureSubscription) is recorded only: ciel's az is already signed in to
// the workspace; addSpnToEnvironment is ignored.
func (r *jobRun) azureCLI(ctx context.Context, st *stepState, s *azp.Step, in map[string]string) (int, error) {
	task := s.Task.Name + "@" + s.Task.Version
	switch strings.ToLower(firstNonEmpty(in["scripttype"], "bash")) {
	case "bash", "sh":
	case "ps", "pscore", "batch":
		return -1, fmt.Errorf("task %s: scriptType %q is not supported by this agent: it runs bash scripts (scriptType: bash) (%s)",
			task, in["scripttype"], s.Pos)
	default:
		return -1, fmt.Errorf("task %s: unknown scriptType %q: want bash (%s)", task, in["scripttype"], s.Pos)
	}
	if sub := firstNonEmpty(in["azuresubscription"], in["connectedservicenamearm"]); sub != "" {
		r.out.line(fmt.Sprintf("Azure subscription %q: az commands are carried out by ciel against this server's workspace.", sub))
	}
	args := firstNonEmpty(in["arguments"], in["scriptarguments"], in["args"])
	var path string
	switch loc := strings.ToLower(firstNonEmpty(in["scriptlocation"], "inlinescript")); loc {
	case "inlinescript":
		f, err := os.CreateTemp(filepath.Join(r.dir, "tmp"), "azureclitaskscript*.sh")
		if err != nil {
			return -1, fmt.Errorf("write script: %w", err)
		}
		_, werr := f.WriteString(in["inlinescript"])
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return -1, fmt.Errorf("write script: %w", werr)
		}
		path = f.Name()
	case "scriptpath":
		if in["scriptpath"] == "" {
			return -1, fmt.Errorf("task %s: input scriptPath is required with scriptLocation scriptPath (%s)", task, s.Pos)
		}
		path = r.resolve(in["scriptpath"])
	default:
		return -1, fmt.Errorf("task %s: unknown scriptLocation %q: want inlineScript or scriptPath (%s)", task, in["scriptlocation"], s.Pos)
	}
	if in["failonstandarderror"] != "" {
		s2 := *s
		s2.FailOnStderr = isTrue(in["failonstandarderror"])
		s = &s2
	}
	body := strings.TrimSpace("bash " + shellQuote(path) + " " + args)
	return r.runScript(ctx, st, s, body, in["workingdirectory"], "Bash")
}
