package datastore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"time"

	"github.com/ciel-mlops/ciel/internal/blob"
)

// Defaults of HTTPConfig.
const (
	DefaultMaxFetchBytes = 8 << 30
	DefaultFetchTimeout  = 30 * time.Minute
	maxRedirects         = 10
)

// HTTPConfig bounds downloads of http(s) inputs.
//
// A URL is downloaded once per server home: the file goes into the blob
// store (content-addressed) and the cache remembers the URL (by its
// sha256) with the tree it became and the validators the server gave
// (ETag, Last-Modified). A later job naming the same URL asks the server
// whether the file changed (a conditional GET): 304 reuses the copy, a new
// file is downloaded. A URL served without validators is not asked again,
// and a server that cannot be reached leaves the job the copy it has (with a
// warning in the server's log), so jobs run offline on what was fetched.
type HTTPConfig struct {
	// Client makes the requests; nil is a client that follows at most 10
	// redirects, and only to http(s) URLs.
	Client *http.Client
	// MaxBytes bounds one download; 0 is DefaultMaxFetchBytes.
	MaxBytes int64
	// Timeout bounds one download, start to end; 0 is
	// DefaultFetchTimeout.
	Timeout time.Duration
}

func (c HTTPConfig) withDefaults() HTTPConfig {
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxFetchBytes
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultFetchTimeout
	}
	if c.Client == nil {
		c.Client = &http.Client{CheckRedirect: checkRedirect}
	}
	return c
}

// checkRedirect follows at most maxRedirects redirects, to http(s) only.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("more than %d redirects", maxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("redirect to a %s: URL refused; only http and https are fetched", req.URL.Scheme)
	}
	return nil
}

// ErrTooLarge is returned for a download over HTTPConfig.MaxBytes.
var ErrTooLarge = errors.New("download larger than the server's limit")

// fetchURL downloads raw once into the blob store, as a tree holding one
// file named for the URL's last path segment.
func (s *Service) fetchURL(ctx context.Context, raw string) (Resolved, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Resolved{}, invalid("path", "%v", err)
	}
	shown := redact(u)
	key := urlKey(raw)
	defer s.lockURL(key)()
	var cached *Fetched
	if f, err := s.cfg.Store.GetFetched(ctx, key); err == nil {
		if ok, _ := s.cfg.Blobs.Has(ctx, f.Digest); ok {
			if f.ETag == "" && f.LastModified == "" {
				return Resolved{Digest: f.Digest}, nil // nothing to ask the server with
			}
			cached = &f
		}
	}
	f, err := s.download(ctx, raw, u, cached)
	switch {
	case errors.Is(err, errNotModified):
		return Resolved{Digest: cached.Digest}, nil
	case err != nil && cached != nil && !errors.Is(err, errAnswered):
		s.cfg.Logger.Warn("could not ask whether fetched data changed; using the copy fetched before",
			"url", shown, "fetched_at", cached.FetchedAt, "err", err)
		return Resolved{Digest: cached.Digest}, nil
	case err != nil:
		return Resolved{}, fmt.Errorf("fetch %s: %w", shown, err)
	}
	f.Key = key
	if err := s.cfg.Store.PutFetched(ctx, f); err != nil {
		return Resolved{}, fmt.Errorf("fetch %s: remember it: %w", shown, err)
	}
	s.cfg.Logger.Info("fetched data", "url", shown, "bytes", f.Size, "digest", f.Digest)
	return Resolved{Digest: f.Digest}, nil
}

// errNotModified is download's answer when the server says the cached
// copy is current (304).
var errNotModified = errors.New("not modified")

// errAnswered wraps the error of a server that answered with an error
// status: the URL's answer, not a failure to reach it.
var errAnswered = errors.New("answered")

// download GETs raw within the size and time bounds and stores it. Given
// the copy fetched before, it asks only for a newer file, and returns
// errNotModified when there is none.
func (s *Service) download(ctx context.Context, raw string, u *url.URL, before *Fetched) (Fetched, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.HTTP.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return Fetched{}, err
	}
	if before != nil {
		if before.ETag != "" {
			req.Header.Set("If-None-Match", before.ETag)
		}
		if before.LastModified != "" {
			req.Header.Set("If-Modified-Since", before.LastModified)
		}
	}
	resp, err := s.httpClient().Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may hold a token; it is shown redacted
		}
		return Fetched{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && before != nil {
		return Fetched{}, errNotModified
	}
	if resp.StatusCode != http.StatusOK {
		return Fetched{}, fmt.Errorf("server %w %s", errAnswered, resp.Status)
	}
	limit := s.cfg.HTTP.MaxBytes
	if resp.ContentLength > limit {
		return Fetched{}, fmt.Errorf("%w: %d bytes, over %d", ErrTooLarge, resp.ContentLength, limit)
	}
	d, n, err := s.cfg.Blobs.Put(ctx, &capReader{r: resp.Body, limit: limit})
	if err != nil {
		return Fetched{}, err
	}
	tree := blob.Tree{Entries: []blob.Entry{{Path: fileName(u), Digest: d, Size: n, Mode: blob.ModeFile}}}
	td, err := blob.PutTree(ctx, s.cfg.Blobs, tree)
	if err != nil {
		return Fetched{}, err
	}
	return Fetched{Digest: td, Size: n, ETag: resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"), FetchedAt: time.Now().UTC()}, nil
}

// capReader fails once more than left bytes were read, so a body without
// a Content-Length cannot fill the disk.
type capReader struct {
	r     io.Reader
	limit int64
	read  int64
}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += int64(n)
	if c.read > c.limit {
		return n, fmt.Errorf("%w: over %d bytes", ErrTooLarge, c.limit)
	}
	return n, err
}

// fileName is the name a downloaded file gets: the URL's last path
// segment when it is a plain file name, else "download".
func fileName(u *url.URL) string {
	name := path.Base(u.Path)
	if name == "." || name == "/" || name == ".." || len(name) > 255 || hasControl(name) {
		return "download"
	}
	return name
}

// urlKey is the cache key of a URL.
func urlKey(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// Display is a data URI as it may be shown: an http(s) URL without its
// user info and query, which may hold a token; other URIs as they are.
func Display(uri string) string {
	if u, err := ParseURI(uri); err == nil && u.Kind == KindURL {
		if pu, err := url.Parse(u.URL); err == nil {
			return redact(pu)
		}
	}
	return uri
}

// redact is u without its user info and query, which may hold secrets.
func redact(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.ForceQuery, c.Fragment = nil, "", false, ""
	return c.String()
}
