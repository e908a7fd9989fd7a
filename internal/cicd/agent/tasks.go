package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ciel-mlops/ciel/internal/cicd/azp"
)

// runTask runs a task: step; in holds its inputs, keys lower-cased and
// macros expanded. Task names match case-insensitively.
func (r *jobRun) runTask(ctx context.Context, st *stepState, s *azp.Step, in map[string]string) (int, error) {
	t := s.Task
	switch {
	case t.Is("UsePythonVersion", "0"):
		return -1, r.usePythonVersion(ctx, in)
	case t.Is("PythonScript", "0"):
		return r.pythonScript(ctx, st, s, in)
	case t.Is("Bash", "3"):
		return r.bashTask(ctx, st, s, in)
	case t.Is("CmdLine", "2"):
		return r.runScript(ctx, st, s, in["script"], in["workingdirectory"], "Bash")
	case t.Is("CopyFiles", "2"):
		return -1, r.copyFiles(in)
	case t.Is("DeleteFiles", "1"):
		return -1, r.deleteFiles(in)
	case t.Is("ArchiveFiles", "2"):
		return -1, r.archiveFiles(in)
	case t.Is("ExtractFiles", "1"):
		return -1, r.extractFiles(in)
	case t.Is("PublishBuildArtifacts", "1"):
		ws, _ := r.vars.lookup("Build.ArtifactStagingDirectory")
		return -1, r.publish(ctx, firstNonEmpty(in["artifactname"], "drop"), firstNonEmpty(in["pathtopublish"], ws))
	case t.Is("PublishPipelineArtifact", "1"):
		return -1, r.publish(ctx, firstNonEmpty(in["artifact"], in["artifactname"], "drop"),
			firstNonEmpty(in["targetpath"], in["path"]))
	case t.Is("DownloadPipelineArtifact", "2"):
		if err := currentRunOnly(in, s); err != nil {
			return -1, err
		}
		ws, _ := r.vars.lookup("Pipeline.Workspace")
		return -1, r.download(ctx, firstNonEmpty(in["artifact"], in["artifactname"]),
			firstNonEmpty(in["path"], in["targetpath"], in["downloadpath"], ws))
	case t.Is("DownloadBuildArtifacts", "0"):
		if err := currentRunOnly(in, s); err != nil {
			return -1, err
		}
		ad, _ := r.vars.lookup("System.ArtifactsDirectory")
		dir := firstNonEmpty(in["downloadpath"], ad)
		name := in["artifactname"]
		if name != "" && !strings.EqualFold(in["downloadtype"], "specific") {
			dir = filepath.Join(dir, name) // single: into downloadPath/<artifact>
		}
		return -1, r.download(ctx, name, dir)
	case t.Is("AzureCLI", "2"), t.Is("AzureCLI", "1"):
		return r.azureCLI(ctx, st, s, in)
	case t.Is("PublishTestResults", "2"):
		return -1, r.publishTestResults(st, in)
	}
	return -1, fmt.Errorf("unknown task %s@%s at %s: this agent runs UsePythonVersion@0, PythonScript@0, Bash@3, CmdLine@2, "+
		"AzureCLI@2, AzureCLI@1, CopyFiles@2, DeleteFiles@1, ArchiveFiles@2, ExtractFiles@1, PublishBuildArtifacts@1, PublishPipelineArtifact@1, "+
		"DownloadPipelineArtifact@2, DownloadBuildArtifacts@0 and PublishTestResults@2", t.Name, t.Version, s.Pos)
}

// currentRunOnly rejects downloads from another pipeline or run.
func currentRunOnly(in map[string]string, s *azp.Step) error {
	for _, k := range []string{"buildtype", "source"} {
		if v := in[k]; v != "" && !strings.EqualFold(v, "current") {
			return fmt.Errorf("task %s: %s %q: only artifacts of the current run are supported (%s)", s.Task.Name, k, v, s.Pos)
		}
	}
	return nil
}

// bashTask runs Bash@3: targetType filePath (the default) or inline.
func (r *jobRun) bashTask(ctx context.Context, st *stepState, s *azp.Step, in map[string]string) (int, error) {
	body := in["script"]
	if !strings.EqualFold(in["targettype"], "inline") {
		if in["filepath"] == "" {
			return -1, fmt.Errorf("task Bash@3: input filePath is required (%s)", s.Pos)
		}
		body = "'" + strings.ReplaceAll(r.resolve(in["filepath"]), "'", `'\''`) + "' " + in["arguments"]
		body = "bash " + body
	}
	if in["failonstderr"] != "" {
		s2 := *s
		s2.FailOnStderr = isTrue(in["failonstderr"])
		s = &s2
	}
	return r.runScript(ctx, st, s, body, in["workingdirectory"], "Bash")
}

// pythonScript runs PythonScript@0 with the job's python.
func (r *jobRun) pythonScript(ctx context.Context, st *stepState, s *azp.Step, in map[string]string) (int, error) {
	var path string
	if strings.EqualFold(in["scriptsource"], "inline") {
		f, err := os.CreateTemp(filepath.Join(r.dir, "tmp"), "*.py")
		if err != nil {
			return -1, fmt.Errorf("write python script: %w", err)
		}
		_, werr := f.WriteString(in["script"])
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return -1, fmt.Errorf("write python script: %w", werr)
		}
		path = f.Name()
	} else {
		if in["scriptpath"] == "" {
			return -1, fmt.Errorf("task PythonScript@0: input scriptPath is required (%s)", s.Pos)
		}
		path = r.resolve(in["scriptpath"])
	}
	python := firstNonEmpty(in["pythoninterpreter"], filepath.Join(r.venv, "bin", "python"))
	args := append([]string{python, path}, splitArgs(in["arguments"])...)
	r.out.line(strings.Join(args, " "))
	return r.runProcess(ctx, st, procSpec{
		tool: "Python", args: args, dir: r.workDir(in["workingdirectory"]),
		env: r.stepEnv(s.Env), failOnStderr: isTrue(in["failonstderr"]),
	})
}

// splitArgs splits a command line on spaces, honouring double and single
// quotes, as the task library's argument parser does.
func splitArgs(s string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	inArg := false
	for _, c := range s {
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\''):
			quote, inArg = c, true
		case quote == 0 && (c == ' ' || c == '\t' || c == '\n'):
			if inArg {
				out = append(out, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(c)
			inArg = true
		}
	}
	if inArg {
		out = append(out, cur.String())
	}
	return out
}
