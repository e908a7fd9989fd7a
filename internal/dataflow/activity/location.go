package activity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
	"github.com/ciel-mlops/ciel/internal/dataflow/files/local"
	"github.com/ciel-mlops/ciel/internal/dataflow/files/s3"
	"github.com/ciel-mlops/ciel/internal/datastore"
	"github.com/ciel-mlops/ciel/internal/store"
)

// How a file linked service finds its files. Azure and AWS storage are
// not reachable from ciel; each file linked service maps to a datastore
// of the workspace (a local folder or an S3-compatible bucket), chosen by
// the first of:
//
//  1. typeProperties "datastore": "<name>" (ciel's own property; the
//     datastore must exist);
//  2. a datastore named like the linked service;
//  3. a datastore named like the storage account of the connection
//     string (AccountName=...) or of the serviceEndpoint / url host
//     (https://<account>.blob.core.windows.net);
//  4. workspaceblobstore.
//
// In that datastore, the location's container (AzureBlobStorageLocation),
// fileSystem (AzureBlobFSLocation) or bucketName (AmazonS3Location) is the
// first folder, then folderPath, then fileName. A bucketName equal to an
// S3 datastore's own bucket adds no folder. A FileServer's host, when it
// is an absolute path on this machine, must lie inside a local
// datastore's folder and becomes the folder under it; a Windows or UNC
// host (\\server\share, C:\data) is ignored (the datastore's root). No
// location reaches a path outside its datastore.
//
// HttpServer and RestService read one URL, the linked service's url
// joined with the location's relativeUrl, through Env.HTTP; they are
// read only.

// fileLinkedServices are the linked service types that map to a
// datastore.
var fileLinkedServices = map[string]bool{
	"AzureBlobStorage": true, "AzureBlobFS": true, "AzureDataLakeStore": true, "AzureFileStorage": true,
	"AmazonS3": true, "AmazonS3Compatible": true, "FileServer": true, "GoogleCloudStorage": true,
}

// fileTarget is where a file dataset's data is.
type fileTarget struct {
	fs    files.FS
	close func() error
	// root is the container folder wildcards start from; folder is root
	// with folderPath; file is fileName ("" for a folder).
	root, folder, file string
	readOnly           bool
	// datastore names the datastore (for outputs and errors).
	datastore string
}

// path is the file, or the folder when there is no file name.
func (t *fileTarget) path() string {
	if t.file == "" {
		return t.folder
	}
	return path.Join(t.folder, t.file)
}

// resolveFiles maps a file dataset to its file system and paths.
func (e *Env) resolveFiles(ctx context.Context, ds Dataset) (*fileTarget, error) {
	ls := ds.LinkedService
	loc, _ := ds.Properties["location"].(map[string]any)
	if loc == nil {
		loc = ds.Properties // the older shape keeps folderPath and fileName here
	}
	folderPath, err := locString(loc, "folderPath")
	if err != nil {
		return nil, err
	}
	fileName, err := locString(loc, "fileName")
	if err != nil {
		return nil, err
	}
	if strings.Contains(fileName, "/") {
		return nil, fmt.Errorf("dataset %s: fileName %q holds '/': put folders in folderPath", ds.Name, fileName)
	}
	if ls.Type == "HttpServer" || ls.Type == "RestService" {
		return e.httpTarget(ls, loc, ds.Name)
	}
	if !fileLinkedServices[ls.Type] {
		return nil, fmt.Errorf("linked service %s of type %s cannot hold files: expected one of AzureBlobStorage, AzureBlobFS, AzureDataLakeStore, AmazonS3, AmazonS3Compatible, FileServer, HttpServer", ls.Name, ls.Type)
	}
	store, err := e.pickDatastore(ctx, ls)
	if err != nil {
		return nil, err
	}
	container := ""
	for _, k := range []string{"container", "fileSystem", "bucketName"} {
		if container, err = locString(loc, k); err != nil || container != "" {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	if store.Type == datastore.TypeS3 && container == store.Bucket {
		container = ""
	}
	host := ""
	if ls.Type == "FileServer" {
		if host, err = fileServerFolder(ls, store); err != nil {
			return nil, err
		}
	}
	root, err := files.Join(host, container)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: container: %w", ds.Name, err)
	}
	folder, err := files.Join(root, folderPath)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: folderPath: %w", ds.Name, err)
	}
	if fileName != "" {
		if _, err := files.Clean(fileName); err != nil {
			return nil, fmt.Errorf("dataset %s: fileName: %w", ds.Name, err)
		}
	}
	fsys, closeFS, err := OpenDatastore(store)
	if err != nil {
		return nil, fmt.Errorf("datastore %s: %w", store.Name, err)
	}
	return &fileTarget{fs: fsys, close: closeFS, root: root, folder: folder, file: fileName, datastore: store.Name}, nil
}

// locString reads a location property, which must be a string.
func locString(loc map[string]any, key string) (string, error) {
	v, ok := loc[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("location %s: expected a string, got %T", key, v)
	}
	return s, nil
}

// accountPattern finds a storage account in a connection string or URL.
var (
	accountKey  = regexp.MustCompile(`(?i)(?:^|;)\s*AccountName\s*=\s*([A-Za-z0-9_.-]+)`)
	accountHost = regexp.MustCompile(`^([A-Za-z0-9_-]+)\.`)
)

