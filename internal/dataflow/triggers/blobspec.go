package triggers

import (
	"encoding/json"
	"path"
	"regexp"
	"strings"
)

// Storage events a BlobEventsTrigger fires on.
const (
	EventBlobCreated = "Microsoft.Storage.BlobCreated"
	EventBlobDeleted = "Microsoft.Storage.BlobDeleted"
)

// datastoreName is what a datastore may be called (datastore's own rule).
var datastoreName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$`)

// blobEvents is a compiled BlobEventsTrigger: the datastore it watches,
// the folder under which it lists, and which paths and events fire.
//
// A datastore stands for the storage account: the first segment of a
// blob path is the container, a top-level folder of the datastore. So
// blobPathBeginsWith "/sales/blobs/in/" watches the folder sales/in.
type blobEvents struct {
	datastore  string
	root       string // the folder listed: "" is the datastore's root
	prefix     string // a path fires only if it starts with prefix ...
	suffix     string // ... and ends with suffix
	created    bool
	deleted    bool
	ignoreZero bool
}

type blobEventsJSON struct {
	BlobPathBeginsWith string   `json:"blobPathBeginsWith"`
	BlobPathEndsWith   string   `json:"blobPathEndsWith"`
	IgnoreEmptyBlobs   bool     `json:"ignoreEmptyBlobs"`
	Scope              string   `json:"scope"`
	Events             []string `json:"events"`
}

// compileBlobEvents checks a BlobEventsTrigger's type properties.
func compileBlobEvents(raw json.RawMessage) (*blobEvents, error) {
	var p blobEventsJSON
	if err := decodeProps(raw, &p); err != nil {
		return nil, err
	}
	const at = "typeProperties."
	b := &blobEvents{ignoreZero: p.IgnoreEmptyBlobs}
	var ok bool
	if b.datastore, ok = scopeDatastore(p.Scope); !ok {
		return nil, invalid(at+"scope", "%q: expected the datastore to watch: its name, azureml://datastores/<name>, or a storage account id whose last segment is the datastore's name", p.Scope)
	}
	if len(p.Events) == 0 {
		return nil, invalid(at+"events", "required: %s, %s or both", EventBlobCreated, EventBlobDeleted)
	}
	for _, e := range p.Events {
		switch {
		case strings.EqualFold(e, EventBlobCreated):
			b.created = true
		case strings.EqualFold(e, EventBlobDeleted):
			b.deleted = true
		default:
			return nil, invalid(at+"events", "%q: expected %s or %s", e, EventBlobCreated, EventBlobDeleted)
		}
	}
	if b.prefix, ok = blobPath(p.BlobPathBeginsWith); !ok {
		return nil, invalid(at+"blobPathBeginsWith", "%q: expected /<container>/blobs/<folder>/ (the container is a top-level folder of the datastore)", p.BlobPathBeginsWith)
	}
	if b.suffix, ok = blobPath(p.BlobPathEndsWith); !ok {
		return nil, invalid(at+"blobPathEndsWith", "%q: expected a file name ending (.csv) or /<container>/blobs/<path>", p.BlobPathEndsWith)
	}
	// List from the deepest whole folder of the prefix.
	if i := strings.LastIndexByte(b.prefix, '/'); i > 0 {
		b.root = b.prefix[:i]
	}
	return b, nil
}

// scopeDatastore returns the datastore a scope names.
func scopeDatastore(scope string) (string, bool) {
	name := strings.TrimSuffix(strings.TrimSpace(scope), "/")
	switch {
	case strings.HasPrefix(name, "azureml://datastores/"):
		name = strings.TrimPrefix(name, "azureml://datastores/")
	case strings.Contains(name, "/"):
		// An ARM id: .../providers/Microsoft.Storage/storageAccounts/<name>.
		i := strings.LastIndexByte(name, '/')
		if !strings.HasSuffix(strings.ToLower(name[:i]), "/storageaccounts") {
			return "", false
		}
		name = name[i+1:]
	}
	return name, datastoreName.MatchString(name)
}

// blobPath turns Data Factory's "/<container>/blobs/<path>" into the
// datastore path "<container>/<path>"; a value without the leading slash
// (a file name ending) is kept as it is. Paths that could climb out of
// the datastore are refused.
func blobPath(s string) (string, bool) {
	if s == "" {
		return "", true
	}
	if rest, ok := strings.CutPrefix(s, "/"); ok {
		container, tail, _ := strings.Cut(rest, "/")
		tail = strings.TrimPrefix(tail, "blobs/")
		if tail == "blobs" {
			tail = ""
		}
		if container == "" {
			return "", false
		}
		s = container + "/" + tail
	}
	if strings.ContainsRune(s, 0) || strings.Contains(s, "\\") {
		return "", false
	}
	for _, seg := range strings.Split(s, "/") {
		if seg == ".." || seg == "." {
			return "", false
		}
	}
	return s, true
}

// matches reports whether a datastore path fires this trigger.
func (b *blobEvents) matches(p string) bool {
	return strings.HasPrefix(p, b.prefix) && strings.HasSuffix(p, b.suffix) && !strings.HasPrefix(path.Base(p), ".")
}
