package factory

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/jsonpos"
)

// Factory is a set of resources read together (a folder kept by ADF's git
// integration, or an ARM template), each list in dependency order: key
// vaults before the linked services that use them, pipelines after those
// they execute. Create them in the order LinkedServices, Datasets,
// Pipelines, Triggers and every reference finds its target.
type Factory struct {
	LinkedServices []*LinkedService
	Datasets       []*Dataset
	Pipelines      []*Pipeline
	Triggers       []*Trigger
	// Notes say what was read but left out (integration runtimes, the
	// factory's own settings, resource types ciel does not keep).
	Notes []string

	src map[Resource]source
}

// source is where a resource was read, for errors about its references.
type source struct {
	file string
	doc  *jsonpos.Value
}

// Add adds a resource read from file (doc, when not nil, is the document
// it was decoded from, so errors about it have positions). A second
// resource of the same kind and name (names are case-insensitive in Data
// Factory) is an error naming both files.
func (f *Factory) Add(res Resource, file string, doc *jsonpos.Value) error {
	if f.src == nil {
		f.src = map[Resource]source{}
	}
	for other, s := range f.src {
		if other.ResourceKind() == res.ResourceKind() && strings.EqualFold(other.ResourceName(), res.ResourceName()) {
			r := &reporter{file: file, doc: doc}
			r.at(path{"name"}, "%s %q is defined twice (also in %s)", kindNoun(res.ResourceKind()), res.ResourceName(), s.file)
			return r.errs.Err()
		}
	}
	f.src[res] = source{file: file, doc: doc}
	switch x := res.(type) {
	case *LinkedService:
		f.LinkedServices = append(f.LinkedServices, x)
	case *Dataset:
		f.Datasets = append(f.Datasets, x)
	case *Pipeline:
		f.Pipelines = append(f.Pipelines, x)
	case *Trigger:
		f.Triggers = append(f.Triggers, x)
	default:
		return fmt.Errorf("add %T: not a factory resource", res)
	}
	return nil
}

// folders are the folders of a factory in git, by what they hold.
var folders = []struct {
	dir  string
	kind Kind
}{
	{"linkedService", KindLinkedService},
	{"dataset", KindDataset},
	{"pipeline", KindPipeline},
	{"trigger", KindTrigger},
}

// ignoredFolders are what ADF's git integration also keeps and ciel has
// no use for, with why.
var ignoredFolders = map[string]string{
	"factory":               "the factory's own settings",
	"integrationRuntime":    "integration runtimes (ciel runs every activity itself)",
	"managedVirtualNetwork": "managed virtual networks",
	"credential":            "credentials",
	"dataflow":              "mapping data flows (not supported)",
	"globalParameters":      "global parameters",
}

// LoadFolder reads a factory as ADF's git integration keeps it:
// linkedService/, dataset/, pipeline/ and trigger/ of *.json files, each
// parsed and validated, then checked together: every reference names a
// resource of the folder. Errors name the file. Other folders are noted
// in Notes and skipped.
func LoadFolder(dir string) (*Factory, error) { return Parser{}.LoadFolder(dir) }

// LoadFolder is LoadFolder with p's expression check.
func (p Parser) LoadFolder(dir string) (*Factory, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read factory folder: %w", err)
	}
	f := &Factory{}
	known := map[string]bool{}
	for _, fo := range folders {
		known[fo.dir] = true
	}
	for _, e := range entries {
		switch {
		case known[e.Name()] || strings.HasPrefix(e.Name(), "."):
		case ignoredFolders[e.Name()] != "":
			f.Notes = append(f.Notes, fmt.Sprintf("%s/: %s, skipped", e.Name(), ignoredFolders[e.Name()]))
		default:
			f.Notes = append(f.Notes, fmt.Sprintf("%s: not part of a factory, skipped", e.Name()))
		}
	}
	var errs ErrorList
	for _, fo := range folders {
		files, err := jsonFiles(filepath.Join(dir, fo.dir))
		if err != nil {
			return nil, err
		}
		for _, name := range files {
			rel := fo.dir + "/" + name
			if err := p.loadFile(f, fo.kind, filepath.Join(dir, fo.dir, name), rel); err != nil {
				errs = appendErr(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs.Err()
	}
	if err := f.Check(nil); err != nil {
		return nil, err
	}
	f.Sort()
	return f, nil
}

func (p Parser) loadFile(f *Factory, kind Kind, full, rel string) error {
	info, err := os.Lstat(full)
	if err != nil {
		return &Error{File: rel, Msg: err.Error()}
	}
	if !info.Mode().IsRegular() {
		return &Error{File: rel, Msg: "not a regular file"}
	}
	if info.Size() > MaxFileSize {
		return &Error{File: rel, Msg: fmt.Sprintf("file is %d bytes; at most %d", info.Size(), MaxFileSize)}
	}
	data, err := os.ReadFile(full)
	if err != nil {
		return &Error{File: rel, Msg: err.Error()}
	}
	_, err = p.ParseInto(f, kind, rel, data)
	return err
}

// ParseInto parses a resource as Parse does and adds it to f, keeping
// its document so that f.Check places errors about its references in it:
// how one file is checked against what a store already holds.
func (p Parser) ParseInto(f *Factory, kind Kind, file string, data []byte) (Resource, error) {
	if len(data) > MaxFileSize {
		return nil, &Error{File: file, Msg: fmt.Sprintf("file is %d bytes; at most %d", len(data), MaxFileSize)}
	}
	doc, err := jsonpos.Parse(data)
	if err != nil {
		return nil, AsError(file, err)
	}
	res, err := p.Decode(kind, file, doc)
	if err != nil {
		return nil, err
	}
	if err := f.Add(res, file, doc); err != nil {
		return nil, err
	}
	return res, nil
}

// jsonFiles lists the *.json files of a folder; none when it is absent.
func jsonFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read factory folder: %w", err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".json") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// appendErr adds err's problems to a list.
func appendErr(l ErrorList, err error) ErrorList {
	var list ErrorList
	if errors.As(err, &list) {
		return append(l, list...)
	}
	return append(l, AsError("", err))
}
