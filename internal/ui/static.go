// Package ui is ciel's studio on the server side: the single-page app
// embedded in the binary (built from ui/ into dist/ by scripts/studio.sh),
// served at / with the caching a content-hashed bundle allows, and the
// studio's sign-in: a server-rendered login page that takes the server's
// token once and keeps a signed session in an HttpOnly cookie.
//
// It is not the API (internal/api) nor its front door (internal/guard): the
// guard decides who may reach any route, and asks this package only whether
// a request carries a valid session cookie.
package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"
)

// dist is the built front end; dist/index.html is a placeholder page until
// scripts/studio.sh has built the bundle.
//
//go:embed all:dist
var dist embed.FS

// hashedName matches file names that carry a content hash, as bundlers
// write them ("index-BkQ3x9aZ.js", "chunk.3f2a9c1d.css"): their content
// never changes under that name, so browsers may keep them for a year.
var hashedName = regexp.MustCompile(`[.-][A-Za-z0-9_-]{8,}\.[A-Za-z0-9]+$`)

// CSP is the Content-Security-Policy of the studio's pages: scripts,
// styles, fonts, images and connections from the server itself only (no
// CDN: the studio works offline), inline styles allowed (chart and graph
// libraries set style attributes), and no page of another site may frame
// it.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; " +
	"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// asset is one file of the bundle, held in memory with its gzip form.
type asset struct {
	name    string
	body    []byte
	gz      []byte // nil when compressing does not pay
	etag    string
	ctype   string
	hashed  bool
	modTime time.Time
}

// loadAssets reads every file of files into memory: the bundle is a few
// hundred kilobytes, and holding it lets each answer be one write.
func loadAssets(files fs.FS) (map[string]*asset, error) {
	out := map[string]*asset{}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return fmt.Errorf("read studio file %s: %w", p, err)
		}
		sum := sha256.Sum256(b)
		a := &asset{name: p, body: b, etag: `"` + hex.EncodeToString(sum[:12]) + `"`,
			ctype: mime.TypeByExtension(path.Ext(p)), hashed: hashedName.MatchString(path.Base(p))}
		if a.ctype == "" {
			a.ctype = http.DetectContentType(b)
		}
		a.gz = gzipped(a.ctype, b)
		out[p] = a
		return nil
	})
	return out, err
}

// gzipped returns b compressed when it is text of some size and shrinks,
// else nil.
func gzipped(ctype string, b []byte) []byte {
	text := strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "javascript") ||
		strings.Contains(ctype, "json") || strings.Contains(ctype, "svg") || strings.Contains(ctype, "wasm")
	if !text || len(b) < 1024 {
		return nil
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	if buf.Len() >= len(b)*9/10 {
		return nil
	}
	return buf.Bytes()
}

// serve writes a with its caching headers: a hashed file is immutable, any
// other (index.html above all, which names the hashed files of the current
// build) is revalidated on every use.
func (a *asset) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	if a.hashed {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if strings.HasPrefix(a.ctype, "text/html") {
		h.Set("Content-Security-Policy", CSP)
		h.Set("Referrer-Policy", "same-origin")
	}
	body, etag := a.body, a.etag
	if a.gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
			body, etag = a.gz, strings.TrimSuffix(a.etag, `"`)+`-gz"`
		}
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", a.modTime, bytes.NewReader(body))
}

// acceptsGzip reports whether the client takes gzip (not refused with q=0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
