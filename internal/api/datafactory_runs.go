package api

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/dataflow"
	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/dataflow/run"
)

// Bounds of a factory folder import: its JSON files are small, and it is
// read into memory whole.
const (
	maxFactoryFolderBytes = 32 << 20
	maxFactoryFolderFiles = 10000
)

func (s *server) createFactoryRun(_ http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error) {
	if err := dataflow.CheckName(factory.KindPipeline, r.PathValue("name")); err != nil {
		return nil, err
	}
	params := map[string]any{}
	if err := decodeOptional(r, &params); err != nil {
		return nil, err
	}
	q := r.URL.Query()
	var (
		pr  run.PipelineRun
		err error
	)
	if ref := q.Get("referencePipelineRunId"); ref != "" && q.Get("isRecovery") == "true" {
		// ADF's rerun: createRun naming the run to recover.
		pr, err = svc.Rerun(r.Context(), ws, ref, dataflow.RerunOptions{
			FromFailure: q.Get("startFromFailure") == "true", StartActivityName: q.Get("startActivityName")})
	} else {
		pr, err = svc.CreateRun(r.Context(), ws, r.PathValue("name"), params)
	}
	if err != nil {
		return nil, err
	}
	return map[string]string{"runId": pr.RunID}, nil
}

func (s *server) getFactoryRun(_ http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error) {
	run, err := svc.Run(r.Context(), ws, r.PathValue("runId"))
	if err != nil {
		return nil, err
	}
	return run, nil
}

func (s *server) cancelFactoryRun(_ http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error) {
	// isRecursive is always so: the runs an ExecutePipeline waits on are
	// cancelled with it.
	if err := svc.CancelRun(r.Context(), ws, r.PathValue("runId")); err != nil {
		return nil, err
	}
	return map[string]string{"status": "canceling"}, nil
}

func (s *server) rerunFactoryRun(_ http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error) {
	var o client.FactoryRerunOptions
	if err := decodeOptional(r, &o); err != nil {
		return nil, err
	}
	pr, err := svc.Rerun(r.Context(), ws, r.PathValue("runId"),
		dataflow.RerunOptions{FromFailure: o.StartFromFailure, StartActivityName: o.StartActivityName})
	if err != nil {
		return nil, err
	}
	return map[string]string{"runId": pr.RunID}, nil
}

// runQuery reads ADF's RunFilterParameters: Equals filters on the
// operands names allows.
func runQuery(r *http.Request, operands ...string) (dataflow.RunQuery, error) {
	var f client.FactoryRunFilter
	var q dataflow.RunQuery
	if err := decodeOptional(r, &f); err != nil {
		return q, err
	}
	if f.ContinuationToken != "" {
		return q, badRequest("continuationToken", "continuationToken is not taken: every match is answered at once")
	}
	if f.LastUpdatedAfter != nil {
		q.LastUpdatedAfter = *f.LastUpdatedAfter
	}
	if f.LastUpdatedBefore != nil {
		q.LastUpdatedBefore = *f.LastUpdatedBefore
	}
	for i, x := range f.Filters {
		field := fmt.Sprintf("filters[%d]", i)
		if x.Operator != "Equals" || len(x.Values) != 1 {
			return q, badRequest(field, "%s: only the operator Equals with one value is supported", field)
		}
		var dst *string
		switch x.Operand {
		case "PipelineName", "TriggerName":
			dst = &q.PipelineName
		case "Status":
			dst = &q.Status
		case "ActivityName":
			dst = &q.ActivityName
		case "ActivityType":
			dst = &q.ActivityType
		}
		if dst == nil || !slices.Contains(operands, x.Operand) {
			return q, badRequest(field+".operand", "%s: operand %q is not one of %s", field, x.Operand, strings.Join(operands, ", "))
		}
		*dst = x.Values[0]
	}
	return q, nil
}

func (s *server) queryFactoryRuns(_ http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error) {
	q, err := runQuery(r, "PipelineName", "Status")
	if err != nil {
		return nil, err
	}
	runs, err := svc.QueryRuns(r.Context(), ws, q)
	if err != nil {
		return nil, err
	}
	return listAnswer(runs), nil
}

func (s *server) queryActivityRuns(_ http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error) {
	q, err := runQuery(r, "ActivityName", "ActivityType", "Status")
	if err != nil {
		return nil, err
	}
	runs, err := svc.ActivityRuns(r.Context(), ws, r.PathValue("runId"), q)
	if err != nil {
		return nil, err
	}
	return listAnswer(runs), nil
}

func (s *server) setTriggerState(_ http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error) {
	_, name, err := factoryKind(r)
	if err != nil {
		return nil, err
	}
	set := svc.StopTrigger
	if strings.HasSuffix(r.URL.Path, "/start") {
		set = svc.StartTrigger
	}
	res, err := set(r.Context(), ws, name)
	if err != nil {
		return nil, err
	}
	return resourceView(ws, res), nil
}

func (s *server) queryTriggerRuns(_ http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error) {
	q, err := runQuery(r, "TriggerName", "Status")
	if err != nil {
		return nil, err
	}
	runs, err := svc.TriggerRuns(r.Context(), ws, q)
	if err != nil {
		return nil, err
	}
	return listAnswer(runs), nil
}