// pickDatastore applies the rule above.
func (e *Env) pickDatastore(ctx context.Context, ls LinkedService) (datastore.Datastore, error) {
	if e.Datastores == nil {
		return datastore.Datastore{}, errors.New("no datastores to map file linked services to")
	}
	if name, _ := ls.Properties["datastore"].(string); name != "" {
		d, err := e.Datastores.Get(ctx, e.Workspace, name)
		if err != nil {
			return d, fmt.Errorf("linked service %s: datastore %q: %w", ls.Name, name, err)
		}
		return d, nil
	}
	candidates := []string{ls.Name}
	if cs, _ := ls.Properties["connectionString"].(string); cs != "" {
		if m := accountKey.FindStringSubmatch(cs); m != nil {
			candidates = append(candidates, m[1])
		}
	}
	for _, k := range []string{"serviceEndpoint", "url", "dataLakeStoreUri", "serviceUrl", "sasUri"} {
		s, _ := ls.Properties[k].(string)
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			if m := accountHost.FindStringSubmatch(u.Hostname()); m != nil {
				candidates = append(candidates, m[1])
			}
		}
	}
	for _, name := range candidates {
		d, err := e.Datastores.Get(ctx, e.Workspace, name)
		if err == nil {
			return d, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return d, fmt.Errorf("linked service %s: datastore %q: %w", ls.Name, name, err)
		}
	}
	d, err := e.Datastores.Get(ctx, e.Workspace, "workspaceblobstore")
	if err != nil {
		return d, fmt.Errorf("linked service %s: no datastore named %s and no workspaceblobstore: %w", ls.Name, strings.Join(candidates, " or "), err)
	}
	return d, nil
}

// fileServerFolder is the folder of a local datastore a FileServer's
// host names ("" for its root).
func fileServerFolder(ls LinkedService, d datastore.Datastore) (string, error) {
	host, _ := ls.Properties["host"].(string)
	if host == "" || !strings.HasPrefix(host, "/") {
		return "", nil // a Windows or UNC share: the datastore's root
	}
	if d.Type != datastore.TypeLocal {
		return "", fmt.Errorf("linked service %s: host %s is a folder on this machine, but datastore %s is not a local folder", ls.Name, host, d.Name)
	}
	rel, err := filepath.Rel(d.Path, filepath.Clean(host))
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return "", fmt.Errorf("linked service %s: host %s is outside datastore %s (%s): %w", ls.Name, host, d.Name, d.Path, files.ErrEscape)
	}
	if rel == "." {
		return "", nil
	}
	return filepath.ToSlash(rel), nil
}

// OpenDatastore opens a datastore as a files.FS; the func closes it. A
// workspace's default datastores' folders are made on first use.
func OpenDatastore(d datastore.Datastore) (files.FS, func() error, error) {
	switch d.Type {
	case datastore.TypeLocal:
		if d.Default {
			if err := os.MkdirAll(d.Path, 0o755); err != nil {
				return nil, nil, err
			}
		}
		l, err := local.New(d.Path)
		if err != nil {
			return nil, nil, err
		}
		return l, l.Close, nil
	case datastore.TypeS3:
		s, err := s3.New(s3.Config{Endpoint: d.Endpoint, Bucket: d.Bucket, Prefix: d.Prefix, Region: d.Region,
			AccessKeyIDEnv: d.AccessKeyIDEnv, SecretAccessKeyEnv: d.SecretAccessKeyEnv})
		return s, func() error { return nil }, err
	}
	return nil, nil, fmt.Errorf("datastore type %q holds no files ciel can reach", d.Type)
}

// httpTarget is a read-only file at a URL.
func (e *Env) httpTarget(ls LinkedService, loc map[string]any, dsName string) (*fileTarget, error) {
	if e.HTTP == nil {
		return nil, fmt.Errorf("linked service %s: no HTTP client", ls.Name)
	}
	base, _ := ls.Properties["url"].(string)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("linked service %s: url %q: expected http(s)://host/path", ls.Name, base)
	}
	rel, err := locString(loc, "relativeUrl")
	if err != nil {
		return nil, err
	}
	if r, err := url.Parse(rel); err != nil || r.IsAbs() || r.Host != "" || strings.HasPrefix(rel, "//") {
		return nil, fmt.Errorf("dataset %s: relativeUrl %q: expected a path relative to the linked service's url", dsName, rel)
	}
	full := strings.TrimSuffix(base, "/")
	if rel != "" {
		full += "/" + strings.TrimPrefix(rel, "/")
	}
	return &fileTarget{fs: &httpFS{cl: e.HTTP, url: full}, close: func() error { return nil }, file: "content", readOnly: true}, nil
}

// httpFS is one URL as a read-only file system holding the file
// "content".
type httpFS struct {
	cl  *http.Client
	url string
}

var errReadOnly = errors.New("an HTTP linked service is read only")

func (h *httpFS) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := h.cl.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", h.url, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %w", h.url, fs.ErrNotExist)
	case resp.StatusCode/100 != 2:
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", h.url, resp.Status)
	}
	return resp.Body, nil
}

func (h *httpFS) Create(context.Context, string) (files.File, error) { return nil, errReadOnly }
func (h *httpFS) Delete(context.Context, string, bool) error         { return errReadOnly }
func (h *httpFS) List(context.Context, string) ([]files.Info, error) {
	return nil, errReadOnly
}

func (h *httpFS) Stat(ctx context.Context, p string) (files.Info, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, h.url, nil)
	if err != nil {
		return files.Info{}, err
	}
	resp, err := h.cl.Do(req)
	if err != nil {
		return files.Info{}, fmt.Errorf("HEAD %s: %w", h.url, err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return files.Info{}, fmt.Errorf("HEAD %s: %w", h.url, fs.ErrNotExist)
	}
	if resp.StatusCode/100 != 2 {
		return files.Info{}, fmt.Errorf("HEAD %s: %s", h.url, resp.Status)
	}
	info := files.Info{Name: path.Base(h.url), Path: "content", Size: max(resp.ContentLength, 0)}
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		info.ModTime = t.UTC()
	}
	return info, nil
}
