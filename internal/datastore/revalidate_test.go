package datastore_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/datastore"
)

// versioned serves one file whose content and validators the test changes,
// and counts full answers and 304s.
type versioned struct {
	mu                 sync.Mutex
	body, etag, lastMo string
	status             int // 0: serve the file
	full, notModified  int
}

func (v *versioned) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.status != 0 {
		http.Error(w, "gone", v.status)
		return
	}
	fresh := v.etag != "" && r.Header.Get("If-None-Match") == v.etag ||
		v.etag == "" && v.lastMo != "" && r.Header.Get("If-Modified-Since") == v.lastMo
	if fresh {
		v.notModified++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	v.full++
	if v.etag != "" {
		w.Header().Set("ETag", v.etag)
	}
	if v.lastMo != "" {
		w.Header().Set("Last-Modified", v.lastMo)
	}
	fmt.Fprint(w, v.body)
}

func (v *versioned) set(f func(v *versioned)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	f(v)
}

func (v *versioned) counts() (full, notModified int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.full, v.notModified
}

// A URL fetched before is asked again with its validators: an unchanged
// file costs a 304 and keeps its digest, a changed one is downloaded anew,
// a server that cannot be reached leaves the copy, and one that answers
// with an error fails the fetch.
func TestFetchURLRevalidates(t *testing.T) {
	t.Parallel()
	for _, validator := range []string{"etag", "last-modified"} {
		t.Run(validator, func(t *testing.T) {
			t.Parallel()
			v := &versioned{body: "a,b\n1,2\n"}
			v.set(func(v *versioned) {
				if validator == "etag" {
					v.etag = `"v1"`
				} else {
					v.lastMo = "Mon, 30 Nov 2026 10:00:00 GMT"
				}
			})
			srv := httptest.NewServer(v)
			b := setup(t, datastore.HTTPConfig{})
			ctx := context.Background()
			fetch := func() (string, error) {
				res, err := b.svc.Fetch(ctx, "ws", srv.URL+"/data.csv")
				return res.Digest, err
			}
			content := func(digest string) string {
				t.Helper()
				tree, err := blob.GetTree(ctx, b.blobs, digest)
				if err != nil || len(tree.Entries) != 1 {
					t.Fatalf("tree %s: %+v, %v", digest, tree, err)
				}
				rc, err := b.blobs.Open(ctx, tree.Entries[0].Digest)
				if err != nil {
					t.Fatal(err)
				}
				defer rc.Close()
				data, err := io.ReadAll(rc)
				if err != nil {
					t.Fatal(err)
				}
				return string(data)
			}

			first, err := fetch()
			if err != nil {
				t.Fatal(err)
			}
			again, err := fetch()
			if full, nm := v.counts(); err != nil || again != first || full != 1 || nm != 1 {
				t.Fatalf("unchanged file: digest %s then %s (%v), %d downloads and %d 304s; want 1 and 1", first, again, err, full, nm)
			}

			v.set(func(v *versioned) {
				v.body = "a,b\n3,4\n"
				if v.etag != "" {
					v.etag = `"v2"`
				} else {
					v.lastMo = "Tue, 01 Dec 2026 10:00:00 GMT"
				}
			})
			changed, err := fetch()
			if full, _ := v.counts(); err != nil || changed == first || full != 2 || content(changed) != "a,b\n3,4\n" {
				t.Fatalf("changed file: digest %s (%v), %d downloads", changed, err, full)
			}

			v.set(func(v *versioned) { v.status = http.StatusNotFound })
			if _, err := fetch(); err == nil {
				t.Fatal("a URL now answering 404 still gave the old copy")
			}

			srv.Close()
			offline, err := fetch()
			if err != nil || offline != changed {
				t.Fatalf("server gone: digest %s, %v; want the copy fetched before (%s)", offline, err, changed)
			}
		})
	}
}

// A URL served without validators is not asked again.
func TestFetchURLWithoutValidatorsOnce(t *testing.T) {
	t.Parallel()
	v := &versioned{body: "x\n"}
	srv := httptest.NewServer(v)
	defer srv.Close()
	b := setup(t, datastore.HTTPConfig{})
	for range 3 {
		if _, err := b.svc.Fetch(context.Background(), "ws", srv.URL+"/x.txt"); err != nil {
			t.Fatal(err)
		}
	}
	if full, nm := v.counts(); full != 1 || nm != 0 {
		t.Fatalf("%d downloads, %d 304s; want 1 and 0", full, nm)
	}
}
