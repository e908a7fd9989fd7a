package activity

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/db"
	"github.com/ciel-mlops/ciel/internal/dataflow/format"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

func init() {
	funcs["GetMetadata"] = getMetadata
}

// timeLayout is how GetMetadata writes times (ADF: 2026-11-01T10:00:00Z).
const timeLayout = "2006-01-02T15:04:05Z"

// getMetadata answers the fieldList for the file, folder or table the
// input dataset names. A missing file or folder gives exists: false when
// exists is asked for, and fails otherwise, as in ADF.
func getMetadata(ctx context.Context, env *Env, c Call) (map[string]any, error) {
	if len(c.Inputs) == 0 {
		return nil, &Error{Code: "BadRequest", Msg: "GetMetadata needs a dataset"}
	}
	ds := c.Inputs[0]
	fields, err := fieldList(c.TypeProperties)
	if err != nil {
		return nil, err
	}
	if IsTable(ds.Type) {
		return tableMetadata(ctx, ds, fields)
	}
	t, err := env.resolveFiles(ctx, ds)
	if err != nil {
		return nil, err
	}
	defer t.close()
	p := t.path()
	info, err := t.fs.Stat(ctx, p)
	if errors.Is(err, fs.ErrNotExist) {
		if fields["exists"] {
			return map[string]any{"exists": false}, nil
		}
		return nil, &Error{Code: "PathNotFound", Msg: fmt.Sprintf("GetMetadata: the %s of dataset %s does not exist in datastore %s", kindOf(t), ds.Name, t.datastore)}
	}
	if err != nil {
		return nil, err
	}
	sel, err := parseSelection(mapOf(c.TypeProperties, "storeSettings"), false)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for f := range fields {
		if err := metadataField(ctx, t, ds, c, info.Dir, sel, f, out, info.Size, info.ModTime); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func kindOf(t *fileTarget) string {
	if t.file == "" {
		return "folder " + t.folder
	}
	return "file " + t.path()
}

// fieldList reads typeProperties.fieldList (strings, or {"value": ...}).
func fieldList(tp map[string]any) (map[string]bool, error) {
	list, _ := tp["fieldList"].([]any)
	if len(list) == 0 {
		return nil, &Error{Code: "BadRequest", Msg: "GetMetadata: fieldList is empty: name the fields to get (itemName, itemType, size, created, lastModified, childItems, contentMD5, structure, columnCount, exists)"}
	}
	out := map[string]bool{}
	for _, v := range list {
		if m, ok := v.(map[string]any); ok {
			v = m["value"]
		}
		s, _ := v.(string)
		switch s {
		case "itemName", "itemType", "size", "created", "lastModified", "childItems", "contentMD5", "structure", "columnCount", "exists":
			out[s] = true
		default:
			return nil, &Error{Code: "BadRequest", Msg: fmt.Sprintf("GetMetadata: unknown field %v in fieldList", v)}
		}
	}
	return out, nil
}

// metadataField fills one field.
func metadataField(ctx context.Context, t *fileTarget, ds Dataset, c Call, dir bool, sel selection, f string, out map[string]any, size int64, mod time.Time) error {
	notFor := func(what string) error {
		return &Error{Code: "BadRequest", Msg: fmt.Sprintf("GetMetadata: %s is not available for a %s", f, what)}
	}
	switch f {
	case "exists":
		out[f] = true
	case "itemName":
		out[f] = path.Base("/" + t.path())
		if t.path() == "" {
			out[f] = ""
		}
	case "itemType":
		out[f] = "File"
		if dir {
			out[f] = "Folder"
		}
	case "size":
		if dir {
			return notFor("folder")
		}
		out[f] = size
	case "created", "lastModified": // files.Info has no creation time: the modification time stands in
		if !mod.IsZero() {
			out[f] = mod.UTC().Format(timeLayout)
		}
	case "childItems":
		if !dir {
			return notFor("file")
		}
		kids, err := t.fs.List(ctx, t.path())
		if err != nil {
			return err
		}
		items := []any{}
		for _, k := range kids {
			if !k.Dir && !sel.keep(k, k.Name) {
				continue
			}
			if sel.wildcardFile != "" && !k.Dir && !wildcardMatch(sel.wildcardFile, k.Name) {
				continue
			}
			typ := "File"
			if k.Dir {
				typ = "Folder"
			}
			items = append(items, map[string]any{"name": k.Name, "type": typ})
		}
		out[f] = items
	case "contentMD5":
		if dir {
			return notFor("folder")
		}
		sum, err := md5Of(ctx, t)
		if err != nil {
			return err
		}
		out[f] = sum
	case "structure", "columnCount":
		if dir {
			return notFor("folder")
		}
		schema, err := fileStructure(ctx, t, ds, c)
		if err != nil {
			return err
		}
		if f == "columnCount" {
			out[f] = len(schema)
		} else {
			out[f] = structureOf(schema)
		}
	}
	return nil
}

func structureOf(s tabular.Schema) []any {
	out := make([]any, len(s))
	for i, c := range s {
		out[i] = map[string]any{"name": c.Name, "type": string(c.Type)}
	}
	return out
}

// md5Of streams the file through MD5 (base64, as Azure Blob's
// Content-MD5).
func md5Of(ctx context.Context, t *fileTarget) (string, error) {
	r, err := t.fs.Open(ctx, t.path())
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := md5.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", fmt.Errorf("read %s: %w", t.path(), err)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// fileStructure opens the file in its format and returns its columns.
func fileStructure(ctx context.Context, t *fileTarget, ds Dataset, c Call) (tabular.Schema, error) {
	f, err := format.New(ds.Type, ds.Properties, mapOf(c.TypeProperties, "formatSettings"))
	if err != nil {
		return nil, err
	}
	if ds.Type == "Binary" {
		return nil, &Error{Code: "BadRequest", Msg: "GetMetadata: a Binary dataset has no structure"}
	}
	r, err := format.Open(ctx, t.fs, []string{t.path()}, f, format.SchemaFromDataset(ds.Schema))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Schema(), nil
}

// tableMetadata answers exists, structure and columnCount of a table
// dataset from its database's catalog.
func tableMetadata(ctx context.Context, ds Dataset, fields map[string]bool) (map[string]any, error) {
	for f := range fields {
		switch f {
		case "exists", "structure", "columnCount":
		default:
			return nil, &Error{Code: "BadRequest", Msg: fmt.Sprintf("GetMetadata: %s is not available for a table (exists, structure, columnCount are)", f)}
		}
	}
	t, err := db.ParseTable(ds.Properties)
	if err != nil {
		return nil, &Error{Code: "BadRequest", Msg: fmt.Sprintf("GetMetadata: dataset %s: %v", ds.Name, err)}
	}
	d, err := OpenDatabase(ctx, ds.LinkedService)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	schema, err := d.Columns(ctx, t)
	if errors.Is(err, db.ErrNoTable) {
		if fields["exists"] {
			return map[string]any{"exists": false}, nil
		}
		return nil, &Error{Code: "PathNotFound", Msg: fmt.Sprintf("GetMetadata: table %s of dataset %s does not exist", t.String(), ds.Name)}
	}
	if err != nil {
		return nil, fmt.Errorf("GetMetadata: dataset %s: %w", ds.Name, err)
	}
	out := map[string]any{}
	if fields["exists"] {
		out["exists"] = true
	}
	if fields["structure"] {
		out["structure"] = structureOf(schema)
	}
	if fields["columnCount"] {
		out["columnCount"] = len(schema)
	}
	return out, nil
}
