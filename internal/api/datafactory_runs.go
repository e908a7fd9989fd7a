package api

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/dataflow"
)

// Bounds of a factory folder import: its JSON files are small, and it is
// read into memory whole.
const (
	maxFactoryFolderBytes = 32 << 20
	maxFactoryFolderFiles = 10000
)

func (s *server) createFactoryRun(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.factoryFor(r)
	if err != nil {
		return nil, err
	}
	if err := dataflowErr(r, dataflow.CheckName("pipeline", r.PathValue("name"))); err != nil {
		return nil, err
	}
	params := map[string]any{}
	if err := decodeOptional(r, &params); err != nil {
		return nil, err
	}
	q := r.URL.Query()
	var run dataflow.PipelineRun
	if ref := q.Get("referencePipelineRunId"); ref != "" && q.Get("isRecovery") == "true" {
		// ADF's rerun: createRun naming the run to recover.
		run, err = svc.Rerun(r.Context(), r.PathValue("ws"), ref, dataflow.RerunOptions{
			FromFailure: q.Get("startFromFailure") == "true", StartActivityName: q.Get("startActivityName")})
	} else {
		run, err = svc.CreateRun(r.Context(), r.PathValue("ws"), r.PathValue("name"), params)
	}
	if err != nil {
		return nil, dataflowErr(r, err)
	}
	return map[string]string{"runId": run.RunID}, nil
}

func (s *server) getFactoryRun(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.factoryFor(r)
	if err != nil {
		return nil, err
	}
	run, err := svc.Run(r.Context(), r.PathValue("ws"), r.PathValue("runId"))
	if err != nil {
		return nil, dataflowErr(r, err)
	}
	return run, nil
}

func (s *server) cancelFactoryRun(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.factoryFor(r)
	if err != nil {
		return nil, err
	}
	recursive := r.URL.Query().Get("isRecursive") == "true"
	if err := svc.CancelRun(r.Context(), r.PathValue("ws"), r.PathValue("runId"), recursive); err != nil {
		return nil, dataflowErr(r, err)
	}
	return map[string]string{"status": "canceling"}, nil
}

