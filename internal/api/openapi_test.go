package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// loadOpenAPI parses and validates doc as OpenAPI 3 with kin-openapi:
// references resolve, schemas are well formed, every path parameter is
// declared, operation IDs are unique.
func loadOpenAPI(t *testing.T, doc []byte) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	d, err := loader.LoadFromData(doc)
	if err != nil {
		t.Fatalf("load OpenAPI document: %v", err)
	}
	if err := d.Validate(context.Background()); err != nil {
		t.Fatalf("OpenAPI document is not valid: %v", err)
	}
	return d
}

// documentedOperations returns "METHOD /path" for every operation of d.
func documentedOperations(d *openapi3.T) map[string]bool {
	out := map[string]bool{}
	for path, item := range d.Paths.Map() {
		for method := range item.Operations() {
			out[method+" "+path] = true
		}
	}
	return out
}

// undocumentedRoutes compares the /api/v1 routes the server registers
// (ServeMux patterns, "METHOD /path/{wildcard}") with the operations the
// document names. missing are routes to add to openapi.yaml; extra are
// operations naming no route. A pattern without a method that ends in "/"
// is a subtree's fallback (it answers 404) and is no operation; one
// without a method otherwise is reported, as it answers every method.
func undocumentedRoutes(patterns []string, documented map[string]bool) (missing, extra []string) {
	registered := map[string]bool{}
	for _, p := range patterns {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			method, path = "", p
		}
		if !strings.HasPrefix(path, "/api/v1/") {
			continue
		}
		if method == "" {
			if strings.HasSuffix(path, "/") {
				continue
			}
			missing = append(missing, "ANY "+path+" (register it with a method)")
			continue
		}
		key := method + " " + path
		registered[key] = true
		if !documented[key] {
			missing = append(missing, key)
		}
	}
	for key := range documented {
		if !registered[key] {
			extra = append(extra, key)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return missing, extra
}

// TestOpenAPIDocumentIsValid loads the embedded document with a
// validating parser.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	d := loadOpenAPI(t, openAPIYAML)
	if !strings.HasPrefix(d.OpenAPI, "3.") {
		t.Errorf("openapi version %q, want 3.x", d.OpenAPI)
	}
	if n := len(documentedOperations(d)); n < 100 {
		t.Errorf("only %d operations documented", n)
	}
	for key, item := range d.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Responses == nil || op.Responses.Default() == nil {
				t.Errorf("%s %s: no default (error) response", method, key)
			}
		}
	}
}

// TestOpenAPIDocumentsEveryRoute walks every route the server registers:
// each /api/v1 route is in the document and each documented operation is a
// route. A route added without its documentation fails here, naming it.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	b := setupRoutes(t)
	missing, extra := undocumentedRoutes(b.patterns, documentedOperations(loadOpenAPI(t, openAPIYAML)))
	for _, m := range missing {
		t.Errorf("route %s is not in internal/api/openapi.yaml: add it under paths (path %q, operation %q)",
			m, pathOf(m), strings.ToLower(strings.Fields(m)[0]))
	}
	for _, e := range extra {
		t.Errorf("internal/api/openapi.yaml documents %s, which the server does not register: remove it or fix its method/path (wildcard names must match the Go pattern's)", e)
	}
}

func pathOf(key string) string {
	f := strings.Fields(key)
	if len(f) < 2 {
		return key
	}
	return f[1]
}

