package activity

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
	"github.com/ciel-mlops/ciel/internal/dataflow/format"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// BinaryFilesSchema is what a Binary source gives and a Binary sink takes:
// each file as rows of its path (relative to the source folder) and a
// piece of its bytes, so a copy of many files keeps them apart and keeps
// their folders.
var BinaryFilesSchema = tabular.Schema{{Name: "path", Type: tabular.String}, {Name: "content", Type: tabular.ByteArray}}

var _ FilePather = (*fileSource)(nil)

// afterCommitter is a source with work left once the sink has committed
// (storeSettings.deleteFilesAfterCompletion). Copy calls AfterCommit
// after a successful sink Commit.
type afterCommitter interface {
	AfterCommit(ctx context.Context) error
}

// fileCounter is a file source or sink that can say how many files it
// read or wrote (Copy's filesRead / filesWritten).
type fileCounter interface {
	Files() int
}

// mapOf reads a nested object property (nil when absent).
func mapOf(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	return v
}

// openFileSource reads the files a dataset and the Copy source's
// storeSettings select, one at a time.
func (e *Env) openFileSource(ctx context.Context, ds Dataset, source map[string]any) (tabular.Reader, error) {
	f, err := format.New(ds.Type, ds.Properties, mapOf(source, "formatSettings"))
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", ds.Name, err)
	}
	store := mapOf(source, "storeSettings")
	sel, err := parseSelection(store, true)
	if err != nil {
		return nil, err
	}
	deleteAfter := false
	if v, ok := store["deleteFilesAfterCompletion"]; ok && v != nil {
		if deleteAfter, err = asBool(v); err != nil {
			return nil, fmt.Errorf("storeSettings.deleteFilesAfterCompletion: %w", err)
		}
	}
	t, err := e.resolveFiles(ctx, ds)
	if err != nil {
		return nil, err
	}
	list, err := enumerate(ctx, t, sel)
	if err != nil {
		t.close()
		return nil, fmt.Errorf("dataset %s: %w", ds.Name, err)
	}
	src := &fileSource{t: t, list: list, deleteAfter: deleteAfter}
	paths := make([]string, len(list))
	for i, f := range list {
		paths[i] = f.Path
	}
	if ds.Type == "Binary" {
		src.Reader = &binaryFiles{ctx: ctx, fsys: t.fs, list: list, f: f}
		return src, nil
	}
	schema := format.SchemaFromDataset(ds.Schema)
	if len(paths) == 0 {
		src.Reader = emptyReader{schema}
		return src, nil
	}
	if src.Reader, err = format.Open(ctx, t.fs, paths, f, schema); err != nil {
		t.close()
		return nil, fmt.Errorf("dataset %s: %w", ds.Name, err)
	}
	return src, nil
}

// fileSource is the rows of the selected files, and what to do with them
// once copied.
type fileSource struct {
	tabular.Reader
	t           *fileTarget
	list        []found
	deleteAfter bool
}

func (s *fileSource) Files() int { return len(s.list) }

// FilePath is the path of the file the last batch came from, relative to
// the dataset's folder, as ADF's $$FILEPATH is (a FilePather; each batch
// comes from one file).
func (s *fileSource) FilePath() string {
	var p string
	switch r := s.Reader.(type) {
	case interface{ Current() string }:
		p = r.Current()
	case *binaryFiles:
		if r.i > 0 {
			return r.list[r.i-1].rel
		}
	}
	for _, f := range s.list {
		if f.Path == p {
			return f.rel
		}
	}
	return p
}

// Close closes the reader, and the file system unless AfterCommit still
// needs it.
func (s *fileSource) Close() error {
	err := s.Reader.Close()
	if !s.deleteAfter {
		if cerr := s.t.close(); err == nil {
			err = cerr
		}
	}
	return err
}

// AfterCommit deletes the files read when deleteFilesAfterCompletion is
// set; Copy calls it once the sink committed, before or after Close.
func (s *fileSource) AfterCommit(ctx context.Context) error {
	if !s.deleteAfter {
		return nil
	}
	defer s.t.close()
	for _, f := range s.list {
		if err := s.t.fs.Delete(ctx, f.Path, false); err != nil {
			return fmt.Errorf("delete %s after the copy: %w", f.Path, err)
		}
	}
	return nil
}

type emptyReader struct{ schema tabular.Schema }

func (r emptyReader) Schema() tabular.Schema                { return r.schema }
func (r emptyReader) Next(context.Context) ([][]any, error) { return nil, io.EOF }
func (r emptyReader) Close() error                          { return nil }

