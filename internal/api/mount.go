package api

import (
	"net/http"
	"strings"
)

// subMux serves every path whose first segments are prefix's ("*"
// matching any one segment) with a ServeMux of its own. It holds routes
// whose shapes the generic asset routes would conflict with in one
// ServeMux: ".../datafactory/linkedservices/{name}" and
// ".../{kind}/{name}/versions" both match ".../datafactory/linkedservices/
// versions", and ServeMux refuses two patterns neither of which is more
// specific.
type subMux struct {
	prefix []string
	mux    *http.ServeMux
}

// ServeHTTP hands a request to the first sub-mux whose prefix its path
// starts with, else to the ServeMux.
func (m *routeMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	seg := strings.Split(r.URL.EscapedPath(), "/")
	for _, sm := range m.subs {
		if len(seg) > len(sm.prefix) && matchSegments(seg[:len(sm.prefix)], sm.prefix...) {
			sm.mux.ServeHTTP(w, r)
			return
		}
	}
	m.ServeMux.ServeHTTP(w, r)
}

// mount returns a function registering patterns (full paths, which must
// start with prefix) on a sub-mux for the paths under prefix; the patterns
// are kept with the others, so the route walk covers them.
func (m *routeMux) mount(prefix ...string) func(pattern string, h http.Handler) {
	sm := subMux{prefix: prefix, mux: http.NewServeMux()}
	m.subs = append(m.subs, sm)
	return func(pattern string, h http.Handler) {
		m.patterns = append(m.patterns, pattern)
		sm.mux.Handle(pattern, h)
	}
}