func (s *server) rerunFactoryRun(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.factoryFor(r)
	if err != nil {
		return nil, err
	}
	var o client.FactoryRerunOptions
	if err := decodeOptional(r, &o); err != nil {
		return nil, err
	}
	run, err := svc.Rerun(r.Context(), r.PathValue("ws"), r.PathValue("runId"),
		dataflow.RerunOptions{FromFailure: o.StartFromFailure, StartActivityName: o.StartActivityName})
	if err != nil {
		return nil, dataflowErr(r, err)
	}
	return map[string]string{"runId": run.RunID}, nil
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

func (s *server) queryFactoryRuns(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.factoryFor(r)
	if err != nil {
		return nil, err
	}
	q, err := runQuery(r, "PipelineName", "Status")
	if err != nil {
		return nil, err
	}
	runs, err := svc.QueryRuns(r.Context(), r.PathValue("ws"), q)
	if err != nil {
		return nil, dataflowErr(r, err)
	}
	return listAnswer(runs), nil
}

func (s *server) queryActivityRuns(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.factoryFor(r)
	if err != nil {
		return nil, err
	}
	q, err := runQuery(r, "ActivityName", "ActivityType", "Status")
	if err != nil {
		return nil, err
	}
	runs, err := svc.ActivityRuns(r.Context(), r.PathValue("ws"), r.PathValue("runId"), q)
	if err != nil {
		return nil, dataflowErr(r, err)
	}
	return listAnswer(runs), nil
}

func (s *server) setTriggerState(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.factoryFor(r)
	if err != nil {
		return nil, err
	}
	_, name, err := factoryKind(r)
	if err != nil {
		return nil, err
	}
	set := svc.StopTrigger
	if strings.HasSuffix(r.URL.Path, "/start") {
		set = svc.StartTrigger
	}
	res, err := set(r.Context(), r.PathValue("ws"), name)
	if err != nil {
		return nil, dataflowErr(r, err)
	}
	return resourceView(r.PathValue("ws"), res), nil
}

func (s *server) queryTriggerRuns(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.factoryFor(r)
	if err != nil {
		return nil, err
	}
	q, err := runQuery(r, "TriggerName", "Status")
	if err != nil {
		return nil, err
	}
	runs, err := svc.TriggerRuns(r.Context(), r.PathValue("ws"), q)
	if err != nil {
		return nil, dataflowErr(r, err)
	}
	return listAnswer(runs), nil
}

func (s *server) importFactoryTemplate(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.factoryFor(r)
	if err != nil {
		return nil, err
	}
	var in client.TemplateImport
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	if len(in.Template) == 0 {
		return nil, badRequest("template", "template is required: an ARM template of a factory")
	}
	rs, err := svc.ImportTemplate(r.Context(), r.PathValue("ws"), in.Template, in.Parameters)
	if err != nil {
		return nil, dataflowErr(r, err)
	}
	return s.importAnswer(r, rs), nil
}

func (s *server) importAnswer(r *http.Request, rs []dataflow.Resource) any {
	ws := r.PathValue("ws")
	return created{listAnswer(views(rs, func(x dataflow.Resource) client.FactoryResource { return resourceView(ws, x) }))}
}

// importFactoryFolder imports a factory folder sent as an uncompressed tar,
// read into memory within bounds: its regular files whose paths stay
// inside it.
func (s *server) importFactoryFolder(w http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.factoryFor(r)
	if err != nil {
		return nil, err
	}
	if r.ContentLength > maxFactoryFolderBytes {
		w.Header().Set("Connection", "close")
		return nil, uploadTooLarge(maxFactoryFolderBytes)
	}
	files, err := readFactoryTar(http.MaxBytesReader(w, r.Body, maxFactoryFolderBytes))
	if err != nil {
		return nil, err
	}
	docs, err := dataflow.FolderDocuments(files)
	if err != nil {
		return nil, badRequest("", "%v", err)
	}
	rs, err := svc.Import(r.Context(), r.PathValue("ws"), docs)
	if err != nil {
		return nil, dataflowErr(r, err)
	}
	return s.importAnswer(r, rs), nil
}

// readFactoryTar reads a tar's regular files; a path that is absolute or
// climbs out is refused, other entries (folders, links) are skipped.
func readFactoryTar(body io.Reader) ([]dataflow.File, error) {
	tr := tar.NewReader(body)
	var files []dataflow.File
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, uploadTooLarge(tooBig.Limit)
			}
			return nil, badRequest("", "import: the body is not a tar of the factory folder: %v", err)
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		if clean := path.Clean(name); clean != strings.TrimSuffix(name, "/") || path.IsAbs(name) || strings.HasPrefix(clean, "../") || clean == ".." {
			return nil, badRequest("", "import: unsafe path %q in the tar", hdr.Name)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		if len(files) >= maxFactoryFolderFiles {
			return nil, badRequest("", "import: more than %d files in the folder", maxFactoryFolderFiles)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, uploadTooLarge(tooBig.Limit)
			}
			return nil, badRequest("", "import: read %s: %v", hdr.Name, err)
		}
		files = append(files, dataflow.File{Path: name, Data: data})
	}
}

func (s *server) setFactorySecret(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.factoryFor(r)
	if err != nil {
		return nil, err
	}
	var in struct {
		Value string `json:"value"`
	}
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	info, err := svc.SetSecret(r.Context(), r.PathValue("ws"), r.PathValue("name"), in.Value)
	if err != nil {
		return nil, dataflowErr(r, err)
	}
	return secretView(info), nil
}

func secretView(x dataflow.SecretInfo) client.FactorySecret {
	return client.FactorySecret{Name: x.Name, CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt}
}

func (s *server) listFactorySecrets(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.factoryFor(r)
	if err != nil {
		return nil, err
	}
	list, err := svc.ListSecrets(r.Context(), r.PathValue("ws"))
	if err != nil {
		return nil, err
	}
	return listAnswer(views(list, secretView)), nil
}

func (s *server) deleteFactorySecret(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.factoryFor(r)
	if err != nil {
		return nil, err
	}
	if err := dataflowErr(r, dataflow.CheckName("secret", r.PathValue("name"))); err != nil {
		return nil, err
	}
	if err := svc.DeleteSecret(r.Context(), r.PathValue("ws"), r.PathValue("name")); err != nil {
		return nil, dataflowErr(r, err)
	}
	return map[string]string{"status": "deleted"}, nil
}