// binaryFiles reads each file in turn as rows of (path, piece).
type binaryFiles struct {
	ctx  context.Context
	fsys files.FS
	list []found
	f    format.Format
	i    int
	cur  tabular.Reader
	out  [][]any
}

func (b *binaryFiles) Schema() tabular.Schema { return BinaryFilesSchema }

func (b *binaryFiles) Next(ctx context.Context) ([][]any, error) {
	for {
		if b.cur == nil {
			if b.i >= len(b.list) {
				return nil, io.EOF
			}
			rc, err := b.fsys.Open(ctx, b.list[b.i].Path)
			if err != nil {
				return nil, err
			}
			if b.cur, err = b.f.NewReader(ctx, rc, b.list[b.i].Path, nil); err != nil {
				return nil, err
			}
			b.i++
			// An empty file still makes one row, so the sink creates it.
			b.out = append(b.out[:0], []any{b.list[b.i-1].rel, []byte{}})
			return b.out, nil
		}
		rows, err := b.cur.Next(ctx)
		if err == io.EOF {
			err = b.cur.Close()
			b.cur = nil
			if err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		b.out = b.out[:0]
		for _, r := range rows {
			b.out = append(b.out, []any{b.list[b.i-1].rel, r[0]})
		}
		return b.out, nil
	}
}

func (b *binaryFiles) Close() error {
	if b.cur != nil {
		return b.cur.Close()
	}
	return nil
}

// openFileSink writes rows to the file the sink dataset names (or files:
// part files with formatSettings.maxRowsPerFile, one file per source file
// for Binary).
func (e *Env) openFileSink(ctx context.Context, ds Dataset, sink map[string]any, schema tabular.Schema) (tabular.Writer, error) {
	settings := mapOf(sink, "formatSettings")
	f, err := format.New(ds.Type, ds.Properties, settings)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", ds.Name, err)
	}
	t, err := e.resolveFiles(ctx, ds)
	if err != nil {
		return nil, err
	}
	if t.readOnly {
		t.close()
		return nil, fmt.Errorf("dataset %s: linked service %s is read only", ds.Name, ds.LinkedService.Name)
	}
	s := &fileSink{t: t, f: f, schema: schema}
	if s.maxRows, err = intOf(settings, "maxRowsPerFile"); err != nil {
		t.close()
		return nil, err
	}
	s.prefix, _ = settings["fileNamePrefix"].(string)
	if ext, _ := settings["fileExtension"].(string); ext != "" {
		s.ext = ext
	} else {
		s.ext = f.Ext()
	}
	if ds.Type == "Binary" {
		if !sameSchema(schema, BinaryFilesSchema) {
			t.close()
			return nil, fmt.Errorf("dataset %s: a Binary sink needs a Binary source", ds.Name)
		}
		s.binary = true
		s.behavior, _ = mapOf(sink, "storeSettings")["copyBehavior"].(string)
	}
	if s.prefix != "" {
		if _, err := files.Clean(s.prefix); err != nil || strings.Contains(s.prefix, "/") {
			t.close()
			return nil, fmt.Errorf("formatSettings.fileNamePrefix %q: expected a file name", s.prefix)
		}
	}
	return s, nil
}

func sameSchema(a, b tabular.Schema) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Type != b[i].Type {
			return false
		}
	}
	return true
}

func intOf(m map[string]any, key string) (int64, error) {
	switch v := m[key].(type) {
	case nil:
		return 0, nil
	case float64:
		if v < 0 || v != float64(int64(v)) {
			return 0, fmt.Errorf("%s: expected a whole number >= 0, got %v", key, v)
		}
		return int64(v), nil
	case int64:
		return v, nil
	case int:
		return int64(v), nil
	}
	return 0, fmt.Errorf("%s: expected a number, got %T", key, m[key])
}

// fileSink writes one file, or a run of part files each committed when
// full (Abort deletes those too).
type fileSink struct {
	t        *fileTarget
	f        format.Format
	schema   tabular.Schema
	maxRows  int64
	prefix   string
	ext      string
	binary   bool
	behavior string

	cur       tabular.Writer
	curPath   string
	curRows   int64
	part      int
	committed []string
	done      bool
}

func (s *fileSink) Files() int { return len(s.committed) }

