package activity

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sync"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
)

func init() {
	funcs["Delete"] = deleteFiles
}

// deleteFiles is the Delete activity: it deletes the files the input
// dataset and storeSettings select (recursive false by default, as in
// ADF), maxConcurrentConnections at a time, and with enableLogging writes
// a CSV of what it deleted (Name, Category, Status, Error) under
// logStorageSettings.path. A dataset that names a whole folder with
// recursive and no filter loses the folder too. Nothing to delete is not
// an error.
func deleteFiles(ctx context.Context, env *Env, c Call) (map[string]any, error) {
	if len(c.Inputs) == 0 {
		return nil, &Error{Code: "BadRequest", Msg: "Delete needs a dataset"}
	}
	ds := c.Inputs[0]
	if IsTable(ds.Type) {
		return nil, &Error{Code: "BadRequest", Msg: fmt.Sprintf("Delete works on files; dataset %s is a table (%s)", ds.Name, ds.Type)}
	}
	tp := c.TypeProperties
	store := mapOf(tp, "storeSettings")
	if store == nil {
		store = map[string]any{}
	}
	if _, ok := store["recursive"]; !ok && tp["recursive"] != nil {
		store["recursive"] = tp["recursive"]
	}
	sel, err := parseSelection(store, false)
	if err != nil {
		return nil, &Error{Code: "BadRequest", Msg: err.Error()}
	}
	workers, err := intOf(store, "maxConcurrentConnections")
	if err == nil && workers == 0 {
		workers, err = intOf(tp, "maxConcurrentConnections")
	}
	if err != nil {
		return nil, &Error{Code: "BadRequest", Msg: err.Error()}
	}
	workers = min(max(workers, 1), 64)
	t, err := env.resolveFiles(ctx, ds)
	if err != nil {
		return nil, err
	}
	defer t.close()
	if t.readOnly {
		return nil, &Error{Code: "BadRequest", Msg: fmt.Sprintf("dataset %s: linked service %s is read only", ds.Name, ds.LinkedService.Name)}
	}
	list, err := enumerate(ctx, t, sel)
	if errors.Is(err, fs.ErrNotExist) {
		list, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	results := deleteAll(ctx, t.fs, list, int(workers))
	out := map[string]any{"datasetName": ds.Name, "filesDeleted": 0, "filesFailed": 0}
	var failed []string
	for _, r := range results {
		if r.err != nil {
			failed = append(failed, r.path+": "+r.err.Error())
			continue
		}
		out["filesDeleted"] = out["filesDeleted"].(int) + 1
	}
	out["filesFailed"] = len(failed)
	if len(failed) == 0 && sel.recursive && !sel.filtered() && t.file == "" && t.folder != "" {
		if err := t.fs.Delete(ctx, t.folder, true); err != nil && !errors.Is(err, fs.ErrNotExist) {
			failed = append(failed, t.folder+": "+err.Error())
		}
	}
	if on, _ := asBool(tp["enableLogging"]); on {
		p, err := env.writeDeleteLog(ctx, c, ds, results)
		if err != nil {
			return nil, fmt.Errorf("Delete log: %w", err)
		}
		out["logPath"] = p
	}
	if len(failed) > 0 {
		return out, &Error{Code: "DeleteFailed", Msg: fmt.Sprintf("Delete: %d of %d files could not be deleted; first: %s", len(failed), len(results), failed[0])}
	}
	return out, nil
}

type deleted struct {
	path string
	err  error
}

// deleteAll deletes the files with n workers.
func deleteAll(ctx context.Context, fsys files.FS, list []found, n int) []deleted {
	out := make([]deleted, len(list))
	work := make(chan int)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				out[i] = deleted{path: list[i].Path, err: fsys.Delete(ctx, list[i].Path, false)}
			}
		}()
	}
	for i := range list {
		work <- i
	}
	close(work)
	wg.Wait()
	return out
}

// writeDeleteLog writes the log CSV where logStorageSettings says: its
// path, on the activity's linked service (Call.LinkedService, which run
// resolves from logStorageSettings.linkedServiceName), else on the
// dataset's own.
func (e *Env) writeDeleteLog(ctx context.Context, c Call, ds Dataset, results []deleted) (string, error) {
	ls := ds.LinkedService
	if c.LinkedService != nil {
		ls = *c.LinkedService
	}
	logPath, _ := mapOf(c.TypeProperties, "logStorageSettings")["path"].(string)
	logDS := Dataset{Name: "delete log", Type: "DelimitedText", LinkedService: ls,
		Properties: map[string]any{"location": map[string]any{"folderPath": logPath}}}
	t, err := e.resolveFiles(ctx, logDS)
	if err != nil {
		return "", err
	}
	defer t.close()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"Name", "Category", "Status", "Error"})
	for _, r := range results {
		status, msg := "Deleted", ""
		if r.err != nil {
			status, msg = "Failed", r.err.Error()
		}
		_ = w.Write([]string{r.path, "File", status, msg})
		if buf.Len() > 1<<20 {
			break // the log is bounded; the counts in the output are whole
		}
	}
	w.Flush()
	name := path.Join(t.folder, fmt.Sprintf("%s_%s.csv", safeName(c.Name), time.Now().UTC().Format("20060102T150405.000Z")))
	f, err := t.fs.Create(ctx, name)
	if err != nil {
		return "", err
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Abort()
		return "", err
	}
	if err := f.Commit(); err != nil {
		return "", err
	}
	return t.datastore + "/" + name, nil
}

// safeName keeps an activity name usable as a file name.
func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || len(b) > 100 {
		return "delete"
	}
	return string(b)
}
