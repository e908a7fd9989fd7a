package dataflow

import (
	"errors"
	"path"
	"slices"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
)

// File is one file of a factory folder: its slash-separated path inside
// the folder and its content.
type File struct {
	Path string
	Data []byte
}

// folderKinds are the folders ADF's git integration keeps each kind in.
var folderKinds = map[string]factory.Kind{
	"linkedService": factory.KindLinkedService,
	"dataset":       factory.KindDataset,
	"pipeline":      factory.KindPipeline,
	"trigger":       factory.KindTrigger,
}

// FolderDocuments reads the resources of a factory kept as ADF keeps it in
// git: linkedService/, dataset/, pipeline/ and trigger/ holding one JSON
// file per resource. Other folders (factory/, integrationRuntime/,
// credential/, managedVirtualNetwork/) and files are ignored: ciel runs
// every activity itself. A resource without a "name" takes its file's.
// Every file's problem is reported, each at its file:line:col.
func FolderDocuments(files []File) ([]Document, error) {
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	var docs []Document
	var errs []error
	for _, f := range files {
		dir, base := path.Split(f.Path)
		kind, ok := folderKinds[strings.TrimSuffix(dir, "/")]
		if !ok || !strings.HasSuffix(base, ".json") {
			continue
		}
		d, err := ParseDocument(kind, f.Path, f.Data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if d.Name == "" {
			d.Name = strings.TrimSuffix(base, ".json")
		}
		docs = append(docs, d)
	}
	if len(errs) > 0 {
		return nil, &ImportError{Errs: errs}
	}
	if len(docs) == 0 {
		return nil, errors.New("no factory resources found: expected JSON files under linkedService/, dataset/, pipeline/ or trigger/")
	}
	return docs, nil
}
