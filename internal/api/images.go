package api

import (
	"crypto/subtle"
	"net/http"

	"github.com/ciel-mlops/ciel/internal/imagestore"
)

// imageRoutes serves the images ciel builds for kubernetes computes,
// read-only, over the OCI distribution API (internal/imagestore): a
// cluster's nodes pull them from here with the imagePullSecret ciel puts
// in the namespace. The guard lets these requests through without the
// server's token (isPublic): containerd sends only Basic credentials, and
// only after a 401 with a Basic challenge, which the handler answers.
func (s *server) imageRoutes(mux *routeMux) {
	h := &imagestore.Handler{Blobs: s.blobs, Authorized: s.pullAuthorized, Logger: s.log}
	h.Register(mux)
}

// pullAuthorized reports whether r carries the pull token (the password
// of Basic credentials; the user name is free). The server's own token is
// not taken here: these routes skip the guard's count of wrong tokens,
// and the pull token, derived, is not worth guessing. Wrong ones count
// all the same.
func (s *server) pullAuthorized(r *http.Request) bool {
	if s.cfg.Token == "" {
		return true // a server without a token serves all on loopback
	}
	if r.Header.Get("Authorization") == "" {
		return false
	}
	if _, ok := s.attempts.Check(r); !ok {
		return false
	}
	_, pass, ok := r.BasicAuth()
	if ok && subtle.ConstantTimeCompare([]byte(pass), []byte(imagestore.PullToken(s.cfg.Token))) == 1 {
		return true
	}
	s.attempts.Fail(r)
	return false
}
