package imagestore

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	bloblocal "github.com/ciel-mlops/ciel/internal/blob/local"
)

const serverToken = "s3rver-t0ken"

type bundle struct {
	srv      *httptest.Server
	host     string
	manifest v1.Hash
	img      v1.Image
	other    string // a stored blob that is no part of the image
}

// setup pushes a random image to a local blob store and serves it with
// the pull token as the only credential but the server's token.
func setup(t *testing.T) bundle {
	t.Helper()
	ctx := context.Background()
	store, err := bloblocal.Open(bloblocal.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Push(ctx, store, img)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := Push(ctx, store, img); err != nil || again != d {
		t.Fatalf("second push: %v, %v", again, err)
	}
	other, _, err := store.Put(ctx, strings.NewReader("a data file of some workspace"))
	if err != nil {
		t.Fatal(err)
	}
	pull := PullToken(serverToken)
	h := &Handler{Blobs: store, Authorized: func(r *http.Request) bool {
		_, pass, ok := r.BasicAuth()
		return ok && subtle.ConstantTimeCompare([]byte(pass), []byte(pull)) == 1
	}}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return bundle{srv: srv, host: u.Host, manifest: d, img: img, other: other}
}

// TestPullWithClient pulls the image with go-containerregistry's client,
// as containerd would: it answers the Basic challenge with the pull
// token, and every blob it reads matches its digest.
func TestPullWithClient(t *testing.T) {
	b := setup(t)
	ref, err := name.ParseReference(Ref(b.host, b.manifest, "py3.11-abc"), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	auth := remote.WithAuth(&authn.Basic{Username: "ciel", Password: PullToken(serverToken)})
	got, err := remote.Image(ref, auth)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := got.Digest(); err != nil || d != b.manifest {
		t.Fatalf("pulled %v, %v; want %v", d, err, b.manifest)
	}
	layers, err := got.Layers()
	if err != nil || len(layers) != 2 {
		t.Fatalf("layers %d, %v", len(layers), err)
	}
	for _, l := range layers {
		rc, err := l.Compressed() // verifies the digest as it reads
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1<<16)
		for {
			if _, err := rc.Read(buf); err != nil {
				if err.Error() != "EOF" {
					t.Fatalf("read layer: %v", err)
				}
				break
			}
		}
		rc.Close()
	}
	if _, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: "ciel", Password: serverToken})); err == nil {
		t.Fatal("the server's token itself was taken as the pull token")
	}
	if _, err := remote.Image(ref); err == nil {
		t.Fatal("an anonymous pull was served")
	}
}