// TestUndocumentedRoutes checks the comparison itself, so that the walk
// above cannot pass by comparing nothing.
func TestUndocumentedRoutes(t *testing.T) {
	doc := map[string]bool{
		"GET /api/v1/workspaces":      true,
		"GET /api/v1/workspaces/{ws}": true,
		"POST /api/v1/gone":           true,
	}
	tests := []struct {
		name           string
		patterns       []string
		missing, extra []string
	}{
		{"all documented", []string{"GET /api/v1/workspaces", "GET /api/v1/workspaces/{ws}", "POST /api/v1/gone"}, nil, nil},
		{"new route", []string{"GET /api/v1/workspaces", "GET /api/v1/workspaces/{ws}", "POST /api/v1/gone", "PUT /api/v1/new/{x}"},
			[]string{"PUT /api/v1/new/{x}"}, nil},
		{"removed route", []string{"GET /api/v1/workspaces", "GET /api/v1/workspaces/{ws}"}, nil, []string{"POST /api/v1/gone"}},
		{"wildcard renamed", []string{"GET /api/v1/workspaces", "GET /api/v1/workspaces/{name}", "POST /api/v1/gone"},
			[]string{"GET /api/v1/workspaces/{name}"}, []string{"GET /api/v1/workspaces/{ws}"}},
		{"other method", []string{"GET /api/v1/workspaces", "DELETE /api/v1/workspaces/{ws}", "POST /api/v1/gone"},
			[]string{"DELETE /api/v1/workspaces/{ws}"}, []string{"GET /api/v1/workspaces/{ws}"}},
		{"outside /api/v1 and fallbacks", []string{"GET /api/v1/workspaces", "GET /api/v1/workspaces/{ws}", "POST /api/v1/gone",
			"GET /login", "/ws/{ws}/api/2.0/mlflow/", "/api/v1/workspaces/{ws}/datafactory/"}, nil, nil},
		{"methodless route", []string{"GET /api/v1/workspaces", "GET /api/v1/workspaces/{ws}", "POST /api/v1/gone", "/api/v1/any"},
			[]string{"ANY /api/v1/any (register it with a method)"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			missing, extra := undocumentedRoutes(tt.patterns, doc)
			if fmt.Sprint(missing) != fmt.Sprint(tt.missing) || fmt.Sprint(extra) != fmt.Sprint(tt.extra) {
				t.Errorf("missing %v extra %v, want %v %v", missing, extra, tt.missing, tt.extra)
			}
		})
	}
}

// TestOpenAPIServed fetches the document through the guarded server: with
// the token it is JSON that loads to the same operations; without, 401.
func TestOpenAPIServed(t *testing.T) {
	b := setupRoutes(t)
	get := func(token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/api/v1/openapi.json", nil)
		r.Host = "127.0.0.1:7311"
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		b.handler.ServeHTTP(w, r)
		return w
	}
	if w := get(""); w.Code != http.StatusUnauthorized {
		t.Errorf("without token: %d, want 401", w.Code)
	}
	w := get(testToken)
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, content type %q", w.Code, w.Header().Get("Content-Type"))
	}
	if !json.Valid(w.Body.Bytes()) {
		t.Fatal("answer is not JSON")
	}
	served := documentedOperations(loadOpenAPI(t, w.Body.Bytes()))
	embedded := documentedOperations(loadOpenAPI(t, openAPIYAML))
	if fmt.Sprint(sortedKeys(served)) != fmt.Sprint(sortedKeys(embedded)) {
		t.Errorf("served document has %d operations, embedded %d", len(served), len(embedded))
	}
	if !served["GET /api/v1/openapi.json"] {
		t.Error("the document does not document itself")
	}
}

// TestYAMLToJSONRefusesNonStringKeys: an unquoted response code would
// become a mapping JSON cannot hold; the conversion says where.
func TestYAMLToJSONRefusesNonStringKeys(t *testing.T) {
	_, err := yamlToJSON([]byte("paths:\n  /a:\n    get:\n      responses:\n        200: {description: x}\n"))
	if err == nil || !strings.Contains(err.Error(), "$.paths./a.get.responses") {
		t.Errorf("err = %v, want one naming $.paths./a.get.responses", err)
	}
	out, err := yamlToJSON([]byte("a: {'200': [1, x]}\n"))
	if err != nil || string(out) != `{"a":{"200":[1,"x"]}}` {
		t.Errorf("got %s, %v", out, err)
	}
}