// partName names the next file: the dataset's fileName, else
// data_<random><ext>; with maxRowsPerFile, <prefix>_00000<ext> where the
// prefix is fileNamePrefix, else fileName without its extension.
func (s *fileSink) partName() string {
	if s.maxRows == 0 {
		if s.t.file != "" {
			return path.Join(s.t.folder, s.t.file)
		}
		return path.Join(s.t.folder, "data_"+randomHex()+s.ext)
	}
	prefix := s.prefix
	ext := s.ext
	if prefix == "" && s.t.file != "" {
		prefix = strings.TrimSuffix(s.t.file, path.Ext(s.t.file))
		if ext == "" {
			ext = path.Ext(s.t.file)
		}
	}
	if prefix == "" {
		prefix = "data_" + randomHex()
		s.prefix = prefix
	}
	return path.Join(s.t.folder, fmt.Sprintf("%s_%05d%s", prefix, s.part, ext))
}

func randomHex() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// open starts the file p.
func (s *fileSink) open(ctx context.Context, p string) error {
	file, err := s.t.fs.Create(ctx, p)
	if err != nil {
		return err
	}
	schema := s.schema
	if s.binary {
		schema = format.BinarySchema
	}
	if s.cur, err = s.f.NewWriter(ctx, file, schema); err != nil {
		return err
	}
	s.curPath, s.curRows = p, 0
	return nil
}

// finish commits the current file.
func (s *fileSink) finish(ctx context.Context) error {
	if s.cur == nil {
		return nil
	}
	w := s.cur
	s.cur = nil
	if err := w.Commit(ctx); err != nil {
		return fmt.Errorf("write %s: %w", s.curPath, err)
	}
	s.committed = append(s.committed, s.curPath)
	s.part++
	return nil
}

func (s *fileSink) Write(ctx context.Context, rows [][]any) error {
	if s.done {
		return errors.New("sink already committed or aborted")
	}
	if s.binary {
		return s.writeBinary(ctx, rows)
	}
	for len(rows) > 0 {
		if s.cur == nil {
			if err := s.open(ctx, s.partName()); err != nil {
				return err
			}
		}
		n := int64(len(rows))
		if s.maxRows > 0 {
			n = min(n, s.maxRows-s.curRows)
		}
		if err := s.cur.Write(ctx, rows[:n]); err != nil {
			return err
		}
		s.curRows += n
		rows = rows[n:]
		if s.maxRows > 0 && s.curRows >= s.maxRows {
			if err := s.finish(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeBinary writes pieces of files, starting a new file whenever the
// path changes: under its relative path (PreserveHierarchy, the
// default), under its base name (FlattenHierarchy), or all into the
// dataset's fileName (MergeFiles, or a fileName and one file).
func (s *fileSink) writeBinary(ctx context.Context, rows [][]any) error {
	for _, r := range rows {
		rel, _ := r[0].(string)
		target, err := s.binaryPath(rel)
		if err != nil {
			return err
		}
		if s.cur == nil || target != s.curPath {
			if err := s.finish(ctx); err != nil {
				return err
			}
			if err := s.open(ctx, target); err != nil {
				return err
			}
		}
		if err := s.cur.Write(ctx, [][]any{{r[1]}}); err != nil {
			return err
		}
	}
	return nil
}

func (s *fileSink) binaryPath(rel string) (string, error) {
	switch {
	case s.behavior == "MergeFiles" || (s.t.file != "" && s.behavior == ""):
		if s.t.file == "" {
			return path.Join(s.t.folder, "data_merged"+s.ext), nil
		}
		return path.Join(s.t.folder, s.t.file), nil
	case s.behavior == "FlattenHierarchy":
		rel = path.Base(rel)
	}
	return files.Join(s.t.folder, rel)
}

// Commit commits the last file. With no rows at all, one empty file (a
// header only, for text with headers) is still written, as ADF does.
func (s *fileSink) Commit(ctx context.Context) error {
	if s.done {
		return errors.New("sink already committed or aborted")
	}
	if s.cur == nil && len(s.committed) == 0 && !s.binary {
		if err := s.open(ctx, s.partName()); err != nil {
			s.Abort(ctx)
			return err
		}
	}
	if err := s.finish(ctx); err != nil {
		s.Abort(ctx)
		return err
	}
	s.done = true
	return s.t.close()
}

// Abort drops the file being written and deletes those already committed.
func (s *fileSink) Abort(ctx context.Context) error {
	if s.done {
		return nil
	}
	s.done = true
	var errs []error
	if s.cur != nil {
		errs = append(errs, s.cur.Abort(ctx))
		s.cur = nil
	}
	for _, p := range s.committed {
		errs = append(errs, s.t.fs.Delete(ctx, p, false))
	}
	errs = append(errs, s.t.close())
	return errors.Join(errs...)
}
