package s3_test

import (
	"strings"
	"testing"

	blobs3 "github.com/ciel-mlops/ciel/internal/blob/s3"
	"github.com/ciel-mlops/ciel/internal/s3client"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

var keys = env(map[string]string{"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value"})

func TestParseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw    string
		getenv func(string) string
		want   blobs3.Config
		err    string // a part of the error; "" for none
	}{
		{raw: "s3://bucket?endpoint=http://127.0.0.1:7070", getenv: keys,
			want: blobs3.Config{Location: s3client.Location{Endpoint: "http://127.0.0.1:7070", Bucket: "bucket", AccessKeyID: "AKID", SecretAccessKey: "s3cr3t-value"}}},
		{raw: "s3://ml-blobs?endpoint=https://minio.corp:9000&prefix=team/a/&region=eu-west-1", getenv: keys,
			want: blobs3.Config{Location: s3client.Location{Endpoint: "https://minio.corp:9000", Bucket: "ml-blobs", Prefix: "team/a", Region: "eu-west-1", AccessKeyID: "AKID", SecretAccessKey: "s3cr3t-value"}}},
		{raw: "s3://bkt1?endpoint=http://10.0.0.5:9000&public_endpoint=https://s3.corp", getenv: env(nil),
			want: blobs3.Config{Location: s3client.Location{Endpoint: "http://10.0.0.5:9000", PublicEndpoint: "https://s3.corp", Bucket: "bkt1"}}},
		{raw: "s3://bkt1?public_endpoint=s3.corp", getenv: keys, err: "public_endpoint"},
		{raw: "s3://ml-blobs/team/a", getenv: env(nil),
			want: blobs3.Config{Location: s3client.Location{Endpoint: blobs3.DefaultEndpoint, Bucket: "ml-blobs", Prefix: "team/a"}}},
		{raw: "s3://bucket", getenv: env(map[string]string{"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S", "AWS_SESSION_TOKEN": "T"}),
			want: blobs3.Config{Location: s3client.Location{Endpoint: blobs3.DefaultEndpoint, Bucket: "bucket", AccessKeyID: "A", SecretAccessKey: "S", SessionToken: "T"}}},
		{raw: "file:///srv/blobs", getenv: keys, err: `scheme "file"`},
		{raw: "/srv/blobs", getenv: keys, err: `scheme ""`},
		{raw: "s3://", getenv: keys, err: "no bucket"},
		{raw: "s3://Bad_Bucket", getenv: keys, err: "bucket"},
		{raw: "s3://AKID:s3cr3t-value@bucket", getenv: keys, err: "keys in the URL are refused"},
		{raw: "s3://bucket?access_key=AKID", getenv: keys, err: "keys in the URL are refused"},
		{raw: "s3://bucket?secret=S", getenv: keys, err: "keys in the URL are refused"},
		{raw: "s3://bucket?endpont=http://h", getenv: keys, err: `unknown parameter "endpont"`},
		{raw: "s3://bucket?endpoint=ftp://h", getenv: keys, err: "endpoint"},
		{raw: "s3://bucket?endpoint=http://u:p@h", getenv: keys, err: "endpoint"},
		{raw: "s3://bucket?endpoint=http://h/path", getenv: keys, err: "endpoint"},
		{raw: "s3://bucket?endpoint=127.0.0.1:7070", getenv: keys, err: "endpoint"},
		{raw: "s3://bucket?endpoint=http://h&endpoint=http://g", getenv: keys, err: "2 times"},
		{raw: "s3://bucket/a?prefix=b", getenv: keys, err: "prefix both"},
		{raw: "s3://bucket?prefix=a/../b", getenv: keys, err: "prefix"},
		{raw: "s3://bucket?prefix=a//b", getenv: keys, err: "prefix"},
		{raw: "s3://bucket", getenv: env(map[string]string{"AWS_ACCESS_KEY_ID": "A"}), err: "set both"},
		{raw: "s3://bucket", getenv: env(map[string]string{"AWS_SECRET_ACCESS_KEY": "S"}), err: "set both"},
		{raw: "s3://bu cket", getenv: keys, err: "not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := blobs3.ParseURL(tt.raw, tt.getenv)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseURL(%q) = %+v, %v; want an error with %q", tt.raw, got, err, tt.err)
				}
				if strings.Contains(err.Error(), "s3cr3t-value") {
					t.Errorf("error %q shows the secret", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseURL(%q) = %+v, %v; want %+v", tt.raw, got, err, tt.want)
			}
			if s := got.String(); strings.Contains(s, "s3cr3t-value") || strings.Contains(s, "AKID") {
				t.Errorf("String() = %q shows a key", s)
			}
			u := got.URL()
			if strings.Contains(u, "s3cr3t-value") || strings.Contains(u, "AKID") {
				t.Errorf("URL() = %q shows a key", u)
			}
			if again, err := blobs3.ParseURL(u, tt.getenv); err != nil || again != got {
				t.Errorf("ParseURL(URL()) = %+v, %v; want %+v", again, err, got)
			}
		})
	}
}

func FuzzParseURL(f *testing.F) {
	f.Add("s3://bucket?endpoint=http://127.0.0.1:7070&prefix=p&region=r")
	f.Add("s3://bucket/a/b")
	f.Add("s3://k:s@bucket?secret=x")
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := blobs3.ParseURL(raw, keys)
		if err != nil {
			if strings.Contains(err.Error(), "s3cr3t-value") && !strings.Contains(raw, "s3cr3t-value") {
				t.Errorf("error %q shows the secret", err)
			}
			return
		}
		if c.Bucket == "" || strings.Contains(c.Prefix, "..") || strings.HasPrefix(c.Prefix, "/") || strings.HasSuffix(c.Prefix, "/") {
			t.Errorf("ParseURL(%q) accepted %+v", raw, c)
		}
	})
}