func (s *server) listTriggerWindows(_ http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error) {
	if err := dataflow.CheckName(factory.KindTrigger, r.PathValue("name")); err != nil {
		return nil, err
	}
	list, err := svc.TriggerWindows(r.Context(), ws, r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	return listAnswer(list), nil
}

// rerunTriggerWindow runs a tumbling window again: the one a trigger run
// ran (ADF's triggerRuns/{runId}/rerun) or the one starting at the body's
// windowStartTime.
func (s *server) rerunTriggerWindow(_ http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error) {
	if err := dataflow.CheckName(factory.KindTrigger, r.PathValue("name")); err != nil {
		return nil, err
	}
	var in struct {
		WindowStartTime time.Time `json:"windowStartTime"`
	}
	runID := r.PathValue("triggerRunId")
	if runID == "" {
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		if in.WindowStartTime.IsZero() {
			return nil, badRequest("windowStartTime", "windowStartTime is required: the start of the window to run again")
		}
	}
	w, err := svc.RerunWindow(r.Context(), ws, r.PathValue("name"), in.WindowStartTime, runID)
	if err != nil {
		return nil, err
	}
	return w, nil
}

func (s *server) importFactoryTemplate(_ http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error) {
	var in client.TemplateImport
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	if len(in.Template) == 0 {
		return nil, badRequest("template", "template is required: an ARM template of a factory")
	}
	rs, err := svc.ImportTemplate(r.Context(), ws, dataflow.Template{Template: in.Template, Parameters: in.Parameters,
		TemplateFile: cleanFileName(in.TemplateFile, "template"), ParametersFile: cleanFileName(in.ParametersFile, "parameters")})
	if err != nil {
		return nil, err
	}
	return s.importAnswer(r, rs), nil
}

// cleanFileName is a client's name for a file, for errors only; def
// when it gives none or one unfit to print.
func cleanFileName(f, def string) string {
	if f == "" || len(f) > 256 || strings.IndexFunc(f, func(c rune) bool { return c < ' ' || c == 0x7f }) >= 0 {
		return def
	}
	return f
}

func (s *server) importAnswer(r *http.Request, rs []dataflow.Resource) any {
	ws := r.PathValue("ws")
	return created{listAnswer(views(rs, func(x dataflow.Resource) client.FactoryResource { return resourceView(ws, x) }))}
}

// importFactoryFolder imports a factory folder sent as an uncompressed tar,
// read into memory within bounds: its regular files whose paths stay
// inside it.
func (s *server) importFactoryFolder(w http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error) {
	if r.ContentLength > maxFactoryFolderBytes {
		w.Header().Set("Connection", "close")
		return nil, uploadTooLarge(maxFactoryFolderBytes)
	}
	dir, err := os.MkdirTemp("", "ciel-factory-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := readFactoryTar(http.MaxBytesReader(w, r.Body, maxFactoryFolderBytes), dir); err != nil {
		return nil, err
	}
	docs, err := dataflow.LoadFolder(dir, nil)
	if err != nil {
		return nil, fmt.Errorf("import refused, nothing written:\n%w", err)
	}
	rs, err := svc.Import(r.Context(), ws, docs)
	if err != nil {
		return nil, err
	}
	return s.importAnswer(r, rs), nil
}

// readFactoryTar writes a tar's regular files under dir, for
// factory.LoadFolder to read; a path that is absolute or climbs out is
// refused, other entries (folders, links) are skipped.
func readFactoryTar(body io.Reader, dir string) error {
	tr := tar.NewReader(body)
	files := 0
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return uploadTooLarge(tooBig.Limit)
			}
			return badRequest("", "import: the body is not a tar of the factory folder: %v", err)
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		if clean := path.Clean(name); clean != strings.TrimSuffix(name, "/") || path.IsAbs(name) || strings.HasPrefix(clean, "../") || clean == ".." {
			return badRequest("", "import: unsafe path %q in the tar", hdr.Name)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		if files++; files > maxFactoryFolderFiles {
			return badRequest("", "import: more than %d files in the folder", maxFactoryFolderFiles)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return uploadTooLarge(tooBig.Limit)
			}
			return badRequest("", "import: read %s: %v", hdr.Name, err)
		}
		full := filepath.Join(dir, filepath.FromSlash(path.Clean(name)))
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(full, data, 0o600); err != nil {
			return err
		}
	}
}

func (s *server) setFactorySecret(_ http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error) {
	var in struct {
		Value string `json:"value"`
	}
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	info, err := svc.SetSecret(r.Context(), ws, r.PathValue("name"), in.Value)
	if err != nil {
		return nil, err
	}
	return secretView(info), nil
}

func secretView(x dataflow.SecretInfo) client.FactorySecret {
	return client.FactorySecret{Name: x.Name, CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt}
}

func (s *server) listFactorySecrets(_ http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error) {
	list, err := svc.ListSecrets(r.Context(), ws)
	if err != nil {
		return nil, err
	}
	return listAnswer(views(list, secretView)), nil
}

func (s *server) deleteFactorySecret(_ http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error) {
	if err := dataflow.CheckName("secret", r.PathValue("name")); err != nil {
		return nil, err
	}
	if err := svc.DeleteSecret(r.Context(), ws, r.PathValue("name")); err != nil {
		return nil, err
	}
	return map[string]string{"status": "deleted"}, nil
}
