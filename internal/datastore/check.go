package datastore

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// azureTypes are Azure ML datastore types: storage in Azure, which a
// server on its own cannot reach.
var azureTypes = []string{"azure_blob", "azure_data_lake_gen1", "azure_data_lake_gen2", "azure_file", "one_lake"}

var (
	// bucketPattern is S3's rule for bucket names.
	bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	// envPattern is a POSIX environment variable name.
	envPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
)

// check validates a datastore definition and cleans what it may clean.
func (s *Service) check(ds *Datastore) error {
	switch {
	case !segmentPattern.MatchString(ds.Name):
		return invalid("name", "invalid datastore name %q: expected letters, digits, '_', '.' or '-', starting with a letter, digit or '_' (at most 255)", ds.Name)
	case slices.Contains(DefaultNames, ds.Name):
		return invalid("name", "%s is a default datastore of every workspace; choose another name", ds.Name)
	case len(ds.Description) > 4096:
		return invalid("description", "description is longer than 4096 bytes")
	}
	switch ds.Type {
	case TypeLocal:
		return s.checkFolder(ds)
	case TypeS3:
		return checkS3(ds)
	case "":
		return invalid("type", "datastore %s needs a type: local (a folder, path:) or s3 (endpoint:, bucket:)", ds.Name)
	}
	if slices.Contains(azureTypes, ds.Type) {
		return invalid("type", "datastore type %s is Azure storage, which ciel cannot reach; use type: local (path: a folder) or type: s3 (an S3-compatible bucket)", ds.Type)
	}
	return invalid("type", "unknown datastore type %q: expected local or s3", ds.Type)
}

// checkFolder checks a local datastore's folder: absolute, existing, a
// folder, and not inside the server's home.
func (s *Service) checkFolder(ds *Datastore) error {
	if ds.Endpoint != "" || ds.Bucket != "" || ds.Prefix != "" || ds.AccessKeyIDEnv != "" || ds.SecretAccessKeyEnv != "" {
		return invalid("type", "a local datastore takes path:, not endpoint, bucket, prefix or credentials")
	}
	p := ds.Path
	switch {
	case p == "":
		return invalid("path", "a local datastore needs path: the folder it is")
	case !filepath.IsAbs(p) || strings.ContainsRune(p, 0):
		return invalid("path", "path %q: expected an absolute folder path on the server's machine", p)
	}
	p = filepath.Clean(p)
	fi, err := os.Stat(p)
	if err != nil {
		return invalid("path", "path %s: %v", p, unwrapPath(err))
	}
	if !fi.IsDir() {
		return invalid("path", "path %s is not a folder", p)
	}
	if s.cfg.Home != "" && inside(p, s.cfg.Home) {
		return invalid("path", "path %s is inside the server's home (%s), which holds its database and blobs", p, s.cfg.Home)
	}
	ds.Path = p
	return nil
}

// inside reports whether p is dir or lies under it, links resolved.
func inside(p, dir string) bool {
	rp, err1 := filepath.EvalSymlinks(p)
	rd, err2 := filepath.EvalSymlinks(dir)
	if err1 != nil || err2 != nil {
		rp, rd = filepath.Clean(p), filepath.Clean(dir)
	}
	return rp == rd || strings.HasPrefix(rp, rd+string(filepath.Separator))
}

// checkS3 checks an S3 datastore's endpoint, bucket, prefix and the names
// of its credential variables.
func checkS3(ds *Datastore) error {
	if ds.Path != "" {
		return invalid("path", "an s3 datastore takes endpoint, bucket and prefix, not path")
	}
	u, err := url.Parse(ds.Endpoint)
	switch {
	case ds.Endpoint == "":
		return invalid("endpoint", "an s3 datastore needs endpoint: the store's URL, e.g. https://s3.amazonaws.com or http://127.0.0.1:9000")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil:
		return invalid("endpoint", "endpoint %q: expected http(s)://host[:port] with no path, query or credentials", ds.Endpoint)
	case !bucketPattern.MatchString(ds.Bucket):
		return invalid("bucket", "bucket %q: expected 3 to 63 lowercase letters, digits, '.' or '-'", ds.Bucket)
	}
	prefix, err := CleanPath(ds.Prefix)
	if err != nil {
		return invalid("prefix", "prefix: %v", err)
	}
	ds.Prefix = prefix
	if (ds.AccessKeyIDEnv == "") != (ds.SecretAccessKeyEnv == "") {
		return invalid("credentials", "credentials need both access_key_id_env and secret_access_key_env, or neither (anonymous)")
	}
	for _, v := range []string{ds.AccessKeyIDEnv, ds.SecretAccessKeyEnv} {
		if v != "" && !envPattern.MatchString(v) {
			return invalid("credentials", "credentials: %q is not an environment variable name; give the name of a variable of the server's environment, never the key itself", v)
		}
	}
	return nil
}

// unwrapPath drops the path an *os.PathError repeats.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