// TestRoutes walks the routes with and without credentials and with
// hostile paths: each answer has the status and, for errors, the OCI
// error code.
func TestRoutes(t *testing.T) {
	b := setup(t)
	cf, _ := b.img.ConfigName()
	layers, _ := b.img.Layers()
	ld, _ := layers[0].Digest()
	m := b.manifest.Hex
	unknown := strings.Repeat("ab", 32)
	tests := []struct {
		name, method, path string
		auth               bool
		status             int
		code               string
	}{
		{"ping", "GET", "/v2/", true, 200, ""},
		{"ping without credentials", "GET", "/v2/", false, 401, "UNAUTHORIZED"},
		{"manifest by tag", "GET", "/v2/ciel/env/" + m + "/manifests/latest", true, 200, ""},
		{"manifest by digest", "GET", "/v2/ciel/env/" + m + "/manifests/sha256:" + m, true, 200, ""},
		{"manifest HEAD", "HEAD", "/v2/ciel/env/" + m + "/manifests/latest", true, 200, ""},
		{"manifest without credentials", "GET", "/v2/ciel/env/" + m + "/manifests/latest", false, 401, "UNAUTHORIZED"},
		{"config blob", "GET", "/v2/ciel/env/" + m + "/blobs/" + cf.String(), true, 200, ""},
		{"layer blob HEAD", "HEAD", "/v2/ciel/env/" + m + "/blobs/" + ld.String(), true, 200, ""},
		{"layer without credentials", "GET", "/v2/ciel/env/" + m + "/blobs/" + ld.String(), false, 401, "UNAUTHORIZED"},
		{"unknown manifest", "GET", "/v2/ciel/env/" + unknown + "/manifests/latest", true, 404, "MANIFEST_UNKNOWN"},
		{"unknown blob", "GET", "/v2/ciel/env/" + m + "/blobs/sha256:" + unknown, true, 404, "BLOB_UNKNOWN"},
		{"a stored blob outside the image", "GET", "/v2/ciel/env/" + m + "/blobs/" + b.other, true, 404, "BLOB_UNKNOWN"},
		{"a data blob as a manifest", "GET", "/v2/ciel/env/" + strings.TrimPrefix(b.other, "sha256:") + "/manifests/latest", true, 404, "MANIFEST_UNKNOWN"},
		{"a data blob through a blob route", "GET", "/v2/ciel/env/" + strings.TrimPrefix(b.other, "sha256:") + "/blobs/" + b.other, true, 404, "MANIFEST_UNKNOWN"},
		{"a digest of another image", "GET", "/v2/ciel/env/" + m + "/manifests/sha256:" + unknown, true, 404, "MANIFEST_UNKNOWN"},
		{"uppercase digest", "GET", "/v2/ciel/env/" + strings.ToUpper(m) + "/manifests/latest", true, 404, "NAME_UNKNOWN"},
		{"traversal in the name", "GET", "/v2/ciel/env/..%2F..%2Fblobs/manifests/latest", true, 404, "NAME_UNKNOWN"},
		{"traversal in the digest", "GET", "/v2/ciel/env/" + m + "/blobs/sha256:..%2F..%2F" + unknown[:58], true, 400, "DIGEST_INVALID"},
		{"another algorithm", "GET", "/v2/ciel/env/" + m + "/blobs/sha512:" + unknown, true, 400, "DIGEST_INVALID"},
		{"a bad tag", "GET", "/v2/ciel/env/" + m + "/manifests/-bad", true, 404, "MANIFEST_UNKNOWN"},
		{"another repository", "GET", "/v2/library/python/manifests/3.11", true, 404, "NAME_UNKNOWN"},
		{"another repository without credentials", "GET", "/v2/library/python/manifests/3.11", false, 401, "UNAUTHORIZED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, b.srv.URL+tt.path, nil)
			if tt.auth {
				req.SetBasicAuth("ciel", PullToken(serverToken))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status == 401 && resp.Header.Get("WWW-Authenticate") != `Basic realm="ciel"` {
				t.Errorf("no Basic challenge: %q", resp.Header.Get("WWW-Authenticate"))
			}
			if tt.code == "" {
				if tt.method == "HEAD" && resp.Header.Get("Content-Length") == "" {
					t.Error("HEAD without Content-Length")
				}
				if strings.Contains(tt.path, "/manifests/") && resp.Header.Get("Docker-Content-Digest") != b.manifest.String() {
					t.Errorf("Docker-Content-Digest %q", resp.Header.Get("Docker-Content-Digest"))
				}
				return
			}
			if tt.method == "HEAD" {
				return
			}
			var body struct {
				Errors []ociError `json:"errors"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Errors) != 1 || body.Errors[0].Code != tt.code {
				t.Fatalf("body %+v (%v), want code %s", body, err, tt.code)
			}
		})
	}
}

// TestPullToken: derived, stable, not the token, none without a token.
func TestPullToken(t *testing.T) {
	a, b := PullToken("x"), PullToken("x")
	if a != b || a == "x" || len(a) != 64 || PullToken("y") == a || PullToken("") != "" {
		t.Fatalf("PullToken: %q %q %q", a, PullToken("y"), PullToken(""))
	}
}
