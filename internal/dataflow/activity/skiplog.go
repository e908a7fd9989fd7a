package activity

import (
	"context"
	"encoding/csv"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
)

// skipLog is where a Copy with enableSkipIncompatibleRow writes every row
// it skipped: a CSV (Timestamp, Level, OperationName, OperationItem,
// Message, as ADF's copy activity log) in the datastore the
// redirectIncompatibleRowSettings' (or logSettings.logLocationSettings')
// linked service maps to, under its path (container/folder):
// <path>/copyactivity-logs/<activity>/<stamp>/incompatiblerows.csv.
// Nothing is written when no row is skipped.
type skipLog struct {
	t      *fileTarget
	file   string
	f      files.File
	w      *csv.Writer
	outKey string // the output property naming the log's folder
}

// openSkipLog reads the Copy's log settings; nil when it has none.
func (e *Env) openSkipLog(ctx context.Context, name string, tp map[string]any) (*skipLog, error) {
	loc, key := mapOf(tp, "redirectIncompatibleRowSettings"), "redirectRowPath"
	if loc == nil {
		ls := mapOf(tp, "logSettings")
		if ls == nil || ls["enableCopyActivityLog"] == false {
			return nil, nil
		}
		loc, key = mapOf(ls, "logLocationSettings"), "logFilePath"
		if loc == nil {
			return nil, nil
		}
	}
	ref := mapOf(loc, "linkedServiceName")
	lsName, _ := ref["referenceName"].(string)
	if s, ok := loc["linkedServiceName"].(string); ok { // a bare name
		lsName = s
	}
	if lsName == "" {
		return nil, fmt.Errorf("%s: linkedServiceName.referenceName is missing", key)
	}
	if e.LinkedServices == nil {
		return nil, fmt.Errorf("%s: linked service %s: no linked services to resolve it from", key, lsName)
	}
	ls, err := e.LinkedServices(ctx, lsName, mapOf(ref, "parameters"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	p, err := locString(loc, "path")
	if err != nil {
		return nil, err
	}
	container, folder, _ := strings.Cut(strings.Trim(p, "/"), "/")
	stamp := time.Now().UTC().Format("20060102T150405Z") + "_" + randomHex()
	folder = path.Join(folder, "copyactivity-logs", name, stamp)
	ds := Dataset{Name: lsName, Type: "DelimitedText", LinkedService: ls, Properties: map[string]any{"location": map[string]any{
		"container": container, "fileSystem": container, "bucketName": container, "folderPath": folder, "fileName": "incompatiblerows.csv"}}}
	t, err := e.resolveFiles(ctx, ds)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	if t.readOnly {
		t.close()
		return nil, fmt.Errorf("%s: linked service %s is read only", key, lsName)
	}
	return &skipLog{t: t, file: t.path(), outKey: key}, nil
}

// add writes one skipped row (under copyRun.mu).
func (l *skipLog) add(ctx context.Context, row int64, col, reason string) error {
	if l.f == nil {
		f, err := l.t.fs.Create(ctx, l.file)
		if err != nil {
			return err
		}
		l.f, l.w = f, csv.NewWriter(f)
		l.w.Write([]string{"Timestamp", "Level", "OperationName", "OperationItem", "Message"})
	}
	item := fmt.Sprintf("row %d", row)
	if col != "" {
		item += fmt.Sprintf(", column %s", col)
	}
	return l.w.Write([]string{time.Now().UTC().Format(time.RFC3339Nano), "Warning", "TabularRowSkip", item, reason})
}

// finish commits the log (when a row was skipped) and says where it is:
// the datastore and folder, for the Copy's output.
func (l *skipLog) finish() (string, error) {
	defer l.t.close()
	if l.f == nil {
		return "", nil
	}
	l.w.Flush()
	if err := l.w.Error(); err != nil {
		l.f.Abort()
		return "", err
	}
	if err := l.f.Commit(); err != nil {
		return "", err
	}
	return l.t.datastore + ":" + path.Dir(l.file), nil
}
