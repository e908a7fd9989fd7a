package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/datastore"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// DataPaths reads and writes data that lives outside the blob store:
// datastore paths, earlier jobs' outputs and URLs (datastore.Service).
// Methods may be called concurrently.
type DataPaths interface {
	// Check reports whether uri can be read (or, with write, written as
	// an output) in workspace ws, without reading it.
	Check(ctx context.Context, ws, uri string, write bool) error
	// Fetch returns the files at uri as a tree of the blob store.
	Fetch(ctx context.Context, ws, uri string) (datastore.Resolved, error)
	// Write puts the files of the tree digest at uri, a datastore path:
	// under it as a folder or, with asFile, its one file at uri.
	Write(ctx context.Context, ws, uri, digest string, asFile bool) error
}

// outputSettings records, on the leaf step output that produces each of
// outs, where it goes besides the blob store: a datastore path, a data
// asset to register. refs maps each output to its producing step output.
func (p *planner) outputSettings(outs map[string]*spec.OutputValue, refs map[string]PortRef) error {
	for _, name := range sortedKeys(outs) {
		ov := outs[name]
		if ov == nil || ov.Binding != "" || (ov.Name == "" && !datastore.IsDataURI(ov.Path)) {
			continue
		}
		ref, ok := refs[name]
		ps := p.step(ref.Step)
		if !ok || ps == nil {
			return spec.Errorf(ov.Pos, "outputs.%s: no step produces this output", name)
		}
		po := ps.Outputs[ref.Port]
		path := strings.ReplaceAll(ov.Path, "${{default_datastore}}", p.defaultDatastore)
		if datastore.IsDataURI(path) {
			if p.data == nil {
				return spec.Errorf(ov.Pos, "outputs.%s: this server cannot write to %s", name, ov.Path)
			}
			if err := p.data.Check(p.ctx, p.ws, expandOutputPath(path, "x", "x"), true); err != nil {
				return spec.Errorf(ov.Pos, "outputs.%s: %v", name, err)
			}
			po.Path = path
		}
		if ov.Name != "" {
			po.AssetName, po.AssetVersion = ov.Name, ov.Version
		}
		po.Named = name
		ps.Outputs[ref.Port] = po
	}
	return nil
}

// step returns the planned leaf step of that name, or nil.
func (p *planner) step(name string) *PlanStep {
	for _, ps := range p.plan.Steps {
		if ps.Name == name {
			return ps
		}
	}
	return nil
}

// expandOutputPath fills the placeholders Azure ML allows in an output
// path: ${{name}} (the job's name) and ${{output_name}}, also written
// {name} and {output_name}.
func expandOutputPath(p, job, output string) string {
	return strings.NewReplacer("${{name}}", job, "${{output_name}}", output,
		"{name}", job, "{output_name}", output).Replace(p)
}

// fetchInput reads an input given as a data URI.
func (r *jobRun) fetchInput(name, uri string) (string, error) {
	if r.e.cfg.Data == nil {
		return "", fmt.Errorf("input %s: data URI %s cannot be read by this server", name, uri)
	}
	res, err := r.e.cfg.Data.Fetch(r.ctx, r.job.Workspace, uri)
	if err != nil {
		return "", fmt.Errorf("input %s: %w", name, err)
	}
	return res.Digest, nil
}

// deliver sends a completed step's outputs where the job asked: written
// to a datastore path, registered as a data asset version. It is done for
// a reused step too, so the job's outputs land as if it had run.
func (r *jobRun) deliver(ps *PlanStep, st store.Step, logPath string) error {
	for _, port := range sortedKeys(ps.Outputs) {
		po := ps.Outputs[port]
		d := st.Outputs[port]
		if d == "" || (po.Path == "" && po.AssetName == "") {
			continue
		}
		name := orDefault(po.Named, port)
		if po.Path != "" {
			uri := expandOutputPath(po.Path, r.job.Name, name)
			if err := r.e.cfg.Data.Write(r.ctx, r.job.Workspace, uri, d, po.Type == spec.TypeURIFile); err != nil {
				return fmt.Errorf("output %s: %w", name, err)
			}
			appendLog(logPath, fmt.Sprintf("[ciel] output %s written to %s\n", name, uri))
		}
		if po.AssetName != "" {
			v, err := r.registerData(name, po, d)
			if err != nil {
				return fmt.Errorf("output %s: %w", name, err)
			}
			appendLog(logPath, fmt.Sprintf("[ciel] output %s registered as data asset %s:%s\n", name, po.AssetName, v))
		}
	}
	return nil
}

// registerData registers the files of an output as a data asset version,
// the next one when the job gave none. An existing version with the same
// files is kept; one with other files is an error, as in Azure ML.
func (r *jobRun) registerData(output string, po PlanOutput, digest string) (string, error) {
	typ := po.Type
	if typ != spec.TypeURIFile && typ != spec.TypeMLTable {
		typ = spec.TypeURIFolder
	}
	ws := r.job.Workspace
	for try := 0; ; try++ {
		version := po.AssetVersion
		if version == "" {
			var err error
			if version, err = r.nextDataVersion(po.AssetName); err != nil {
				return "", err
			}
		}
		d := spec.Data{Name: po.AssetName, Version: version, Type: typ, Path: "blob:" + digest,
			Description: fmt.Sprintf("output %s of job %s", output, r.job.Name)}
		if same, err := r.sameData(d); err != nil || same {
			return version, err
		}
		body, err := json.Marshal(d)
		if err != nil {
			return "", err
		}
		err = r.e.cfg.Store.PutAsset(r.ctx, store.Asset{Workspace: ws, Kind: store.KindData, Name: d.Name,
			Version: version, Spec: body, CreatedAt: time.Now().UTC()}, false)
		switch {
		case err == nil:
			return version, nil
		case errors.Is(err, store.ErrConflict) && po.AssetVersion == "" && try < 3:
			continue // another job took that version first
		case errors.Is(err, store.ErrConflict):
			return "", fmt.Errorf("data asset %s version %s already exists with other files; give another version (or none, for the next one)", d.Name, version)
		}
		return "", fmt.Errorf("register data asset %s:%s: %w", d.Name, version, err)
	}
}

// sameData reports whether d's version exists with the same files.
func (r *jobRun) sameData(d spec.Data) (bool, error) {
	a, err := r.e.cfg.Store.GetAsset(r.ctx, r.job.Workspace, store.KindData, d.Name, d.Version)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var old spec.Data
	if err := json.Unmarshal(a.Spec, &old); err != nil {
		return false, fmt.Errorf("decode data asset %s:%s: %w", d.Name, d.Version, err)
	}
	if old.Path != d.Path || old.Type != d.Type {
		return false, fmt.Errorf("data asset %s version %s already exists with other files; give another version (or none, for the next one)", d.Name, d.Version)
	}
	return true, nil
}

// nextDataVersion is one more than the highest numeric version of name.
func (r *jobRun) nextDataVersion(name string) (string, error) {
	list, err := r.e.cfg.Store.ListAssets(r.ctx, r.job.Workspace, store.KindData, name)
	if err != nil {
		return "", err
	}
	highest := 0
	for _, a := range list {
		if n, err := strconv.Atoi(a.Version); err == nil && n > highest {
			highest = n
		}
	}
	return strconv.Itoa(highest + 1), nil
}

// appendLog adds a line to a step's log; the log is best effort.
func appendLog(logPath, line string) {
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.WriteString(line)
}
