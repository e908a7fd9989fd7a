package spec

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDatastore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "ds.yml")
	for _, c := range []struct {
		src  string
		want Datastore
		err  string
	}{
		{src: "name: lake\ntype: local\npath: ./data\ndescription: raw\n",
			want: Datastore{Name: "lake", Type: "local", Path: filepath.Join(dir, "data"), Description: "raw"}},
		{src: "name: b\ntype: s3\nendpoint: http://127.0.0.1:9000\nbucket: data\nprefix: team/\nregion: eu\n" +
			"credentials:\n  access_key_id_env: KEY\n  secret_access_key_env: SECRET\n",
			want: Datastore{Name: "b", Type: "s3", Endpoint: "http://127.0.0.1:9000", Bucket: "data", Prefix: "team/", Region: "eu",
				Credentials: &DatastoreCredentials{AccessKeyIDEnv: "KEY", SecretAccessKeyEnv: "SECRET"}}},
		{src: "name: az\ntype: azure_blob\naccount_name: a\n", err: "ds.yml:2:7: type: azure_blob is Azure storage"},
		{src: "name: x\ntype: nfs\n", err: `ds.yml:2:7: type: unknown datastore type "nfs"`},
		{src: "name: x\ntype: local\n", err: "a local datastore needs path:"},
		{src: "name: x\ntype: s3\nendpoint: http://h\n", err: "an s3 datastore needs bucket:"},
		{src: "type: local\npath: /x\n", err: "a datastore needs name:"},
		{src: "name: ../x\ntype: local\npath: /x\n", err: "ds.yml:1:7: name: invalid"},
		{src: "name: x\ntype: s3\nendpoint: http://h\nbucket: b\ncredentials:\n  secret_access_key: hush\n",
			err: "ds.yml:6:22: credentials.secret_access_key: ciel keeps no secrets"},
		{src: "name: x\ntype: local\npath: /x\nbogus: 1\n", err: "ds.yml:4:1"},
	} {
		ds, err := ParseDatastore(file, []byte(c.src), Options{})
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v; want %q", c.src, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.src, err)
			continue
		}
		c.want.File, c.want.Pos = ds.File, ds.Pos
		if got, want := *ds, c.want; got.Name != want.Name || got.Type != want.Type || got.Path != want.Path ||
			got.Endpoint != want.Endpoint || got.Bucket != want.Bucket || got.Prefix != want.Prefix ||
			(want.Credentials != nil && (got.Credentials == nil || *got.Credentials != *want.Credentials)) {
			t.Errorf("%q: got %+v; want %+v", c.src, got, want)
		}
	}
}

// FuzzParseDatastore checks no input makes ParseDatastore panic or return
// both a datastore and an error.
func FuzzParseDatastore(f *testing.F) {
	f.Add([]byte("name: lake\ntype: local\npath: ./data\n"))
	f.Add([]byte("name: b\ntype: s3\nendpoint: http://h\nbucket: b\ncredentials: {access_key_id_env: K, secret_access_key: S}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join("testdata", "fuzz.yml")
		ds, err := ParseDatastore(file, data, Options{})
		if (ds == nil) == (err == nil) {
			t.Fatalf("ParseDatastore returned %v and %v", ds != nil, err)
		}
	})
}
